//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

// poolModule is, with data (or without the data segment)
//
//	(module
//	  (memory (export "memory") 1)
//	  (data (i32.const 16) "\2a")
//	  (func (export "load") (param i32) (result i32) local.get 0 i32.load)
//	  (func (export "store") (param i32 i32) local.get 0 local.get 1 i32.store)
//	  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))
func poolModule(data bool) []byte {
	if data {
		return poolModuleData(42)
	}
	return poolModuleData(0)
}

// poolModuleData is poolModule with the byte b at 16 (no data segment for 0).
func poolModuleData(b byte) []byte {
	m := newModule()
	i32 := spry.I32
	m.export("memory", spry.ExternMemory, m.memory(1, -1))
	if b != 0 {
		m.data(16, []byte{b})
	}
	m.exportFunc("load", sig(vt(i32), i32), nil, localGet(0), i32Load(0))
	m.exportFunc("store", sig(vt(i32, i32)), nil, localGet(0), localGet(1), i32Store(0))
	m.exportFunc("grow", sig(vt(i32), i32), nil, localGet(0), memoryGrow())
	return m.bytes()
}

// poolEngine is an engine with a pool of n instances, memories and tables of up to maxPages pages.
func poolEngine(t testing.TB, n uint32, maxPages uint64, keepResident int) *spry.Engine {
	t.Helper()
	p := spry.DefaultPoolingConfig()
	p.TotalInstances, p.TotalMemories, p.TotalTables = n, n, n
	p.MaxMemoryPages = maxPages
	if keepResident >= 0 {
		p.KeepResidentBytes = keepResident
	}
	e := must(spry.NewEngine(&spry.Config{Pooling: &p}))(t)
	t.Cleanup(func() { e.Close() })
	return e
}

// poolInstance is an instance of poolModule with its typed exports.
type poolInstance struct {
	store *spry.Store
	mem   *spry.Memory
	load  func(context.Context, int32) (int32, error)
	put   func(context.Context, int32, int32) error
	grow  func(context.Context, int32) (int32, error)
}

