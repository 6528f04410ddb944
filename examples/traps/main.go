// Command traps shows the three ways a call into WebAssembly fails: the Wasm code traps (a
// *spry.Trap, with a code and a backtrace), a Go host function returns an error (the trap wraps
// it: errors.Is reaches it), or a Go host function panics (the panic unwinds the Wasm frames and
// the Go call that entered Wasm panics again with the same value).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"

	spry "github.com/spry-wasm/spry/go"
)

// trapsWasm is
//
//	(module $traps
//	  (import "env" "check" (func $check (param i32)))
//	  (func $divide (export "divide") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
//	  (func $validate (export "validate") (param i32) local.get 0 call $check))
var trapsWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0b, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60,
	0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x02, 0x0d, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x05, 0x63, 0x68, 0x65,
	0x63, 0x6b, 0x00, 0x00, 0x03, 0x03, 0x02, 0x01, 0x00, 0x07, 0x15, 0x02, 0x06, 0x64, 0x69, 0x76,
	0x69, 0x64, 0x65, 0x00, 0x01, 0x08, 0x76, 0x61, 0x6c, 0x69, 0x64, 0x61, 0x74, 0x65, 0x00, 0x02,
	0x0a, 0x10, 0x02, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6d, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x10,
	0x00, 0x0b, 0x00, 0x29, 0x04, 0x6e, 0x61, 0x6d, 0x65, 0x00, 0x06, 0x05, 0x74, 0x72, 0x61, 0x70,
	0x73, 0x01, 0x1a, 0x03, 0x00, 0x05, 0x63, 0x68, 0x65, 0x63, 0x6b, 0x01, 0x06, 0x64, 0x69, 0x76,
	0x69, 0x64, 0x65, 0x02, 0x08, 0x76, 0x61, 0x6c, 0x69, 0x64, 0x61, 0x74, 0x65,
}

// errNegative is what the host function check returns for a negative number.
var errNegative = errors.New("negative input")

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
	linker, err := spry.NewLinker(engine)
	if err != nil {
		return err
	}
	defer linker.Close()
	err = linker.DefineFunc("env", "check", func(x int32) error {
		switch {
		case x < 0:
			return errNegative
		case x == 0:
			panic("zero is not allowed")
		}
		return nil
	})
	if err != nil {
		return err
	}
	module, err := spry.Compile(engine, trapsWasm)
	if err != nil {
		return err
	}
	defer module.Close()
	store, err := spry.NewStore(engine)
	if err != nil {
		return err
	}
	defer store.Close()
	inst, err := linker.Instantiate(ctx, store, module)
	if err != nil {
		return err
	}
	divide, err := inst.Func("divide")
	if err != nil {
		return err
	}
	validate, err := inst.Func("validate")
	if err != nil {
		return err
	}

	// 1. A Wasm trap.
	_, err = divide.Call(ctx, 1, 0)
	var trap *spry.Trap
	if errors.As(err, &trap) {
		fmt.Fprintf(w, "divide(1, 0): trap %q in %v\n", trap.Code(), trap.Frames()[0])
	}
	if errors.Is(err, spry.ErrIntegerDivisionByZero) {
		fmt.Fprintln(w, "divide(1, 0): errors.Is(err, spry.ErrIntegerDivisionByZero)")
	}

	// 2. An error from a host function.
	_, err = validate.Call(ctx, -1)
	if errors.Is(err, errNegative) {
		fmt.Fprintf(w, "validate(-1): host error: %v\n", errors.Unwrap(err))
	}

	// 3. A panic in a host function.
	func() {
		defer func() {
			fmt.Fprintf(w, "validate(0): recovered panic: %v\n", recover())
		}()
		validate.Call(ctx, 0)
	}()

	// The store is still usable after all three.
	if _, err := validate.Call(ctx, 7); err != nil {
		return err
	}
	fmt.Fprintln(w, "validate(7): ok")
	return nil
}
