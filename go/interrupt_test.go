//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

func TestContextCancelInterrupts(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err := fn(t, inst, "spin").Call(ctx)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, spry.ErrInterrupted) {
		t.Fatalf("spin with a cancelled context: %v", err)
	}
	var trap *spry.Trap
	if !errors.As(err, &trap) || trap.Code() != spry.TrapInterrupt {
		t.Errorf("err = %v, want an interrupt trap", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the interrupt took %v", d)
	}
	// The store is usable, and not interrupted, afterwards.
	if res, err := fn(t, inst, "div").Call(ctxb, 8, 2); err != nil || res[0] != int32(4) {
		t.Errorf("div after an interrupt = %v, %v", res, err)
	}
}

func TestContextDeadline(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	spin := must(spry.Typed0(fn(t, inst, "spin")))(t)
	err := spin(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, spry.ErrInterrupted) {
		t.Fatalf("spin past its deadline: %v", err)
	}
}

func TestContextAlreadyDone(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fn(t, inst, "div").Call(ctx, 1, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("a call with a cancelled context: %v, want context.Canceled", err)
	}
	if err := fn(t, inst, "div").CallRaw(ctx, []uint64{1, 1}); !errors.Is(err, spry.ErrInterrupted) {
		t.Errorf("a raw call with a cancelled context: %v, want ErrInterrupted", err)
	}
	if res, err := fn(t, inst, "div").Call(ctxb, 6, 3); err != nil || res[0] != int32(2) {
		t.Errorf("div afterwards = %v, %v", res, err)
	}
}

func TestContextInHostFunction(t *testing.T) {
	// A context cancelled while a host function runs stops the Wasm code once it resumes.
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defineHostModuleImports(t, f.linker, func(c *spry.Caller, x int32) int32 {
		cancel()
		<-c.Context().Done()
		return x
	})
	inst := f.instantiate(t, hostModule())
	if _, err := fn(t, inst, "callFThenSpin").Call(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("callFThenSpin: %v, want context.Canceled", err)
	}
}

func TestCancellationRacesDoNotLeak(t *testing.T) {
	// Contexts cancelled at any moment around short calls: a request that lands after a call ended
	// must not stop the next call.
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	div := must(spry.Typed2R[int32, int32, int32](fn(t, inst, "div")))(t)
	for i := 0; i < 2000; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		go cancel()
		_, err := div(ctx, 4, 2)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("call %d: %v", i, err)
		}
		if r, err := div(ctxb, 9, 3); err != nil || r != 3 {
			t.Fatalf("call %d after a racing cancel: %v, %v", i, r, err)
		}
	}
}

func TestDisableInterrupts(t *testing.T) {
	e := must(spry.NewEngine(&spry.Config{DisableInterrupts: true}))(t)
	defer e.Close()
	f := newFixtureOn(t, e)
	inst := f.instantiate(t, trapsModule())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if res, err := fn(t, inst, "div").Call(ctx, 4, 2); err != nil || res[0] != int32(2) {
		t.Errorf("div = %v, %v", res, err)
	}
	cancel()
	if _, err := fn(t, inst, "div").Call(ctx, 4, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("a call with a done context: %v, want context.Canceled", err)
	}
}

func TestLongCallDoesNotStallGC(t *testing.T) {
	// Wasm code runs in a cgo call, which Go's stop-the-world phases do not wait for.
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	started := make(chan struct{})
	done := make(chan error)
	go func() {
		close(started)
		_, err := fn(t, inst, "spin").Call(ctx)
		done <- err
	}()
	<-started
	time.Sleep(50 * time.Millisecond) // let the spin start
	begin := time.Now()
	runtime.GC()
	runtime.GC()
	if d := time.Since(begin); d > time.Second {
		t.Errorf("two collections during a Wasm call took %v", d)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("spin: %v", err)
	}
}

func TestLateInterruptRequestIsFlushed(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	div := fn(t, inst, "div")
	// The engine's request is sticky: one made while no call runs stops the next call...
	spry.RequestInterrupt(f.store)
	if _, err := div.Call(ctxb, 4, 2); !errors.Is(err, spry.ErrInterrupted) {
		t.Fatalf("a call after a late request: %v, want ErrInterrupted (the engine's documented behaviour)", err)
	}
	// ...which is why a call whose context fired late flushes it.
	spry.RequestInterrupt(f.store)
	spry.FlushInterrupt(f.store)
	if res, err := div.Call(ctxb, 4, 2); err != nil || res[0] != int32(2) {
		t.Errorf("a call after a flushed request = %v, %v", res, err)
	}
}
