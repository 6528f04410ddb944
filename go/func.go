//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
)

// Func is a function of a store: exported by an instance, or a host function made with NewFunc.
// Its type is resolved once, when the Func is obtained, and its store is the one it belongs to.
type Func struct {
	store   *Store
	h       C.spry_func_t
	ty      FuncType
	nslots  int
	numeric bool // no reference types: the raw and typed paths apply
}

// funcFor returns the Func of a handle of s, made on first use.
func (s *Store) funcFor(h C.spry_func_t) (*Func, error) {
	i := int(h.index)
	if i < len(s.extra().funcs) && s.extra().funcs[i] != nil && s.extra().funcs[i].h == h {
		return s.extra().funcs[i], nil
	}
	ptr, err := s.ptr()
	if err != nil {
		return nil, err
	}
	var ct C.spry_functype_t
	if err := takeError(C.spry_func_type(ptr, h, &ct)); err != nil {
		return nil, err
	}
	ty := goFuncType(&ct)
	f := &Func{store: s, h: h, ty: ty, nslots: ty.slots(), numeric: !ty.hasRefs()}
	for len(s.extra().funcs) <= i {
		s.extra().funcs = append(s.extra().funcs, nil)
	}
	s.extra().funcs[i] = f
	return f, nil
}

// Type returns the function's type.
func (f *Func) Type() FuncType {
	if f == nil {
		return FuncType{}
	}
	return FuncType{
		Params:  append([]ValueType(nil), f.ty.Params...),
		Results: append([]ValueType(nil), f.ty.Results...),
	}
}

// Store returns the store the function belongs to.
func (f *Func) Store() *Store {
	if f == nil {
		return nil
	}
	return f.store
}

// Kind returns ExternFunc.
func (f *Func) Kind() ExternKind { return ExternFunc }

func (f *Func) item() itemRef {
	if f == nil {
		return itemRef{}
	}
	return itemRef{kind: ExternFunc, store: f.store, storeID: uint64(f.h.store_id), index: uint32(f.h.index)}
}

var errNilFunc = errors.New("spry: nil *Func")

// Call calls the function with Go arguments and returns its results as Go values.
//
// Arguments are converted by the parameter types: an i32 takes an int32 or uint32, an i64 an int64
// or uint64, and either takes an int that fits (so that untyped constants work); an f32 takes a
// float32 and an f64 a float64; a funcref takes a *Func of the same store (nil for null), an
// externref a *HostRef (nil for null). Results are int32, int64, float32, float64, *Func or *HostRef
// (nil for a null reference).
//
// A trap is returned as a *Trap; see the package documentation for contexts and for host functions
// that fail or panic. Call allocates; CallRaw and the typed helpers (Typed2R...) do not.
func (f *Func) Call(ctx context.Context, args ...any) ([]any, error) {
	if f == nil {
		return nil, errNilFunc
	}
	if len(args) != len(f.ty.Params) {
		return nil, fmt.Errorf("%w: %d arguments for a function of type %v", ErrType, len(args), f.ty)
	}
	if !f.numeric {
		return f.callChecked(ctx, args)
	}
	var in [4]uint64
	raw := in[:]
	byValue := f.nslots <= len(in) && len(f.ty.Results) <= 1
	if !byValue {
		raw = make([]uint64, f.nslots)
	}
	for i, a := range args {
		b, ok := numberBits(a, f.ty.Params[i])
		if !ok {
			return nil, fmt.Errorf("%w: argument %d is a %T, the parameter is an %v", ErrType, i, a, f.ty.Params[i])
		}
		raw[i] = b
	}
	if byValue {
		// Arguments by value: no slot array to allocate.
		r0, err := f.store.callTyped(ctx, f.h, f.nslots, in[0], in[1], in[2], in[3])
		if err != nil {
			return nil, err
		}
		raw[0] = r0
	} else if err := f.store.callUnchecked(ctx, f.h, raw); err != nil {
		return nil, err
	}
	results := make([]any, len(f.ty.Results))
	for i, t := range f.ty.Results {
		results[i] = bitsNumber(raw[i], t)
	}
	return results, nil
}

