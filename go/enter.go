//go:build cgo

package spry

// Entering Wasm: every C entry point that may run Wasm code (calls, instantiation) goes through a
// small C wrapper here, which pushes an activation record, naming the Go store, on a thread-local
// chain for the duration of the call. A host callback, which runs on the same thread, reads the
// innermost record to find its store (host functions defined in a Linker are shared by every store,
// and the C surface does not tell a callback which store it runs in). The chain also tells a
// nested call (Go → Wasm → Go → Wasm, same thread) from a concurrent one (another goroutine, so
// another thread) when a store is already busy.
//
// The wrappers return their outcome by value rather than through out-parameters, so that no Go
// stack address crosses to C: a host callback may grow (and so move) the goroutine's stack while
// C still holds such an address.

/*
#include <stdint.h>
#include "spry.h"

typedef struct go_act {
	uintptr_t store;
	struct go_act* prev;
} go_act;

static __thread go_act* go_acts;

// The //export'ed callbacks (callback.go).
extern spry_trap_t* goSpryHostCall(size_t env, uintptr_t store, spry_caller_t* caller, uint64_t* slots, size_t nargs, size_t nresults);
extern void goSpryHostFinalize(size_t env);

static spry_trap_t* go_host_trampoline(size_t env, spry_caller_t* caller, uint64_t* slots, size_t nargs, size_t nresults) {
	return goSpryHostCall(env, go_acts ? go_acts->store : 0, caller, slots, nargs, nresults);
}

static spry_host_callback_t go_host_callback(void) { return go_host_trampoline; }
static spry_finalizer_t go_host_finalizer(void) { return goSpryHostFinalize; }

// The handle of the store of the innermost call into Wasm on this thread, 0 outside any: a WASI
// callback (wasi_callbacks.go) finds the store whose call it serves with it.
uintptr_t go_current_store(void) { return go_acts ? go_acts->store : 0; }

// Whether this thread is inside a call into the store registered under store (a host function of
// the store runs on it).
int go_thread_in_store(uintptr_t store) {
	for (go_act* a = go_acts; a; a = a->prev) {
		if (a->store == store) return 1;
	}
	return 0;
}

// A host callback on this thread will not return (runtime.Goexit): forget the innermost activation,
// Go's and the engine's, whose C frames Go's runtime is about to discard (see finishHost).
void go_abandon(void) {
	if (go_acts) go_acts = go_acts->prev;
	spry_thread_abandon_call();
}

typedef struct go_call_out {
	spry_error_t* err;
	spry_trap_t* trap;
	uint64_t r0; // the first result slot (go_call_typed)
} go_call_out;

#define GO_ENTER(h) go_act act = { (h), go_acts }; go_acts = &act
#define GO_LEAVE() go_acts = act.prev

static go_call_out go_call_unchecked(uintptr_t h, spry_store_t* s, spry_func_t f, uint64_t* slots, size_t n) {
	go_call_out out = {0};
	GO_ENTER(h);
	out.err = spry_func_call_unchecked(s, f, slots, n, &out.trap);
	GO_LEAVE();
	return out;
}

static go_call_out go_call_typed(uintptr_t h, spry_store_t* s, spry_func_t f, size_t n,
		uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3) {
	go_call_out out = {0};
	uint64_t slots[4] = { a0, a1, a2, a3 };
	GO_ENTER(h);
	out.err = spry_func_call_unchecked(s, f, slots, n, &out.trap);
	GO_LEAVE();
	out.r0 = slots[0];
	return out;
}

static go_call_out go_call_checked(uintptr_t h, spry_store_t* s, spry_func_t f,
		const spry_val_t* args, size_t nargs, spry_val_t* results, size_t nresults) {
	go_call_out out = {0};
	GO_ENTER(h);
	out.err = spry_func_call(s, f, args, nargs, results, nresults, &out.trap);
	GO_LEAVE();
	return out;
}

typedef struct go_inst_out {
	spry_error_t* err;
	spry_trap_t* trap;
	spry_instance_t inst;
} go_inst_out;

static go_inst_out go_linker_instantiate(uintptr_t h, const spry_linker_t* l, spry_store_t* s, const spry_module_t* m) {
	go_inst_out out = {0};
	GO_ENTER(h);
	out.err = spry_linker_instantiate(l, s, m, &out.inst, &out.trap);
	GO_LEAVE();
	return out;
}

static go_inst_out go_instance_pre_instantiate(uintptr_t h, const spry_instance_pre_t* p, spry_store_t* s) {
	go_inst_out out = {0};
	GO_ENTER(h);
	out.err = spry_instance_pre_instantiate(p, s, &out.inst, &out.trap);
	GO_LEAVE();
	return out;
}

static go_inst_out go_instance_new(uintptr_t h, spry_store_t* s, const spry_module_t* m, const spry_extern_t* imports, size_t n) {
	go_inst_out out = {0};
	GO_ENTER(h);
	out.err = spry_instance_new(s, m, imports, n, &out.inst, &out.trap);
	GO_LEAVE();
	return out;
}
*/
import "C"

