//go:build cgo

package spry_test

import (
	"errors"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestMemory(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, stateModule())
	mem := must(inst.Memory("memory"))(t)
	if mem.Size() != 1 || len(mem.Bytes()) != spry.PageSize {
		t.Fatalf("Size() = %d, len(Bytes()) = %d", mem.Size(), len(mem.Bytes()))
	}
	if mt := mem.Type(); mt != (spry.MemoryType{Min: 1, HasMax: true, Max: 3}) {
		t.Errorf("Type() = %+v", mt)
	}
	if mem.Kind() != spry.ExternMemory || mem.Store() != f.store {
		t.Error("Kind() or Store() is wrong")
	}
	view := mem.Bytes()
	view[10] = 42

	// Growing from Go: the old view stays valid and keeps its length.
	old := must(mem.Grow(1))(t)
	if old != 1 || mem.Size() != 2 {
		t.Errorf("Grow(1) = %d, Size() = %d", old, mem.Size())
	}
	if len(view) != spry.PageSize || view[10] != 42 {
		t.Error("the view before Grow changed")
	}
	grown := mem.Bytes()
	if len(grown) != 2*spry.PageSize || &grown[0] != &view[0] {
		t.Error("Bytes() after Grow has the wrong length or moved")
	}
	grown[spry.PageSize+5] = 7

	// Growing from Wasm.
	if res := must(fn(t, inst, "grow").Call(ctxb, 1))(t); res[0] != int32(2) {
		t.Errorf("memory.grow(1) = %v", res[0])
	}
	if mem.Size() != 3 || len(mem.Bytes()) != 3*spry.PageSize {
		t.Errorf("after memory.grow: Size() = %d", mem.Size())
	}
	// Past the maximum: an error in Go, -1 in Wasm.
	if _, err := mem.Grow(1); err == nil {
		t.Error("Grow past the maximum succeeded")
	}
	if res := must(fn(t, inst, "grow").Call(ctxb, 1))(t); res[0] != int32(-1) {
		t.Errorf("memory.grow past the maximum = %v", res[0])
	}
	if res := must(fn(t, inst, "size").Call(ctxb))(t); res[0] != int32(3) {
		t.Errorf("memory.size = %v", res[0])
	}
	if mem.Bytes()[spry.PageSize+5] != 7 {
		t.Error("memory contents were lost")
	}
	// The same *Memory for every lookup.
	if must(inst.Memory("memory"))(t) != mem {
		t.Error("two lookups gave two *Memory")
	}
}

func TestNewMemory(t *testing.T) {
	f := newFixture(t)
	mem := must(spry.NewMemory(f.store, spry.MemoryType{Min: 2}))(t)
	if mem.Size() != 2 || len(mem.Bytes()) != 2*spry.PageSize {
		t.Errorf("Size() = %d", mem.Size())
	}
	if _, err := spry.NewMemory(f.store, spry.MemoryType{Min: 3, HasMax: true, Max: 1}); err == nil {
		t.Error("NewMemory with min > max succeeded")
	}
	empty := must(spry.NewMemory(f.store, spry.MemoryType{}))(t)
	if b := empty.Bytes(); b == nil || len(b) != 0 {
		t.Errorf("Bytes() of an empty memory = %v", b)
	}
}

func TestExportKinds(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, stateModule())
	if _, err := inst.Memory("counter"); !errors.Is(err, spry.ErrType) {
		t.Errorf("Memory(a global): %v, want ErrType", err)
	}
	if _, err := inst.Func("memory"); !errors.Is(err, spry.ErrType) {
		t.Errorf("Func(a memory): %v, want ErrType", err)
	}
	if _, err := inst.Global("table"); !errors.Is(err, spry.ErrType) {
		t.Errorf("Global(a table): %v, want ErrType", err)
	}
	if _, err := inst.Table("seven"); !errors.Is(err, spry.ErrType) {
		t.Errorf("Table(a func): %v, want ErrType", err)
	}
	if _, err := inst.Func("missing"); !errors.Is(err, spry.ErrNotFound) {
		t.Errorf("Func(missing): %v, want ErrNotFound", err)
	}
	e := must(inst.Export("seven"))(t)
	if _, ok := e.(*spry.Func); !ok || e.Kind() != spry.ExternFunc {
		t.Errorf("Export(seven) = %T", e)
	}
	if inst.Store() != f.store {
		t.Error("Store() is wrong")
	}
	var nilInst *spry.Instance
	if _, err := nilInst.Func("x"); err == nil {
		t.Error("Func on a nil *Instance succeeded")
	}
}
