// Package spry runs WebAssembly modules from Go. The engine is written in Rust (rust/spry in this
// repository): it compiles Wasm to native code with Cranelift, and this package reaches it through
// cgo and the C surface declared in include/spry.h.
//
// # The flow
//
// An [Engine] holds the compiler settings; [Compile] turns Wasm bytes into a [Module]; a [Linker]
// holds the host functions and other definitions that modules import and instantiates modules in a
// [Store]; an [Instance] exports functions ([Func]), memories ([Memory]), globals ([Global]) and
// tables ([Table]). Everything taken from an instance carries its store, so calls take no store
// argument:
//
//	engine, _ := spry.NewEngine(nil)
//	module, _ := spry.Compile(engine, wasm)
//	linker, _ := spry.NewLinker(engine)
//	store, _ := spry.NewStore(engine)
//	inst, _ := linker.Instantiate(ctx, store, module)
//	add, _ := inst.Func("add")
//	results, err := add.Call(ctx, int32(1), int32(2))
//
// # Calls and their costs
//
// [Func.Call] converts Go values (int32, int64, float32, float64, uint32 and uint64, and int where
// the parameter's type makes it unambiguous) and allocates its results. [Func.CallRaw] passes
// arguments and results as raw 64-bit slots and allocates nothing; so do the typed helpers
// ([Typed2R] and its siblings), which check the signature once, when they are made, and return an
// ordinary Go function such as func(context.Context, int32, int32) (int32, error).
//
// Host functions are Go functions that Wasm imports. [Linker.DefineFunc] takes any Go function over
// int32, uint32, int64, uint64, float32 and float64, optionally with a first *[Caller] parameter
// and a last error result; its type is checked once, by reflection, when it is defined. Common
// shapes are called without reflection and without allocation; [Linker.DefineRawFunc] is the
// fastest form for every shape. A host function that returns an error stops the Wasm code with a
// [Trap] that wraps that error; a host function that panics unwinds the Wasm frames, and the
// outermost Go call into the store panics again with the original value. A host function that calls
// runtime.Goexit (t.Fatal in a test) ends its goroutine; the store stays usable: see
// [Linker.DefineFunc].
//
// # Contexts
//
// Every call takes a context.Context. When the context can be cancelled (ctx.Done() != nil), its
// cancellation or deadline interrupts the Wasm code at its next function entry or loop back-edge,
// and the call returns a *[Trap] with code [TrapInterrupt] that wraps ctx.Err(), so that
// errors.Is(err, context.DeadlineExceeded) holds. A context that cannot be cancelled costs nothing.
// An interrupt stops all the Wasm code that runs in the store, up to the outermost call. A host
// function reads the context of the call that reached it with [Caller.Context].
//
// # Concurrency
//
// [Engine], [Module] and [Linker] are safe for concurrent use by many goroutines (definitions made
// while a start function of the same linker runs in another goroutine wait for it). A [Store], and
// everything taken from it, is used by one goroutine at a time: a call that finds another goroutine
// inside the same store returns [ErrConcurrentStoreUse]. A host function may call back into its
// own store (Go → Wasm → Go → Wasm): that is the same goroutine, and allowed.
//
// # Releasing resources
//
// Every object that holds native resources has an idempotent Close method; a cleanup registered with
// runtime.AddCleanup releases what Close was not called for once the object is unreachable. Using
// an object after its Close returns [ErrClosed]; methods without an error result return zero values.
// Closing a [Store] releases its instances, memories, tables and globals: the items taken from it
// fail with [ErrClosed] afterwards. Set SPRY_DEBUG=leaks in the environment to have each object
// that a cleanup released, rather than Close, reported on standard error.
//
// # Memory
//
// A linear memory lives outside the Go heap, in a reservation that never moves: the slice returned
// by [Memory.Bytes] stays valid after the memory grows (in Go or in Wasm), but its length does not
// follow; call Bytes again to see the new pages. The slice is invalid once the store is closed.
//
// # Building
//
// The package needs cgo and the static library built from rust/spry-capi
// (cargo build --release -p spry-capi, which build.sh runs). Built with CGO_ENABLED=0, the package
// still compiles, with the same API, and its constructors return [ErrCgoRequired].
package spry
