//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
)

// Global is a global variable of a store: exported by an instance, or made with NewGlobal. Its
// values are Go values as Func.Call takes and returns them.
type Global struct {
	store *Store
	h     C.spry_global_t
	ty    GlobalType
}

// globalFor returns the Global of a handle of s, made on first use.
func (s *Store) globalFor(h C.spry_global_t) (*Global, error) {
	i := int(h.index)
	if i < len(s.extra().globals) && s.extra().globals[i] != nil && s.extra().globals[i].h == h {
		return s.extra().globals[i], nil
	}
	ptr, err := s.ptr()
	if err != nil {
		return nil, err
	}
	var et C.spry_externtype_t
	err = takeError(C.spry_global_type(ptr, h, &et))
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	g := &Global{store: s, h: h, ty: goExternType(&et).Global}
	for len(s.extra().globals) <= i {
		s.extra().globals = append(s.extra().globals, nil)
	}
	s.extra().globals[i] = g
	return g, nil
}

// NewGlobal makes a global of type gt with the initial value init in store s, for Linker.Define or
// NewInstance.
func NewGlobal(s *Store, gt GlobalType, init any) (*Global, error) {
	ptr, owned, err := s.use()
	if err != nil {
		return nil, err
	}
	defer s.unuse(owned)
	if !gt.Content.valid() {
		return nil, fmt.Errorf("%w: invalid global type %v", ErrType, gt.Content)
	}
	v, err := s.toVal(init, gt.Content)
	if err != nil {
		return nil, err
	}
	var h C.spry_global_t
	err = takeError(C.spry_global_new(ptr, C.spry_valkind_t(gt.Content), C.bool(gt.Mutable), &v, &h))
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	return s.globalFor(h)
}

var errNilGlobal = errors.New("spry: nil *Global")

// Get returns the global's value: an int32, int64, float32, float64, *Func or *HostRef (nil for a
// null reference).
func (g *Global) Get() (any, error) {
	if g == nil {
		return nil, errNilGlobal
	}
	ptr, owned, err := g.store.use()
	if err != nil {
		return nil, err
	}
	defer g.store.unuse(owned)
	var v C.spry_val_t
	err = takeError(C.spry_global_get(ptr, g.h, &v))
	runtime.KeepAlive(g.store)
	if err != nil {
		return nil, err
	}
	return g.store.fromVal(v, g.h.store_id)
}

// Set sets the global's value (converted as Func.Call converts arguments). It fails for an
// immutable global.
func (g *Global) Set(v any) error {
	if g == nil {
		return errNilGlobal
	}
	ptr, owned, err := g.store.use()
	if err != nil {
		return err
	}
	defer g.store.unuse(owned)
	if !g.ty.Mutable {
		return fmt.Errorf("%w: set of an immutable global", ErrType)
	}
	cv, err := g.store.toVal(v, g.ty.Content)
	if err != nil {
		return err
	}
	err = takeError(C.spry_global_set(ptr, g.h, &cv))
	runtime.KeepAlive(g.store)
	return err
}

// Type returns the global's type.
func (g *Global) Type() GlobalType {
	if g == nil {
		return GlobalType{}
	}
	return g.ty
}

// Store returns the store the global belongs to.
func (g *Global) Store() *Store {
	if g == nil {
		return nil
	}
	return g.store
}

// Kind returns ExternGlobal.
func (g *Global) Kind() ExternKind { return ExternGlobal }

func (g *Global) item() itemRef {
	if g == nil {
		return itemRef{}
	}
	return itemRef{kind: ExternGlobal, store: g.store, storeID: uint64(g.h.store_id), index: uint32(g.h.index)}
}
