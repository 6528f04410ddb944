//go:build cgo

package spry

/*
#include "spry.h"

typedef struct go_memory_view {
	uint8_t* data;
	size_t size;
} go_memory_view;

// One C call for both halves of Memory.Bytes.
static go_memory_view go_memory_data(const spry_store_t* s, spry_memory_t m) {
	go_memory_view v = { spry_memory_data(s, m), spry_memory_data_size(s, m) };
	return v;
}
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Memory is a linear memory of a store: exported by an instance, or made with NewMemory.
//
// The memory lives outside the Go heap in a reservation that never moves. The slice from Bytes
// stays valid when the memory grows (through Grow or Wasm's memory.grow) but keeps its length: call
// Bytes again to see new pages. The slice is a view, not a Go object that keeps the memory alive:
// it must not be used after the store is closed, and the Store (or the Memory) must stay reachable
// while it is used.
type Memory struct {
	store *Store
	h     C.spry_memory_t
}

// memoryFor returns the Memory of a handle of s, made on first use.
func (s *Store) memoryFor(h C.spry_memory_t) (*Memory, error) {
	i := int(h.index)
	if i < len(s.extra().memories) && s.extra().memories[i] != nil && s.extra().memories[i].h == h {
		return s.extra().memories[i], nil
	}
	if _, err := s.ptr(); err != nil {
		return nil, err
	}
	m := &Memory{store: s, h: h}
	for len(s.extra().memories) <= i {
		s.extra().memories = append(s.extra().memories, nil)
	}
	s.extra().memories[i] = m
	return m, nil
}

// NewMemory makes a memory of type mt in store s, for Linker.Define or NewInstance.
func NewMemory(s *Store, mt MemoryType) (*Memory, error) {
	ptr, err := s.ptr()
	if err != nil {
		return nil, err
	}
	var h C.spry_memory_t
	err = takeError(C.spry_memory_new(ptr, C.uint64_t(mt.Min), C.bool(mt.HasMax), C.uint64_t(mt.Max), &h))
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	return s.memoryFor(h)
}

// Bytes returns the memory's contents: a slice over the memory itself, not a copy. It returns nil
// after the store is closed.
func (m *Memory) Bytes() []byte {
	if m == nil {
		return nil
	}
	ptr, err := m.store.ptr()
	if err != nil {
		return nil
	}
	v := C.go_memory_data(ptr, m.h)
	runtime.KeepAlive(m.store) // the store must outlive the C call (its cleanup frees it)
	if v.data == nil || v.size == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(v.data)), int(v.size))
}

// Size returns the memory's size in pages (of PageSize bytes); 0 after the store is closed.
func (m *Memory) Size() uint64 {
	if m == nil {
		return 0
	}
	ptr, err := m.store.ptr()
	if err != nil {
		return 0
	}
	size := C.spry_memory_size(ptr, m.h)
	runtime.KeepAlive(m.store)
	return uint64(size)
}

// Grow grows the memory by delta pages and returns its previous size in pages. It fails when the
// memory would exceed its maximum; the memory does not move (see the type's documentation).
func (m *Memory) Grow(delta uint64) (uint64, error) {
	if m == nil {
		return 0, errStoreClosed
	}
	ptr, err := m.store.ptr()
	if err != nil {
		return 0, err
	}
	var old C.uint64_t
	err = takeError(C.spry_memory_grow(ptr, m.h, C.uint64_t(delta), &old))
	runtime.KeepAlive(m.store)
	if err != nil {
		return 0, err
	}
	return uint64(old), nil
}

// Type returns the memory's type; its minimum is the current size.
func (m *Memory) Type() MemoryType {
	if m == nil {
		return MemoryType{}
	}
	ptr, err := m.store.ptr()
	if err != nil {
		return MemoryType{}
	}
	var et C.spry_externtype_t
	err = takeError(C.spry_memory_type(ptr, m.h, &et))
	runtime.KeepAlive(m.store)
	if err != nil {
		return MemoryType{}
	}
	return goExternType(&et).Memory
}

// Store returns the store the memory belongs to.
func (m *Memory) Store() *Store {
	if m == nil {
		return nil
	}
	return m.store
}

// Kind returns ExternMemory.
func (m *Memory) Kind() ExternKind { return ExternMemory }

func (m *Memory) item() itemRef {
	if m == nil {
		return itemRef{}
	}
	return itemRef{kind: ExternMemory, store: m.store, storeID: uint64(m.h.store_id), index: uint32(m.h.index)}
}
