//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestDefineUnknownImportsAsTraps(t *testing.T) {
	wasm, err := spry.Wat2Wasm(`(module
		(import "env" "known" (func $known (result i32)))
		(import "env" "foo" (func $foo (param i64 f32) (result i32 f64)))
		(func (export "call_known") (result i32) call $known)
		(func (export "call_foo") (result i32)
			i64.const 1 f32.const 2 call $foo drop))`)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := spry.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	module, err := spry.Compile(engine, wasm)
	if err != nil {
		t.Fatal(err)
	}
	linker, err := spry.NewLinker(engine)
	if err != nil {
		t.Fatal(err)
	}
	defer linker.Close()
	if err := linker.DefineFunc("env", "known", func() int32 { return 7 }); err != nil {
		t.Fatal(err)
	}
	// With shadowing on, the existing definition must still be kept.
	if err := linker.AllowShadowing(true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	store, err := spry.NewStore(engine)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := linker.Instantiate(ctx, store, module); err == nil {
		t.Fatal("instantiated with env.foo undefined")
	}
	if err := linker.DefineUnknownImportsAsTraps(module); err != nil {
		t.Fatal(err)
	}
	if err := linker.DefineUnknownImportsAsTraps(module); err != nil { // idempotent
		t.Fatal(err)
	}
	inst, err := linker.Instantiate(ctx, store, module)
	if err != nil {
		t.Fatal(err)
	}
	known, err := inst.Func("call_known")
	if err != nil {
		t.Fatal(err)
	}
	if res, err := known.Call(ctx); err != nil || res[0] != int32(7) {
		t.Errorf("call_known = %v, %v; want 7 (the definition kept)", res, err)
	}
	foo, err := inst.Func("call_foo")
	if err != nil {
		t.Fatal(err)
	}
	_, err = foo.Call(ctx)
	var trap *spry.Trap
	var unknown *spry.UnknownImportError
	if !errors.As(err, &trap) || !errors.As(err, &unknown) {
		t.Fatalf("call_foo: %v, want a trap wrapping an UnknownImportError", err)
	}
	if unknown.Module != "env" || unknown.Name != "foo" || !strings.Contains(err.Error(), "unknown import env.foo") {
		t.Errorf("call_foo: %v (%+v)", err, unknown)
	}
}

func TestDefineUnknownImportsAsTrapsLeavesOtherKinds(t *testing.T) {
	wasm, err := spry.Wat2Wasm(`(module (import "env" "mem" (memory 1)) (import "env" "f" (func)))`)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := spry.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	module, err := spry.Compile(engine, wasm)
	if err != nil {
		t.Fatal(err)
	}
	linker, err := spry.NewLinker(engine)
	if err != nil {
		t.Fatal(err)
	}
	if err := linker.DefineUnknownImportsAsTraps(module); err != nil {
		t.Fatal(err)
	}
	store, err := spry.NewStore(engine)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, err = linker.Instantiate(context.Background(), store, module)
	if err == nil || !strings.Contains(err.Error(), "mem") {
		t.Errorf("Instantiate: %v, want an error about the missing memory env.mem", err)
	}
	if err := linker.DefineUnknownImportsAsTraps(nil); err == nil {
		t.Error("nil module accepted")
	}
}