// instantiatePool instantiates pre in a new store (closed on error). It does not fail t, so
// that goroutines may call it.
func instantiatePool(e *spry.Engine, pre *spry.InstancePre) (p poolInstance, err error) {
	s, err := spry.NewStore(e)
	if err != nil {
		return p, err
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	inst, err := pre.Instantiate(ctxb, s)
	if err != nil {
		return p, err
	}
	p.store = s
	if p.mem, err = inst.Memory("memory"); err != nil {
		return p, err
	}
	var f *spry.Func
	if f, err = inst.Func("load"); err == nil {
		p.load, err = spry.Typed1R[int32, int32](f)
	}
	if err == nil {
		if f, err = inst.Func("store"); err == nil {
			p.put, err = spry.Typed2[int32, int32](f)
		}
	}
	if err == nil {
		if f, err = inst.Func("grow"); err == nil {
			p.grow, err = spry.Typed1R[int32, int32](f)
		}
	}
	return p, err
}

func prePool(t testing.TB, e *spry.Engine, data bool) *spry.InstancePre {
	t.Helper()
	m := must(spry.Compile(e, poolModule(data)))(t)
	l := must(spry.NewLinker(e))(t)
	pre := must(l.InstantiatePre(m))(t)
	t.Cleanup(func() { pre.Close(); l.Close(); m.Close() })
	return pre
}

// checkFresh fails unless the memory is one page of zeros, except for the data segment if data.
func checkFresh(t *testing.T, what string, p poolInstance, data bool) {
	t.Helper()
	b := p.mem.Bytes()
	if len(b) != spry.PageSize {
		t.Fatalf("%s: memory of %d bytes, want one page", what, len(b))
	}
	for i, v := range b {
		want := byte(0)
		if data && i == 16 {
			want = 42
		}
		if v != want {
			t.Fatalf("%s: byte %d is %d, want %d (another instance's data)", what, i, v, want)
		}
	}
}

func TestPoolingIsolation(t *testing.T) {
	// One slot of each kind, so every instance reuses the previous one's; with KeepResidentBytes
	// 0 slots are reset with madvise, with the default a one-page memory is zeroed in place.
	for _, keep := range []int{0, -1} {
		e := poolEngine(t, 1, 16, keep)
		withData, noData := prePool(t, e, true), prePool(t, e, false)
		for round := 0; round < 3; round++ {
			for _, pages := range []int32{0, 2} { // stays within keep_resident, or not
				p := must(instantiatePool(e, withData))(t)
				checkFresh(t, "same module", p, true)
				if old, err := p.grow(ctxb, pages); err != nil || old != 1 {
					t.Fatalf("grow(%d) = %d, %v", pages, old, err)
				}
				for _, addr := range []int32{0, 16, 100, spry.PageSize - 4} {
					if err := p.put(ctxb, addr, -0x21524111); err != nil {
						t.Fatal(err)
					}
				}
				if pages > 0 {
					p.mem.Bytes()[2*spry.PageSize+7] = 0x77
				}
				p.store.Close()

				p = must(instantiatePool(e, withData))(t)
				checkFresh(t, "same module after a write", p, true)
				if err := p.put(ctxb, 200, 1234); err != nil {
					t.Fatal(err)
				}
				p.store.Close()

				p = must(instantiatePool(e, noData))(t)
				checkFresh(t, "other module", p, false)
				if v, err := p.load(ctxb, 16); err != nil || v != 0 {
					t.Fatalf("load(16) = %d, %v in a module without data", v, err)
				}
				if err := p.put(ctxb, 16, 99); err != nil {
					t.Fatal(err)
				}
				if old, err := p.grow(ctxb, pages); err != nil || old != 1 {
					t.Fatalf("grow(%d) = %d, %v; want 1", pages, old, err)
				}
				p.store.Close()
			}
		}
	}
}

func TestPoolingGrowLimit(t *testing.T) {
	e := poolEngine(t, 2, 4, -1)
	p := must(instantiatePool(e, prePool(t, e, true)))(t)
	defer p.store.Close()
	if old, err := p.grow(ctxb, 3); err != nil || old != 1 {
		t.Fatalf("grow(3) = %d, %v; want 1", old, err)
	}
	if old, err := p.grow(ctxb, 1); err != nil || old != -1 {
		t.Fatalf("grow(1) past the pool's limit = %d, %v; want -1", old, err)
	}
	if old, err := p.grow(ctxb, 0); err != nil || old != 4 {
		t.Fatalf("grow(0) = %d, %v; want 4", old, err)
	}
	if _, err := p.mem.Grow(1); err == nil {
		t.Error("Memory.Grow past the pool's limit succeeded")
	}
	b := p.mem.Bytes()
	if len(b) != 4*spry.PageSize || p.mem.Size() != 4 {
		t.Fatalf("memory of %d bytes, Size() = %d", len(b), p.mem.Size())
	}
	b[len(b)-1] = 1
	if err := p.put(ctxb, 4*spry.PageSize-4, 5); err != nil {
		t.Fatal(err)
	}
	if err := p.put(ctxb, 4*spry.PageSize, 5); err == nil {
		t.Error("a store past the memory did not trap")
	}
}

func TestPoolingExhaustion(t *testing.T) {
	e := poolEngine(t, 2, 4, -1)
	pre := prePool(t, e, true)
	a := must(instantiatePool(e, pre))(t)
	b := must(instantiatePool(e, pre))(t)
	for i := 0; i < 3; i++ {
		if _, err := instantiatePool(e, pre); err == nil || !strings.Contains(err.Error(), "pool exhausted") {
			t.Fatalf("a third instance: %v, want a pool exhausted error", err)
		}
	}
	a.store.Close()
	c := must(instantiatePool(e, pre))(t)
	if v, err := c.load(ctxb, 16); err != nil || v != 42 {
		t.Fatalf("load(16) = %d, %v", v, err)
	}
	b.store.Close()
	c.store.Close()
	for i := 0; i < 2; i++ {
		p := must(instantiatePool(e, pre))(t)
		defer p.store.Close()
	}
}

func TestPoolingConcurrent(t *testing.T) {
	e := poolEngine(t, 4, 2, -1)
	pres := []*spry.InstancePre{prePool(t, e, true), prePool(t, e, false)}
	const n = 100_000 // in all, also under -race (about 7 s there)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/2; i++ {
				data := (i+g)%2 == 0
				p, err := instantiatePool(e, pres[(i+g)%2])
				if err != nil {
					errs <- err
					return
				}
				want := int32(0)
				if data {
					want = 42
				}
				if v, err := p.load(ctxb, 16); err != nil || v != want {
					p.store.Close()
					errs <- fmt.Errorf("cycle %d: load(16) = %d, %v; want %d", i, v, err, want)
					return
				}
				if v, err := p.load(ctxb, 100); err != nil || v != 0 {
					p.store.Close()
					errs <- fmt.Errorf("cycle %d: load(100) = %d, %v; want 0 (not another instance's data)", i, v, err)
					return
				}
				err1 := p.put(ctxb, 16, int32(i))
				err2 := p.put(ctxb, 100, int32(i+1))
				p.store.Close()
				if err := errors.Join(err1, err2); err != nil {
					errs <- fmt.Errorf("cycle %d: store: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d cycles on 2 goroutines in %v", n, time.Since(start))
}

func TestPoolingRSSFlat(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("a million cycles: not under -race or -short")
	}
	e := poolEngine(t, 4, 2, -1)
	pre := prePool(t, e, true)
	s := must(spry.NewStore(e))(t)
	s.Close()
	run := func(n int) {
		for i := 0; i < n; i++ {
			s, err := spry.NewStore(e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pre.Instantiate(ctxb, s); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}
	}
	const n = 1_000_000
	start := time.Now()
	run(20_000) // warm up the pool and the Go heap
	runtime.GC()
	rss0 := rss(t)
	run(n)
	runtime.GC()
	rss1 := rss(t)
	t.Logf("RSS %d → %d MiB over %d cycles in %v", rss0>>20, rss1>>20, n, time.Since(start))
	if rss1 > rss0+16<<20 {
		t.Errorf("RSS grew from %d to %d MiB", rss0>>20, rss1>>20)
	}
}
