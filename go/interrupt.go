//go:build cgo

package spry

// Context support: a call whose context can be cancelled arms an interrupt request for its store
// with context.AfterFunc; the Wasm code then traps with TrapInterrupt at its next function entry or
// loop back-edge.
//
// The engine's request is sticky: it holds until the outermost call into the store returns, where
// the engine clears it. A context cancelled just as an outermost call returns may make its request
// after that clearing, which would stop the store's next call for nothing. So when the AfterFunc
// ran (stop reports false), the call waits for it to finish and, if it is the outermost call,
// withdraws the stale request (spry_store_interrupt_reset). This is the rare path (a context
// cancelled during a call); a call whose context is not cancelled pays only for AfterFunc and its
// stop.

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

// interruptHandle returns the store's interrupt handle, made on first use. The store is open: the
// caller holds it (a call's arm) or holds n.mu with n.closed unset (Interrupt).
func (n *storeNative) interruptHandle() *C.spry_interrupt_handle_t {
	if h := n.interrupt.Load(); h != nil {
		return h.p
	}
	h := &interruptHandle{p: C.spry_store_interrupt_handle(n.ptr)}
	if !n.interrupt.CompareAndSwap(nil, h) {
		C.spry_interrupt_handle_delete(h.p) // another goroutine made one first
	}
	return n.interrupt.Load().p
}

// Interrupt stops the Wasm code running in the store: the call traps with a *Trap of code
// TrapInterrupt (errors.Is(err, ErrInterrupted)) at the code's next function entry or loop
// back-edge, up to the outermost call into the store. It is safe to call from any goroutine, at
// any time, also after Close (it then does nothing). When no call runs in the store, it does
// nothing: it never stops a later call (a call starting at the very moment Interrupt is made may
// or may not be stopped). A host function that is running is not stopped; the Wasm code that
// called it traps as soon as it resumes. An engine made with Config.DisableInterrupts compiles
// code that never checks, so there Interrupt has no effect.
func (s *Store) Interrupt() {
	if s == nil || s.native == nil {
		return
	}
	n := s.native
	n.interruptUsed.Store(true) // before reading closed; free sets closed before reading this
	if n.closed.Load() {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed.Load() || s.state.Load() != stateBusy {
		return
	}
	n.requested.Store(true)
	C.spry_interrupt_handle_interrupt(n.interruptHandle())
}

// withdrawStaleInterrupt is called by the outermost call into the store as it starts: a request of
// Interrupt that landed after the call it was meant for ended would stop this call; withdraw it.
func (s *Store) withdrawStaleInterrupt() {
	if s.native.requested.Load() {
		s.native.requested.Store(false)
		C.spry_store_interrupt_reset(s.native.ptr)
	}
}

// interruptHandle boxes the native handle for an atomic pointer (the C type is incomplete).
type interruptHandle struct {
	p *C.spry_interrupt_handle_t
}

// flushInterrupt withdraws a pending interrupt request of s. The caller holds the store (state
// busy) as the outermost call, which has returned: no Wasm code runs in it.
func (s *Store) flushInterrupt() {
	C.spry_store_interrupt_reset(s.native.ptr)
}
