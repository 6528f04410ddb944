//go:build cgo

package spry_test

import (
	"errors"
	"math"
	"sync"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// TestStoreMethodsFromAnotherGoroutine drives every exported method that touches a store from a
// second goroutine while Wasm code runs in the store: each returns ErrConcurrentStoreUse (or, for
// methods without an error, their zero value) instead of racing with the running code. Then
// Store.Interrupt stops the running call, and every method works again.
func TestStoreMethodsFromAnotherGoroutine(t *testing.T) {
	f := newFixture(t)
	entered := make(chan struct{}, 1)
	defineHostModuleImports(t, f.linker, func(x int32) int32 {
		entered <- struct{}{}
		return x
	})
	host := f.instantiate(t, hostModule())
	state := f.instantiate(t, stateModule())
	mem := must(state.Memory("memory"))(t)
	counter := must(state.Global("counter"))(t)
	table := must(state.Table("table"))(t)
	bump := fn(t, state, "bump")
	bumpTyped := must(spry.Typed0R[int32](bump))(t)
	addMod := must(spry.Compile(f.engine, addModule()))(t)
	defer addMod.Close()
	pre := must(f.linker.InstantiatePre(addMod))(t)
	defer pre.Close()
	l2 := must(spry.NewLinker(f.engine))(t)
	defer l2.Close()

	spin := fn(t, host, "callFThenSpin")
	spinDone := make(chan error, 1)
	go func() {
		_, err := spin.Call(ctxb, 1)
		spinDone <- err
	}()
	<-entered // the call runs (its host function returned; the Wasm code spins)

	busy := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, spry.ErrConcurrentStoreUse) {
			t.Errorf("%s while Wasm runs in the store on another goroutine: %v, want ErrConcurrentStoreUse", what, err)
		}
	}
	_, err := spry.NewMemory(f.store, spry.MemoryType{Min: 1})
	busy("NewMemory", err)
	_, err = spry.NewGlobal(f.store, spry.GlobalType{Content: spry.I32, Mutable: true}, int32(1))
	busy("NewGlobal", err)
	_, err = spry.NewTable(f.store, spry.TableType{Element: spry.FuncRef, Min: 1}, nil)
	busy("NewTable", err)
	_, err = spry.NewFunc(f.store, func(x int32) int32 { return x })
	busy("NewFunc", err)
	_, err = spry.NewRawFunc(f.store, spry.FuncType{}, func(*spry.Caller, []uint64) error { return nil })
	busy("NewRawFunc", err)
	_, err = mem.Grow(1)
	busy("Memory.Grow", err)
	_, err = counter.Get()
	busy("Global.Get", err)
	busy("Global.Set", counter.Set(int32(3)))
	_, err = table.Get(0)
	busy("Table.Get", err)
	busy("Table.Set", table.Set(0, nil))
	_, err = table.Grow(1, nil)
	busy("Table.Grow", err)
	_, err = state.Export("memory")
	busy("Instance.Export", err)
	_, err = state.Func("bump")
	busy("Instance.Func", err)
	busy("Linker.DefineInstance", l2.DefineInstance("state", state))
	_, err = f.linker.Instantiate(ctxb, f.store, addMod)
	busy("Linker.Instantiate", err)
	_, err = pre.Instantiate(ctxb, f.store)
	busy("InstancePre.Instantiate", err)
	_, err = spry.NewInstance(ctxb, f.store, addMod, nil)
	busy("NewInstance", err)
	_, err = bump.Call(ctxb)
	busy("Func.Call", err)
	busy("Func.CallRaw", bump.CallRaw(ctxb, []uint64{0}))
	_, err = bumpTyped(ctxb)
	busy("typed call", err)
	busy("Store.Close", f.store.Close())
	// Methods without an error result return their zero value.
	if b := mem.Bytes(); b != nil {
		t.Errorf("Memory.Bytes returned %d bytes", len(b))
	}
	if mem.Size() != 0 || mem.Type() != (spry.MemoryType{}) {
		t.Errorf("Memory.Size/Type = %d, %+v", mem.Size(), mem.Type())
	}
	if _, ok := mem.ReadUint32Le(0); ok {
		t.Error("Memory.ReadUint32Le succeeded")
	}
	if mem.WriteUint32Le(0, 1) || mem.Write(0, []byte{1}) {
		t.Error("Memory.Write* succeeded")
	}
	if table.Size() != 0 || table.Type() != (spry.TableType{}) {
		t.Errorf("Table.Size/Type = %d, %+v", table.Size(), table.Type())
	}

	f.store.Interrupt()
	err = <-spinDone
	var trap *spry.Trap
	if !errors.As(err, &trap) || trap.Code() != spry.TrapInterrupt || !errors.Is(err, spry.ErrInterrupted) {
		t.Fatalf("the spinning call after Store.Interrupt: %v, want an interrupt trap", err)
	}

	// Nothing was changed by the refused operations, and everything works again.
	if v := must(counter.Get())(t); v != int32(7) {
		t.Errorf("counter = %v, want 7 (a refused Set changed it)", v)
	}
	if mem.Size() != 1 || table.Size() != 2 {
		t.Errorf("memory of %d pages, table of %d elements: a refused Grow changed them", mem.Size(), table.Size())
	}
	if r := must(bumpTyped(ctxb))(t); r != 8 {
		t.Errorf("bump = %d, want 8", r)
	}
	if v := must(table.Get(0))(t); v == nil {
		t.Error("table element 0 is null: a refused Set changed it")
	} else if r := must(v.(*spry.Func).Call(ctxb))(t); r[0] != int32(7) {
		t.Errorf("table element 0 returned %v", r)
	}
	must(pre.Instantiate(ctxb, f.store))(t)
	if !mem.WriteUint32Le(8, 5) {
		t.Error("WriteUint32Le after the call failed")
	}
}

