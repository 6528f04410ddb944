//go:build cgo

package spry_test

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// runGoroutine runs f on a new goroutine and waits until it ends, however it ends (returns, panics
// and recovers, or runtime.Goexit).
func runGoroutine(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

// TestGoexitInHostFunctionLeavesStoreUsable: a host function that calls runtime.Goexit (what
// t.Fatal does) ends its goroutine; the store, the thread the call ran on and the engine stay
// usable: later calls, traps (which need the thread's activation chain intact), nested calls and
// Close all work, from the same goroutine's deferred functions and from other goroutines. Many
// rounds, so that the abandoned threads are reused by later calls.
func TestGoexitInHostFunctionLeavesStoreUsable(t *testing.T) {
	f := newFixture(t)
	var goexit atomic.Bool
	var hostRuns atomic.Int32
	defineHostModuleImports(t, f.linker, func(x int32) int32 {
		hostRuns.Add(1)
		if goexit.Load() {
			runtime.Goexit()
		}
		return x * 2
	})
	inst := f.instantiate(t, hostModule())
	callF := fn(t, inst, "callF")
	unreachable := fn(t, inst, "unreachable")
	typed := must(spry.Typed1R[int32, int32](callF))(t)
	for round := 0; round < 50; round++ {
		goexit.Store(true)
		var returned, deferredErr error
		var deferredRan bool
		before := hostRuns.Load()
		runGoroutine(func() {
			defer func() {
				// Goexit runs this after the call into Wasm was unwound: the store is idle.
				deferredRan = true
				goexit.Store(false)
				_, deferredErr = callF.Call(ctxb, 5)
			}()
			switch round % 3 {
			case 0:
				_, returned = callF.Call(ctxb, 1)
			case 1:
				_, returned = typed(ctxb, 1)
			case 2:
				returned = callF.CallRaw(ctxb, []uint64{1})
			}
			t.Errorf("round %d: the call returned (%v) after the host function called runtime.Goexit", round, returned)
		})
		if hostRuns.Load() != before+2 || !deferredRan {
			t.Fatalf("round %d: the host function ran %d times, deferred call ran: %v", round, hostRuns.Load()-before, deferredRan)
		}
		if deferredErr != nil {
			t.Fatalf("round %d: a call from the exiting goroutine's deferred function: %v", round, deferredErr)
		}
		// From this goroutine: calls, traps and typed calls work.
		if r, err := callF.Call(ctxb, 21); err != nil || r[0] != int32(42) {
			t.Fatalf("round %d: callF after Goexit = %v, %v", round, r, err)
		}
		if _, err := unreachable.Call(ctxb); !errors.Is(err, spry.ErrUnreachable) {
			t.Fatalf("round %d: a trap after Goexit: %v", round, err)
		}
		// And from other goroutines (other threads, some of them the abandoned ones).
		runGoroutine(func() {
			if _, err := unreachable.Call(ctxb); !errors.Is(err, spry.ErrUnreachable) {
				t.Errorf("round %d: a trap on another goroutine after Goexit: %v", round, err)
			}
			if r, err := typed(ctxb, 4); err != nil || r != 8 {
				t.Errorf("round %d: typed call on another goroutine = %v, %v", round, r, err)
			}
		})
	}
	if err := f.store.Close(); err != nil {
		t.Errorf("Close after Goexit rounds: %v", err)
	}
}

// TestGoexitInNestedHostFunction: Go → Wasm → Go → Wasm → Go (Goexit) abandons both levels; the
// store is usable afterwards, including for nested calls.
func TestGoexitInNestedHostFunction(t *testing.T) {
	f := newFixture(t)
	var inst *spry.Instance
	var goexit atomic.Bool
	err := f.linker.DefineFunc("env", "host", func(c *spry.Caller, x int32) (int32, error) {
		if x > 10 {
			outer, err := c.Func("outer")
			if err != nil {
				return 0, err
			}
			r, err := outer.Call(c.Context(), x-1)
			if err != nil {
				return 0, err
			}
			return r[0].(int32), nil
		}
		if goexit.Load() {
			runtime.Goexit()
		}
		inner, err := c.Func("inner")
		if err != nil {
			return 0, err
		}
		r, err := inner.Call(c.Context(), x)
		if err != nil {
			return 0, err
		}
		return r[0].(int32), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	inst = f.instantiate(t, nestedModule())
	outer := fn(t, inst, "outer")
	for round := 0; round < 20; round++ {
		goexit.Store(true)
		runGoroutine(func() {
			outer.Call(ctxb, 13)
			t.Errorf("round %d: the nested call returned after Goexit", round)
		})
		goexit.Store(false)
		// outer(13) → host → outer(12) → host → outer(11) → host → outer(10) → host(10) → inner = 20.
		if r, err := outer.Call(ctxb, 13); err != nil || r[0] != int32(24) {
			t.Fatalf("round %d: outer(13) after a nested Goexit = %v, %v", round, r, err)
		}
		if _, err := fn(t, inst, "innerTrap").Call(ctxb); !errors.Is(err, spry.ErrUnreachable) {
			t.Fatalf("round %d: a trap after a nested Goexit: %v", round, err)
		}
	}
}

// TestHostPanicWithRecoveringCaller: a host function panics, the Go caller recovers (as net/http's
// server does with a handler's panic); the store stays usable, from any goroutine.
func TestHostPanicWithRecoveringCaller(t *testing.T) {
	f := newFixture(t)
	var boom atomic.Bool
	defineHostModuleImports(t, f.linker, func(x int32) int32 {
		if boom.Load() {
			panic("boom")
		}
		return x + 1
	})
	inst := f.instantiate(t, hostModule())
	callF := fn(t, inst, "callF")
	for round := 0; round < 20; round++ {
		boom.Store(true)
		var recovered any
		runGoroutine(func() {
			defer func() { recovered = recover() }()
			callF.Call(ctxb, 1)
		})
		if recovered != "boom" {
			t.Fatalf("round %d: recovered %#v, want \"boom\"", round, recovered)
		}
		boom.Store(false)
		runGoroutine(func() {
			if r, err := callF.Call(ctxb, 1); err != nil || r[0] != int32(2) {
				t.Errorf("round %d: callF after a recovered panic = %v, %v", round, r, err)
			}
		})
		if _, err := fn(t, inst, "unreachable").Call(ctxb); !errors.Is(err, spry.ErrUnreachable) {
			t.Fatalf("round %d: a trap after a recovered panic: %v", round, err)
		}
	}
}

// TestGoexitDuringInstantiation: the start function's host import calls runtime.Goexit; the store
// is usable afterwards.
func TestGoexitDuringInstantiation(t *testing.T) {
	f := newFixture(t)
	var goexit atomic.Bool
	defineHostModuleImports(t, f.linker, func(x int32) int32 { return x })
	if err := f.linker.DefineFunc("env", "start", func() {
		if goexit.Load() {
			runtime.Goexit()
		}
	}); err != nil {
		t.Fatal(err)
	}
	m := newModule()
	m.start = int64(m.importFunc("env", "start", sig(nil)))
	startMod := must(spry.Compile(f.engine, m.bytes()))(t)
	defer startMod.Close()
	hostMod := must(spry.Compile(f.engine, hostModule()))(t)
	defer hostMod.Close()
	for round := 0; round < 10; round++ {
		goexit.Store(true)
		runGoroutine(func() {
			f.linker.Instantiate(ctxb, f.store, startMod)
			t.Error("Instantiate returned after Goexit in the start function")
		})
		goexit.Store(false)
		inst := must(f.linker.Instantiate(ctxb, f.store, hostMod))(t)
		if r, err := fn(t, inst, "callF").Call(ctxb, 7); err != nil || r[0] != int32(7) {
			t.Fatalf("callF after Goexit in a start function = %v, %v", r, err)
		}
		if _, err := fn(t, inst, "unreachable").Call(ctxb); !errors.Is(err, spry.ErrUnreachable) {
			t.Fatalf("a trap after Goexit in a start function: %v", err)
		}
	}
}
