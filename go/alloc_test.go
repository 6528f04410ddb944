//go:build cgo

package spry_test

// The README promises calls without allocation: Func.CallRaw, the TypedN/TypedNR helpers, and host
// functions of the shapes hostfunc_fast.go serves. These tests count (testing.AllocsPerRun) and
// check that each measured call really ran.

import (
	"context"
	"fmt"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// allocRuns is how many calls AllocsPerRun averages over (it makes one more, unmeasured, first).
const allocRuns = 100

// skipUnderRace skips an allocation count under -race, where the race detector's instrumentation
// allocates; ./build.sh test also runs the Go tests without -race, where these run.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race; this test runs in the non-race run of ./build.sh test")
	}
}

// arityModule has, for n = 0 to 4, a function v<n> of n i64 parameters without results and a
// function r<n> of n i64 parameters returning their sum; each adds 1 to the exported global count.
//
//	(module
//	  (global (export "count") (mut i64) (i64.const 0))
//	  (func (export "v2") (param i64 i64) global.get 0 i64.const 1 i64.add global.set 0)
//	  (func (export "r2") (param i64 i64) (result i64)
//	    global.get 0 i64.const 1 i64.add global.set 0 local.get 0 local.get 1 i64.add)
//	  ...)
func arityModule() []byte {
	m := newModule()
	i64 := spry.I64
	count := m.global(i64, true, i64Const(0))
	m.export("count", spry.ExternGlobal, count)
	bump := code(globalGet(count), i64Const(1), op(opI64Add), globalSet(count))
	for n := 0; n <= 4; n++ {
		params := make([]spry.ValueType, n)
		for i := range params {
			params[i] = i64
		}
		m.exportFunc(fmt.Sprintf("v%d", n), sig(params), nil, bump)
		sum := i64Const(0)
		for i := 0; i < n; i++ {
			sum = code(sum, localGet(uint32(i)), op(opI64Add))
		}
		m.exportFunc(fmt.Sprintf("r%d", n), sig(params, i64), nil, bump, sum)
	}
	return m.bytes()
}

// countAllocs measures call's allocations per run and checks that the global count of inst grew by
// one per call (allocRuns + 1), so that a call that failed early cannot pass as allocation-free.
func countAllocs(t *testing.T, inst *spry.Instance, name string, call func() error) {
	t.Helper()
	g := must(inst.Global("count"))(t)
	before := must(g.Get())(t).(int64)
	var failed error
	allocs := testing.AllocsPerRun(allocRuns, func() {
		if err := call(); err != nil && failed == nil {
			failed = err
		}
	})
	if failed != nil {
		t.Errorf("%s: %v", name, failed)
		return
	}
	if after := must(g.Get())(t).(int64); after-before != allocRuns+1 {
		t.Errorf("%s ran %d times, want %d", name, after-before, allocRuns+1)
	}
	if allocs != 0 {
		t.Errorf("%s: %v allocations per call, want 0", name, allocs)
	}
}

func TestCallRawAllocs(t *testing.T) {
	skipUnderRace(t)
	inst := newFixture(t).instantiate(t, arityModule())
	for n := 0; n <= 4; n++ {
		for _, kind := range []string{"v", "r"} {
			name := fmt.Sprintf("%s%d", kind, n)
			f := fn(t, inst, name)
			slots := make([]uint64, max(n, 1))
			countAllocs(t, inst, "CallRaw "+name, func() error { return f.CallRaw(ctxb, slots) })
		}
	}
	// The slots carry the arguments in and the result out.
	f := fn(t, inst, "r4")
	slots := []uint64{1, 2, 3, 1 << 40}
	if err := f.CallRaw(ctxb, slots); err != nil || slots[0] != 6+1<<40 {
		t.Errorf("r4(1, 2, 3, 1<<40) = %d, %v", slots[0], err)
	}
	// A context that can be cancelled costs context.AfterFunc's allocations (interrupt.go); only the
	// figure is reported.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r2 := fn(t, inst, "r2")
	t.Logf("CallRaw with a cancellable context: %v allocations per call", testing.AllocsPerRun(allocRuns, func() {
		r2.CallRaw(ctx, slots)
	}))
}

