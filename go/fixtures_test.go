//go:build cgo

package spry_test

// The Wasm modules the tests share, each with its text form.

import spry "github.com/spry-wasm/spry/go"

// addModule is
//
//	(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
func addModule() []byte {
	m := newModule()
	m.exportFunc("add", sig(vt(spry.I32, spry.I32), spry.I32), nil, localGet(0), localGet(1), op(opI32Add))
	return m.bytes()
}

// numbersModule exports functions over every numeric type:
//
//	(module
//	  (func (export "nop"))
//	  (func (export "add32") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
//	  (func (export "add64") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
//	  (func (export "addf32") (param f32 f32) (result f32) local.get 0 local.get 1 f32.add)
//	  (func (export "addf64") (param f64 f64) (result f64) local.get 0 local.get 1 f64.add)
//	  (func (export "sum5") (param i32 i32 i32 i32 i32) (result i32)
//	    local.get 0 local.get 1 i32.add local.get 2 i32.add local.get 3 i32.add local.get 4 i32.add)
//	  (func (export "pair") (param i32) (result i32 i64) local.get 0 i64.const -1)
//	  (func (export "sum4") (param i32 i32 i32 i32) (result i32) ...)
//	  (func (export "ret64") (result i64) i64.const 0x1_0000_0001))
func numbersModule() []byte {
	m := newModule()
	i32, i64, f32, f64 := spry.I32, spry.I64, spry.F32, spry.F64
	m.exportFunc("nop", sig(nil), nil)
	m.exportFunc("add32", sig(vt(i32, i32), i32), nil, localGet(0), localGet(1), op(opI32Add))
	m.exportFunc("add64", sig(vt(i64, i64), i64), nil, localGet(0), localGet(1), op(opI64Add))
	m.exportFunc("addf32", sig(vt(f32, f32), f32), nil, localGet(0), localGet(1), op(opF32Add))
	m.exportFunc("addf64", sig(vt(f64, f64), f64), nil, localGet(0), localGet(1), op(opF64Add))
	m.exportFunc("sum5", sig(vt(i32, i32, i32, i32, i32), i32), nil,
		localGet(0), localGet(1), op(opI32Add), localGet(2), op(opI32Add), localGet(3), op(opI32Add), localGet(4), op(opI32Add))
	m.exportFunc("pair", sig(vt(i32), i32, i64), nil, localGet(0), i64Const(-1))
	m.exportFunc("sum4", sig(vt(i32, i32, i32, i32), i32), nil,
		localGet(0), localGet(1), op(opI32Add), localGet(2), op(opI32Add), localGet(3), op(opI32Add))
	m.exportFunc("ret64", sig(nil, i64), nil, i64Const(0x1_0000_0001))
	return m.bytes()
}

// trapsModule traps in every way the tests need; its name section names it "traps".
//
//	(module $traps
//	  (memory (export "memory") 1)
//	  (func $unreachable (export "unreachable") unreachable)
//	  (func $div (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
//	  (func $load (export "load") (param i32) (result i32) local.get 0 i32.load)
//	  (func $recurse (export "recurse") call $recurse)
//	  (func $spin (export "spin") (loop br 0))
//	  (func $inner (unreachable))
//	  (func $outer (export "outer") call $inner))
func trapsModule() []byte {
	m := newModule()
	m.moduleName = "traps"
	mem := m.memory(1, -1)
	m.export("memory", spry.ExternMemory, mem)
	m.exportFunc("unreachable", sig(nil), nil, op(opUnreachable))
	m.exportFunc("div", sig(vt(spry.I32, spry.I32), spry.I32), nil, localGet(0), localGet(1), op(opI32DivS))
	m.exportFunc("load", sig(vt(spry.I32), spry.I32), nil, localGet(0), i32Load(0))
	recurse := m.nfuncImport + uint32(len(m.funcs))
	m.exportFunc("recurse", sig(nil), nil, call(recurse))
	m.exportFunc("spin", sig(nil), nil, op(opLoop, 0x40), br(0), op(opEnd))
	inner := m.fn(sig(nil), nil, op(opUnreachable))
	m.funcNames[inner] = "inner"
	m.exportFunc("outer", sig(nil), nil, call(inner))
	return m.bytes()
}

