//go:build cgo

package spry

// Conversions of values between Go and Wasm: raw slots (numbers only) for the fast paths, and
// checked C values (numbers and references) for Func.Call, Global and Table.

/*
#include "spry.h"
*/
import "C"

import (
	"fmt"
	"math"
	"reflect"
	"runtime"
	"unsafe"
)

// toSlot returns the raw slot of a number: i32 and f32 in the low 32 bits, i64 and f64 in all 64.
func toSlot[T Number](v T) uint64 {
	if unsafe.Sizeof(v) == 4 {
		return uint64(*(*uint32)(unsafe.Pointer(&v)))
	}
	return *(*uint64)(unsafe.Pointer(&v))
}

// fromSlot is the inverse of toSlot.
func fromSlot[T Number](s uint64) T {
	var v T
	if unsafe.Sizeof(v) == 4 {
		*(*uint32)(unsafe.Pointer(&v)) = uint32(s)
	} else {
		*(*uint64)(unsafe.Pointer(&v)) = s
	}
	return v
}

// numberType returns the Wasm type that carries T.
func numberType[T Number]() ValueType {
	t, _ := kindType(reflect.TypeFor[T]().Kind())
	return t
}

// kindType returns the Wasm type that carries Go values of kind k.
func kindType(k reflect.Kind) (ValueType, bool) {
	switch k {
	case reflect.Int32, reflect.Uint32:
		return I32, true
	case reflect.Int64, reflect.Uint64:
		return I64, true
	case reflect.Float32:
		return F32, true
	case reflect.Float64:
		return F64, true
	}
	return 0, false
}

// numberBits converts a Go number to the bits of a Wasm value of type t. An int is accepted where
// it fits (Go's untyped constants are ints); a float is never converted to an integer or between
// widths.
func numberBits(v any, t ValueType) (uint64, bool) {
	switch t {
	case I32:
		switch x := v.(type) {
		case int32:
			return uint64(uint32(x)), true
		case uint32:
			return uint64(x), true
		case int:
			if x >= math.MinInt32 && x <= math.MaxUint32 {
				return uint64(uint32(x)), true
			}
		}
	case I64:
		switch x := v.(type) {
		case int64:
			return uint64(x), true
		case uint64:
			return x, true
		case int:
			return uint64(x), true
		}
	case F32:
		if x, ok := v.(float32); ok {
			return uint64(math.Float32bits(x)), true
		}
	case F64:
		if x, ok := v.(float64); ok {
			return math.Float64bits(x), true
		}
	}
	return 0, false
}

// bitsNumber is the inverse of numberBits: int32, int64, float32 or float64.
func bitsNumber(b uint64, t ValueType) any {
	switch t {
	case I32:
		return int32(uint32(b))
	case I64:
		return int64(b)
	case F32:
		return math.Float32frombits(uint32(b))
	case F64:
		return math.Float64frombits(b)
	}
	return nil
}

// toVal converts a Go value to a C value of type t for store s: a number, a *Func of s (or nil)
// for funcref, a *HostRef (or nil) for externref.
func (s *Store) toVal(v any, t ValueType) (C.spry_val_t, error) {
	val := C.spry_val_t{kind: C.spry_valkind_t(t)}
	switch t {
	case FuncRef:
		switch f := v.(type) {
		case nil:
			return val, nil
		case *Func:
			if f == nil {
				return val, nil
			}
			if f.store != s {
				return val, fmt.Errorf("%w: a function of another store", ErrType)
			}
			val.of = C.uint64_t(f.h.index) + 1
			return val, nil
		}
	case ExternRef:
		switch r := v.(type) {
		case nil:
			return val, nil
		case *HostRef:
			if r == nil {
				return val, nil
			}
			ptr, err := s.ptr()
			if err != nil {
				return val, err
			}
			s.extra().hostRefs = append(s.extra().hostRefs, r)
			err = takeError(C.spry_externref_new(ptr, C.uint64_t(len(s.extra().hostRefs)), &val))
			runtime.KeepAlive(s)
			if err != nil {
				s.extra().hostRefs = s.extra().hostRefs[:len(s.extra().hostRefs)-1]
				return val, err
			}
			return val, nil
		}
	default:
		if b, ok := numberBits(v, t); ok {
			val.of = C.uint64_t(b)
			return val, nil
		}
	}
	return val, fmt.Errorf("%w: %T for a %v", ErrType, v, t)
}

// fromVal converts a C value of store s to Go; storeID is the id of s's handles (references in C
// values are indices in the store).
func (s *Store) fromVal(val C.spry_val_t, storeID C.uint64_t) (any, error) {
	t := ValueType(val.kind)
	switch t {
	case FuncRef:
		if val.of == 0 {
			return nil, nil
		}
		f, err := s.funcFor(C.spry_func_t{store_id: storeID, index: C.uint32_t(val.of - 1)})
		if err != nil {
			return nil, err
		}
		return f, nil
	case ExternRef:
		if val.of == 0 {
			return nil, nil
		}
		ptr, err := s.ptr()
		if err != nil {
			return nil, err
		}
		var d C.uint64_t
		err = takeError(C.spry_externref_data(ptr, &val, &d))
		runtime.KeepAlive(s)
		if err != nil {
			return nil, err
		}
		if d == 0 || int(d) > len(s.extra().hostRefs) {
			return nil, fmt.Errorf("spry: externref not made by this package")
		}
		return s.extra().hostRefs[d-1], nil
	}
	if v := bitsNumber(uint64(val.of), t); v != nil {
		return v, nil
	}
	return nil, fmt.Errorf("spry: invalid value kind %d", val.kind)
}
