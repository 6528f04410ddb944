package spry

import (
	"fmt"
	"strings"
)

// ValueType is the type of a WebAssembly value.
type ValueType uint8

// The value types. Their numbers are those of the C surface (spry_valkind_t).
const (
	I32       ValueType = 0 // a 32-bit integer: int32 or uint32 in Go
	I64       ValueType = 1 // a 64-bit integer: int64 or uint64 in Go
	F32       ValueType = 2 // a 32-bit float: float32 in Go
	F64       ValueType = 3 // a 64-bit float: float64 in Go
	FuncRef   ValueType = 4 // a function reference: *Func in Go, nil for null
	ExternRef ValueType = 5 // a host reference: *HostRef in Go, nil for null
)

// String returns the type's name in the text format: "i32", "funcref"...
func (t ValueType) String() string {
	switch t {
	case I32:
		return "i32"
	case I64:
		return "i64"
	case F32:
		return "f32"
	case F64:
		return "f64"
	case FuncRef:
		return "funcref"
	case ExternRef:
		return "externref"
	}
	return fmt.Sprintf("valtype(%d)", uint8(t))
}

func (t ValueType) isRef() bool { return t == FuncRef || t == ExternRef }

func (t ValueType) valid() bool { return t <= ExternRef }

// FuncType is the type of a function: its parameter and result types.
type FuncType struct {
	Params  []ValueType
	Results []ValueType
}

// String returns the type in the text format's notation: "(i32, i32) -> (i64)".
func (ft FuncType) String() string {
	return "(" + joinTypes(ft.Params) + ") -> (" + joinTypes(ft.Results) + ")"
}

// slots is how many 64-bit slots a call needs: max(params, results).
func (ft FuncType) slots() int { return max(len(ft.Params), len(ft.Results)) }

func (ft FuncType) equal(o FuncType) bool {
	return equalTypes(ft.Params, o.Params) && equalTypes(ft.Results, o.Results)
}

func (ft FuncType) hasRefs() bool {
	for _, t := range ft.Params {
		if t.isRef() {
			return true
		}
	}
	for _, t := range ft.Results {
		if t.isRef() {
			return true
		}
	}
	return false
}

func (ft FuncType) validate() error {
	for _, t := range ft.Params {
		if !t.valid() {
			return fmt.Errorf("spry: invalid parameter type %v", t)
		}
	}
	for _, t := range ft.Results {
		if !t.valid() {
			return fmt.Errorf("spry: invalid result type %v", t)
		}
	}
	return nil
}

func equalTypes(a, b []ValueType) bool {
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

func joinTypes(ts []ValueType) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(t.String())
	}
	return b.String()
}

// GlobalType is the type of a global: its content type and whether it is mutable.
type GlobalType struct {
	Content ValueType
	Mutable bool
}

// String returns the type in the text format's notation: "i32" or "(mut i32)".
func (gt GlobalType) String() string {
	if gt.Mutable {
		return "(mut " + gt.Content.String() + ")"
	}
	return gt.Content.String()
}

// TableType is the type of a table: its element type and its limits, in elements.
type TableType struct {
	Element ValueType
	Min     uint32
	HasMax  bool
	Max     uint32 // meaningful when HasMax
}

// String returns the type in the text format's notation: "1 10 funcref".
func (tt TableType) String() string {
	if tt.HasMax {
		return fmt.Sprintf("%d %d %v", tt.Min, tt.Max, tt.Element)
	}
	return fmt.Sprintf("%d %v", tt.Min, tt.Element)
}

// MemoryType is the type of a linear memory: its limits, in 64 KiB pages.
type MemoryType struct {
	Min    uint64
	HasMax bool
	Max    uint64 // meaningful when HasMax
}

// String returns the type in the text format's notation: "1 16".
func (mt MemoryType) String() string {
	if mt.HasMax {
		return fmt.Sprintf("%d %d", mt.Min, mt.Max)
	}
	return fmt.Sprintf("%d", mt.Min)
}

// PageSize is the size of a WebAssembly memory page, in bytes.
const PageSize = 65536

// ExternKind is the kind of an import or export.
type ExternKind uint8

// The kinds of imports and exports. Their numbers are those of the C surface (spry_externkind_t).
const (
	ExternFunc   ExternKind = 0
	ExternGlobal ExternKind = 1
	ExternTable  ExternKind = 2
	ExternMemory ExternKind = 3
)

// String returns the kind's name in the text format: "func", "global", "table" or "memory".
func (k ExternKind) String() string {
	switch k {
	case ExternFunc:
		return "func"
	case ExternGlobal:
		return "global"
	case ExternTable:
		return "table"
	case ExternMemory:
		return "memory"
	}
	return fmt.Sprintf("externkind(%d)", uint8(k))
}

// ExternType is the type of an import or export: its kind, and the type that goes with the kind
// (the other fields are zero).
type ExternType struct {
	Kind   ExternKind
	Func   FuncType   // Kind == ExternFunc
	Global GlobalType // Kind == ExternGlobal
	Table  TableType  // Kind == ExternTable
	Memory MemoryType // Kind == ExternMemory
}

// String returns the type in the text format's notation: "func (i32) -> ()", "memory 1 2"...
func (et ExternType) String() string {
	switch et.Kind {
	case ExternFunc:
		return "func " + et.Func.String()
	case ExternGlobal:
		return "global " + et.Global.String()
	case ExternTable:
		return "table " + et.Table.String()
	case ExternMemory:
		return "memory " + et.Memory.String()
	}
	return et.Kind.String()
}

// ImportType describes one import of a module.
type ImportType struct {
	Module string
	Name   string
	Type   ExternType
}

// ExportType describes one export of a module.
type ExportType struct {
	Name string
	Type ExternType
}

// Number is the set of Go types that carry WebAssembly numbers in the typed helpers ([Typed2R]...):
// int32 and uint32 for i32, int64 and uint64 for i64, float32 for f32, float64 for f64 (and types
// defined over them).
type Number interface {
	~int32 | ~uint32 | ~int64 | ~uint64 | ~float32 | ~float64
}

// HostRef is a Go value that Wasm holds as an externref. Wasm cannot look inside it; it passes it
// back to the host, which gets the same *HostRef. A store keeps every HostRef given to it reachable
// until the store is closed.
type HostRef struct {
	Value any
}
