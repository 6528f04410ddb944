//go:build cgo

package spry

import (
	"sync"
	"sync/atomic"
)

// handleTable maps small integer handles to Go objects, so that only integers cross to C (cgo
// forbids C from keeping Go pointers). Host functions and stores are registered here: the C side
// passes their handles back to the callbacks.
//
// Lookups are the hot path of every host call: two atomic loads and a slice index, no lock, no map,
// no allocation. Registration and release take a mutex. A handle is the slot index in the low 32
// bits and the slot's generation in the high 32 bits, so a stale handle (its slot freed and
// reused) finds nothing instead of the slot's new occupant.
type handleTable[T any] struct {
	mu     sync.Mutex
	chunks atomic.Pointer[[]*handleChunk[T]] // copied on growth; chunks themselves never move
	free   []uint32                          // released slot indices
	next   uint32                            // the next never-used slot index
	gens   []uint32                          // generation per slot; guarded by mu
}

const handleChunkBits = 10

type handleChunk[T any] [1 << handleChunkBits]handleSlot[T]

type handleSlot[T any] struct {
	p      atomic.Pointer[T]
	handle atomic.Uint64 // the handle p was registered under
}

// add registers p and returns its handle (never 0).
func (t *handleTable[T]) add(p *T) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var idx uint32
	if n := len(t.free); n > 0 {
		idx = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		t.next++ // slot 0 is never used: handle 0 means "none"
		idx = t.next
		for int(idx) >= len(t.gens) {
			t.gens = append(t.gens, 0)
		}
	}
	t.gens[idx]++
	h := uint64(t.gens[idx])<<32 | uint64(idx)
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
	t.mu.Lock()
	defer t.mu.Unlock()
	idx := uint32(h)
	if idx == 0 || int(idx) >= len(t.gens) || uint64(t.gens[idx])<<32|uint64(idx) != h {
		return false
	}
	slot := t.slot(idx, false)
	if slot == nil || slot.p.Load() == nil {
		return false
	}
	slot.p.Store(nil)
	slot.handle.Store(0)
	t.free = append(t.free, idx)
	return true
}

// slot returns the slot of idx, growing the chunk list when grow is set. Called with mu held.
func (t *handleTable[T]) slot(idx uint32, grow bool) *handleSlot[T] {
	c := int(idx >> handleChunkBits)
	var chunks []*handleChunk[T]
	if p := t.chunks.Load(); p != nil {
		chunks = *p
	}
	if c >= len(chunks) {
		if !grow {
			return nil
		}
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
	t.mu.Lock()
	defer t.mu.Unlock()
	return int(t.next) - len(t.free)
}
