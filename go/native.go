//go:build cgo

package spry

// The cgo directives of the package, and the conversions every object needs at the boundary: C
// errors, strings and types.

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo LDFLAGS: ${SRCDIR}/../target/release/libspry_capi.a -lm -ldl -lpthread
#include <stdlib.h>
#include "spry.h"

static void go_cgo_floor(void) {}
*/
import "C"

import (
	"unsafe"
)

// Version returns the version of the native engine.
func Version() string {
	return C.GoString(C.spry_version())
}

// cgoFloor is an empty C call: the benchmarks measure the cost of crossing to C with it.
func cgoFloor() { C.go_cgo_floor() }

// takeError turns a C error into a Go error and deletes the C error; nil stays nil.
func takeError(e *C.spry_error_t) error {
	if e == nil {
		return nil
	}
	var n C.size_t
	p := C.spry_error_message(e, &n)
	msg := goString(p, n)
	kind := C.spry_error_kind(e)
	C.spry_error_delete(e)
	return errorOfKind(kind, "spry: "+msg)
}

// goString copies a (pointer, length) string from C.
func goString(p *C.char, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return C.GoStringN(p, C.int(n))
}

// cString returns a pointer to s's bytes for a C call that copies them (never kept by C), and its
// length. The pointer is nil for an empty string (the C surface reads (NULL, 0) as empty).
func cString(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s))), C.size_t(len(s))
}

// cBytes is cString for byte slices.
func cBytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// cKinds returns a pointer to the kinds for a C call that copies them.
func cKinds(ts []ValueType) (*C.spry_valkind_t, C.size_t) {
	if len(ts) == 0 {
		return nil, 0
	}
	return (*C.spry_valkind_t)(unsafe.Pointer(&ts[0])), C.size_t(len(ts))
}

// goKinds copies an array of value kinds from C.
func goKinds(p *C.spry_valkind_t, n C.size_t) []ValueType {
	if p == nil || n == 0 {
		return nil
	}
	src := unsafe.Slice((*ValueType)(unsafe.Pointer(p)), int(n))
	return append([]ValueType(nil), src...)
}

// goFuncType copies a function type from C.
func goFuncType(ft *C.spry_functype_t) FuncType {
	return FuncType{Params: goKinds(ft.params, ft.nparams), Results: goKinds(ft.results, ft.nresults)}
}

// goExternType copies an extern type from C.
func goExternType(et *C.spry_externtype_t) ExternType {
	t := ExternType{Kind: ExternKind(et.kind)}
	switch t.Kind {
	case ExternFunc:
		t.Func = goFuncType(&et._func)
	case ExternGlobal:
		t.Global = GlobalType{Content: ValueType(et.global_content), Mutable: bool(et.global_mutable)}
	case ExternTable:
		t.Table = TableType{Element: ValueType(et.table_element), Min: uint32(et.table_min),
			HasMax: bool(et.table_has_max), Max: uint32(et.table_max)}
	case ExternMemory:
		t.Memory = MemoryType{Min: uint64(et.memory_min), HasMax: bool(et.memory_has_max),
			Max: uint64(et.memory_max)}
	}
	return t
}