import (
	"context"
	"unsafe"
)

// The C addresses of the callbacks, for spry_linker_define_func and spry_func_new.
var (
	hostCallback  = C.go_host_callback()
	hostFinalizer = C.go_host_finalizer()
)

// callState is what a call into Wasm restores when it returns.
type callState struct {
	outer bool            // the outermost call into the store: it owns the store's busy state
	done  bool            // end ran: the call came back through C (see unwound)
	ctx   context.Context // the call's context (nil for none)
	prev  context.Context // the store's context before the call (a nested call restores it)
	arm   *interruptArm   // set when ctx can be cancelled
	call  bool            // a call of fn, not an instantiation (see exitOutcome)
	fn    C.spry_func_t
}

// begin starts a call into Wasm code of s: it claims the store (or checks that this is a nested
// call on the same thread), and arms ctx's cancellation. Every successful begin is followed by end.
func (s *Store) begin(ctx context.Context, c *callState) error {
	if s == nil || s.native == nil {
		return errStoreClosed // a nil or zero Store
	}
	if s.state.CompareAndSwap(stateIdle, stateBusy) {
		c.outer = true
		s.native.active = s
		if s.native.requested.Load() {
			s.withdrawStaleInterrupt()
		}
	} else {
		switch s.state.Load() {
		case stateClosed:
			return errStoreClosed
		case stateBusy:
			if C.go_thread_in_store(C.uintptr_t(s.handle)) != 0 {
				break // a nested call, from a host function running in this store
			}
			fallthrough
		default:
			return ErrConcurrentStoreUse
		}
	}
	if ctx != nil && ctx.Done() != nil {
		if err := ctx.Err(); err != nil {
			s.release(c)
			return newInterruptTrap(err)
		}
		if !s.engine.cfg.DisableInterrupts {
			c.arm = s.arm(ctx)
		}
	}
	c.ctx = ctx
	c.prev = s.ctx
	s.ctx = ctx
	return nil
}

// release gives the store back after a call (or a call that did not start).
func (s *Store) release(c *callState) {
	if c.outer {
		s.native.active = nil
		s.state.Store(stateIdle)
	}
}

