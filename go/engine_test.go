//go:build cgo

package spry_test

import (
	"errors"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestNewEngineDefaults(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	if got := e.Config(); got != (spry.Config{}) {
		t.Errorf("Config() = %+v, want the zero Config", got)
	}
	if spry.Version() == "" {
		t.Error("Version() is empty")
	}
}

func TestNewEngineConfig(t *testing.T) {
	cfg := &spry.Config{MaxWasmStack: 1 << 20, DisableParallelCompilation: true, DisableGuardPages: true}
	e := must(spry.NewEngine(cfg))(t)
	defer e.Close()
	if e.Config() != *cfg {
		t.Errorf("Config() = %+v, want %+v", e.Config(), *cfg)
	}
	// The engine compiles and runs code with these settings.
	f := newFixtureOn(t, e)
	inst := f.instantiate(t, addModule())
	res := must(fn(t, inst, "add").Call(ctxb, 2, 3))(t)
	if res[0] != int32(5) {
		t.Errorf("add(2, 3) = %v", res[0])
	}
}

func TestNewEngineBadConfig(t *testing.T) {
	if _, err := spry.NewEngine(&spry.Config{MaxWasmStack: -1}); err == nil {
		t.Error("NewEngine with a negative MaxWasmStack succeeded")
	}
}

func TestEngineClose(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	m := must(spry.Compile(e, addModule()))(t)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := spry.Compile(e, addModule()); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Compile after Close: %v, want ErrClosed", err)
	}
	if err := spry.Validate(e, addModule()); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Validate after Close: %v, want ErrClosed", err)
	}
	if _, err := spry.NewStore(e); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("NewStore after Close: %v, want ErrClosed", err)
	}
	if _, err := spry.NewLinker(e); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("NewLinker after Close: %v, want ErrClosed", err)
	}
	// A module compiled before stays usable.
	if len(m.Exports()) != 1 {
		t.Errorf("Exports() after the engine's Close = %v", m.Exports())
	}
	m.Close()
}

func TestNilEngine(t *testing.T) {
	var e *spry.Engine
	if _, err := spry.Compile(e, addModule()); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Compile(nil engine): %v", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close of a nil engine: %v", err)
	}
}

func TestErrorsHaveAPrefix(t *testing.T) {
	for _, err := range []error{spry.ErrClosed, spry.ErrCgoRequired, spry.ErrConcurrentStoreUse, spry.ErrUnreachable} {
		if !strings.HasPrefix(err.Error(), "spry: ") {
			t.Errorf("%q has no spry: prefix", err)
		}
	}
}
