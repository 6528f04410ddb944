//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// preModule imports env.host (i32) -> i32 and env.tick () -> (); its start function calls tick,
// and it exports callHost.
func preModule() []byte {
	m := newModule()
	host := m.importFunc("env", "host", sig(vt(spry.I32), spry.I32))
	tick := m.importFunc("env", "tick", sig(nil))
	m.exportFunc("callHost", sig(vt(spry.I32), spry.I32), nil, localGet(0), call(host))
	m.start = int64(m.fn(sig(nil), nil, call(tick)))
	return m.bytes()
}

// newPre compiles preModule and makes an InstancePre of it with env.host = x+1 and env.tick
// counting into ticks; the module and linker are closed right away, the pre when the test ends.
func newPre(t *testing.T, e *spry.Engine, ticks *atomic.Int64) *spry.InstancePre {
	t.Helper()
	mod := must(spry.Compile(e, preModule()))(t)
	defer mod.Close()
	l := must(spry.NewLinker(e))(t)
	defer l.Close()
	if err := l.DefineFunc("env", "host", func(x int32) int32 { return x + 1 }); err != nil {
		t.Fatal(err)
	}
	if err := l.DefineFunc("env", "tick", func() { ticks.Add(1) }); err != nil {
		t.Fatal(err)
	}
	pre := must(l.InstantiatePre(mod))(t)
	t.Cleanup(func() { pre.Close() })
	return pre
}

func TestInstancePre(t *testing.T) {
	f := newFixture(t)
	var ticks atomic.Int64
	pre := newPre(t, f.engine, &ticks)
	inst := must(pre.Instantiate(ctxb, f.store))(t)
	if inst.Store() != f.store {
		t.Error("Store() is wrong")
	}
	res, err := fn(t, inst, "callHost").Call(ctxb, int32(41))
	if err != nil || res[0] != int32(42) {
		t.Errorf("callHost(41) = %v, %v", res, err)
	}
	if ticks.Load() != 1 {
		t.Errorf("the start function ran %d times, want 1", ticks.Load())
	}
	// A canceled context stops it before the start function runs.
	ctx, cancel := context.WithCancel(ctxb)
	cancel()
	if _, err := pre.Instantiate(ctx, f.store); !errors.Is(err, context.Canceled) {
		t.Errorf("Instantiate with a canceled context: %v, want context.Canceled", err)
	}
	if ticks.Load() != 1 {
		t.Errorf("the start function ran %d times, want 1", ticks.Load())
	}
}

func TestInstancePreManyInstances(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	var ticks atomic.Int64
	pre := newPre(t, e, &ticks)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				s, err := spry.NewStore(e)
				if err != nil {
					t.Error(err)
					return
				}
				for range 3 {
					inst, err := pre.Instantiate(ctxb, s)
					if err != nil {
						t.Error(err)
						break
					}
					f, err := inst.Func("callHost")
					if err != nil {
						t.Error(err)
						break
					}
					x := int32(g*100 + i)
					if res, err := f.Call(ctxb, x); err != nil || res[0] != x+1 {
						t.Errorf("callHost(%d) = %v, %v", x, res, err)
					}
				}
				s.Close()
			}
		}()
	}
	wg.Wait()
	if ticks.Load() != 2*20*3 {
		t.Errorf("the start function ran %d times, want %d", ticks.Load(), 2*20*3)
	}
}