// end finishes a call begun with begin: it turns the outcome into an error, disarms the context,
// releases the store, and re-raises the panic of a host function the call ran, if any.
//
// A host function that failed left its error, or its recovered panic, in the store just before
// returning the trap that unwound the Wasm frames to the innermost Go call into the store: this
// one. So what the store holds here belongs to this call.
func (s *Store) end(c *callState, errp *C.spry_error_t, trapp *C.spry_trap_t) error {
	c.done = true
	s.ctx = c.prev
	if errp == nil && trapp == nil { // success: no host function failed
		if c.arm != nil {
			s.disarm(c)
		}
		s.release(c)
		return nil
	}
	panicking, panicValue, hostErr := s.panicking, s.panicValue, s.hostErr
	s.panicking, s.panicValue, s.hostErr = false, nil, nil
	var err error
	switch {
	case errp != nil:
		discard(nil, trapp)
		err = takeError(errp)
	case trapp != nil && panicking:
		discard(nil, trapp)
	case trapp != nil:
		if code, ok := trapExitCode(trapp); ok { // proc_exit (wasi.go)
			discard(nil, trapp)
			err = s.exitOutcome(c, code)
			break
		}
		t := newTrap(trapp)
		if inner, ok := hostErr.(*Trap); ok && t.code == TrapHostError {
			t = inner // a host function returned the trap of a nested call: it goes on unchanged
		} else if t.code == TrapHostError {
			t.cause = hostErr
		}
		if t.code == TrapInterrupt && t.cause == nil && c.ctx != nil {
			t.cause = c.ctx.Err()
		}
		err = t
	}
	if c.arm != nil {
		s.disarm(c)
	}
	s.release(c)
	if panicking {
		panic(panicValue)
	}
	return err
}

// unwound, deferred by every call into Wasm, finishes a call that did not come back through C: a
// host function it ran called runtime.Goexit, which unwinds the goroutine past the C frames (the
// host callback forgot them in the engine first, see finishHost). It restores what end would have,
// so that the store is usable again, as after a trap. A call that ended normally costs one check.
func (s *Store) unwound(c *callState) {
	if c.done {
		return
	}
	c.done = true
	s.ctx = c.prev
	s.panicking, s.panicValue, s.hostErr = false, nil, nil
	if c.arm != nil {
		s.disarm(c)
	}
	s.release(c)
}

// use claims s for an operation that is not a call into Wasm (reading or growing a memory, making a
// function, setting a global...): it returns the native store and whether the operation took the
// store's busy state, which it gives back with unuse (deferred, so that a panic gives it back too).
// While a call runs in the store, only the goroutine running it may operate on the store (from a
// host function, on the call's thread); any other goroutine gets ErrConcurrentStoreUse, as a
// concurrent call does, instead of racing with the running code.
func (s *Store) use() (*C.spry_store_t, bool, error) {
	maybeGC()
	if s == nil || s.native == nil {
		return nil, false, errStoreClosed
	}
	if s.state.CompareAndSwap(stateIdle, stateBusy) {
		return s.native.ptr, true, nil
	}
	switch s.state.Load() {
	case stateClosed:
		return nil, false, errStoreClosed
	case stateBusy:
		if C.go_thread_in_store(C.uintptr_t(s.handle)) != 0 {
			return s.native.ptr, false, nil // from a host function of the running call
		}
	}
	return nil, false, ErrConcurrentStoreUse
}

// unuse gives back what use took.
func (s *Store) unuse(owned bool) {
	if owned {
		s.state.Store(stateIdle)
	}
}

// newTrap copies a C trap into a *Trap and deletes the C trap.
func newTrap(tp *C.spry_trap_t) *Trap {
	var n C.size_t
	msg := C.spry_trap_message(tp, &n)
	t := &Trap{code: TrapCode(C.spry_trap_code(tp)), msg: goString(msg, n)}
	if nf := int(C.spry_trap_frames_len(tp)); nf > 0 {
		t.frames = make([]Frame, 0, nf)
		var fr C.spry_frame_t
		for i := 0; i < nf; i++ {
			if !C.spry_trap_frame(tp, C.size_t(i), &fr) {
				break
			}
			t.frames = append(t.frames, Frame{
				FuncIndex:  uint32(fr.func_index),
				FuncName:   goString(fr.func_name, fr.func_name_len),
				ModuleName: goString(fr.module_name, fr.module_name_len),
			})
		}
	}
	C.spry_trap_delete(tp)
	return t
}

