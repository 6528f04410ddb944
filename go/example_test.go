//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

// addWasm is
//
//	(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
var addWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01,
	0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09,
	0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
}

// Compile a module, instantiate it, and call an export.
func Example() {
	ctx := context.Background()
	engine, err := spry.NewEngine(nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close()
	module, err := spry.Compile(engine, addWasm)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer module.Close()
	linker, _ := spry.NewLinker(engine)
	defer linker.Close()
	store, _ := spry.NewStore(engine)
	defer store.Close()

	inst, err := linker.Instantiate(ctx, store, module)
	if err != nil {
		fmt.Println(err)
		return
	}
	add, _ := inst.Func("add")
	results, err := add.Call(ctx, 40, 2)
	fmt.Println(results, err)
	// Output: [42] <nil>
}

// A typed helper checks the signature once and calls without conversion or allocation.
func ExampleTyped2R() {
	engine, _ := spry.NewEngine(nil)
	defer engine.Close()
	module, _ := spry.Compile(engine, addWasm)
	defer module.Close()
	store, _ := spry.NewStore(engine)
	defer store.Close()
	inst, _ := spry.NewInstance(context.Background(), store, module, nil)
	f, _ := inst.Func("add")

	add, err := spry.Typed2R[int32, int32, int32](f)
	if err != nil {
		fmt.Println(err)
		return
	}
	sum, err := add(context.Background(), 20, 22)
	fmt.Println(sum, err)

	_, err = spry.Typed2R[int64, int64, int64](f)
	fmt.Println(err)
	// Output:
	// 42 <nil>
	// spry: type mismatch: the function has type (i32, i32) -> (i32), the typed helper (i64, i64) -> (i64)
}

// CallRaw passes arguments and results in 64-bit slots.
func ExampleFunc_CallRaw() {
	engine, _ := spry.NewEngine(nil)
	defer engine.Close()
	module, _ := spry.Compile(engine, addWasm)
	defer module.Close()
	store, _ := spry.NewStore(engine)
	defer store.Close()
	inst, _ := spry.NewInstance(context.Background(), store, module, nil)
	add, _ := inst.Func("add")

	slots := []uint64{40, 2} // reuse the slice: no allocation per call
	if err := add.CallRaw(context.Background(), slots); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(int32(slots[0]))
	// Output: 42
}

// printWasm imports a host function that reads a string from the caller's memory:
//
//	(module
//	  (import "env" "print" (func $print (param i32 i32)))
//	  (memory (export "memory") 1)
//	  (data (i32.const 0) "Hello from Wasm")
//	  (func (export "run") i32.const 0 i32.const 15 call $print))
var printWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x09, 0x02, 0x60, 0x02, 0x7f, 0x7f, 0x00,
	0x60, 0x00, 0x00, 0x02, 0x0d, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x05, 0x70, 0x72, 0x69, 0x6e, 0x74,
	0x00, 0x00, 0x03, 0x02, 0x01, 0x01, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x10, 0x02, 0x06, 0x6d,
	0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x03, 0x72, 0x75, 0x6e, 0x00, 0x01, 0x0a, 0x0a, 0x01,
	0x08, 0x00, 0x41, 0x00, 0x41, 0x0f, 0x10, 0x00, 0x0b, 0x0b, 0x15, 0x01, 0x00, 0x41, 0x00, 0x0b,
	0x0f, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x66, 0x72, 0x6f, 0x6d, 0x20, 0x57, 0x61, 0x73, 0x6d,
}

// A Go function imported by Wasm reads the caller's memory.
func ExampleLinker_DefineFunc() {
	engine, _ := spry.NewEngine(nil)
	defer engine.Close()
	linker, _ := spry.NewLinker(engine)
	defer linker.Close()

	err := linker.DefineFunc("env", "print", func(c *spry.Caller, ptr, n int32) error {
		mem, err := c.Memory("memory")
		if err != nil {
			return err
		}
		fmt.Println(string(mem.Bytes()[ptr : ptr+n]))
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	module, _ := spry.Compile(engine, printWasm)
	defer module.Close()
	store, _ := spry.NewStore(engine)
	defer store.Close()
	inst, err := linker.Instantiate(context.Background(), store, module)
	if err != nil {
		fmt.Println(err)
		return
	}
	run, _ := inst.Func("run")
	if _, err := run.Call(context.Background()); err != nil {
		fmt.Println(err)
	}
	// Output: Hello from Wasm
}

// divWasm is
//
//	(module $example (func $div (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_u))
var divWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01,
	0x7f, 0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 0x64, 0x69, 0x76, 0x00, 0x00, 0x0a, 0x09,
	0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6e, 0x0b, 0x00, 0x17, 0x04, 0x6e, 0x61, 0x6d, 0x65,
	0x00, 0x08, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x01, 0x06, 0x01, 0x00, 0x03, 0x64,
	0x69, 0x76,
}

// A trap is an error: errors.As recovers the *Trap, errors.Is tests its code.
func ExampleTrap() {
	engine, _ := spry.NewEngine(nil)
	defer engine.Close()
	module, _ := spry.Compile(engine, divWasm)
	defer module.Close()
	store, _ := spry.NewStore(engine)
	defer store.Close()
	inst, _ := spry.NewInstance(context.Background(), store, module, nil)
	div, _ := inst.Func("div")

	_, err := div.Call(context.Background(), 1, 0)
	var trap *spry.Trap
	if errors.As(err, &trap) {
		fmt.Println(trap.Code(), trap.Frames()[0])
	}
	fmt.Println(errors.Is(err, spry.ErrIntegerDivisionByZero))
	// Output:
	// integer divide by zero example!div
	// true
}

// spinWasm is
//
//	(module (func (export "spin") (loop br 0)))
var spinWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02,
	0x01, 0x00, 0x07, 0x08, 0x01, 0x04, 0x73, 0x70, 0x69, 0x6e, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07,
	0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
}

// A context's deadline interrupts a call that runs too long.
func ExampleFunc_Call_deadline() {
	engine, _ := spry.NewEngine(nil)
	defer engine.Close()
	module, _ := spry.Compile(engine, spinWasm)
	defer module.Close()
	store, _ := spry.NewStore(engine)
	defer store.Close()
	inst, _ := spry.NewInstance(context.Background(), store, module, nil)
	spin, _ := inst.Func("spin")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := spin.Call(ctx)
	fmt.Println(errors.Is(err, context.DeadlineExceeded), errors.Is(err, spry.ErrInterrupted))
	// Output: true true
}
