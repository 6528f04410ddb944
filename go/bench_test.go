//go:build cgo

package spry_test

import (
	"context"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// benchModule is
//
//	(module
//	  (import "env" "host" (func $host (param i32) (result i32)))
//	  (func (export "nop"))
//	  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
//	  (func (export "callHost") (param i32) (result i32) local.get 0 call $host))
func benchModule() []byte {
	m := newModule()
	host := m.importFunc("env", "host", sig(vt(spry.I32), spry.I32))
	m.exportFunc("nop", sig(nil), nil)
	m.exportFunc("add", sig(vt(spry.I32, spry.I32), spry.I32), nil, localGet(0), localGet(1), op(opI32Add))
	m.exportFunc("callHost", sig(vt(spry.I32), spry.I32), nil, localGet(0), call(host))
	return m.bytes()
}

type benchEnv struct {
	store *spry.Store
	inst  *spry.Instance
}

func newBenchEnv(b *testing.B, host any) benchEnv {
	b.Helper()
	engine := must(spry.NewEngine(nil))(b)
	b.Cleanup(func() { engine.Close() })
	module := must(spry.Compile(engine, benchModule()))(b)
	linker := must(spry.NewLinker(engine))(b)
	if raw, ok := host.(spry.RawFunc); ok {
		if err := linker.DefineRawFunc("env", "host", sig(vt(spry.I32), spry.I32), raw); err != nil {
			b.Fatal(err)
		}
	} else if err := linker.DefineFunc("env", "host", host); err != nil {
		b.Fatal(err)
	}
	store := must(spry.NewStore(engine))(b)
	b.Cleanup(func() { store.Close() })
	inst := must(linker.Instantiate(context.Background(), store, module))(b)
	return benchEnv{store, inst}
}

// The cost of an empty cgo call on this machine: the floor under every call into Wasm.
func BenchmarkCgoFloor(b *testing.B) {
	for b.Loop() {
		spry.CgoFloor()
	}
}

// The Go half of a call: claiming the store, the context, releasing the store.
func BenchmarkCallGoOverhead(b *testing.B) {
	env := newBenchEnv(b, func(x int32) int32 { return x })
	for b.Loop() {
		if err := spry.BeginEnd(env.store); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallEmptyRaw(b *testing.B) {
	env := newBenchEnv(b, func(x int32) int32 { return x })
	nop := must(env.inst.Func("nop"))(b)
	ctx := context.Background()
	slots := make([]uint64, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := nop.CallRaw(ctx, slots); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallEmptyTyped(b *testing.B) {
	env := newBenchEnv(b, func(x int32) int32 { return x })
	nop := must(spry.Typed0(must(env.inst.Func("nop"))(b)))(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := nop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallAddTyped(b *testing.B) {
	env := newBenchEnv(b, func(x int32) int32 { return x })
	add := must(spry.Typed2R[int32, int32, int32](must(env.inst.Func("add"))(b)))(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := add(ctx, 1, 2); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallAddAny(b *testing.B) {
	env := newBenchEnv(b, func(x int32) int32 { return x })
	add := must(env.inst.Func("add"))(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := add.Call(ctx, int32(1), int32(2)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallEmptyCancellableContext(b *testing.B) {
	env := newBenchEnv(b, func(x int32) int32 { return x })
	nop := must(env.inst.Func("nop"))(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slots := make([]uint64, 1)
	b.ReportAllocs()
	for b.Loop() {
		if err := nop.CallRaw(ctx, slots); err != nil {
			b.Fatal(err)
		}
	}
}

// The Wasm → Go round trip: the whole call, from Go into Wasm, into the host function and back,
// minus BenchmarkCallAddTyped gives the cost of the host call alone.
func BenchmarkHostCallRaw(b *testing.B) {
	env := newBenchEnv(b, spry.RawFunc(func(_ *spry.Caller, s []uint64) error { return nil }))
	f := must(spry.Typed1R[int32, int32](must(env.inst.Func("callHost"))(b)))(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostCallTyped(b *testing.B) {
	env := newBenchEnv(b, func(x int32) int32 { return x + 1 })
	f := must(spry.Typed1R[int32, int32](must(env.inst.Func("callHost"))(b)))(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostCallTypedWithCaller(b *testing.B) {
	env := newBenchEnv(b, func(c *spry.Caller, x int32) (int32, error) { return x + 1, nil })
	f := must(spry.Typed1R[int32, int32](must(env.inst.Func("callHost"))(b)))(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHostCallReflect(b *testing.B) {
	type fd int32
	env := newBenchEnv(b, func(x fd) int32 { return int32(x) + 1 })
	f := must(spry.Typed1R[int32, int32](must(env.inst.Func("callHost"))(b)))(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f(ctx, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileSmallModule(b *testing.B) {
	engine := must(spry.NewEngine(nil))(b)
	defer engine.Close()
	wasm := benchModule()
	b.ReportAllocs()
	for b.Loop() {
		m, err := spry.Compile(engine, wasm)
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

func BenchmarkInstantiate(b *testing.B) {
	engine := must(spry.NewEngine(nil))(b)
	defer engine.Close()
	module := must(spry.Compile(engine, benchModule()))(b)
	linker := must(spry.NewLinker(engine))(b)
	if err := linker.DefineFunc("env", "host", func(x int32) int32 { return x }); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := spry.NewStore(engine)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := linker.Instantiate(ctx, s, module); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

func BenchmarkInstantiatePre(b *testing.B) {
	engine := must(spry.NewEngine(nil))(b)
	defer engine.Close()
	module := must(spry.Compile(engine, benchModule()))(b)
	linker := must(spry.NewLinker(engine))(b)
	if err := linker.DefineFunc("env", "host", func(x int32) int32 { return x }); err != nil {
		b.Fatal(err)
	}
	pre := must(linker.InstantiatePre(module))(b)
	defer pre.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := spry.NewStore(engine)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pre.Instantiate(ctx, s); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkInstantiatePre with the pooling allocator: instances take and give back fixed slots.
func BenchmarkInstantiatePooling(b *testing.B) {
	pooling := spry.DefaultPoolingConfig()
	pooling.TotalInstances, pooling.TotalMemories, pooling.TotalTables = 100, 100, 100
	engine := must(spry.NewEngine(&spry.Config{Pooling: &pooling}))(b)
	defer engine.Close()
	module := must(spry.Compile(engine, benchModule()))(b)
	linker := must(spry.NewLinker(engine))(b)
	if err := linker.DefineFunc("env", "host", func(x int32) int32 { return x }); err != nil {
		b.Fatal(err)
	}
	pre := must(linker.InstantiatePre(module))(b)
	defer pre.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s, err := spry.NewStore(engine)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pre.Instantiate(ctx, s); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
