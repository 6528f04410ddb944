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
	"encoding/binary"
	"math"
	"runtime"
	"unsafe"
)

// Memory is a linear memory of a store: exported by an instance, or made with NewMemory.
//
// Two ways to reach its bytes:
//
//   - The checked accessors, in the shape of wazero's api.Memory: Read, Write, ReadUint8,
//     ReadUint32Le, WriteFloat64Le and their siblings (ReadUint8 and WriteUint8 stand for
//     wazero's ReadByte and WriteByte, names go vet keeps for io.ByteReader). Each checks the range against the memory's
//     current size and the store against Close, and copies: it returns ok=false (and reads or
//     writes nothing) when the range is out of bounds, the store is closed, or another goroutine is
//     using the store. Use them wherever the memory's lifetime is not obvious.
//   - Bytes, the fast, unchecked view: a slice over the memory itself, valid until the store is
//     closed, and not one moment longer (see Bytes).
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
	ptr, owned, err := s.use()
	if err != nil {
		return nil, err
	}
	defer s.unuse(owned)
	var h C.spry_memory_t
	err = retryAfterGC(func() error {
		return takeError(C.spry_memory_new(ptr, C.uint64_t(mt.Min), C.bool(mt.HasMax), C.uint64_t(mt.Max), &h))
	})
	runtime.KeepAlive(s)
	if err != nil {
		return nil, err
	}
	return s.memoryFor(h)
}

// Bytes returns the memory's contents: a slice over the memory itself, not a copy, with no check
// on later use. It returns nil after the store is closed (or while another goroutine uses it).
//
// The view's lifetime is exactly that of the store's use of this memory: it stays valid while the
// store is open, also when the memory grows (the memory never moves; the slice keeps its length:
// call Bytes again to see new pages). It must not be used after Store.Close, nor after the store
// becomes unreachable (keep the Store or the Memory reachable, with runtime.KeepAlive if need be,
// while the slice is used). After Close the bytes may belong to another store: with the pooling
// allocator the memory's slot is reset and handed to the next instance, so a stale slice reads and
// writes another tenant's data; without pooling the range is unmapped and a stale access crashes
// the process. The checked accessors (Read, Write, ReadUint32Le...) have none of these hazards.
//
// Like every store operation, the slice is for the goroutine that uses the store (see Store).
func (m *Memory) Bytes() []byte {
	if m == nil {
		return nil
	}
	ptr, owned, err := m.store.use()
	if err != nil {
		return nil
	}
	v := C.go_memory_data(ptr, m.h)
	m.store.unuse(owned)
	runtime.KeepAlive(m.store) // the store must outlive the C call (its cleanup frees it)
	if v.data == nil || v.size == 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(v.data)), int(v.size))
}

// access runs f over bytes [offset, offset+n) of the memory while holding the store; it reports
// false, without calling f, when the store is closed or used by another goroutine, or the range is
// not inside the memory's current size.
func (m *Memory) access(offset uint32, n uint64, f func(b []byte)) bool {
	if m == nil {
		return false
	}
	ptr, owned, err := m.store.use()
	if err != nil {
		return false
	}
	defer m.store.unuse(owned)
	v := C.go_memory_data(ptr, m.h)
	end := uint64(offset) + n // cannot overflow: both are below 2^33
	if v.data == nil || end > uint64(v.size) {
		return false
	}
	if n > 0 {
		f(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(v.data), offset)), int(n)))
	}
	runtime.KeepAlive(m.store)
	return true
}

// Read returns a copy of byteCount bytes at offset; ok is false if the range is out of bounds or
// the store is closed (see the type's documentation).
func (m *Memory) Read(offset, byteCount uint32) (b []byte, ok bool) {
	ok = m.access(offset, uint64(byteCount), func(mem []byte) { b = append([]byte(nil), mem...) })
	if ok && b == nil {
		b = []byte{}
	}
	return b, ok
}

// ReadInto copies len(dst) bytes at offset into dst, without allocating; false as Read.
func (m *Memory) ReadInto(offset uint32, dst []byte) bool {
	return m.access(offset, uint64(len(dst)), func(mem []byte) { copy(dst, mem) })
}

