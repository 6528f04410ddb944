//go:build cgo

package spry_test

import (
	"errors"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestTable(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, stateModule())
	table := must(inst.Table("table"))(t)
	seven := fn(t, inst, "seven")
	if table.Size() != 2 {
		t.Errorf("Size() = %d", table.Size())
	}
	if tt := table.Type(); tt != (spry.TableType{Element: spry.FuncRef, Min: 2, HasMax: true, Max: 10}) {
		t.Errorf("Type() = %+v", tt)
	}
	if v := must(table.Get(0))(t); v != seven {
		t.Errorf("Get(0) = %v, want seven", v)
	}
	if v := must(table.Get(1))(t); v != nil {
		t.Errorf("Get(1) = %v, want nil", v)
	}
	if _, err := table.Get(2); err == nil {
		t.Error("Get out of bounds succeeded")
	}
	// Wasm sees what Go sets.
	if _, err := fn(t, inst, "callTable").Call(ctxb, 1); !errors.Is(err, spry.ErrIndirectCallToNull) {
		t.Errorf("call_indirect of a null entry: %v", err)
	}
	forty := must(spry.NewFunc(f.store, func() int32 { return 40 }))(t)
	if err := table.Set(1, forty); err != nil {
		t.Fatal(err)
	}
	if res := must(fn(t, inst, "callTable").Call(ctxb, 1))(t); res[0] != int32(40) {
		t.Errorf("call_indirect of a host function = %v", res[0])
	}
	if err := table.Set(0, fn(t, inst, "bump")); err != nil {
		t.Fatal(err)
	}
	// A function of another type: the call's signature check traps.
	if err := table.Set(0, fn(t, inst, "grow")); err != nil {
		t.Fatal(err)
	}
	if _, err := fn(t, inst, "callTable").Call(ctxb, 0); !errors.Is(err, spry.ErrBadSignature) {
		t.Errorf("call_indirect with the wrong signature: %v", err)
	}
	if _, err := fn(t, inst, "callTable").Call(ctxb, 5); !errors.Is(err, spry.ErrTableOutOfBounds) {
		t.Errorf("call_indirect out of bounds: %v", err)
	}
	if err := table.Set(5, nil); err == nil {
		t.Error("Set out of bounds succeeded")
	}
	if err := table.Set(0, int32(1)); !errors.Is(err, spry.ErrType) {
		t.Errorf("Set(int32): %v, want ErrType", err)
	}
	old := must(table.Grow(3, seven))(t)
	if old != 2 || table.Size() != 5 {
		t.Errorf("Grow(3) = %d, Size() = %d", old, table.Size())
	}
	if res := must(fn(t, inst, "callTable").Call(ctxb, 4))(t); res[0] != int32(7) {
		t.Errorf("call_indirect of a grown entry = %v", res[0])
	}
	if _, err := table.Grow(100, nil); err == nil {
		t.Error("Grow past the maximum succeeded")
	}
	// A function of another store is refused.
	other := newFixture(t)
	foreign := must(spry.NewFunc(other.store, func() int32 { return 1 }))(t)
	if err := table.Set(0, foreign); !errors.Is(err, spry.ErrType) {
		t.Errorf("Set(a function of another store): %v, want ErrType", err)
	}
	if table.Kind() != spry.ExternTable || table.Store() != f.store {
		t.Error("Kind() or Store() is wrong")
	}
}

func TestExternRefTable(t *testing.T) {
	f := newFixture(t)
	table := must(spry.NewTable(f.store, spry.TableType{Element: spry.ExternRef, Min: 2}, nil))(t)
	a, b := &spry.HostRef{Value: 1}, &spry.HostRef{Value: "two"}
	if err := table.Set(0, a); err != nil {
		t.Fatal(err)
	}
	if err := table.Set(1, b); err != nil {
		t.Fatal(err)
	}
	if v := must(table.Get(0))(t); v != a {
		t.Errorf("Get(0) = %v", v)
	}
	if v := must(table.Get(1))(t); v.(*spry.HostRef).Value != "two" {
		t.Errorf("Get(1) = %v", v)
	}
	if _, err := spry.NewTable(f.store, spry.TableType{Element: spry.I32, Min: 1}, nil); !errors.Is(err, spry.ErrType) {
		t.Errorf("NewTable of i32: %v, want ErrType", err)
	}
	var nilTable *spry.Table
	if _, err := nilTable.Get(0); err == nil || nilTable.Size() != 0 {
		t.Error("a nil *Table works")
	}
}
