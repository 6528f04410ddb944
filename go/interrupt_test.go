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

// spinningInstance instantiates hostModule with an env.f that reports, on the returned channel,
// that the Wasm code calling it runs: callFThenSpin then loops until it is interrupted.
func spinningInstance(t *testing.T) (*fixture, *spry.Instance, <-chan struct{}) {
	t.Helper()
	f := newFixture(t)
	running := make(chan struct{}, 1)
	defineHostModuleImports(t, f.linker, func(x int32) int32 {
		select {
		case running <- struct{}{}:
		default:
		}
		return x
	})
	return f, f.instantiate(t, hostModule()), running
}

// checkSpinInterrupted fails unless err is an interrupt trap raised in callFThenSpin's loop.
func checkSpinInterrupted(t *testing.T, err error) {
	t.Helper()
	var trap *spry.Trap
	if !errors.As(err, &trap) || trap.Code() != spry.TrapInterrupt || !errors.Is(err, spry.ErrInterrupted) {
		t.Fatalf("err = %v, want an interrupt trap", err)
	}
	if frames := trap.Frames(); len(frames) == 0 || frames[0].FuncName != "callFThenSpin" {
		t.Errorf("the trap's frames are %v, want the spinning callFThenSpin on top", frames)
	}
}

func TestContextCancelInterrupts(t *testing.T) {
	// A handshake, not a sleep: the Wasm code tells the test it is running (through env.f), then
	// spins; the context is cancelled only then, so the interrupt lands in running Wasm code.
	_, inst, running := spinningInstance(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-running
		cancel()
	}()
	_, err := fn(t, inst, "callFThenSpin").Call(ctx, 1)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("callFThenSpin with a cancelled context: %v, want context.Canceled", err)
	}
	checkSpinInterrupted(t, err)
	// The store is usable, and not interrupted, afterwards.
	if res, err := fn(t, inst, "callF").Call(ctxb, 8); err != nil || res[0] != int32(8) {
		t.Errorf("callF after an interrupt = %v, %v", res, err)
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
	// Wasm code runs in a cgo call, which Go's stop-the-world phases do not wait for: two
	// collections complete while the Wasm code spins (it said it runs, and it has not returned).
	// Were the collections waiting for it, the deadline (a backstop, far away) would end the call
	// first, and the test would see it ended.
	_, inst, running := spinningInstance(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	callF := fn(t, inst, "callFThenSpin")
	done := make(chan error, 1)
	go func() {
		_, err := callF.Call(ctx, 1)
		done <- err
	}()
	<-running
	runtime.GC()
	runtime.GC()
	select {
	case err := <-done:
		t.Fatalf("the Wasm call ended (%v) before two collections made during it finished", err)
	default:
	}
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("callFThenSpin: %v, want context.Canceled (cancelled after the collections)", err)
	}
	checkSpinInterrupted(t, err)
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
