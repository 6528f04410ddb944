//go:build cgo

package spry_test

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

func TestStoreData(t *testing.T) {
	f := newFixture(t)
	if f.store.Data() != nil {
		t.Error("a new store has data")
	}
	f.store.SetData(42)
	if f.store.Data() != 42 {
		t.Errorf("Data() = %v", f.store.Data())
	}
	if f.store.Engine() != f.engine {
		t.Error("Engine() is wrong")
	}
}

func TestUseAfterStoreClose(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, stateModule())
	seven := fn(t, inst, "seven")
	typed := must(spry.Typed0R[int32](seven))(t)
	mem := must(inst.Memory("memory"))(t)
	g := must(inst.Global("counter"))(t)
	table := must(inst.Table("table"))(t)
	m := must(spry.Compile(f.engine, addModule()))(t)
	defer m.Close()

	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, spry.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", what, err)
		}
	}
	closed("Call", second(seven.Call(ctxb)))
	closed("CallRaw", seven.CallRaw(ctxb, []uint64{0}))
	closed("typed call", second(typed(ctxb)))
	closed("Instance.Func", second(inst.Func("seven")))
	closed("Grow", second(mem.Grow(1)))
	closed("Global.Get", second(g.Get()))
	closed("Global.Set", g.Set(int32(1)))
	closed("Table.Get", second(table.Get(0)))
	closed("Table.Set", table.Set(0, nil))
	closed("Table.Grow", second(table.Grow(1, nil)))
	closed("Instantiate", second(f.linker.Instantiate(ctxb, f.store, m)))
	closed("NewInstance", second(spry.NewInstance(ctxb, f.store, m, nil)))
	closed("NewFunc", second(spry.NewFunc(f.store, func() {})))
	closed("NewMemory", second(spry.NewMemory(f.store, spry.MemoryType{Min: 1})))
	closed("NewGlobal", second(spry.NewGlobal(f.store, spry.GlobalType{Content: spry.I32}, 0)))
	closed("NewTable", second(spry.NewTable(f.store, spry.TableType{Element: spry.FuncRef}, nil)))
	closed("Linker.Define", f.linker.Define("env", "m", mem))
	closed("Linker.DefineInstance", f.linker.DefineInstance("lib", inst))
	if mem.Bytes() != nil || mem.Size() != 0 || table.Size() != 0 {
		t.Error("memory or table still readable after Close")
	}
	if (mem.Type() != spry.MemoryType{}) || (table.Type() != spry.TableType{}) {
		t.Error("types still readable after Close")
	}
	var nilStore *spry.Store
	closed("Instantiate(nil store)", second(f.linker.Instantiate(ctxb, nilStore, m)))
	if nilStore.Close() != nil || nilStore.Data() != nil {
		t.Error("a nil *Store")
	}
}