// Write copies b into the memory at offset; false (and nothing written) if the range is out of
// bounds or the store is closed.
func (m *Memory) Write(offset uint32, b []byte) bool {
	return m.access(offset, uint64(len(b)), func(mem []byte) { copy(mem, b) })
}

// WriteString copies s into the memory at offset; false as Write.
func (m *Memory) WriteString(offset uint32, s string) bool {
	return m.access(offset, uint64(len(s)), func(mem []byte) { copy(mem, s) })
}

// ReadUint8 reads the byte at offset; ok is false as for Read.
func (m *Memory) ReadUint8(offset uint32) (v byte, ok bool) {
	ok = m.access(offset, 1, func(mem []byte) { v = mem[0] })
	return v, ok
}

// ReadUint16Le reads a little-endian uint16 at offset; ok is false as for Read.
func (m *Memory) ReadUint16Le(offset uint32) (v uint16, ok bool) {
	ok = m.access(offset, 2, func(mem []byte) { v = binary.LittleEndian.Uint16(mem) })
	return v, ok
}

// ReadUint32Le reads a little-endian uint32 at offset; ok is false as for Read.
func (m *Memory) ReadUint32Le(offset uint32) (v uint32, ok bool) {
	ok = m.access(offset, 4, func(mem []byte) { v = binary.LittleEndian.Uint32(mem) })
	return v, ok
}

// ReadUint64Le reads a little-endian uint64 at offset; ok is false as for Read.
func (m *Memory) ReadUint64Le(offset uint32) (v uint64, ok bool) {
	ok = m.access(offset, 8, func(mem []byte) { v = binary.LittleEndian.Uint64(mem) })
	return v, ok
}

// ReadFloat32Le reads a little-endian IEEE 754 float32 at offset; ok is false as for Read.
func (m *Memory) ReadFloat32Le(offset uint32) (float32, bool) {
	v, ok := m.ReadUint32Le(offset)
	return math.Float32frombits(v), ok
}

// ReadFloat64Le reads a little-endian IEEE 754 float64 at offset; ok is false as for Read.
func (m *Memory) ReadFloat64Le(offset uint32) (float64, bool) {
	v, ok := m.ReadUint64Le(offset)
	return math.Float64frombits(v), ok
}

// WriteUint8 writes v at offset; false (and nothing written) as for Write.
func (m *Memory) WriteUint8(offset uint32, v byte) bool {
	return m.access(offset, 1, func(mem []byte) { mem[0] = v })
}

// WriteUint16Le writes v little-endian at offset; false as for Write.
func (m *Memory) WriteUint16Le(offset uint32, v uint16) bool {
	return m.access(offset, 2, func(mem []byte) { binary.LittleEndian.PutUint16(mem, v) })
}

// WriteUint32Le writes v little-endian at offset; false as for Write.
func (m *Memory) WriteUint32Le(offset uint32, v uint32) bool {
	return m.access(offset, 4, func(mem []byte) { binary.LittleEndian.PutUint32(mem, v) })
}

// WriteUint64Le writes v little-endian at offset; false as for Write.
func (m *Memory) WriteUint64Le(offset uint32, v uint64) bool {
	return m.access(offset, 8, func(mem []byte) { binary.LittleEndian.PutUint64(mem, v) })
}

// WriteFloat32Le writes v as a little-endian IEEE 754 float32 at offset; false as for Write.
func (m *Memory) WriteFloat32Le(offset uint32, v float32) bool {
	return m.WriteUint32Le(offset, math.Float32bits(v))
}

// WriteFloat64Le writes v as a little-endian IEEE 754 float64 at offset; false as for Write.
func (m *Memory) WriteFloat64Le(offset uint32, v float64) bool {
	return m.WriteUint64Le(offset, math.Float64bits(v))
}

// Size returns the memory's size in pages (of PageSize bytes); 0 after the store is closed.
func (m *Memory) Size() uint64 {
	if m == nil {
		return 0
	}
	ptr, owned, err := m.store.use()
	if err != nil {
		return 0
	}
	defer m.store.unuse(owned)
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
	ptr, owned, err := m.store.use()
	if err != nil {
		return 0, err
	}
	defer m.store.unuse(owned)
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
	ptr, owned, err := m.store.use()
	if err != nil {
		return MemoryType{}
	}
	defer m.store.unuse(owned)
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
