//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Store holds instances and everything made for them (memories, tables, globals, host functions)
// plus the host's own data: the unit of isolation and of cleanup. Stores are cheap; a service may
// use one per request.
//
// A Store, and everything taken from it (Instance, Func, Memory, Global, Table), is used by one
// goroutine at a time; a call that finds another goroutine running code in the store returns
// ErrConcurrentStoreUse. Close releases everything the store holds; items taken from it then fail
// with ErrClosed.
//
// A Store is kept small, so that a store per instance costs little: what only some stores need
// (wrappers of items, host-call state, interrupt plumbing) is made on first use (storeExtra).
type Store struct {
	state   atomic.Int32 // stateIdle, stateBusy (a call runs), stateClosed
	native  *storeNative
	handle  uint64 // in the stores table: how host callbacks find the store
	engine  *Engine
	cleanup runtime.Cleanup
	data    any

	// The state of the running call, touched only by the goroutine that runs it.
	ctx        context.Context
	panicValue any   // the recovered panic of a host function, re-raised by the call that gets its trap
	panicking  bool  // panicValue is set (it may be nil-like)
	hostErr    error // the error of a host function, wrapped by the trap it became

	x     *storeExtra // made on first use (see extra)
	inst0 Instance    // the store's first instance (see newInstance)
}

// storeExtra is the part of a Store that many stores never need.
type storeExtra struct {
	callers []*Caller // reused by nested host calls, by depth
	depth   int

	// Go wrappers of the store's items, by their index in the store, made once.
	funcs    []*Func
	memories []*Memory
	globals  []*Global
	tables   []*Table
	hostRefs []*HostRef // externref data d names hostRefs[d-1]

	spareArm *interruptArm
}

// extra returns the store's storeExtra, making it on first use.
func (s *Store) extra() *storeExtra {
	if s.x == nil {
		s.x = new(storeExtra)
	}
	return s.x
}

const (
	stateIdle int32 = iota
	stateBusy
	stateClosed
)

var errStoreClosed = fmt.Errorf("%w: store", ErrClosed)

// storeNative holds the native objects of a store; the cleanup owns it when Close was not called.
// It is also the store's entry in the stores table, which callbacks use to find the store: it names
// the store only while a call into the store runs (the outermost call sets active and clears it, see
// begin and release), so neither the table nor the cleanup keeps an idle store reachable, and a
// store nobody uses is released by its cleanup. (A weak pointer would do the same at several times
// the cost of creating a store.)
type storeNative struct {
	ptr       *C.spry_store_t
	interrupt atomic.Pointer[interruptHandle] // made on first use (interrupt.go)
	handle    uint64
	active    *Store
	wasiEnvs  [3]C.uintptr_t // handles of the store's own WASI streams, released with it (wasi.go)

	// Store.Interrupt, from any goroutine, against free (see Store.Interrupt): free takes mu
	// only if interruptUsed is set.
	closed        atomic.Bool
	interruptUsed atomic.Bool
	requested     atomic.Bool // Store.Interrupt made a request that the next call withdraws if stale
	mu            sync.Mutex
}

func (n *storeNative) free() {
	stores.remove(n.handle)
	n.closed.Store(true)
	if n.interruptUsed.Load() {
		n.mu.Lock()
		defer n.mu.Unlock()
	}
	if ih := n.interrupt.Load(); ih != nil {
		C.spry_interrupt_handle_delete(ih.p)
	}
	C.spry_store_delete(n.ptr)
	releaseWASIEnvs(&n.wasiEnvs)
}

// stores maps the handles that cross to C (see enter.go) to stores.
var stores handleTable[storeNative]

// NewStore returns an empty store for modules of engine.
func NewStore(engine *Engine) (*Store, error) {
	e, err := engine.acquire()
	if err != nil {
		return nil, err
	}
	ptr := C.spry_store_new(e)
	engine.release()
	if ptr == nil {
		return nil, errors.New("spry: cannot create a store")
	}
	s := &Store{engine: engine}
	s.native = &storeNative{ptr: ptr}
	s.handle = stores.add(s.native)
	s.native.handle = s.handle
	s.cleanup = runtime.AddCleanup(s, func(n *storeNative) {
		reportLeak("Store")
		n.free()
	}, s.native)
	return s, nil
}

// Engine returns the engine the store was made for.
func (s *Store) Engine() *Engine {
	if s == nil {
		return nil
	}
	return s.engine
}

// SetData attaches a value of the host's to the store (replacing any earlier one); host functions
// read it with Caller.Data.
func (s *Store) SetData(v any) {
	if s != nil {
		s.data = v
	}
}

// Data returns the value attached with SetData, or nil.
func (s *Store) Data() any {
	if s == nil {
		return nil
	}
	return s.data
}

// Close releases the store and everything in it; a second Close returns nil. Close does not stop a
// running call: while a call runs in the store (from a host function of the store, or from another
// goroutine) it returns an error wrapping ErrConcurrentStoreUse and changes nothing. To end a call
// that runs too long from another goroutine, call Interrupt (or cancel the call's context), then
// Close once the call has returned.
func (s *Store) Close() error {
	if s == nil || s.native == nil {
		return nil
	}
	if !s.state.CompareAndSwap(stateIdle, stateClosed) {
		if s.state.Load() == stateClosed {
			return nil
		}
		return fmt.Errorf("%w: Close while a call is running in the store", ErrConcurrentStoreUse)
	}
	s.cleanup.Stop()
	s.native.free()
	if s.x != nil {
		s.x.hostRefs = nil
	}
	return nil
}

// ptr returns the native store; it fails after Close. It takes no guard: the caller already holds
// the store (see use), or only checks that it is open.
func (s *Store) ptr() (*C.spry_store_t, error) {
	maybeGC()
	if s == nil || s.native == nil || s.state.Load() == stateClosed {
		return nil, errStoreClosed
	}
	return s.native.ptr, nil
}
