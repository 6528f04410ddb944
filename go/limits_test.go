//go:build cgo

package spry_test

import (
	"errors"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestStoreLimitsDenyGrowth(t *testing.T) {
	f := newFixture(t)
	if err := f.store.SetLimits(spry.StoreLimits{MaxMemoryBytes: 2 * spry.PageSize, MaxInstances: 1}); err != nil {
		t.Fatal(err)
	}
	inst := f.instantiate(t, stateModule())
	grow := fn(t, inst, "grow")
	if res := must(grow.Call(ctxb, 1))(t); res[0] != int32(1) {
		t.Errorf("memory.grow(1) within the limit = %v, want 1", res[0])
	}
	if res := must(grow.Call(ctxb, 1))(t); res[0] != int32(-1) {
		t.Errorf("memory.grow(1) past the limit = %v, want -1", res[0])
	}
	mem := must(inst.Memory("memory"))(t)
	if _, err := mem.Grow(1); err == nil || !strings.Contains(err.Error(), "max_memory_bytes") {
		t.Errorf("Memory.Grow past the limit: %v, want an error naming max_memory_bytes", err)
	}
	// A second instance is over MaxInstances; the store still works.
	m := must(spry.Compile(f.engine, stateModule()))(t)
	defer m.Close()
	if _, err := f.linker.Instantiate(ctxb, f.store, m); err == nil || !strings.Contains(err.Error(), "max_instances") {
		t.Errorf("instantiation past MaxInstances: %v, want an error naming max_instances", err)
	}
	if res := must(fn(t, inst, "size").Call(ctxb))(t); res[0] != int32(2) {
		t.Errorf("memory.size = %v, want 2", res[0])
	}
	// The zero StoreLimits lifts them.
	if err := f.store.SetLimits(spry.StoreLimits{}); err != nil {
		t.Fatal(err)
	}
	if res := must(grow.Call(ctxb, 1))(t); res[0] != int32(2) {
		t.Errorf("memory.grow(1) without limits = %v, want 2", res[0])
	}
	must(f.linker.Instantiate(ctxb, f.store, m))(t)
}

// fuelModule: "bump" costs 5 fuel (global.get, i32.const, i32.add, global.set, global.get), "spin"
// loops forever, "callF" calls env.f (local.get, call: 2).
func fuelModule() []byte {
	m := newModule()
	i32 := spry.I32
	f := m.importFunc("env", "f", sig(vt(i32), i32))
	m.global(i32, true, i32Const(0))
	m.exportFunc("bump", sig(nil, i32), nil, globalGet(0), i32Const(1), op(opI32Add), globalSet(0), globalGet(0))
	m.exportFunc("spin", sig(nil), nil, op(opLoop, 0x40), br(0), op(opEnd))
	m.exportFunc("callF", sig(vt(i32), i32), nil, localGet(0), call(f))
	return m.bytes()
}

// fuelFixture is a fixture on an engine with ConsumeFuel, with fuelModule instantiated; env.f sets
// the store's fuel to its argument.
func fuelFixture(t *testing.T) (*fixture, *spry.Instance) {
	t.Helper()
	e := must(spry.NewEngine(&spry.Config{ConsumeFuel: true}))(t)
	t.Cleanup(func() { e.Close() })
	f := newFixtureOn(t, e)
	err := f.linker.DefineFunc("env", "f", func(c *spry.Caller, fuel int32) (int32, error) {
		left, err := c.Store().Fuel()
		if err != nil {
			return 0, err
		}
		return int32(left), c.Store().SetFuel(uint64(fuel))
	})
	if err != nil {
		t.Fatal(err)
	}
	return f, f.instantiate(t, fuelModule())
}

func TestFuel(t *testing.T) {
	var left [2]uint64
	for run := range left {
		f, inst := fuelFixture(t)
		if fuel := must(f.store.Fuel())(t); fuel != 0 {
			t.Errorf("a new store has %d fuel, want 0", fuel)
		}
		if err := f.store.SetFuel(1000); err != nil {
			t.Fatal(err)
		}
		if fuel := must(f.store.Fuel())(t); fuel != 1000 {
			t.Errorf("Fuel() after SetFuel(1000) = %d", fuel)
		}
		for i := 0; i < 10; i++ {
			must(fn(t, inst, "bump").Call(ctxb))(t)
		}
		left[run] = must(f.store.Fuel())(t)
	}
	if left[0] != left[1] || left[0] != 1000-10*5 {
		t.Errorf("fuel left after two identical runs: %v, want %d twice", left, 1000-10*5)
	}
}

func TestFuelThroughHostFunctions(t *testing.T) {
	f, inst := fuelFixture(t)
	if err := f.store.SetFuel(100); err != nil {
		t.Fatal(err)
	}
	// env.f sees what the caller left (100 - 2) and sets 5000, which the caller continues with.
	if res := must(fn(t, inst, "callF").Call(ctxb, 5000))(t); res[0] != int32(98) {
		t.Errorf("fuel seen by the host function = %v, want 98", res[0])
	}
	if fuel := must(f.store.Fuel())(t); fuel != 5000 {
		t.Errorf("fuel after the host set it = %d, want 5000", fuel)
	}
}

func TestOutOfFuelTrap(t *testing.T) {
	f, inst := fuelFixture(t)
	if err := f.store.SetFuel(10_000); err != nil {
		t.Fatal(err)
	}
	_, err := fn(t, inst, "spin").Call(ctxb)
	var trap *spry.Trap
	if !errors.As(err, &trap) || trap.Code() != spry.TrapOutOfFuel || !errors.Is(err, spry.ErrOutOfFuel) {
		t.Fatalf("spin with 10,000 fuel: %v, want an out-of-fuel trap", err)
	}
	if trap.Code().String() != "all fuel consumed by WebAssembly" {
		t.Errorf("TrapOutOfFuel.String() = %q", trap.Code().String())
	}
	if fuel := must(f.store.Fuel())(t); fuel != 0 {
		t.Errorf("fuel after running out = %d", fuel)
	}
	// A store with no fuel traps at the next call's entry; refuelled, it runs again.
	if _, err := fn(t, inst, "bump").Call(ctxb); !errors.Is(err, spry.ErrOutOfFuel) {
		t.Errorf("bump with no fuel: %v, want ErrOutOfFuel", err)
	}
	if err := f.store.SetFuel(5); err != nil {
		t.Fatal(err)
	}
	must(fn(t, inst, "bump").Call(ctxb))(t)
}

func TestFuelNeedsConsumeFuel(t *testing.T) {
	f := newFixture(t)
	if err := f.store.SetFuel(1); err == nil || !strings.Contains(err.Error(), "consume_fuel") {
		t.Errorf("SetFuel without ConsumeFuel: %v, want an error", err)
	}
	if _, err := f.store.Fuel(); err == nil {
		t.Error("Fuel without ConsumeFuel succeeded")
	}
}
