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

// Table is a table of references of a store: exported by an instance, or made with NewTable. Its
// elements are *Func (funcref tables) or *HostRef (externref tables), nil for null.
type Table struct {
	store *Store
	h     C.spry_table_t
	elem  ValueType
}

// tableFor returns the Table of a handle of s, made on first use.
func (s *Store) tableFor(h C.spry_table_t) (*Table, error) {
	i := int(h.index)
	if i < len(s.extra().tables) && s.extra().tables[i] != nil && s.extra().tables[i].h == h {
		return s.extra().tables[i], nil
	}
	ptr, err := s.ptr()
	if err != nil {
		return nil, err
	}
	var et C.spry_externtype_t
	err = takeError(C.spry_table_type(ptr, h, &et))
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	t := &Table{store: s, h: h, elem: ValueType(et.table_element)}
	for len(s.extra().tables) <= i {
		s.extra().tables = append(s.extra().tables, nil)
	}
	s.extra().tables[i] = t
	return t, nil
}

// NewTable makes a table of type tt in store s, its elements set to init (nil for null), for
// Linker.Define or NewInstance.
func NewTable(s *Store, tt TableType, init any) (*Table, error) {
	ptr, owned, err := s.use()
	if err != nil {
		return nil, err
	}
	defer s.unuse(owned)
	if !tt.Element.isRef() {
		return nil, fmt.Errorf("%w: a table's elements are references, not %v", ErrType, tt.Element)
	}
	v, err := s.toVal(init, tt.Element)
	if err != nil {
		return nil, err
	}
	var h C.spry_table_t
	err = retryAfterGC(func() error {
		return takeError(C.spry_table_new(ptr, C.spry_valkind_t(tt.Element), C.uint32_t(tt.Min), C.bool(tt.HasMax), C.uint32_t(tt.Max), &v, &h))
	})
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	return s.tableFor(h)
}

var errNilTable = errors.New("spry: nil *Table")

// Get returns element i: a *Func or *HostRef, or nil for null. It fails when i is out of bounds.
func (t *Table) Get(i uint32) (any, error) {
	if t == nil {
		return nil, errNilTable
	}
	ptr, owned, err := t.store.use()
	if err != nil {
		return nil, err
	}
	defer t.store.unuse(owned)
	var v C.spry_val_t
	err = takeError(C.spry_table_get(ptr, t.h, C.uint32_t(i), &v))
	runtime.KeepAlive(t.store)
	if err != nil {
		return nil, err
	}
	return t.store.fromVal(v, t.h.store_id)
}

// Set sets element i to v: a *Func of the same store or a *HostRef (as the table's type says), or
// nil for null. It fails when i is out of bounds.
func (t *Table) Set(i uint32, v any) error {
	if t == nil {
		return errNilTable
	}
	ptr, owned, err := t.store.use()
	if err != nil {
		return err
	}
	defer t.store.unuse(owned)
	cv, err := t.store.toVal(v, t.elem)
	if err != nil {
		return err
	}
	err = takeError(C.spry_table_set(ptr, t.h, C.uint32_t(i), &cv))
	runtime.KeepAlive(t.store)
	return err
}

// Size returns the number of elements; 0 after the store is closed.
func (t *Table) Size() uint32 {
	if t == nil {
		return 0
	}
	ptr, owned, err := t.store.use()
	if err != nil {
		return 0
	}
	defer t.store.unuse(owned)
	size := C.spry_table_size(ptr, t.h)
	runtime.KeepAlive(t.store)
	return uint32(size)
}

// Grow adds delta elements set to init (nil for null) and returns the previous size. It fails when
// the table would exceed its maximum.
func (t *Table) Grow(delta uint32, init any) (uint32, error) {
	if t == nil {
		return 0, errNilTable
	}
	ptr, owned, err := t.store.use()
	if err != nil {
		return 0, err
	}
	defer t.store.unuse(owned)
	cv, err := t.store.toVal(init, t.elem)
	if err != nil {
		return 0, err
	}
	var old C.uint32_t
	err = takeError(C.spry_table_grow(ptr, t.h, C.uint32_t(delta), &cv, &old))
	runtime.KeepAlive(t.store)
	if err != nil {
		return 0, err
	}
	return uint32(old), nil
}

// Type returns the table's type; its minimum is the current size.
func (t *Table) Type() TableType {
	if t == nil {
		return TableType{}
	}
	ptr, owned, err := t.store.use()
	if err != nil {
		return TableType{}
	}
	defer t.store.unuse(owned)
	var et C.spry_externtype_t
	err = takeError(C.spry_table_type(ptr, t.h, &et))
	runtime.KeepAlive(t.store)
	if err != nil {
		return TableType{}
	}
	return goExternType(&et).Table
}

// Store returns the store the table belongs to.
func (t *Table) Store() *Store {
	if t == nil {
		return nil
	}
	return t.store
}

// Kind returns ExternTable.
func (t *Table) Kind() ExternKind { return ExternTable }

func (t *Table) item() itemRef {
	if t == nil {
		return itemRef{}
	}
	return itemRef{kind: ExternTable, store: t.store, storeID: uint64(t.h.store_id), index: uint32(t.h.index)}
}