// callUnchecked runs f over raw slots.
func (s *Store) callUnchecked(ctx context.Context, f C.spry_func_t, slots []uint64) error {
	c := callState{call: true, fn: f}
	if err := s.begin(ctx, &c); err != nil {
		return err
	}
	defer s.unwound(&c)
	var p *C.uint64_t
	if len(slots) > 0 {
		p = (*C.uint64_t)(unsafe.Pointer(&slots[0]))
	}
	out := C.go_call_unchecked(C.uintptr_t(s.handle), s.native.ptr, f, p, C.size_t(len(slots)))
	return s.end(&c, out.err, out.trap)
}

// callTyped runs f with up to four argument slots passed by value; it returns the first result slot.
func (s *Store) callTyped(ctx context.Context, f C.spry_func_t, n int, a0, a1, a2, a3 uint64) (uint64, error) {
	c := callState{call: true, fn: f}
	if err := s.begin(ctx, &c); err != nil {
		return 0, err
	}
	defer s.unwound(&c)
	out := C.go_call_typed(C.uintptr_t(s.handle), s.native.ptr, f, C.size_t(n),
		C.uint64_t(a0), C.uint64_t(a1), C.uint64_t(a2), C.uint64_t(a3))
	return uint64(out.r0), s.end(&c, out.err, out.trap)
}

// callChecked runs f over checked values (the path for functions with reference types).
func (s *Store) callChecked(ctx context.Context, f C.spry_func_t, args, results []C.spry_val_t) error {
	c := callState{call: true, fn: f}
	if err := s.begin(ctx, &c); err != nil {
		return err
	}
	defer s.unwound(&c)
	var pa, pr *C.spry_val_t
	if len(args) > 0 {
		pa = &args[0]
	}
	if len(results) > 0 {
		pr = &results[0]
	}
	out := C.go_call_checked(C.uintptr_t(s.handle), s.native.ptr, f, pa, C.size_t(len(args)), pr, C.size_t(len(results)))
	return s.end(&c, out.err, out.trap)
}

// instantiateLinked instantiates m in s with the imports of l.
// Like the other instantiations, it retries once after a collection if resources ran out (see
// retryAfterGC).
func (s *Store) instantiateLinked(ctx context.Context, l *C.spry_linker_t, m *C.spry_module_t) (inst C.spry_instance_t, err error) {
	err = retryAfterGC(func() error {
		var c callState
		if err := s.begin(ctx, &c); err != nil {
			return err
		}
		defer s.unwound(&c)
		out := C.go_linker_instantiate(C.uintptr_t(s.handle), l, s.native.ptr, m)
		inst = out.inst
		return s.end(&c, out.err, out.trap)
	})
	return inst, err
}

// instantiatePre instantiates the module of p in s with p's resolved imports.
func (s *Store) instantiatePre(ctx context.Context, p *C.spry_instance_pre_t) (inst C.spry_instance_t, err error) {
	err = retryAfterGC(func() error {
		var c callState
		if err := s.begin(ctx, &c); err != nil {
			return err
		}
		defer s.unwound(&c)
		out := C.go_instance_pre_instantiate(C.uintptr_t(s.handle), p, s.native.ptr)
		inst = out.inst
		return s.end(&c, out.err, out.trap)
	})
	return inst, err
}

// instantiate instantiates m in s with the given imports, in the module's import order.
func (s *Store) instantiate(ctx context.Context, m *C.spry_module_t, imports []C.spry_extern_t) (inst C.spry_instance_t, err error) {
	err = retryAfterGC(func() error {
		var c callState
		if err := s.begin(ctx, &c); err != nil {
			return err
		}
		defer s.unwound(&c)
		var p *C.spry_extern_t
		if len(imports) > 0 {
			p = &imports[0]
		}
		out := C.go_instance_new(C.uintptr_t(s.handle), s.native.ptr, m, p, C.size_t(len(imports)))
		inst = out.inst
		return s.end(&c, out.err, out.trap)
	})
	return inst, err
}

// discard deletes an unwanted outcome.
func discard(errp *C.spry_error_t, trapp *C.spry_trap_t) {
	if errp != nil {
		C.spry_error_delete(errp)
	}
	if trapp != nil {
		C.spry_trap_delete(trapp)
	}
}
