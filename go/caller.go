//go:build cgo

package spry

/*
#include "spry.h"

extern void go_abandon(void);                 // enter.go
extern int go_thread_in_store(uintptr_t store); // enter.go

typedef struct go_export {
	spry_extern_t ext;
	bool ok;
	bool foreign; // not called on the thread of the host function's call
} go_export;

// spry_caller_export_get with its result by value: no Go address crosses, so nothing escapes to
// the heap (a host function that looks its caller's memory up on every call allocates nothing).
static go_export go_caller_export(uintptr_t store, spry_caller_t* c, const char* name, size_t len) {
	go_export out = {0};
	if (!go_thread_in_store(store)) {
		out.foreign = 1;
		return out;
	}
	out.ok = spry_caller_export_get(c, name, len, &out.ext);
	return out;
}
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
)

// Caller is what a host function sees of the Wasm code that called it: the calling instance's
// exports (its memory, its functions), the store and its data, and the context of the Go call that
// entered Wasm. A Caller is valid only while the host function runs; afterwards its methods fail.
type Caller struct {
	store *Store
	ptr   *C.spry_caller_t // nil once the host function returned
}

var errCallerDone = errors.New("spry: Caller used after its host function returned")

// Store returns the store the host function runs in. The host function may use it and its items
// (nested calls included) on its own goroutine.
func (c *Caller) Store() *Store {
	if c == nil {
		return nil
	}
	return c.store
}

// Data returns the store's data (Store.SetData).
func (c *Caller) Data() any {
	if c == nil || c.store == nil {
		return nil
	}
	return c.store.data
}

// Context returns the context of the innermost Go call into the store (context.Background() when
// that call had none).
func (c *Caller) Context() context.Context {
	if c != nil && c.store != nil && c.store.ctx != nil {
		return c.store.ctx
	}
	return context.Background()
}

// Export returns the calling instance's export of the given name. It fails when the function was
// called from Go rather than from Wasm.
func (c *Caller) Export(name string) (Extern, error) {
	if c == nil || c.ptr == nil {
		return nil, errCallerDone
	}
	p, n := cString(name)
	out := C.go_caller_export(C.uintptr_t(c.store.handle), c.ptr, p, n)
	runtime.KeepAlive(name)
	if out.foreign {
		return nil, fmt.Errorf("%w: Caller used by a goroutine other than its host function's", ErrConcurrentStoreUse)
	}
	if !out.ok {
		return nil, fmt.Errorf("%w: %q (in the caller)", ErrNotFound, name)
	}
	return c.store.externFor(out.ext)
}

// Memory returns the calling instance's exported memory of the given name (usually "memory").
func (c *Caller) Memory(name string) (*Memory, error) {
	e, err := c.Export(name)
	if err != nil {
		return nil, err
	}
	return externAs[*Memory](e, name, ExternMemory)
}

// Func returns the calling instance's exported function of the given name.
func (c *Caller) Func(name string) (*Func, error) {
	e, err := c.Export(name)
	if err != nil {
		return nil, err
	}
	return externAs[*Func](e, name, ExternFunc)
}

// runHost runs a host function for a callback (callback.go): no Go panic may unwind through the
// C and Wasm frames above, so a panic is recovered here, kept in the store, and turned into a trap
// that the Go call which entered Wasm re-raises; an error is kept in the store likewise, so that
// the trap wraps it.
func (s *Store) runHost(hf *hostFunc, cp *C.spry_caller_t, slots []uint64) (trap *C.spry_trap_t) {
	c := s.pushCaller(cp)
	returned := false
	defer s.finishHost(c, &trap, &returned)
	if err := hf.call(c, slots); err != nil {
		s.hostErr = err
		trap = newHostTrap(err.Error())
	}
	returned = true
	return trap
}

// finishHost is runHost's deferred half.
func (s *Store) finishHost(c *Caller, trap **C.spry_trap_t, returned *bool) {
	s.popCaller(c)
	r := recover()
	if r == nil && !*returned {
		// runtime.Goexit (t.Fatal, t.FailNow, t.SkipNow in a test): it cannot be stopped, and Go's
		// runtime discards the C, Rust and Wasm frames between this callback and the Go call that
		// entered Wasm without running them. Forget them, in the engine and in this thread's
		// activation chain, while this goroutine still runs on their thread; the Go call further
		// up releases the store as Goexit unwinds it (see Store.unwound). The store stays usable,
		// as after a trap.
		C.go_abandon()
		return
	}
	if r != nil {
		s.hostErr = nil
		s.panicking = true
		s.panicValue = r
		*trap = newHostTrap(fmt.Sprintf("host function panicked: %v", r))
	}
}

// pushCaller returns the Caller for a host call at the next depth, reusing the Caller of an earlier
// call at that depth (no allocation per call).
func (s *Store) pushCaller(cp *C.spry_caller_t) *Caller {
	if s.extra().depth == len(s.extra().callers) {
		s.extra().callers = append(s.extra().callers, &Caller{store: s})
	}
	c := s.extra().callers[s.extra().depth]
	s.extra().depth++
	c.ptr = cp
	return c
}

func (s *Store) popCaller(c *Caller) {
	c.ptr = nil
	s.extra().depth--
}

// newHostTrap makes the C trap a host callback returns.
func newHostTrap(msg string) *C.spry_trap_t {
	p, n := cString(msg)
	t := C.spry_trap_new(p, n)
	runtime.KeepAlive(msg)
	return t
}
