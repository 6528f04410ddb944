//go:build cgo

package spry_test

import (
	"context"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// must returns v, failing the test if err is not nil: must(f())(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(tb testing.TB) T {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return v
	}
}

// fixture is an engine, a store and a linker, closed when the test ends.
type fixture struct {
	engine *spry.Engine
	store  *spry.Store
	linker *spry.Linker
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{}
	f.engine = must(spry.NewEngine(nil))(t)
	f.store = must(spry.NewStore(f.engine))(t)
	f.linker = must(spry.NewLinker(f.engine))(t)
	t.Cleanup(func() {
		f.store.Close()
		f.linker.Close()
		f.engine.Close()
	})
	return f
}

// instantiate compiles wasm and instantiates it in the fixture's store with its linker.
func (f *fixture) instantiate(t testing.TB, wasm []byte) *spry.Instance {
	t.Helper()
	m := must(spry.Compile(f.engine, wasm))(t)
	t.Cleanup(func() { m.Close() })
	return must(f.linker.Instantiate(context.Background(), f.store, m))(t)
}

// fn returns the instance's exported function name.
func fn(t testing.TB, inst *spry.Instance, name string) *spry.Func {
	t.Helper()
	return must(inst.Func(name))(t)
}

// ctxb is the context of calls that need none.
var ctxb = context.Background()

// newFixtureOn is newFixture with a given engine (closed by the caller).
func newFixtureOn(t testing.TB, e *spry.Engine) *fixture {
	t.Helper()
	f := &fixture{engine: e}
	f.store = must(spry.NewStore(e))(t)
	f.linker = must(spry.NewLinker(e))(t)
	t.Cleanup(func() {
		f.store.Close()
		f.linker.Close()
	})
	return f
}
