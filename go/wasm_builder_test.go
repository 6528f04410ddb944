package spry_test

// A small encoder of WebAssembly binary modules for the tests: Go has no WAT parser here, and a
// builder keeps each fixture next to its test, with its text form in a comment.

import (
	"bytes"
	"encoding/binary"
	"math"

	spry "github.com/spry-wasm/spry/go"
)

type wasmFunc struct {
	typeIdx uint32
	locals  []spry.ValueType
	body    []byte
}

type wasmExport struct {
	name  string
	kind  spry.ExternKind
	index uint32
}

type wasmModule struct {
	types       []spry.FuncType
	imports     [][]byte
	nfuncImport uint32
	nmemImport  uint32
	nglobImport uint32
	funcs       []wasmFunc
	tables      [][]byte
	memories    [][]byte
	globals     [][]byte
	exports     []wasmExport
	start       int64 // -1: none
	elems       [][]byte
	datas       [][]byte
	moduleName  string
	funcNames   map[uint32]string
}

func newModule() *wasmModule { return &wasmModule{start: -1, funcNames: map[uint32]string{}} }

func (m *wasmModule) typeIndex(ft spry.FuncType) uint32 {
	for i, t := range m.types {
		if sameTypes(t.Params, ft.Params) && sameTypes(t.Results, ft.Results) {
			return uint32(i)
		}
	}
	m.types = append(m.types, ft)
	return uint32(len(m.types) - 1)
}

