//go:build cgo

package spry_test

import (
	"bytes"
	"context"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// BenchmarkInstantiateWASI is BenchmarkInstantiatePooling (same module, engine, linker and
// InstancePre) plus WASI: the linker defines wasi_snapshot_preview1 and every store gets its own
// WASI state (arguments, environment, stdout to a buffer) with SetWASI before it is instantiated.
// The difference between the two is what WASI adds to a store's life (the target: under
// 0.5 µs).
func BenchmarkInstantiateWASI(b *testing.B) {
	var out bytes.Buffer
	cfg := spry.NewWASIConfig().WithArgs("prog", "x").WithEnv("K", "V").WithStdout(&out)
	benchInstantiateWASI(b, func() *spry.WASIConfig { return cfg })
}

// BenchmarkInstantiateWASIOwnStdout is BenchmarkInstantiateWASI with the documented per-request
// pattern: one base config (arguments, environment), and each store its own stdout,
// base.WithStdout(a new buffer).
func BenchmarkInstantiateWASIOwnStdout(b *testing.B) {
	base := spry.NewWASIConfig().WithArgs("prog", "x").WithEnv("K", "V")
	benchInstantiateWASI(b, func() *spry.WASIConfig { return base.WithStdout(new(bytes.Buffer)) })
}

// benchInstantiateWASI measures new store + SetWASI(cfg()) + instantiate + close.
func benchInstantiateWASI(b *testing.B, cfg func() *spry.WASIConfig) {
	pooling := spry.DefaultPoolingConfig()
	pooling.TotalInstances, pooling.TotalMemories, pooling.TotalTables = 100, 100, 100
	engine := must(spry.NewEngine(&spry.Config{Pooling: &pooling}))(b)
	defer engine.Close()
	module := must(spry.Compile(engine, benchModule()))(b)
	linker := must(spry.NewLinker(engine))(b)
	if err := linker.DefineFunc("env", "host", func(x int32) int32 { return x }); err != nil {
		b.Fatal(err)
	}
	if err := linker.DefineWASI(); err != nil {
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
		if err := s.SetWASI(cfg()); err != nil {
			b.Fatal(err)
		}
		if _, err := pre.Instantiate(ctx, s); err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}

// BenchmarkSetWASI is what BenchmarkInstantiateWASI adds per store, alone: SetWASI on one store
// (each replaces, and so drops, the previous state, as Close would).
func BenchmarkSetWASI(b *testing.B) {
	engine := must(spry.NewEngine(nil))(b)
	defer engine.Close()
	s := must(spry.NewStore(engine))(b)
	defer s.Close()
	var out bytes.Buffer
	cfg := spry.NewWASIConfig().WithArgs("prog", "x").WithEnv("K", "V").WithStdout(&out)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SetWASI(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
