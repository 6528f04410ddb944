//go:build cgo

package spry

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// handleTable maps small integer handles to Go objects, so that only integers cross to C (cgo
// forbids C from keeping Go pointers). Host functions and stores are registered here: the C side
// passes their handles back to the callbacks.
//
// Lookups are the hot path of every host call: two atomic loads and a slice index, no lock, no map,
// no allocation. Registration and release (once per store: per instance, for a service that makes a
// store per request) take the mutex of one of several shards, picked at random on registration, so
// goroutines creating stores at once rarely wait on each other. A handle is the slot index in the
// low 32 bits and the slot's generation in the high 32 bits, so a stale handle (its slot freed and
// reused) finds nothing instead of the slot's new occupant. Slot i belongs to shard i % handleShards.
type handleTable[T any] struct {
	shards [handleShards]handleShard
	growMu sync.Mutex                        // serializes growth of chunks
	chunks atomic.Pointer[[]*handleChunk[T]] // copied on growth; chunks themselves never move
}

const handleShards = 8

// handleShard owns the slot indices congruent to its number modulo handleShards.
type handleShard struct {
	mu   sync.Mutex
	free []uint32 // released slot indices
	next uint32   // the next never-used local index
	gens []uint32 // generation per local index
	_    [64]byte // keeps shards' locks on separate cache lines
}

const handleChunkBits = 10

type handleChunk[T any] [1 << handleChunkBits]handleSlot[T]

type handleSlot[T any] struct {
	p      atomic.Pointer[T]
	handle atomic.Uint64 // the handle p was registered under
}

// add registers p and returns its handle (never 0).
func (t *handleTable[T]) add(p *T) uint64 {
	s := rand.Uint32() % handleShards
	sh := &t.shards[s]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	var local uint32
	if n := len(sh.free); n > 0 {
		local = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		local = sh.next
		sh.next++
		sh.gens = append(sh.gens, 0)
	}
	idx := local*handleShards + s
	if idx == 0 { // slot 0 is never used: handle 0 means "none"
		local = sh.next
		sh.next++
		sh.gens = append(sh.gens, 0)
		idx = local*handleShards + s
	}
	sh.gens[local]++
	h := uint64(sh.gens[local])<<32 | uint64(idx)
	slot := t.slot(idx, true)
	slot.handle.Store(h)
	slot.p.Store(p)
	return h
}

// get returns the object registered under h, or nil if h is unknown or stale.
func (t *handleTable[T]) get(h uint64) *T {
	chunks := t.chunks.Load()
	if chunks == nil {
		return nil
	}
	idx := uint32(h)
	c := int(idx >> handleChunkBits)
	if c >= len(*chunks) {
		return nil
	}
	slot := &(*chunks)[c][idx&(1<<handleChunkBits-1)]
	p := slot.p.Load()
	if p == nil || slot.handle.Load() != h {
		return nil
	}
	return p
}

// remove releases h; it reports whether h was registered (a stale or unknown handle is ignored).
func (t *handleTable[T]) remove(h uint64) bool {
	idx := uint32(h)
	if idx == 0 {
		return false
	}
	sh := &t.shards[idx%handleShards]
	local := idx / handleShards
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if int(local) >= len(sh.gens) || uint64(sh.gens[local])<<32|uint64(idx) != h {
		return false
	}
	slot := t.slot(idx, false)
	if slot == nil || slot.p.Load() == nil {
		return false
	}
	slot.p.Store(nil)
	slot.handle.Store(0)
	sh.free = append(sh.free, local)
	return true
}

// slot returns the slot of idx, growing the chunk list when grow is set.
func (t *handleTable[T]) slot(idx uint32, grow bool) *handleSlot[T] {
	c := int(idx >> handleChunkBits)
	if p := t.chunks.Load(); p != nil && c < len(*p) {
		return &(*p)[c][idx&(1<<handleChunkBits-1)]
	}
	if !grow {
		return nil
	}
	t.growMu.Lock()
	defer t.growMu.Unlock()
	var chunks []*handleChunk[T]
	if p := t.chunks.Load(); p != nil {
		chunks = *p
	}
	if c >= len(chunks) {
		grown := make([]*handleChunk[T], c+1)
		copy(grown, chunks)
		for i := len(chunks); i <= c; i++ {
			grown[i] = new(handleChunk[T])
		}
		t.chunks.Store(&grown)
		chunks = grown
	}
	return &chunks[c][idx&(1<<handleChunkBits-1)]
}

// len returns how many handles are registered (for tests).
func (t *handleTable[T]) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += int(sh.next) - len(sh.free)
		if i == 0 && sh.next > 0 {
			n-- // local index 0 of shard 0 (slot 0) is skipped, never registered
		}
		sh.mu.Unlock()
	}
	return n
}
