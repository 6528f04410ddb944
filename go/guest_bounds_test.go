//go:build cgo

package spry_test

// Regression tests of issue 12's guest-reachable arithmetic: a module that grows its memory to
// 65,536 pages and runs memory.fill over the last 64 KiB (whose end is exactly 2^32) used to abort
// the whole Go program (a u32 sum wrapped to 0 in a Rust frame that cannot unwind).

import (
	"errors"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// growFillModule is
//
//	(module
//	  (memory (export "memory") 1)
//	  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
//	  (func (export "fill") (param i32 i32 i32) local.get 0 local.get 1 local.get 2 memory.fill)
//	  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u))
func growFillModule() []byte {
	m := newModule()
	m.export("memory", spry.ExternMemory, m.memory(1, -1))
	i32 := spry.I32
	m.exportFunc("grow", sig(vt(i32), i32), nil, localGet(0), memoryGrow())
	m.exportFunc("fill", sig(vt(i32, i32, i32)), nil, localGet(0), localGet(1), localGet(2), op(0xfc, 0x0b, 0x00))
	m.exportFunc("load8", sig(vt(i32), i32), nil, localGet(0), i32Load8U(0))
	return m.bytes()
}

func TestMemoryFillAtTheEndOf65536Pages(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, growFillModule())
	res, err := fn(t, inst, "grow").Call(ctxb, int32(65535))
	if err != nil || res[0] != int32(1) {
		t.Fatalf("grow(65535) = %v, %v; want 1", res, err)
	}
	mem := must(inst.Memory("memory"))(t)
	if size := mem.Size(); size != 65536 {
		t.Fatalf("Size() = %d pages, want 65536", size)
	}
	fill := fn(t, inst, "fill")
	dst := int32(-0x10000) // 0xFFFF0000
	if _, err := fill.Call(ctxb, dst, int32(0x5A), int32(0x10000)); err != nil {
		t.Fatalf("memory.fill of the last 64 KiB: %v", err)
	}
	b := mem.Bytes()
	if len(b) != 1<<32 {
		t.Fatalf("len(Bytes()) = %d, want 2^32", len(b))
	}
	last := b[0xFFFF0000:]
	for i, v := range last {
		if v != 0x5A {
			t.Fatalf("byte %#x of the last 64 KiB = %#x, want 0x5a", 0xFFFF0000+i, v)
		}
	}
	if b[0xFFFF0000-1] != 0 {
		t.Fatal("memory.fill wrote before its destination")
	}
	// One byte more ends past 2^32: a trap, and nothing written.
	_, err = fill.Call(ctxb, dst, int32(1), int32(0x10001))
	var trap *spry.Trap
	if !errors.As(err, &trap) || trap.Code() != spry.TrapMemoryOutOfBounds {
		t.Fatalf("memory.fill of 64 KiB + 1 = %v, want an out-of-bounds trap", err)
	}
	if b[0xFFFF0000] != 0x5A {
		t.Fatal("the trapping memory.fill wrote")
	}
	// The instance still works: the last byte, read by Wasm.
	if res, err := fn(t, inst, "load8").Call(ctxb, int32(-1)); err != nil || res[0] != int32(0x5A) {
		t.Fatalf("load8(0xFFFFFFFF) = %v, %v", res, err)
	}
	// Growing past 65,536 pages fails, from Wasm and from Go.
	if res, err := fn(t, inst, "grow").Call(ctxb, int32(1)); err != nil || res[0] != int32(-1) {
		t.Fatalf("grow(1) at 65536 pages = %v, %v; want -1", res, err)
	}
	if _, err := mem.Grow(^uint64(0)); err == nil {
		t.Fatal("Grow(2^64-1) succeeded")
	}
}

func TestTrapInternal(t *testing.T) {
	if spry.TrapInternal != 13 || spry.TrapInternal.String() != "internal runtime error" ||
		!errors.Is(spry.TrapInternal.Err(), spry.ErrInternal) {
		t.Fatalf("TrapInternal = %d %q %v", spry.TrapInternal, spry.TrapInternal, spry.TrapInternal.Err())
	}
}
