//go:build cgo

package spry

//go:generate go run gen_hostfunc_fast.go

import (
	"errors"
	"fmt"
	"math"
	"reflect"
)

// hostFunc is a host function as the handle table holds it: its type and its body.
type hostFunc struct {
	ty   FuncType
	call RawFunc
	// fast reports that call is a generated adapter of hostfunc_fast.go (or a RawFunc), not a
	// call through reflect; the tests read it to tell which path served a shape.
	fast bool
}

// hostFuncs maps the env values that cross to C to host functions (see handle_table.go). An entry
// lives until the C surface finalizes it (goSpryHostFinalize).
var hostFuncs handleTable[hostFunc]

var (
	callerType = reflect.TypeFor[*Caller]()
	errorType  = reflect.TypeFor[error]()
)

// newRawHostFunc checks a raw host function.
func newRawHostFunc(ft FuncType, fn RawFunc) (*hostFunc, error) {
	if fn == nil {
		return nil, errors.New("spry: nil host function")
	}
	if err := ft.validate(); err != nil {
		return nil, err
	}
	if ft.hasRefs() {
		return nil, fmt.Errorf("%w: raw host functions take and return numbers only, not %v", ErrType, ft)
	}
	return &hostFunc{ty: FuncType{
		Params:  append([]ValueType(nil), ft.Params...),
		Results: append([]ValueType(nil), ft.Results...),
	}, call: fn, fast: true}, nil
}

// newHostFunc checks a typed host function, once, by reflection, and picks its body: a
// reflection-free adapter for the common shapes (hostfunc_fast.go), else a call through reflect.
func newHostFunc(fn any) (*hostFunc, error) {
	if fn == nil {
		return nil, errors.New("spry: nil host function")
	}
	if raw, ok := fn.(RawFunc); ok {
		return nil, fmt.Errorf("%w: a RawFunc needs its FuncType: use DefineRawFunc or NewRawFunc (%T)", ErrType, raw)
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		return nil, fmt.Errorf("%w: host function is a %v, not a function", ErrType, t)
	}
	if v.IsNil() {
		return nil, errors.New("spry: nil host function")
	}
	if t.IsVariadic() {
		return nil, fmt.Errorf("%w: host function %v is variadic", ErrType, t)
	}
	withCaller := t.NumIn() > 0 && t.In(0) == callerType
	withErr := t.NumOut() > 0 && t.Out(t.NumOut()-1) == errorType
	var ft FuncType
	first := 0
	if withCaller {
		first = 1
	}
	for i := first; i < t.NumIn(); i++ {
		vt, ok := kindType(t.In(i).Kind())
		if !ok {
			return nil, fmt.Errorf("%w: host function %v: parameter %d has type %v (want int32, uint32, int64, uint64, float32, float64, or a first *spry.Caller)", ErrType, t, i, t.In(i))
		}
		ft.Params = append(ft.Params, vt)
	}
	nout := t.NumOut()
	if withErr {
		nout--
	}
	for i := 0; i < nout; i++ {
		vt, ok := kindType(t.Out(i).Kind())
		if !ok {
			return nil, fmt.Errorf("%w: host function %v: result %d has type %v (want int32, uint32, int64, uint64, float32, float64, or a last error)", ErrType, t, i, t.Out(i))
		}
		ft.Results = append(ft.Results, vt)
	}
	body := fastHost(fn)
	fast := body != nil
	if !fast {
		body = reflectHost(v, withCaller, withErr, ft)
	}
	return &hostFunc{ty: ft, call: body, fast: fast}, nil
}

// reflectHost is the body of a host function of a shape without a fast adapter: a call through
// reflect, which allocates.
func reflectHost(fv reflect.Value, withCaller, withErr bool, ft FuncType) RawFunc {
	t := fv.Type()
	first := 0
	if withCaller {
		first = 1
	}
	return func(c *Caller, slots []uint64) error {
		in := make([]reflect.Value, t.NumIn())
		if withCaller {
			in[0] = reflect.ValueOf(c)
		}
		for i := range ft.Params {
			in[first+i] = slotValue(slots[i], t.In(first+i))
		}
		out := fv.Call(in)
		if withErr {
			if e := out[len(out)-1]; !e.IsNil() {
				return e.Interface().(error)
			}
		}
		for i := range ft.Results {
			slots[i] = valueSlot(out[i])
		}
		return nil
	}
}

// slotValue converts a raw slot to a Go value of type t (a numeric kind, checked at definition).
func slotValue(s uint64, t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Int32:
		v.SetInt(int64(int32(uint32(s))))
	case reflect.Uint32:
		v.SetUint(uint64(uint32(s)))
	case reflect.Int64:
		v.SetInt(int64(s))
	case reflect.Uint64:
		v.SetUint(s)
	case reflect.Float32:
		v.SetFloat(float64(math.Float32frombits(uint32(s))))
	case reflect.Float64:
		v.SetFloat(math.Float64frombits(s))
	}
	return v
}

// valueSlot is the inverse of slotValue.
func valueSlot(v reflect.Value) uint64 {
	switch v.Kind() {
	case reflect.Int32:
		return uint64(uint32(int32(v.Int())))
	case reflect.Uint32:
		return uint64(uint32(v.Uint()))
	case reflect.Int64:
		return uint64(v.Int())
	case reflect.Uint64:
		return v.Uint()
	case reflect.Float32:
		return uint64(math.Float32bits(float32(v.Float())))
	case reflect.Float64:
		return math.Float64bits(v.Float())
	}
	return 0
}