// TestCallerFromAnotherGoroutine: a Caller handed to another goroutine is refused while its host
// function runs (and fails with errCallerDone-like errors after).
func TestCallerFromAnotherGoroutine(t *testing.T) {
	f := newFixture(t)
	var fromOther, fromHost error
	err := f.linker.DefineFunc("env", "f", func(c *spry.Caller, x int32) int32 {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, fromOther = c.Memory("memory")
		}()
		wg.Wait()
		_, fromHost = c.Memory("memory")
		return x
	})
	if err != nil {
		t.Fatal(err)
	}
	must(0, f.linker.DefineFunc("env", "g", func() {}))(t)
	inst := f.instantiate(t, hostModule())
	must(fn(t, inst, "callF").Call(ctxb, 1))(t)
	if !errors.Is(fromOther, spry.ErrConcurrentStoreUse) {
		t.Errorf("Caller.Memory from another goroutine: %v, want ErrConcurrentStoreUse", fromOther)
	}
	if fromHost != nil {
		t.Errorf("Caller.Memory from the host function: %v", fromHost)
	}
}

// TestMemoryAccessors covers the checked accessors: values round-trip little-endian, ranges are
// checked at the memory's current size with no overflow at the top of the 32-bit range, nothing is
// written out of bounds, and everything fails after Close.
func TestMemoryAccessors(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, stateModule())
	mem := must(inst.Memory("memory"))(t)
	const size = spry.PageSize
	raw := mem.Bytes()

	if !mem.WriteUint8(0, 0xAB) || !mem.WriteUint16Le(2, 0xBEEF) || !mem.WriteUint32Le(4, 0xDEADBEEF) ||
		!mem.WriteUint64Le(8, 0x0102030405060708) || !mem.WriteFloat32Le(16, 1.5) ||
		!mem.WriteFloat64Le(24, math.Pi) || !mem.Write(32, []byte("hello")) || !mem.WriteString(40, "wasm") {
		t.Fatal("a write in bounds failed")
	}
	if raw[2] != 0xEF || raw[3] != 0xBE || raw[8] != 0x08 || raw[15] != 0x01 {
		t.Errorf("not little-endian: % x", raw[:16])
	}
	if v, ok := mem.ReadUint8(0); !ok || v != 0xAB {
		t.Errorf("ReadUint8 = %x, %v", v, ok)
	}
	if v, ok := mem.ReadUint16Le(2); !ok || v != 0xBEEF {
		t.Errorf("ReadUint16Le = %x, %v", v, ok)
	}
	if v, ok := mem.ReadUint32Le(4); !ok || v != 0xDEADBEEF {
		t.Errorf("ReadUint32Le = %x, %v", v, ok)
	}
	if v, ok := mem.ReadUint64Le(8); !ok || v != 0x0102030405060708 {
		t.Errorf("ReadUint64Le = %x, %v", v, ok)
	}
	if v, ok := mem.ReadFloat32Le(16); !ok || v != 1.5 {
		t.Errorf("ReadFloat32Le = %v, %v", v, ok)
	}
	if v, ok := mem.ReadFloat64Le(24); !ok || v != math.Pi {
		t.Errorf("ReadFloat64Le = %v, %v", v, ok)
	}
	if b, ok := mem.Read(32, 5); !ok || string(b) != "hello" {
		t.Errorf("Read = %q, %v", b, ok)
	} else {
		b[0] = 'J' // a copy: the memory is unchanged
		if raw[32] != 'h' {
			t.Error("Read returned a view, not a copy")
		}
	}
	dst := make([]byte, 4)
	if !mem.ReadInto(40, dst) || string(dst) != "wasm" {
		t.Errorf("ReadInto = %q", dst)
	}

	// Boundaries: the last bytes are in bounds, one past is not, and offsets near 2^32 do not wrap.
	type probe struct {
		what string
		ok   bool
		want bool
	}
	_, r0 := mem.Read(size, 0)
	_, r1 := mem.Read(size-1, 1)
	_, r2 := mem.Read(size-1, 2)
	_, r3 := mem.Read(size+1, 0)
	_, r4 := mem.Read(math.MaxUint32, 1)
	_, r5 := mem.Read(1, math.MaxUint32)
	_, r6 := mem.ReadUint32Le(size - 4)
	_, r7 := mem.ReadUint32Le(size - 3)
	_, r8 := mem.ReadUint64Le(math.MaxUint32 - 3)
	_, r9 := mem.ReadUint16Le(math.MaxUint32)
	for _, p := range []probe{
		{"Read(size, 0)", r0, true},
		{"Read(size-1, 1)", r1, true},
		{"Read(size-1, 2)", r2, false},
		{"Read(size+1, 0)", r3, false},
		{"Read(2^32-1, 1)", r4, false},
		{"Read(1, 2^32-1)", r5, false},
		{"ReadUint32Le(size-4)", r6, true},
		{"ReadUint32Le(size-3)", r7, false},
		{"ReadUint64Le(2^32-4)", r8, false},
		{"ReadUint16Le(2^32-1)", r9, false},
		{"WriteUint32Le(size-3)", mem.WriteUint32Le(size-3, 0xFFFFFFFF), false},
		{"WriteUint64Le(2^32-4)", mem.WriteUint64Le(math.MaxUint32-3, 1), false},
		{"Write(size-2, 3 bytes)", mem.Write(size-2, []byte{9, 9, 9}), false},
		{"WriteUint8(size-1)", mem.WriteUint8(size-1, 0x5A), true},
	} {
		if p.ok != p.want {
			t.Errorf("%s: ok = %v, want %v", p.what, p.ok, p.want)
		}
	}
	if raw[size-3] != 0 || raw[size-2] != 0 || raw[size-1] != 0x5A {
		t.Errorf("a failed write changed the memory: % x", raw[size-3:])
	}

	// The size is the current one: after Grow the new page is reachable.
	must(mem.Grow(1))(t)
	if !mem.WriteUint32Le(size+100, 77) {
		t.Error("a write in the grown page failed")
	}

	must(0, f.store.Close())(t)
	if _, ok := mem.ReadUint8(0); ok {
		t.Error("ReadUint8 after Close succeeded")
	}
	if mem.WriteUint8(0, 1) {
		t.Error("WriteUint8 after Close succeeded")
	}
	if b, ok := mem.Read(0, 1); ok || b != nil {
		t.Errorf("Read after Close = %v, %v", b, ok)
	}
}