func TestTypedAllocs(t *testing.T) {
	skipUnderRace(t)
	inst := newFixture(t).instantiate(t, arityModule())
	f := func(name string) *spry.Func { return fn(t, inst, name) }
	v0 := must(spry.Typed0(f("v0")))(t)
	v1 := must(spry.Typed1[int64](f("v1")))(t)
	v2 := must(spry.Typed2[int64, uint64](f("v2")))(t)
	v3 := must(spry.Typed3[int64, int64, uint64](f("v3")))(t)
	v4 := must(spry.Typed4[uint64, int64, int64, int64](f("v4")))(t)
	r0 := must(spry.Typed0R[int64](f("r0")))(t)
	r1 := must(spry.Typed1R[int64, int64](f("r1")))(t)
	r2 := must(spry.Typed2R[int64, int64, uint64](f("r2")))(t)
	r3 := must(spry.Typed3R[int64, int64, int64, int64](f("r3")))(t)
	r4 := must(spry.Typed4R[int64, int64, int64, int64, int64](f("r4")))(t)
	var sum int64
	checks := []struct {
		name string
		call func() error
	}{
		{"Typed0", func() error { return v0(ctxb) }},
		{"Typed1", func() error { return v1(ctxb, 1) }},
		{"Typed2", func() error { return v2(ctxb, 1, 2) }},
		{"Typed3", func() error { return v3(ctxb, 1, 2, 3) }},
		{"Typed4", func() error { return v4(ctxb, 1, 2, 3, 4) }},
		{"Typed0R", func() (err error) { _, err = r0(ctxb); return err }},
		{"Typed1R", func() (err error) { sum, err = r1(ctxb, 1); return err }},
		{"Typed2R", func() error { s, err := r2(ctxb, 1, 2); sum = int64(s); return err }},
		{"Typed3R", func() (err error) { sum, err = r3(ctxb, 1, 2, 3); return err }},
		{"Typed4R", func() (err error) { sum, err = r4(ctxb, 1, 2, 3, 1<<40); return err }},
	}
	for _, c := range checks {
		countAllocs(t, inst, c.name, c.call)
	}
	if sum != 6+1<<40 {
		t.Errorf("Typed4R(1, 2, 3, 1<<40) = %d", sum)
	}
}

// TestHostCallAllocs calls every host-function shape of the generated fast path through Wasm and
// counts the allocations of the whole call (Go → Wasm → Go host function → Wasm → Go); the shapes
// that go through reflect must allocate, which shows that the count sees a host call's allocations.
func TestHostCallAllocs(t *testing.T) {
	skipUnderRace(t)
	measure := func(shapes []hostShape, fast bool) {
		_, calls := shapeInstance(t, shapes, fast)
		for i, s := range shapes {
			slots := shapeSlots(s)
			shapeSeen.calls = 0
			var failed error
			allocs := testing.AllocsPerRun(allocRuns, func() {
				if err := calls[i].CallRaw(ctxb, slots); err != nil && failed == nil {
					failed = err
				}
			})
			switch {
			case failed != nil:
				t.Errorf("%s: %v", s.name, failed)
			case shapeSeen.calls != allocRuns+1:
				t.Errorf("%s: the host function ran %d times, want %d", s.name, shapeSeen.calls, allocRuns+1)
			case fast && allocs != 0:
				t.Errorf("%s (fast path): %v allocations per call, want 0", s.name, allocs)
			case !fast && allocs == 0:
				t.Errorf("%s (reflect): no allocation measured, yet a reflect call allocates", s.name)
			}
		}
	}
	measure(fastHostShapes, true)
	measure(reflectShapes, false)

	// A raw host function.
	f := newFixture(t)
	ran := 0
	if err := f.linker.DefineRawFunc("env", "f", sig(vt(spry.I32), spry.I32), func(_ *spry.Caller, s []uint64) error {
		ran++
		s[0]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.linker.DefineFunc("env", "g", func() {}); err != nil {
		t.Fatal(err)
	}
	callF := fn(t, f.instantiate(t, hostModule()), "callF")
	slots := []uint64{0}
	if allocs := testing.AllocsPerRun(allocRuns, func() { callF.CallRaw(ctxb, slots) }); allocs != 0 || ran != allocRuns+1 || slots[0] != allocRuns+1 {
		t.Errorf("a raw host function: %v allocations per call, ran %d times, slot %d", allocs, ran, slots[0])
	}
}