// callChecked is Call for functions with reference types, over C values.
func (f *Func) callChecked(ctx context.Context, args []any) ([]any, error) {
	s := f.store
	cargs := make([]C.spry_val_t, len(args))
	if err := s.convertArgs(f.ty, args, cargs); err != nil {
		return nil, err
	}
	cresults := make([]C.spry_val_t, len(f.ty.Results))
	if err := s.callChecked(ctx, f.h, cargs, cresults); err != nil {
		return nil, err
	}
	return s.convertResults(cresults, f.h.store_id)
}

// convertArgs converts the arguments of a call to C values, holding the store (a *HostRef becomes
// an externref of the store).
func (s *Store) convertArgs(ft FuncType, args []any, cargs []C.spry_val_t) error {
	_, owned, err := s.use()
	if err != nil {
		return err
	}
	defer s.unuse(owned)
	for i, a := range args {
		v, err := s.toVal(a, ft.Params[i])
		if err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
		cargs[i] = v
	}
	return nil
}

// convertResults converts the results of a call to Go values, holding the store.
func (s *Store) convertResults(cresults []C.spry_val_t, storeID C.uint64_t) ([]any, error) {
	_, owned, err := s.use()
	if err != nil {
		return nil, err
	}
	defer s.unuse(owned)
	results := make([]any, len(cresults))
	for i, v := range cresults {
		r, err := s.fromVal(v, storeID)
		if err != nil {
			return nil, err
		}
		results[i] = r
	}
	return results, nil
}

// CallRaw calls the function with arguments and results in raw 64-bit slots, without conversion
// and without allocation: on entry slots[0:len(params)] hold the arguments, on success
// slots[0:len(results)] hold the results. An i32 or f32 is in the low 32 bits of its slot (an f32 as
// math.Float32bits), an i64 or f64 in all 64 (an f64 as math.Float64bits). slots must hold at least
// max(len(params), len(results)) values.
//
// The slots are read by the function's type, so any bits are safe; functions with reference
// parameters or results are not callable this way (use Call).
func (f *Func) CallRaw(ctx context.Context, slots []uint64) error {
	if f == nil {
		return errNilFunc
	}
	if !f.numeric {
		return fmt.Errorf("%w: CallRaw of a function with reference types %v (use Call)", ErrType, f.ty)
	}
	if len(slots) < f.nslots {
		return fmt.Errorf("%w: %d slots for a function of type %v", ErrType, len(slots), f.ty)
	}
	return f.store.callUnchecked(ctx, f.h, slots)
}

// NewFunc makes a host function in store s from a Go function, as Linker.DefineFunc does (see it
// for the accepted function types). The function can be called from Go, or given to Wasm through
// Linker.Define or NewInstance.
func NewFunc(s *Store, fn any) (*Func, error) {
	hf, err := newHostFunc(fn)
	if err != nil {
		return nil, err
	}
	return newFuncFromHost(s, hf)
}

// NewRawFunc makes a host function of type ft in store s over raw slots, as Linker.DefineRawFunc
// does.
func NewRawFunc(s *Store, ft FuncType, fn RawFunc) (*Func, error) {
	hf, err := newRawHostFunc(ft, fn)
	if err != nil {
		return nil, err
	}
	return newFuncFromHost(s, hf)
}

func newFuncFromHost(s *Store, hf *hostFunc) (*Func, error) {
	ptr, owned, err := s.use()
	if err != nil {
		return nil, err
	}
	defer s.unuse(owned)
	env := hostFuncs.add(hf)
	pp, np := cKinds(hf.ty.Params)
	pr, nr := cKinds(hf.ty.Results)
	var h C.spry_func_t
	err = takeError(C.spry_func_new(ptr, pp, np, pr, nr, hostCallback, C.size_t(env), hostFinalizer, &h))
	if err != nil {
		return nil, err // the finalizer released env
	}
	return s.funcFor(h)
}