// TestMemoryAfterCloseWithPooling: with the pooling allocator a closed store's memory slot is
// handed to the next instance; the old Memory's checked accessors then fail rather than read or
// write the new tenant's bytes.
func TestMemoryAfterCloseWithPooling(t *testing.T) {
	e := poolEngine(t, 1, 16, -1)
	pre := prePool(t, e, false)
	a := must(instantiatePool(e, pre))(t)
	if !a.mem.WriteUint32Le(100, 0x11111111) {
		t.Fatal("write to the first tenant failed")
	}
	must(0, a.store.Close())(t)
	b := must(instantiatePool(e, pre))(t)
	defer b.store.Close()
	if !b.mem.WriteUint32Le(200, 0x22222222) {
		t.Fatal("write to the second tenant failed")
	}
	if v, ok := a.mem.ReadUint32Le(200); ok {
		t.Errorf("the closed store's Memory read the next tenant's memory: %x", v)
	}
	if a.mem.WriteUint32Le(200, 0xBAD) {
		t.Error("the closed store's Memory wrote into the next tenant's memory")
	}
	if v, ok := b.mem.ReadUint32Le(200); !ok || v != 0x22222222 {
		t.Errorf("the second tenant's memory = %x, %v", v, ok)
	}
	if v, _ := b.mem.ReadUint32Le(100); v != 0 {
		t.Errorf("the second tenant sees the first's data: %x", v)
	}
}

