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

// flushInterrupt withdraws a pending interrupt request of s. The caller holds the store (state
// busy) as the outermost call, which has returned: no Wasm code runs in it.
func (s *Store) flushInterrupt() {
	C.spry_store_interrupt_reset(s.native.ptr)
}