// hostModule calls host functions imported from "env":
//
//	(module
//	  (import "env" "f" (func $f (param i32) (result i32)))
//	  (import "env" "g" (func $g))
//	  (memory (export "memory") 1)
//	  (data (i32.const 16) "hello from wasm")
//	  (func (export "callF") (param i32) (result i32) local.get 0 call $f)
//	  (func (export "callG") call $g)
//	  (func (export "callFTwice") (param i32) (result i32) local.get 0 call $f call $f)
//	  (func (export "spin") (loop br 0))
//	  (func (export "unreachable") unreachable)
//	  (func (export "callFThenSpin") (param i32) local.get 0 call $f drop (loop br 0)))
func hostModule() []byte {
	m := newModule()
	f := m.importFunc("env", "f", sig(vt(spry.I32), spry.I32))
	g := m.importFunc("env", "g", sig(nil))
	m.export("memory", spry.ExternMemory, m.memory(1, -1))
	m.data(16, []byte("hello from wasm"))
	m.exportFunc("callF", sig(vt(spry.I32), spry.I32), nil, localGet(0), call(f))
	m.exportFunc("callG", sig(nil), nil, call(g))
	m.exportFunc("callFTwice", sig(vt(spry.I32), spry.I32), nil, localGet(0), call(f), call(f))
	m.exportFunc("spin", sig(nil), nil, op(opLoop, 0x40), br(0), op(opEnd))
	m.exportFunc("unreachable", sig(nil), nil, op(opUnreachable))
	m.exportFunc("callFThenSpin", sig(vt(spry.I32)), nil, localGet(0), call(f), op(opDrop), op(opLoop, 0x40), br(0), op(opEnd))
	return m.bytes()
}

// stateModule has globals, a table and a memory with a maximum:
//
//	(module
//	  (memory (export "memory") 1 3)
//	  (global (export "counter") (mut i32) (i32.const 7))
//	  (global (export "big") (mut i64) (i64.const -2))
//	  (global (export "pi") f64 (f64.const 3.5))
//	  (table (export "table") 2 10 funcref)
//	  (func $seven (export "seven") (result i32) i32.const 7)
//	  (elem (i32.const 0) $seven)
//	  (func (export "callTable") (param i32) (result i32) local.get 0 call_indirect (result i32))
//	  (func (export "bump") (result i32) global.get 0 i32.const 1 i32.add global.set 0 global.get 0)
//	  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
//	  (func (export "size") (result i32) memory.size))
func stateModule() []byte {
	m := newModule()
	i32 := spry.I32
	m.export("memory", spry.ExternMemory, m.memory(1, 3))
	m.export("counter", spry.ExternGlobal, m.global(i32, true, i32Const(7)))
	m.export("big", spry.ExternGlobal, m.global(spry.I64, true, i64Const(-2)))
	m.export("pi", spry.ExternGlobal, m.global(spry.F64, false, f64Const(3.5)))
	m.export("table", spry.ExternTable, m.table(2, 10))
	seven := m.exportFunc("seven", sig(nil, i32), nil, i32Const(7))
	m.elem(0, seven)
	m.exportFunc("callTable", sig(vt(i32), i32), nil, localGet(0), callIndirect(m.typeIndex(sig(nil, i32))))
	m.exportFunc("bump", sig(nil, i32), nil, globalGet(0), i32Const(1), op(opI32Add), globalSet(0), globalGet(0))
	m.exportFunc("grow", sig(vt(i32), i32), nil, localGet(0), memoryGrow())
	m.exportFunc("size", sig(nil, i32), nil, op(opMemorySize, 0x00))
	return m.bytes()
}