// TestInterruptWhenIdleDoesNothing: Interrupt with no call running never stops a later call, and
// is harmless after Close and on a nil store.
func TestInterruptWhenIdleDoesNothing(t *testing.T) {
	f := newFixture(t)
	defineHostModuleImports(t, f.linker, func(x int32) int32 { return x })
	inst := f.instantiate(t, hostModule())
	f.store.Interrupt()
	if _, err := fn(t, inst, "callF").Call(ctxb, 1); err != nil {
		t.Errorf("a call after an idle Interrupt: %v", err)
	}
	var nilStore *spry.Store
	nilStore.Interrupt()
	must(0, f.store.Close())(t)
	f.store.Interrupt()
}

// TestInterruptRacesClose: Interrupt from other goroutines while stores are closed neither
// crashes nor leaks (run under -race too).
func TestInterruptRacesClose(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	for i := 0; i < 200; i++ {
		s := must(spry.NewStore(e))(t)
		var wg sync.WaitGroup
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 20; k++ {
					s.Interrupt()
				}
			}()
		}
		must(0, s.Close())(t)
		wg.Wait()
	}
}

// TestCloseDuringCallIsRefusedHarmlessly: Close from another goroutine during a call returns
// ErrConcurrentStoreUse and leaves the call running; the call can then be interrupted, and Close
// succeeds.
func TestCloseDuringCallIsRefusedHarmlessly(t *testing.T) {
	f := newFixture(t)
	entered := make(chan struct{}, 1)
	defineHostModuleImports(t, f.linker, func(x int32) int32 {
		entered <- struct{}{}
		return x
	})
	inst := f.instantiate(t, hostModule())
	done := make(chan error, 1)
	go func() {
		_, err := fn(t, inst, "callFThenSpin").Call(ctxb, 1)
		done <- err
	}()
	<-entered
	if err := f.store.Close(); !errors.Is(err, spry.ErrConcurrentStoreUse) {
		t.Fatalf("Close during a call: %v, want ErrConcurrentStoreUse", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the call ended after a refused Close: %v", err)
	default:
	}
	f.store.Interrupt()
	if err := <-done; !errors.Is(err, spry.ErrInterrupted) {
		t.Fatalf("the call after Interrupt: %v", err)
	}
	if err := f.store.Close(); err != nil {
		t.Errorf("Close after the call: %v", err)
	}
}
