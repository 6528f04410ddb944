//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestCallerMemoryAndData(t *testing.T) {
	f := newFixture(t)
	type session struct{ name string }
	f.store.SetData(&session{name: "s1"})
	var seen string
	defineHostModuleImports(t, f.linker, func(c *spry.Caller, ptr int32) (int32, error) {
		mem, err := c.Memory("memory")
		if err != nil {
			return 0, err
		}
		b := mem.Bytes()
		seen = string(b[ptr : ptr+15])
		copy(b[ptr:], "HELLO")
		if c.Data().(*session).name != "s1" || c.Store() != f.store {
			return 0, errors.New("wrong store data")
		}
		return int32(len(seen)), nil
	})
	inst := f.instantiate(t, hostModule())
	res, err := fn(t, inst, "callF").Call(ctxb, 16)
	if err != nil {
		t.Fatal(err)
	}
	if seen != "hello from wasm" || res[0] != int32(15) {
		t.Errorf("the host read %q, returned %v", seen, res)
	}
	mem := must(inst.Memory("memory"))(t)
	if got := string(mem.Bytes()[16:31]); got != "HELLO from wasm" {
		t.Errorf("memory after the host's write: %q", got)
	}
}

func TestCallerExports(t *testing.T) {
	f := newFixture(t)
	var errs []error
	defineHostModuleImports(t, f.linker, func(c *spry.Caller, x int32) int32 {
		_, err := c.Memory("nope")
		errs = append(errs, err)
		_, err = c.Memory("callF") // a function, not a memory
		errs = append(errs, err)
		callG, _ := c.Func("callG") // no t.Fatal in a host function: a nil *Func fails the call
		if err := callG.CallRaw(c.Context(), nil); err != nil {
			errs = append(errs, err)
		}
		if e, err := c.Export("memory"); err != nil || e.Kind() != spry.ExternMemory {
			errs = append(errs, fmt.Errorf("Export(memory) = %v, %v", e, err))
		}
		return x
	})
	inst := f.instantiate(t, hostModule())
	must(fn(t, inst, "callF").Call(ctxb, 1))(t)
	if len(errs) != 2 || !errors.Is(errs[0], spry.ErrNotFound) || !errors.Is(errs[1], spry.ErrType) {
		t.Errorf("errors = %v", errs)
	}
}

func TestCallerAfterReturn(t *testing.T) {
	f := newFixture(t)
	var kept *spry.Caller
	defineHostModuleImports(t, f.linker, func(c *spry.Caller, x int32) int32 { kept = c; return x })
	inst := f.instantiate(t, hostModule())
	must(fn(t, inst, "callF").Call(ctxb, 1))(t)
	if _, err := kept.Memory("memory"); err == nil {
		t.Error("a Caller kept after its call still works")
	}
	// A host function called from Go has no calling instance.
	hf := must(spry.NewFunc(f.store, func(c *spry.Caller) int32 {
		if _, err := c.Memory("memory"); err == nil {
			return 1
		}
		return 0
	}))(t)
	if res := must(hf.Call(ctxb))(t); res[0] != int32(0) {
		t.Error("a host function called from Go found a caller's memory")
	}
}

func TestCallerContext(t *testing.T) {
	f := newFixture(t)
	type key struct{}
	var got any
	defineHostModuleImports(t, f.linker, func(c *spry.Caller, x int32) int32 {
		got = c.Context().Value(key{})
		return x
	})
	inst := f.instantiate(t, hostModule())
	ctx := context.WithValue(context.Background(), key{}, "v")
	must(fn(t, inst, "callF").Call(ctx, 1))(t)
	if got != "v" {
		t.Errorf("Caller.Context().Value = %v", got)
	}
	must(fn(t, inst, "callF").Call(ctxb, 1))(t)
	if got != nil {
		t.Errorf("Caller.Context() kept the previous call's context: %v", got)
	}
}

type codeError struct{ code int }

func (e *codeError) Error() string { return fmt.Sprintf("code %d", e.code) }