func sameTypes(a, b []spry.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sig is shorthand for a function type.
func sig(params []spry.ValueType, results ...spry.ValueType) spry.FuncType {
	return spry.FuncType{Params: params, Results: results}
}

func vt(ts ...spry.ValueType) []spry.ValueType { return ts }

// importFunc adds a function import and returns its function index (imports must come first).
func (m *wasmModule) importFunc(module, name string, ft spry.FuncType) uint32 {
	var b []byte
	b = appendName(b, module)
	b = appendName(b, name)
	b = append(b, 0x00)
	b = appendU32(b, m.typeIndex(ft))
	m.imports = append(m.imports, b)
	m.nfuncImport++
	return m.nfuncImport - 1
}

// importMemory adds a memory import.
func (m *wasmModule) importMemory(module, name string, min uint32) {
	var b []byte
	b = appendName(b, module)
	b = appendName(b, name)
	b = append(b, 0x02, 0x00)
	b = appendU32(b, min)
	m.imports = append(m.imports, b)
	m.nmemImport++
}

// importGlobal adds a global import.
func (m *wasmModule) importGlobal(module, name string, t spry.ValueType, mutable bool) {
	var b []byte
	b = appendName(b, module)
	b = appendName(b, name)
	b = append(b, 0x03, valType(t), boolByte(mutable))
	m.imports = append(m.imports, b)
	m.nglobImport++
}

// fn adds a function; it returns its function index.
func (m *wasmModule) fn(ft spry.FuncType, locals []spry.ValueType, body ...[]byte) uint32 {
	m.funcs = append(m.funcs, wasmFunc{typeIdx: m.typeIndex(ft), locals: locals, body: bytes.Join(body, nil)})
	return m.nfuncImport + uint32(len(m.funcs)) - 1
}

// exportFunc adds a function with an export of its own name.
func (m *wasmModule) exportFunc(name string, ft spry.FuncType, locals []spry.ValueType, body ...[]byte) uint32 {
	i := m.fn(ft, locals, body...)
	m.export(name, spry.ExternFunc, i)
	m.funcNames[i] = name
	return i
}

func (m *wasmModule) export(name string, kind spry.ExternKind, index uint32) {
	m.exports = append(m.exports, wasmExport{name, kind, index})
}

// memory adds a memory of min pages (max < 0: no maximum).
func (m *wasmModule) memory(min uint32, max int64) uint32 {
	m.memories = append(m.memories, limits(min, max))
	return m.nmemImport + uint32(len(m.memories)) - 1
}

// table adds a funcref table.
func (m *wasmModule) table(min uint32, max int64) uint32 {
	m.tables = append(m.tables, append([]byte{0x70}, limits(min, max)...))
	return uint32(len(m.tables) - 1)
}

// global adds a global initialized by a constant expression (without its end).
func (m *wasmModule) global(t spry.ValueType, mutable bool, init []byte) uint32 {
	b := []byte{valType(t), boolByte(mutable)}
	b = append(b, init...)
	b = append(b, opEnd)
	m.globals = append(m.globals, b)
	return m.nglobImport + uint32(len(m.globals)) - 1
}

// data adds an active data segment for memory 0 at a constant offset.
func (m *wasmModule) data(offset int32, content []byte) {
	b := []byte{0x00}
	b = append(b, i32Const(offset)...)
	b = append(b, opEnd)
	b = appendU32(b, uint32(len(content)))
	b = append(b, content...)
	m.datas = append(m.datas, b)
}

// elem adds an active element segment for table 0 at a constant offset.
func (m *wasmModule) elem(offset int32, funcs ...uint32) {
	b := []byte{0x00}
	b = append(b, i32Const(offset)...)
	b = append(b, opEnd)
	b = appendU32(b, uint32(len(funcs)))
	for _, f := range funcs {
		b = appendU32(b, f)
	}
	m.elems = append(m.elems, b)
}

func (m *wasmModule) bytes() []byte {
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	section := func(id byte, items [][]byte) {
		if len(items) == 0 {
			return
		}
		var b []byte
		b = appendU32(b, uint32(len(items)))
		for _, it := range items {
			b = append(b, it...)
		}
		out = append(out, id)
		out = appendU32(out, uint32(len(b)))
		out = append(out, b...)
	}
	var types [][]byte
	for _, t := range m.types {
		b := []byte{0x60}
		b = appendU32(b, uint32(len(t.Params)))
		for _, p := range t.Params {
			b = append(b, valType(p))
		}
		b = appendU32(b, uint32(len(t.Results)))
		for _, r := range t.Results {
			b = append(b, valType(r))
		}
		types = append(types, b)
	}
	section(1, types)
	section(2, m.imports)
	var funcs [][]byte
	for _, f := range m.funcs {
		funcs = append(funcs, appendU32(nil, f.typeIdx))
	}
	section(3, funcs)
	section(4, m.tables)
	section(5, m.memories)
	section(6, m.globals)
	var exports [][]byte
	for _, e := range m.exports {
		b := appendName(nil, e.name)
		b = append(b, map[spry.ExternKind]byte{spry.ExternFunc: 0, spry.ExternTable: 1, spry.ExternMemory: 2, spry.ExternGlobal: 3}[e.kind])
		b = appendU32(b, e.index)
		exports = append(exports, b)
	}
	section(7, exports)
	if m.start >= 0 {
		b := appendU32(nil, uint32(m.start))
		out = append(out, 8)
		out = appendU32(out, uint32(len(b)))
		out = append(out, b...)
	}
	section(9, m.elems)
	var codes [][]byte
	for _, f := range m.funcs {
		var b []byte
		b = appendU32(b, uint32(len(f.locals)))
		for _, l := range f.locals {
			b = append(b, 0x01, valType(l))
		}
		b = append(b, f.body...)
		b = append(b, opEnd)
		codes = append(codes, append(appendU32(nil, uint32(len(b))), b...))
	}
	section(10, codes)
	section(11, m.datas)
	if m.moduleName != "" || len(m.funcNames) > 0 {
		var b []byte
		b = appendName(b, "name")
		if m.moduleName != "" {
			sub := appendName(nil, m.moduleName)
			b = append(b, 0)
			b = appendU32(b, uint32(len(sub)))
			b = append(b, sub...)
		}
		if len(m.funcNames) > 0 {
			var sub []byte
			sub = appendU32(sub, uint32(len(m.funcNames)))
			for i := uint32(0); i < m.nfuncImport+uint32(len(m.funcs)); i++ {
				if n, ok := m.funcNames[i]; ok {
					sub = appendU32(sub, i)
					sub = appendName(sub, n)
				}
			}
			b = append(b, 1)
			b = appendU32(b, uint32(len(sub)))
			b = append(b, sub...)
		}
		out = append(out, 0)
		out = appendU32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out
}

func limits(min uint32, max int64) []byte {
	if max < 0 {
		return appendU32([]byte{0x00}, min)
	}
	return appendU32(appendU32([]byte{0x01}, min), uint32(max))
}

func valType(t spry.ValueType) byte {
	switch t {
	case spry.I32:
		return 0x7f
	case spry.I64:
		return 0x7e
	case spry.F32:
		return 0x7d
	case spry.F64:
		return 0x7c
	case spry.FuncRef:
		return 0x70
	case spry.ExternRef:
		return 0x6f
	}
	panic("bad value type")
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

func appendU32(b []byte, v uint32) []byte {
	return binary.AppendUvarint(b, uint64(v))
}

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// Instructions.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0b
	opBr          = 0x0c
	opBrIf        = 0x0d
	opReturn      = 0x0f
	opDrop        = 0x1a
	opI32Eqz      = 0x45
	opI32Add      = 0x6a
	opI32Sub      = 0x6b
	opI32Mul      = 0x6c
	opI32DivS     = 0x6d
	opI64Add      = 0x7c
	opF32Add      = 0x92
	opF64Add      = 0xa0
	opMemorySize  = 0x3f
)

// code concatenates instructions.
func code(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func op(b ...byte) []byte     { return b }
func i32Const(v int32) []byte { return appendS64([]byte{0x41}, int64(v)) }
func i64Const(v int64) []byte { return appendS64([]byte{0x42}, v) }
func f64Const(v float64) []byte {
	return binary.LittleEndian.AppendUint64([]byte{0x44}, math.Float64bits(v))
}
func localGet(i uint32) []byte           { return appendU32([]byte{0x20}, i) }
func localSet(i uint32) []byte           { return appendU32([]byte{0x21}, i) }
func globalGet(i uint32) []byte          { return appendU32([]byte{0x23}, i) }
func globalSet(i uint32) []byte          { return appendU32([]byte{0x24}, i) }
func call(f uint32) []byte               { return appendU32([]byte{0x10}, f) }
func br(depth uint32) []byte             { return appendU32([]byte{opBr}, depth) }
func brIf(depth uint32) []byte           { return appendU32([]byte{opBrIf}, depth) }
func i32Load(offset uint32) []byte       { return appendU32([]byte{0x28, 0x02}, offset) }
func i32Store(offset uint32) []byte      { return appendU32([]byte{0x36, 0x02}, offset) }
func i32Load8U(offset uint32) []byte     { return appendU32([]byte{0x2d, 0x00}, offset) }
func memoryGrow() []byte                 { return []byte{0x40, 0x00} }
func callIndirect(typeIdx uint32) []byte { return append(appendU32([]byte{0x11}, typeIdx), 0x00) }