// rss returns the resident set size of the process, in bytes.
func rss(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	fields := strings.Fields(string(b))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// settle collects garbage until the cleanups have run (the store count stops falling).
func settle(want int) {
	for i := 0; i < 100; i++ {
		runtime.GC()
		if spry.StoreCount() <= want {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStoresReleasedByCleanup(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 stores")
	}
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	// (module (memory 1) (func (export "touch") i32.const 0 i32.const 1 i32.store) ...)
	wm := newModule()
	wm.memory(1, -1)
	wm.exportFunc("touch", sig(nil), nil, i32Const(0), i32Const(1), i32Store(0))
	m := must(spry.Compile(e, wm.bytes()))(t)
	defer m.Close()
	l := must(spry.NewLinker(e))(t)
	defer l.Close()

	run := func(n int) {
		for i := 0; i < n; i++ {
			s, err := spry.NewStore(e)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := l.Instantiate(ctxb, s, m)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := must(inst.Func("touch"))(t).Call(ctxb); err != nil {
				t.Fatal(err)
			}
			if i%1000 == 999 {
				runtime.GC()
			}
		}
	}
	stores0 := spry.StoreCount()
	leaks0 := spry.LeaksReported()
	run(2000) // warm up the allocator and the Go heap
	settle(stores0)
	start := rss(t)
	const n = 100_000
	run(n)
	settle(stores0)
	end := rss(t)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("RSS %d MiB → %d MiB over %d stores (Go heap in use %d MiB, from the OS %d MiB)", start>>20, end>>20, n, ms.HeapInuse>>20, ms.Sys>>20)
	if got := spry.StoreCount(); got > stores0 {
		t.Errorf("%d stores still registered after the cleanups", got-stores0)
	}
	if leaks := spry.LeaksReported() - leaks0; leaks < n {
		t.Errorf("the cleanups released %d stores, want %d", leaks, n)
	}
	// The race detector's own memory grows with the goroutines and objects it has seen: RSS says
	// something only without it.
	if end > start+64<<20 && !raceEnabled {
		t.Errorf("RSS grew from %d MiB to %d MiB", start>>20, end>>20)
	}
}

func TestHostCallsDoNotGrow(t *testing.T) {
	f := newFixture(t)
	defineHostModuleImports(t, f.linker, func(c *spry.Caller, x int32) (int32, error) {
		mem, err := c.Memory("memory")
		if err != nil {
			return 0, err
		}
		return int32(mem.Bytes()[x]), nil
	})
	inst := f.instantiate(t, hostModule())
	callF := must(spry.Typed1R[int32, int32](fn(t, inst, "callF")))(t)
	loop := func(n int) {
		for i := 0; i < n; i++ {
			if r, err := callF(ctxb, 16); err != nil || r != 'h' {
				t.Fatalf("callF = %d, %v", r, err)
			}
		}
	}
	loop(1000)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rss0 := rss(t)
	loop(100_000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	rss1 := rss(t)
	t.Logf("heap %d → %d KiB, %d mallocs; RSS %d → %d MiB", before.HeapAlloc>>10, after.HeapAlloc>>10, after.Mallocs-before.Mallocs, rss0>>20, rss1>>20)
	if after.HeapAlloc > before.HeapAlloc+1<<20 {
		t.Errorf("the Go heap grew from %d to %d bytes", before.HeapAlloc, after.HeapAlloc)
	}
	if mallocs := after.Mallocs - before.Mallocs; mallocs > 1000 && !raceEnabled {
		t.Errorf("%d allocations for 100,000 host calls", mallocs)
	}
	if rss1 > rss0+16<<20 && !raceEnabled {
		t.Errorf("RSS grew from %d to %d MiB", rss0>>20, rss1>>20)
	}
}

func TestLinkerHostFuncsAreFinalized(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	before := spry.HostFuncCount()
	l := must(spry.NewLinker(e))(t)
	defineHostModuleImports(t, l, func(x int32) int32 { return x })
	s := must(spry.NewStore(e))(t)
	m := must(spry.Compile(e, hostModule()))(t)
	defer m.Close()
	must(l.Instantiate(ctxb, s, m))(t)
	if got := spry.HostFuncCount() - before; got != 2 {
		t.Fatalf("%d host functions registered, want 2", got)
	}
	l.Close()
	if got := spry.HostFuncCount() - before; got != 2 {
		t.Errorf("%d host functions registered while a store uses them, want 2", got)
	}
	s.Close()
	if got := spry.HostFuncCount() - before; got != 0 {
		t.Errorf("%d host functions registered after the linker and the store closed, want 0", got)
	}
	// A failed definition releases its function at once.
	l2 := must(spry.NewLinker(e))(t)
	defer l2.Close()
	must(0, l2.DefineFunc("env", "x", func() {}))(t)
	if err := l2.DefineFunc("env", "x", func() {}); err == nil {
		t.Fatal("a duplicate definition succeeded")
	}
	if got := spry.HostFuncCount() - before; got != 1 {
		t.Errorf("%d host functions registered after a failed definition, want 1", got)
	}
}

func TestZeroValuesFailCleanly(t *testing.T) {
	// Objects not made by their constructors: errors and zero values, never a crash.
	e, m, s, l := &spry.Engine{}, &spry.Module{}, &spry.Store{}, &spry.Linker{}
	if _, err := spry.Compile(e, addModule()); err == nil {
		t.Error("Compile with a zero Engine succeeded")
	}
	if _, err := spry.NewStore(e); err == nil {
		t.Error("NewStore with a zero Engine succeeded")
	}
	if _, err := spry.NewLinker(e); err == nil {
		t.Error("NewLinker with a zero Engine succeeded")
	}
	if err := l.DefineFunc("env", "f", func() {}); err == nil {
		t.Error("DefineFunc on a zero Linker succeeded")
	}
	if _, err := l.Instantiate(ctxb, s, m); err == nil {
		t.Error("Instantiate with zero values succeeded")
	}
	if _, err := spry.NewInstance(ctxb, s, m, nil); err == nil {
		t.Error("NewInstance with zero values succeeded")
	}
	f := newFixture(t)
	if _, err := f.linker.Instantiate(ctxb, f.store, m); err == nil {
		t.Error("Instantiate of a zero Module succeeded")
	}
	if _, err := (&spry.Func{}).Call(ctxb); err == nil {
		t.Error("Call of a zero Func succeeded")
	}
	if err := (&spry.Func{}).CallRaw(ctxb, nil); err == nil {
		t.Error("CallRaw of a zero Func succeeded")
	}
	if typed, err := spry.Typed0(&spry.Func{}); err == nil {
		if err := typed(ctxb); err == nil {
			t.Error("a typed call of a zero Func succeeded")
		}
	}
	if (&spry.Memory{}).Bytes() != nil {
		t.Error("Bytes of a zero Memory")
	}
	if _, err := (&spry.Global{}).Get(); err == nil {
		t.Error("Get of a zero Global succeeded")
	}
	if _, err := (&spry.Table{}).Get(0); err == nil {
		t.Error("Get of a zero Table succeeded")
	}
	if _, err := (&spry.Instance{}).Func("f"); err == nil {
		t.Error("Func of a zero Instance succeeded")
	}
	if _, err := (&spry.Caller{}).Memory("memory"); err == nil {
		t.Error("Memory of a zero Caller succeeded")
	}
	if err := f.linker.Define("env", "m", &spry.Memory{}); err == nil {
		t.Error("Define of a zero Memory succeeded")
	}
	for _, c := range []interface{ Close() error }{e, m, s, l} {
		if err := c.Close(); err != nil {
			t.Errorf("Close of a zero %T: %v", c, err)
		}
	}
}