func TestInstancePreErrors(t *testing.T) {
	f := newFixture(t)
	mod := must(spry.Compile(f.engine, preModule()))(t)
	defer mod.Close()

	// Unknown import.
	if err := f.linker.DefineFunc("env", "host", func(x int32) int32 { return x }); err != nil {
		t.Fatal(err)
	}
	if _, err := f.linker.InstantiatePre(mod); err == nil || !strings.Contains(err.Error(), "unknown import") {
		t.Errorf("InstantiatePre with env.tick undefined: %v", err)
	}
	// Incompatible import type.
	if err := f.linker.DefineFunc("env", "tick", func(x int64) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.linker.InstantiatePre(mod); err == nil || !strings.Contains(err.Error(), "incompatible import type") {
		t.Errorf("InstantiatePre with env.tick of the wrong type: %v", err)
	}
	// A store item.
	l := must(spry.NewLinker(f.engine))(t)
	defer l.Close()
	fn := must(spry.NewFunc(f.store, func() {}))(t)
	if err := l.DefineFunc("env", "host", func(x int32) int32 { return x }); err != nil {
		t.Fatal(err)
	}
	if err := l.Define("env", "tick", fn); err != nil {
		t.Fatal(err)
	}
	if _, err := l.InstantiatePre(mod); err == nil || !strings.Contains(err.Error(), "host functions") {
		t.Errorf("InstantiatePre with a store item: %v", err)
	}
	// The linker can still instantiate it in that store.
	if _, err := l.Instantiate(ctxb, f.store, mod); err != nil {
		t.Error(err)
	}
	// A store of another engine.
	var ticks atomic.Int64
	pre := newPre(t, f.engine, &ticks)
	e2 := must(spry.NewEngine(nil))(t)
	defer e2.Close()
	s2 := must(spry.NewStore(e2))(t)
	defer s2.Close()
	if _, err := pre.Instantiate(ctxb, s2); err == nil || !strings.Contains(err.Error(), "different engines") {
		t.Errorf("Instantiate in a store of another engine: %v", err)
	}
	// Closed linker and module.
	closedMod := must(spry.Compile(f.engine, preModule()))(t)
	closedMod.Close()
	if _, err := f.linker.InstantiatePre(closedMod); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("InstantiatePre of a closed module: %v, want ErrClosed", err)
	}
	l.Close()
	if _, err := l.InstantiatePre(mod); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("InstantiatePre with a closed linker: %v, want ErrClosed", err)
	}
}

func TestInstancePreStartTrap(t *testing.T) {
	// (module (import "env" "f" (func)) (func $start call 0 unreachable) (start $start))
	m := newModule()
	imp := m.importFunc("env", "f", sig(nil))
	m.start = int64(m.fn(sig(nil), nil, call(imp), op(opUnreachable)))
	f := newFixture(t)
	mod := must(spry.Compile(f.engine, m.bytes()))(t)
	defer mod.Close()
	if err := f.linker.DefineFunc("env", "f", func() {}); err != nil {
		t.Fatal(err)
	}
	pre := must(f.linker.InstantiatePre(mod))(t)
	defer pre.Close()
	for range 2 {
		_, err := pre.Instantiate(ctxb, f.store)
		var trap *spry.Trap
		if !errors.As(err, &trap) || !errors.Is(err, spry.ErrUnreachable) {
			t.Errorf("Instantiate with a trapping start: %v, want ErrUnreachable", err)
		}
	}
}

func TestInstancePreClose(t *testing.T) {
	f := newFixture(t)
	var ticks atomic.Int64
	pre := newPre(t, f.engine, &ticks)
	inst := must(pre.Instantiate(ctxb, f.store))(t)
	if err := pre.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pre.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pre.Instantiate(ctxb, f.store); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Instantiate after Close: %v, want ErrClosed", err)
	}
	// Instances made from it are unaffected.
	if res, err := fn(t, inst, "callHost").Call(ctxb, int32(1)); err != nil || res[0] != int32(2) {
		t.Errorf("callHost(1) after the pre's Close = %v, %v", res, err)
	}
	var nilPre *spry.InstancePre
	if _, err := nilPre.Instantiate(ctxb, f.store); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Instantiate on a nil pre: %v, want ErrClosed", err)
	}
	if err := nilPre.Close(); err != nil {
		t.Error(err)
	}
}

func TestInstancePreClosedStore(t *testing.T) {
	f := newFixture(t)
	var ticks atomic.Int64
	pre := newPre(t, f.engine, &ticks)
	s := must(spry.NewStore(f.engine))(t)
	s.Close()
	if _, err := pre.Instantiate(ctxb, s); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Instantiate in a closed store: %v, want ErrClosed", err)
	}
	if _, err := pre.Instantiate(ctxb, nil); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Instantiate in a nil store: %v, want ErrClosed", err)
	}
	if ticks.Load() != 0 {
		t.Errorf("the start function ran %d times, want 0", ticks.Load())
	}
}
