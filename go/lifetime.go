//go:build cgo

package spry

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// sharedLife guards the native pointer of an object that many goroutines may use at once (Engine,
// Module, Linker) against a concurrent Close: each use holds a reference for the duration of its C
// call, and Close releases the native object at once if nobody uses it, or else when the last user
// lets go. Neither side ever waits, so a use that calls back into Go (a start function) cannot
// deadlock against a Close.
type sharedLife struct {
	state atomic.Int64 // users in the low bits; closedBit once Close was called
}

const closedBit = int64(1) << 62

// acquire takes a reference; it fails once Close was called.
func (l *sharedLife) acquire() bool {
	for {
		v := l.state.Load()
		if v&closedBit != 0 {
			return false
		}
		if l.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// release drops a reference; it reports whether the caller must now free the native object (Close
// was called while it was in use, and this was the last user).
func (l *sharedLife) release() bool {
	return l.state.Add(-1) == closedBit
}

// close marks the object closed; it reports whether the caller must free the native object now
// (first Close, and no user). A second Close returns false.
func (l *sharedLife) close() bool {
	for {
		v := l.state.Load()
		if v&closedBit != 0 {
			return false
		}
		if l.state.CompareAndSwap(v, v|closedBit) {
			return v == 0
		}
	}
}

// closed reports whether Close was called.
func (l *sharedLife) closed() bool { return l.state.Load()&closedBit != 0 }

// shared owns the native object of an Engine, Module, Linker or InstancePre: a sharedLife, the
// native pointer P (a *C.spry_x_t: cgo's opaque types cannot be type arguments themselves), and the
// cleanup that frees the pointer if Close is never called.
type shared[P any] struct {
	life    sharedLife
	ptr     P
	name    string  // for ErrClosed messages
	del     func(P) // frees the native object
	cleanup runtime.Cleanup
}

// initShared makes s own ptr on behalf of owner: del frees it on Close, after the last use, or, as
// a safety net, by a cleanup once owner is unreachable (reported as a leak of kind leak, unless
// leak is "").
func initShared[O, P any](owner *O, s *shared[P], ptr P, name, leak string, del func(P)) {
	s.ptr, s.name, s.del = ptr, name, del
	s.cleanup = runtime.AddCleanup(owner, func(p P) {
		if leak != "" {
			reportLeak(leak)
		}
		del(p)
	}, ptr)
}

// acquire returns the native object for one use, to be followed by release; it fails after Close.
func (s *shared[P]) acquire() (P, error) {
	maybeGC()
	if s.del == nil || !s.life.acquire() { // a zero-value object has nothing to use
		var none P
		return none, closedError(s.name)
	}
	return s.ptr, nil
}

// release ends a use begun by acquire.
func (s *shared[P]) release() {
	if s.life.release() {
		s.free()
	}
}

// close is Close: idempotent; the native object is freed now or after its last use.
func (s *shared[P]) close() {
	if s.life.close() {
		s.free()
	}
}

func (s *shared[P]) free() {
	if s.del == nil {
		return // a zero-value object: nothing was allocated
	}
	s.cleanup.Stop()
	s.del(s.ptr)
	var none P
	s.ptr = none
}

// closedError is the error of using a closed (or nil) object of the named kind.
func closedError(name string) error {
	return fmt.Errorf("%w: %s", ErrClosed, name)
}
