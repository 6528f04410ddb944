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
	"runtime"
)

// Instance is an instantiated module: its exports are the functions, memories, globals and tables
// that Go can use. It belongs to a store, and is released with it.
type Instance struct {
	store *Store
	h     C.spry_instance_t
}

// newInstance returns the Instance of h in s: the store's first instance lives in the Store itself
// (a store per instance then costs one allocation fewer).
func (s *Store) newInstance(h C.spry_instance_t) *Instance {
	if s.inst0.store == nil {
		s.inst0 = Instance{store: s, h: h}
		return &s.inst0
	}
	return &Instance{store: s, h: h}
}

// NewInstance instantiates module in store s with imports given in the order of the module's
// imports (Module.Imports), and runs its start function. Linker.Instantiate, which resolves imports
// by name, is usually more convenient.
func NewInstance(ctx context.Context, s *Store, module *Module, imports []Extern) (*Instance, error) {
	if s == nil {
		return nil, errStoreClosed
	}
	cimports := make([]C.spry_extern_t, len(imports))
	for i, imp := range imports {
		if imp == nil {
			return nil, fmt.Errorf("%w: import %d is nil", ErrType, i)
		}
		r := imp.item()
		if r.store != s {
			return nil, fmt.Errorf("%w: import %d belongs to another store", ErrType, i)
		}
		cimports[i] = C.spry_extern_t{kind: C.spry_externkind_t(r.kind), store_id: C.uint64_t(r.storeID), index: C.uint32_t(r.index)}
	}
	m, err := module.acquire()
	if err != nil {
		return nil, err
	}
	defer module.release()
	h, err := s.instantiate(ctx, m, cimports)
	if err != nil {
		return nil, err
	}
	return s.newInstance(h), nil
}

// Store returns the store the instance belongs to.
func (i *Instance) Store() *Store {
	if i == nil {
		return nil
	}
	return i.store
}

// Export returns the export of the given name.
func (i *Instance) Export(name string) (Extern, error) {
	if i == nil {
		return nil, errors.New("spry: nil *Instance")
	}
	ptr, owned, err := i.store.use()
	if err != nil {
		return nil, err
	}
	defer i.store.unuse(owned)
	var ext C.spry_extern_t
	p, n := cString(name)
	ok := C.spry_instance_export_get(ptr, i.h, p, n, &ext)
	runtime.KeepAlive(name)
	runtime.KeepAlive(i.store)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return i.store.externFor(ext)
}

// Func returns the exported function of the given name.
func (i *Instance) Func(name string) (*Func, error) {
	return exportAs[*Func](i, name, ExternFunc)
}

// Memory returns the exported memory of the given name.
func (i *Instance) Memory(name string) (*Memory, error) {
	return exportAs[*Memory](i, name, ExternMemory)
}

// Global returns the exported global of the given name.
func (i *Instance) Global(name string) (*Global, error) {
	return exportAs[*Global](i, name, ExternGlobal)
}

// Table returns the exported table of the given name.
func (i *Instance) Table(name string) (*Table, error) {
	return exportAs[*Table](i, name, ExternTable)
}

func exportAs[T Extern](i *Instance, name string, kind ExternKind) (T, error) {
	var zero T
	e, err := i.Export(name)
	if err != nil {
		return zero, err
	}
	return externAs[T](e, name, kind)
}

func externAs[T Extern](e Extern, name string, kind ExternKind) (T, error) {
	t, ok := e.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("%w: export %q is a %v, not a %v", ErrType, name, e.Kind(), kind)
	}
	return t, nil
}

// externFor returns the Go item of a handle of s.
func (s *Store) externFor(ext C.spry_extern_t) (Extern, error) {
	var e Extern
	var err error
	switch ExternKind(ext.kind) {
	case ExternFunc:
		var f *Func
		f, err = s.funcFor(C.spry_func_t{store_id: ext.store_id, index: ext.index})
		e = f
	case ExternMemory:
		var m *Memory
		m, err = s.memoryFor(C.spry_memory_t{store_id: ext.store_id, index: ext.index})
		e = m
	case ExternGlobal:
		var g *Global
		g, err = s.globalFor(C.spry_global_t{store_id: ext.store_id, index: ext.index})
		e = g
	case ExternTable:
		var t *Table
		t, err = s.tableFor(C.spry_table_t{store_id: ext.store_id, index: ext.index})
		e = t
	default:
		err = fmt.Errorf("spry: unknown extern kind %d", ext.kind)
	}
	if err != nil {
		return nil, err // not an interface holding a nil pointer
	}
	return e, nil
}
