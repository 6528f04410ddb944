//go:build cgo

package spry_test

import (
	"errors"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestGlobals(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, stateModule())
	counter := must(inst.Global("counter"))(t)
	if counter.Type() != (spry.GlobalType{Content: spry.I32, Mutable: true}) {
		t.Errorf("Type() = %v", counter.Type())
	}
	if v := must(counter.Get())(t); v != int32(7) {
		t.Errorf("Get() = %#v", v)
	}
	if res := must(fn(t, inst, "bump").Call(ctxb))(t); res[0] != int32(8) {
		t.Errorf("bump() = %v", res[0])
	}
	if v := must(counter.Get())(t); v != int32(8) {
		t.Errorf("Get() after bump = %#v", v)
	}
	if err := counter.Set(int32(100)); err != nil {
		t.Fatal(err)
	}
	if res := must(fn(t, inst, "bump").Call(ctxb))(t); res[0] != int32(101) {
		t.Errorf("bump() after Set = %v", res[0])
	}
	if err := counter.Set(int64(1)); !errors.Is(err, spry.ErrType) {
		t.Errorf("Set(int64) on an i32: %v, want ErrType", err)
	}

	big := must(inst.Global("big"))(t)
	if v := must(big.Get())(t); v != int64(-2) {
		t.Errorf("big = %#v", v)
	}
	if err := big.Set(uint64(1 << 63)); err != nil {
		t.Fatal(err)
	}
	if v := must(big.Get())(t); v != int64(-1<<63) {
		t.Errorf("big after Set = %#v", v)
	}

	pi := must(inst.Global("pi"))(t)
	if v := must(pi.Get())(t); v != 3.5 {
		t.Errorf("pi = %#v", v)
	}
	if err := pi.Set(3.0); !errors.Is(err, spry.ErrType) {
		t.Errorf("Set on an immutable global: %v, want ErrType", err)
	}
	if pi.Kind() != spry.ExternGlobal || pi.Store() != f.store {
		t.Error("Kind() or Store() is wrong")
	}
}

func TestNewGlobal(t *testing.T) {
	f := newFixture(t)
	g := must(spry.NewGlobal(f.store, spry.GlobalType{Content: spry.F32}, float32(1.25)))(t)
	if v := must(g.Get())(t); v != float32(1.25) {
		t.Errorf("Get() = %#v", v)
	}
	if _, err := spry.NewGlobal(f.store, spry.GlobalType{Content: spry.F32}, 1.25); !errors.Is(err, spry.ErrType) {
		t.Errorf("NewGlobal(f32, float64): %v, want ErrType", err)
	}
	if _, err := spry.NewGlobal(f.store, spry.GlobalType{Content: 77}, 0); err == nil {
		t.Error("NewGlobal with an invalid type succeeded")
	}
	hf := must(spry.NewFunc(f.store, func() int32 { return 5 }))(t)
	fg := must(spry.NewGlobal(f.store, spry.GlobalType{Content: spry.FuncRef, Mutable: true}, hf))(t)
	got := must(fg.Get())(t)
	if got != hf {
		t.Errorf("funcref global = %v, want the function", got)
	}
	if err := fg.Set(nil); err != nil {
		t.Fatal(err)
	}
	if v := must(fg.Get())(t); v != nil {
		t.Errorf("funcref global after Set(nil) = %v", v)
	}
	ref := &spry.HostRef{Value: "payload"}
	eg := must(spry.NewGlobal(f.store, spry.GlobalType{Content: spry.ExternRef, Mutable: true}, ref))(t)
	if v := must(eg.Get())(t); v != ref {
		t.Errorf("externref global = %#v, want the same *HostRef", v)
	}
	var nilGlobal *spry.Global
	if _, err := nilGlobal.Get(); err == nil {
		t.Error("Get on a nil *Global succeeded")
	}
}
