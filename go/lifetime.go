//go:build cgo

package spry

import "sync/atomic"

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