func TestHostErrorIsWrapped(t *testing.T) {
	f := newFixture(t)
	defineHostModuleImports(t, f.linker, func(x int32) (int32, error) {
		if x == 1 {
			return 0, fmt.Errorf("opening: %w", fs.ErrNotExist)
		}
		return 0, &codeError{code: int(x)}
	})
	inst := f.instantiate(t, hostModule())
	_, err := fn(t, inst, "callF").Call(ctxb, 1)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) is false for %v", err)
	}
	var trap *spry.Trap
	if !errors.As(err, &trap) || trap.Code() != spry.TrapHostError || !errors.Is(err, spry.ErrHostError) {
		t.Errorf("err = %v, want a host-error trap", err)
	}
	if !strings.Contains(err.Error(), "opening: file does not exist") {
		t.Errorf("Error() = %q", err)
	}
	_, err = fn(t, inst, "callF").Call(ctxb, 7)
	var ce *codeError
	if !errors.As(err, &ce) || ce.code != 7 {
		t.Errorf("errors.As(*codeError) failed for %v", err)
	}
	// The store works after a host error.
	if _, err := fn(t, inst, "callG").Call(ctxb); err != nil {
		t.Errorf("callG after a host error: %v", err)
	}
}

func TestHostPanicIsReraised(t *testing.T) {
	f := newFixture(t)
	type boom struct{ n int }
	defineHostModuleImports(t, f.linker, func(x int32) int32 { panic(boom{int(x)}) })
	inst := f.instantiate(t, hostModule())
	v := catchPanic(func() { fn(t, inst, "callF").Call(ctxb, 3) })
	if v != (boom{3}) {
		t.Errorf("recovered %#v, want boom{3}", v)
	}
	// The store is idle again, and works.
	if _, err := fn(t, inst, "callG").Call(ctxb); err != nil {
		t.Errorf("callG after a panic: %v", err)
	}
	v = catchPanic(func() {
		f := must(spry.Typed1R[int32, int32](fn(t, inst, "callF")))(t)
		f(ctxb, 4)
	})
	if v != (boom{4}) {
		t.Errorf("typed call recovered %#v, want boom{4}", v)
	}
	// A runtime error keeps its type.
	hf := must(spry.NewFunc(f.store, func() { var m map[string]int; m["x"] = 1 }))(t)
	v = catchPanic(func() { hf.Call(ctxb) })
	if err, ok := v.(error); !ok || !strings.Contains(err.Error(), "nil map") {
		t.Errorf("recovered %#v, want the runtime error", v)
	}
}

