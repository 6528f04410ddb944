//go:build cgo

package spry

// Context support: a call whose context can be cancelled arms an interrupt request for its store
// with context.AfterFunc; the Wasm code then traps with TrapInterrupt at its next function entry or
// loop back-edge.
//
// The engine's request is sticky: it holds until the outermost call into the store returns, where
// the engine clears it. A context cancelled just as an outermost call returns may make its request
// after that clearing, which would stop the store's next call for nothing. So when the AfterFunc
// ran (stop reports false), the call waits for it to finish and, if it is the outermost call, runs
// an empty Wasm function in the store: that outermost call consumes the stale request. This is the
// rare path (a context cancelled during a call); a call whose context is not cancelled pays only
// for AfterFunc and its stop.

/*
#include "spry.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync/atomic"
)

// interruptArm is one armed context. A store keeps a spare one, so that the outermost calls of a
// store reuse it (context.AfterFunc still allocates).
type interruptArm struct {
	ih   *C.spry_interrupt_handle_t
	fire func() // a.interrupt, bound once
	stop func() bool
	done atomic.Bool // fire finished
}

func (a *interruptArm) interrupt() {
	C.spry_interrupt_handle_interrupt(a.ih)
	a.done.Store(true)
}

// arm makes ctx's cancellation interrupt the Wasm code running in s.
func (s *Store) arm(ctx context.Context) *interruptArm {
	a := s.extra().spareArm
	if a != nil {
		s.extra().spareArm = nil
		a.done.Store(false)
	} else {
		a = &interruptArm{ih: s.native.interruptHandle()}
		a.fire = a.interrupt
	}
	a.stop = context.AfterFunc(ctx, a.fire)
	return a
}

// disarm stops watching the call's context; see the file's notes for the flush.
func (s *Store) disarm(c *callState) {
	a := c.arm
	if !a.stop() {
		// The request was made, or is being made: wait for it (the handle must not be used
		// after the store is closed, and a must not be reused before).
		for !a.done.Load() {
			runtime.Gosched()
		}
		if c.outer {
			s.flushInterrupt()
		}
	}
	a.stop = nil
	s.extra().spareArm = a
}

// interruptHandle returns the store's interrupt handle, made on first use.
func (n *storeNative) interruptHandle() *C.spry_interrupt_handle_t {
	if h := n.interrupt.Load(); h != nil {
		return h.p
	}
	h := &interruptHandle{p: C.spry_store_interrupt_handle(n.ptr)}
	n.interrupt.Store(h)
	return h.p
}

// interruptHandle boxes the native handle for an atomic pointer (the C type is incomplete).
type interruptHandle struct {
	p *C.spry_interrupt_handle_t
}

// emptyModule is `(module (func (export "f")))`.
var emptyModule = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
	0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // type section: () -> ()
	0x03, 0x02, 0x01, 0x00, // function section: one function of type 0
	0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export section: "f" = func 0
	0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b, // code section: no locals, end
}

// flushModule returns the engine's empty module, compiled on first use.
func (e *Engine) flushModule() (*Module, error) {
	e.flushOnce.Do(func() {
		e.flush, e.flushErr = compile(e, emptyModule, "")
	})
	return e.flush, e.flushErr
}

// flushInterrupt runs an empty function as the outermost call of s, which consumes a pending
// interrupt request. The caller holds the store (state busy) as the outermost call.
func (s *Store) flushInterrupt() {
	if !s.extra().hasFlush {
		m, err := s.engine.flushModule()
		if err != nil {
			return
		}
		mp, err := m.acquire()
		if err != nil {
			return
		}
		inst, ok := s.instantiateHeld(mp)
		m.release()
		if !ok {
			return
		}
		var ext C.spry_extern_t
		name, n := cString("f")
		if !C.spry_instance_export_get(s.native.ptr, inst, name, n, &ext) {
			return
		}
		s.extra().flush = C.spry_func_t{store_id: ext.store_id, index: ext.index}
		s.extra().hasFlush = true
	}
	s.callHeld(s.extra().flush)
}
