//go:build cgo

package spry

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// memoryModule is (module (memory 1)).
var memoryModule = []byte{0, 'a', 's', 'm', 1, 0, 0, 0, 5, 3, 1, 0, 1}

func TestRetryAfterGC(t *testing.T) {
	for _, pool := range []bool{false, true} {
		calls := 0
		err := retryAfterGC(func() error {
			calls++
			if calls == 1 {
				return &exhaustedError{msg: "spry: out", pool: pool}
			}
			return nil
		})
		if err != nil || calls != 2 {
			t.Fatalf("pool=%v: err %v after %d calls, want success after 2", pool, err, calls)
		}
		calls = 0
		err = retryAfterGC(func() error { calls++; return &exhaustedError{msg: "spry: out", pool: pool} })
		if calls != 2 || !errors.Is(err, ErrResourceExhausted) || errors.Is(err, ErrPoolExhausted) != pool {
			t.Fatalf("pool=%v: %v after %d calls", pool, err, calls)
		}
	}
	calls := 0
	other := errors.New("other")
	if err := retryAfterGC(func() error { calls++; return other }); err != other || calls != 1 {
		t.Fatalf("another error: %v after %d calls, want it after 1", err, calls)
	}
}

// TestStoresWithoutCloseDoNotExhaustAddressSpace creates 100,000 stores, each with an instance with
// a memory that reserves 6 GiB of address space (the default), and never closes them: about 21,000
// fit in the address space, so instantiation must run the cleanups of unreachable stores and retry.
// Automatic collections are off during the test, as in a program with a large heap, where they are
// rare (here, the small heap would otherwise trigger them often enough to hide the problem).
func TestStoresWithoutCloseDoNotExhaustAddressSpace(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	e, err := NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m, err := Compile(e, memoryModule)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	l, err := NewLinker(e)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gen := gcRetry.gen.Load()
	const n = 100_000
	for i := range n {
		s, err := NewStore(e)
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		if _, err := l.Instantiate(context.Background(), s, m); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	if gcRetry.gen.Load() == gen {
		t.Fatal("no instantiation ran out of address space: the test proves nothing")
	}
	t.Logf("%d collections for %d stores", gcRetry.gen.Load()-gen, n)
}

// TestPoolSlotsOfUnreachableStoresAreReused: a full pool is ErrPoolExhausted while the stores that
// hold it are reachable, and serves again, after a collection, once they are not.
func TestPoolSlotsOfUnreachableStoresAreReused(t *testing.T) {
	pc := DefaultPoolingConfig()
	pc.TotalInstances, pc.TotalMemories, pc.TotalTables = 4, 4, 4
	e, err := NewEngine(&Config{Pooling: &pc})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	m, err := Compile(e, memoryModule)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	instantiate := func() (*Store, error) {
		s, err := NewStore(e)
		if err != nil {
			return nil, err
		}
		_, err = NewInstance(context.Background(), s, m, nil)
		return s, err
	}
	held := make([]*Store, 4)
	for i := range held {
		if held[i], err = instantiate(); err != nil {
			t.Fatal(err)
		}
	}
	gen := gcRetry.gen.Load()
	s, err := instantiate()
	if !errors.Is(err, ErrPoolExhausted) || !errors.Is(err, ErrResourceExhausted) ||
		!strings.Contains(err.Error(), "pool exhausted") {
		t.Fatalf("a fifth instance: %v, want ErrPoolExhausted", err)
	}
	s.Close()
	if gcRetry.gen.Load() == gen {
		t.Fatal("the exhausted pool did not trigger a collection")
	}
	runtime.KeepAlive(held)
	held = nil
	gen = gcRetry.gen.Load()
	for i := range 8 {
		if _, err := instantiate(); err != nil {
			t.Fatalf("instance %d after the holders became unreachable: %v", i, err)
		}
	}
	if gcRetry.gen.Load() == gen {
		t.Fatal("no collection was needed: the test proves nothing")
	}
}

// TestMemoryReservation: memories grow in place within Config.MemoryReservation and no further.
func TestMemoryReservation(t *testing.T) {
	for _, pooled := range []bool{false, true} {
		cfg := &Config{MemoryReservation: 2 * PageSize, MemoryGuardSize: 1 << 20}
		if pooled {
			pc := DefaultPoolingConfig()
			cfg.Pooling = &pc
		}
		e, err := NewEngine(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewStore(e)
		if err != nil {
			t.Fatal(err)
		}
		mem, err := NewMemory(s, MemoryType{Min: 1})
		if err != nil {
			t.Fatal(err)
		}
		if old, err := mem.Grow(1); err != nil || old != 1 {
			t.Fatalf("pooled=%v: Grow(1) = %d, %v", pooled, old, err)
		}
		if _, err := mem.Grow(1); err == nil {
			t.Fatalf("pooled=%v: grew past the reservation", pooled)
		}
		if len(mem.Bytes()) != 2*PageSize {
			t.Fatalf("pooled=%v: %d bytes", pooled, len(mem.Bytes()))
		}
		if _, err := NewMemory(s, MemoryType{Min: 3}); err == nil {
			t.Fatalf("pooled=%v: a memory larger than the reservation was made", pooled)
		}
		s.Close()
		e.Close()
	}
	if _, err := NewEngine(&Config{MemoryReservation: 12345}); err == nil ||
		!strings.Contains(err.Error(), "multiple of 64 KiB") {
		t.Fatalf("a reservation that is not a multiple of 64 KiB: %v", err)
	}
}
