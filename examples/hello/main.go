// Command hello compiles a WebAssembly module from bytes, instantiates it and calls its exports:
// one that returns where a greeting lies in its memory, and one that adds two numbers.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	spry "github.com/spry-wasm/spry/go"
)

// helloWasm is
//
//	(module
//	  (memory (export "memory") 1)
//	  (data (i32.const 0) "Hello, World!")
//	  (func (export "greeting") (result i32 i32) i32.const 0 i32.const 13)
//	  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
var helloWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0c, 0x02, 0x60, 0x00, 0x02, 0x7f, 0x7f,
	0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03, 0x03, 0x02, 0x00, 0x01, 0x05, 0x03, 0x01, 0x00, 0x01,
	0x07, 0x1b, 0x03, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x08, 0x67, 0x72, 0x65,
	0x65, 0x74, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x03, 0x61, 0x64, 0x64, 0x00, 0x01, 0x0a, 0x10, 0x02,
	0x06, 0x00, 0x41, 0x00, 0x41, 0x0d, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, 0x0b,
	0x13, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x0d, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x2c, 0x20, 0x57, 0x6f,
	0x72, 0x6c, 0x64, 0x21,
}

func main() {
	if err := run(os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(w io.Writer) error {
	ctx := context.Background()
	engine, err := spry.NewEngine(nil)
	if err != nil {
		return err
	}
	defer engine.Close()
	module, err := spry.Compile(engine, helloWasm)
	if err != nil {
		return err
	}
	defer module.Close()
	linker, err := spry.NewLinker(engine)
	if err != nil {
		return err
	}
	defer linker.Close()
	store, err := spry.NewStore(engine)
	if err != nil {
		return err
	}
	defer store.Close()
	inst, err := linker.Instantiate(ctx, store, module)
	if err != nil {
		return err
	}

	// Func.Call converts Go values and returns the results as []any.
	greeting, err := inst.Func("greeting")
	if err != nil {
		return err
	}
	res, err := greeting.Call(ctx)
	if err != nil {
		return err
	}
	ptr, n := res[0].(int32), res[1].(int32)
	mem, err := inst.Memory("memory")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, string(mem.Bytes()[ptr:ptr+n]))

	// A typed helper is an ordinary Go function, checked once against the export's type.
	f, err := inst.Func("add")
	if err != nil {
		return err
	}
	add, err := spry.Typed2R[int32, int32, int32](f)
	if err != nil {
		return err
	}
	sum, err := add(ctx, 2, 3)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "add(2, 3) = %d\n", sum)
	return nil
}
