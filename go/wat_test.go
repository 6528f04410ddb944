//go:build cgo

package spry_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestWat2Wasm(t *testing.T) {
	wasm, err := spry.Wat2Wasm(`(module (func (export "add") (param i32 i32) (result i32)
		local.get 0 local.get 1 i32.add))`)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm\x01\x00\x00\x00")) {
		t.Fatalf("not a binary module: % x", wasm[:min(len(wasm), 8)])
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
	defer module.Close()
	store, err := spry.NewStore(engine)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	inst, err := spry.NewInstance(context.Background(), store, module, nil)
	if err != nil {
		t.Fatal(err)
	}
	add, err := inst.Func("add")
	if err != nil {
		t.Fatal(err)
	}
	res, err := add.Call(context.Background(), int32(40), int32(2))
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != int32(42) {
		t.Errorf("add(40, 2) = %v, want 42", res[0])
	}
}

func TestWat2WasmErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"(module\n  (func (i32.bogus)))", "2:"}, // the position of the error
		{"(module", "expected"},                  // unbalanced
		{"\xff\xfe", "UTF-8"},                    // not text
	} {
		_, err := spry.Wat2Wasm(tc.text)
		if err == nil {
			t.Errorf("Wat2Wasm(%q) succeeded, want an error", tc.text)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Wat2Wasm(%q): %v, want it to mention %q", tc.text, err, tc.want)
		}
	}
}
