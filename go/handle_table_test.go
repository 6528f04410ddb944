//go:build cgo

package spry

import (
	"sync"
	"testing"
)

func TestHandleTable(t *testing.T) {
	var tab handleTable[int]
	if tab.get(0) != nil || tab.get(12345) != nil || tab.remove(0) || tab.remove(99) {
		t.Fatal("an empty table found something")
	}
	vals := make([]int, 100)
	handles := make([]uint64, len(vals))
	seen := map[uint64]bool{}
	for i := range vals {
		vals[i] = i
		h := tab.add(&vals[i])
		if h == 0 || seen[h] || uint32(h) == 0 {
			t.Fatalf("handle %#x: zero or reused", h)
		}
		seen[h] = true
		handles[i] = h
	}
	if tab.len() != len(vals) {
		t.Fatalf("len = %d, want %d", tab.len(), len(vals))
	}
	for i, h := range handles {
		if p := tab.get(h); p == nil || *p != i {
			t.Fatalf("get(%#x) = %v, want %d", h, p, i)
		}
	}
	for i, h := range handles[:50] {
		if !tab.remove(h) || tab.remove(h) {
			t.Fatalf("remove(%#x) of entry %d: not exactly once", h, i)
		}
		if tab.get(h) != nil {
			t.Fatalf("a removed handle still finds its object")
		}
	}
	// Freed slots are reused under new generations: the old handles stay dead.
	var x int
	for range 50 {
		h := tab.add(&x)
		if seen[h] {
			t.Fatalf("handle %#x handed out twice", h)
		}
		seen[h] = true
	}
	for _, h := range handles[:50] {
		if tab.get(h) != nil {
			t.Fatalf("a stale handle %#x finds the slot's new occupant", h)
		}
	}
	if tab.len() != 100 {
		t.Fatalf("len = %d, want 100", tab.len())
	}
}

func TestHandleTableConcurrent(t *testing.T) {
	var tab handleTable[int]
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := g
			for range 20000 {
				h := tab.add(&v)
				if p := tab.get(h); p != &v {
					t.Errorf("get returned another object")
					return
				}
				if !tab.remove(h) {
					t.Errorf("remove failed")
					return
				}
			}
		}()
	}
	wg.Wait()
	if tab.len() != 0 {
		t.Fatalf("len = %d after removing everything", tab.len())
	}
}
