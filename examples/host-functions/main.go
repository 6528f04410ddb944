// Command host-functions gives Go functions to a WebAssembly module: the module imports "env"
// "log", which reads a string from the caller's memory, and "env" "add", which it calls in a
// loop. The store's data counts the host calls.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"

	spry "github.com/spry-wasm/spry/go"
)

// hostWasm is
//
//	(module
//	  (import "env" "log" (func $log (param i32 i32)))
//	  (import "env" "add" (func $add (param i32 i32) (result i32)))
//	  (memory (export "memory") 1)
//	  (data (i32.const 16) "counting with the host")
//	  (func (export "run") (param $n i32) (result i32)
//	    (local $i i32) (local $sum i32)
//	    i32.const 16 i32.const 22 call $log
//	    (block
//	      (loop
//	        local.get $i local.get $n i32.ge_u br_if 1
//	        local.get $sum local.get $i call $add local.set $sum
//	        local.get $i i32.const 1 i32.add local.set $i
//	        br 0))
//	    local.get $sum))
var hostWasm = []byte{
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11, 0x03, 0x60, 0x02, 0x7f, 0x7f, 0x00,
	0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x02, 0x15, 0x02, 0x03, 0x65,
	0x6e, 0x76, 0x03, 0x6c, 0x6f, 0x67, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x03, 0x61, 0x64, 0x64,
	0x00, 0x01, 0x03, 0x02, 0x01, 0x02, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07, 0x10, 0x02, 0x06, 0x6d,
	0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x03, 0x72, 0x75, 0x6e, 0x00, 0x02, 0x0a, 0x2c, 0x01,
	0x2a, 0x01, 0x02, 0x7f, 0x41, 0x10, 0x41, 0x16, 0x10, 0x00, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01,
	0x20, 0x00, 0x4f, 0x0d, 0x01, 0x20, 0x02, 0x20, 0x01, 0x10, 0x01, 0x21, 0x02, 0x20, 0x01, 0x41,
	0x01, 0x6a, 0x21, 0x01, 0x0c, 0x00, 0x0b, 0x0b, 0x20, 0x02, 0x0b, 0x0b, 0x1c, 0x01, 0x00, 0x41,
	0x10, 0x0b, 0x16, 0x63, 0x6f, 0x75, 0x6e, 0x74, 0x69, 0x6e, 0x67, 0x20, 0x77, 0x69, 0x74, 0x68,
	0x20, 0x74, 0x68, 0x65, 0x20, 0x68, 0x6f, 0x73, 0x74, 0x00, 0x22, 0x04, 0x6e, 0x61, 0x6d, 0x65,
	0x01, 0x0b, 0x02, 0x00, 0x03, 0x6c, 0x6f, 0x67, 0x01, 0x03, 0x61, 0x64, 0x64, 0x02, 0x0e, 0x01,
	0x02, 0x03, 0x00, 0x01, 0x6e, 0x01, 0x01, 0x69, 0x02, 0x03, 0x73, 0x75, 0x6d,
}

// stats is the store's data: what the host functions of one store share.
type stats struct {
	calls int
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
	linker, err := spry.NewLinker(engine)
	if err != nil {
		return err
	}
	defer linker.Close()

	// log(ptr, len): the first parameter, a *spry.Caller, reaches the calling instance's memory.
	err = linker.DefineFunc("env", "log", func(c *spry.Caller, ptr, n int32) error {
		mem, err := c.Memory("memory")
		if err != nil {
			return err
		}
		b := mem.Bytes()
		if ptr < 0 || n < 0 || int(ptr)+int(n) > len(b) {
			return fmt.Errorf("log: [%d, %d) is out of the memory", ptr, ptr+n)
		}
		fmt.Fprintf(w, "wasm says: %s\n", b[ptr:ptr+n])
		c.Data().(*stats).calls++
		return nil
	})
	if err != nil {
		return err
	}
	// add(a, b): a plain Go function; its shape is called without reflection.
	err = linker.DefineFunc("env", "add", func(c *spry.Caller, a, b int32) int32 {
		c.Data().(*stats).calls++
		return a + b
	})
	if err != nil {
		return err
	}

	module, err := spry.Compile(engine, hostWasm)
	if err != nil {
		return err
	}
	defer module.Close()
	store, err := spry.NewStore(engine)
	if err != nil {
		return err
	}
	defer store.Close()
	st := &stats{}
	store.SetData(st)
	inst, err := linker.Instantiate(ctx, store, module)
	if err != nil {
		return err
	}
	f, err := inst.Func("run")
	if err != nil {
		return err
	}
	runWasm, err := spry.Typed1R[int32, int32](f)
	if err != nil {
		return err
	}
	sum, err := runWasm(ctx, 10)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "sum of 0..9 = %d\n", sum)
	fmt.Fprintf(w, "host calls: %d\n", st.calls)
	return nil
}