func catchPanic(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// nestedModule exercises Go → Wasm → Go → Wasm:
//
//	(module
//	  (import "env" "host" (func $host (param i32) (result i32)))
//	  (func (export "outer") (param i32) (result i32) local.get 0 call $host i32.const 1 i32.add)
//	  (func (export "inner") (param i32) (result i32) local.get 0 i32.const 2 i32.mul)
//	  (func (export "innerTrap") unreachable)
//	  (func (export "spin") (loop br 0)))
func nestedModule() []byte {
	m := newModule()
	host := m.importFunc("env", "host", sig(vt(spry.I32), spry.I32))
	m.exportFunc("outer", sig(vt(spry.I32), spry.I32), nil, localGet(0), call(host), i32Const(1), op(opI32Add))
	m.exportFunc("inner", sig(vt(spry.I32), spry.I32), nil, localGet(0), i32Const(2), op(opI32Mul))
	m.exportFunc("innerTrap", sig(nil), nil, op(opUnreachable))
	m.exportFunc("spin", sig(nil), nil, op(opLoop, 0x40), br(0), op(opEnd))
	return m.bytes()
}

func TestNestedCalls(t *testing.T) {
	f := newFixture(t)
	var inst *spry.Instance
	var innerErr error
	var depth int
	// Lookups without t.Fatal, which a host function must not call: a nil *Func fails the call.
	export := func(name string) *spry.Func { f, _ := inst.Func(name); return f }
	err := f.linker.DefineFunc("env", "host", func(c *spry.Caller, x int32) (int32, error) {
		switch x {
		case 0: // a nested call that traps: the trap reaches this host function, not the outer call
			innerTrap, _ := c.Func("innerTrap")
			_, innerErr = innerTrap.Call(c.Context())
			return 100, nil
		case 1: // a nested call whose trap the host returns: the outer call gets that trap
			_, err := export("innerTrap").Call(c.Context())
			return 0, err
		case 2: // a nested panic crosses both levels with its value
			outer := export("outer")
			outer.Call(c.Context(), 3)
			return 0, nil
		case 3:
			panic("deep")
		default: // a plain nested call, recursing through outer a few times
			depth++
			if x > 10 {
				r, err := export("outer").Call(c.Context(), x-1)
				if err != nil {
					return 0, err
				}
				return r[0].(int32), nil
			}
			r, err := export("inner").Call(c.Context(), x)
			if err != nil {
				return 0, err
			}
			return r[0].(int32), nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	inst = f.instantiate(t, nestedModule())
	outer := fn(t, inst, "outer")

	res, err := outer.Call(ctxb, 0)
	if err != nil || res[0] != int32(101) {
		t.Errorf("outer(0) = %v, %v (the inner trap must not reach the outer call)", res, err)
	}
	if !errors.Is(innerErr, spry.ErrUnreachable) {
		t.Errorf("the nested call returned %v, want ErrUnreachable", innerErr)
	}

	_, err = outer.Call(ctxb, 1)
	var trap *spry.Trap
	if !errors.As(err, &trap) || trap.Code() != spry.TrapUnreachable {
		t.Errorf("outer(1) = %v, want the inner unreachable trap", err)
	}

	if v := catchPanic(func() { outer.Call(ctxb, 2) }); v != "deep" {
		t.Errorf("outer(2) panicked with %#v, want \"deep\"", v)
	}

	// outer(13) → host(13) → outer(12) → host(12) → outer(11) → host(11) → outer(10) → host(10)
	// → inner(10) = 20, and each outer adds 1.
	res, err = outer.Call(ctxb, 13)
	if err != nil || res[0] != int32(24) {
		t.Errorf("outer(13) = %v, %v, want 24", res, err)
	}
	if depth != 4 {
		t.Errorf("the host ran %d times, want 4", depth)
	}
}

func TestConcurrentStoreUse(t *testing.T) {
	f := newFixture(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	defineHostModuleImports(t, f.linker, func(x int32) int32 {
		if x == 1 {
			close(entered)
			<-release
		}
		return x
	})
	inst := f.instantiate(t, hostModule())
	callF := fn(t, inst, "callF")
	typed := must(spry.Typed1R[int32, int32](callF))(t)
	done := make(chan error)
	go func() {
		_, err := callF.Call(ctxb, 1)
		done <- err
	}()
	<-entered
	// Another goroutine, while the first runs a host function of the store.
	if _, err := callF.Call(ctxb, 2); !errors.Is(err, spry.ErrConcurrentStoreUse) {
		t.Errorf("Call from a second goroutine: %v, want ErrConcurrentStoreUse", err)
	}
	if _, err := typed(ctxb, 2); !errors.Is(err, spry.ErrConcurrentStoreUse) {
		t.Errorf("typed call from a second goroutine: %v, want ErrConcurrentStoreUse", err)
	}
	if err := callF.CallRaw(ctxb, []uint64{2}); !errors.Is(err, spry.ErrConcurrentStoreUse) {
		t.Errorf("CallRaw from a second goroutine: %v, want ErrConcurrentStoreUse", err)
	}
	m := must(spry.Compile(f.engine, addModule()))(t)
	defer m.Close()
	if _, err := f.linker.Instantiate(ctxb, f.store, m); !errors.Is(err, spry.ErrConcurrentStoreUse) {
		t.Errorf("Instantiate from a second goroutine: %v, want ErrConcurrentStoreUse", err)
	}
	if err := f.store.Close(); err == nil {
		t.Error("Close during a call succeeded")
	}
	close(release)
	if err := <-done; err != nil {
		t.Errorf("the first call: %v", err)
	}
	// Handing the store over is fine.
	go func() {
		_, err := callF.Call(ctxb, 2)
		done <- err
	}()
	if err := <-done; err != nil {
		t.Errorf("a call from another goroutine after the first ended: %v", err)
	}
}

func TestCloseFromHostFunction(t *testing.T) {
	f := newFixture(t)
	var closeErr error
	defineHostModuleImports(t, f.linker, func(c *spry.Caller, x int32) int32 {
		closeErr = c.Store().Close()
		return x
	})
	inst := f.instantiate(t, hostModule())
	if _, err := fn(t, inst, "callF").Call(ctxb, 1); err != nil {
		t.Fatal(err)
	}
	if closeErr == nil {
		t.Error("Close from a host function of the store succeeded")
	}
}
