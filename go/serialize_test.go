//go:build cgo

package spry_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// checkPoolModule checks that m, in e, behaves as poolModule(true).
func checkPoolModule(t *testing.T, e *spry.Engine, m *spry.Module) {
	t.Helper()
	checkPoolModuleData(t, e, m, 42)
}

// checkPoolModuleData checks that m, in e, behaves as poolModuleData(b).
func checkPoolModuleData(t *testing.T, e *spry.Engine, m *spry.Module, b byte) {
	t.Helper()
	f := newFixtureOn(t, e)
	inst := must(f.linker.Instantiate(ctxb, f.store, m))(t)
	load := must(spry.Typed1R[int32, int32](fn(t, inst, "load")))(t)
	if v, err := load(ctxb, 16); err != nil || v != int32(b) {
		t.Fatalf("load(16) = %d, %v; want %d", v, err, b)
	}
}

func TestSerializeRoundTrip(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	m := must(spry.Compile(e, poolModule(true)))(t)
	defer m.Close()
	b := must(m.Serialize())(t)
	if len(b) == 0 {
		t.Fatal("empty artifact")
	}
	loaded := must(spry.DeserializeModule(e, b))(t)
	defer loaded.Close()
	if !reflect.DeepEqual(loaded.Exports(), m.Exports()) || !reflect.DeepEqual(loaded.Imports(), m.Imports()) {
		t.Errorf("exports %v, imports %v; want %v, %v", loaded.Exports(), loaded.Imports(), m.Exports(), m.Imports())
	}
	if loaded.Engine() != e {
		t.Error("Engine() is not the engine it was loaded in")
	}
	checkPoolModule(t, e, loaded)
	// Serializing a loaded module gives an artifact that loads too.
	again := must(spry.DeserializeModule(e, must(loaded.Serialize())(t)))(t)
	defer again.Close()
	checkPoolModule(t, e, again)

	path := filepath.Join(t.TempDir(), "pool.spry")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile := must(spry.DeserializeModuleFile(e, path))(t)
	defer fromFile.Close()
	checkPoolModule(t, e, fromFile)
	if _, err := spry.DeserializeModuleFile(e, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("DeserializeModuleFile of a missing file succeeded")
	}
	if _, err := spry.DeserializeModuleFile(e, ""); err == nil {
		t.Error("DeserializeModuleFile of an empty path succeeded")
	}

	// After Close.
	m2 := must(spry.Compile(e, poolModule(false)))(t)
	m2.Close()
	if _, err := m2.Serialize(); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Serialize after Close: %v, want ErrClosed", err)
	}
	closed := must(spry.NewEngine(nil))(t)
	closed.Close()
	if _, err := spry.DeserializeModule(closed, b); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("DeserializeModule in a closed engine: %v, want ErrClosed", err)
	}
	if _, err := spry.DeserializeModuleFile(closed, path); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("DeserializeModuleFile in a closed engine: %v, want ErrClosed", err)
	}
	var nilModule *spry.Module
	if _, err := nilModule.Serialize(); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Serialize of nil: %v, want ErrClosed", err)
	}
}

func TestSerializeMismatchedEngine(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	m := must(spry.Compile(e, poolModule(true)))(t)
	defer m.Close()
	b := must(m.Serialize())(t)
	for name, cfg := range map[string]spry.Config{
		"DisableGuardPages": {DisableGuardPages: true},
		"DisableInterrupts": {DisableInterrupts: true},
	} {
		other := must(spry.NewEngine(&cfg))(t)
		if _, err := spry.DeserializeModule(other, b); err == nil {
			t.Errorf("%s: an artifact of a default engine loaded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
		other.Close()
	}
	// Settings that do not shape code do not matter.
	pooling := spry.DefaultPoolingConfig()
	pooling.TotalInstances, pooling.TotalMemories, pooling.TotalTables = 4, 4, 4
	other := must(spry.NewEngine(&spry.Config{DisableMemoryImages: true, Pooling: &pooling}))(t)
	defer other.Close()
	loaded := must(spry.DeserializeModule(other, b))(t)
	defer loaded.Close()
	checkPoolModule(t, other, loaded)
}

func TestDeserializeCorrupt(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	m := must(spry.Compile(e, poolModule(true)))(t)
	defer m.Close()
	b := must(m.Serialize())(t)
	try := func(what string, bad []byte) {
		t.Helper()
		if m, err := spry.DeserializeModule(e, bad); err == nil {
			m.Close()
			t.Errorf("%s: loaded", what)
		}
	}
	try("nil", nil)
	try("a Wasm module", poolModule(true))
	for _, n := range []int{1, 4, 8, 16, len(b) / 3, len(b) / 2, len(b) - 8, len(b) - 1} {
		try("truncated", b[:n])
	}
	step := max(1, len(b)/200)
	for i := 0; i < len(b); i += step {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x5a
		try("corrupt", bad)
	}
	try("extended", append(append([]byte(nil), b...), 0))
	path := filepath.Join(t.TempDir(), "bad.spry")
	if err := os.WriteFile(path, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := spry.DeserializeModuleFile(e, path); err == nil {
		t.Error("a truncated file loaded")
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := spry.DeserializeModuleFile(e, path); err == nil {
		t.Error("an empty file loaded")
	}
}

func TestCacheDirAndMemoryImages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	pooling := spry.DefaultPoolingConfig()
	pooling.TotalInstances = 3
	cfg := spry.Config{CacheDir: dir, DisableMemoryImages: true, Pooling: &pooling}
	engine := func() *spry.Engine {
		e := must(spry.NewEngine(&cfg))(t)
		got := e.Config()
		if got.CacheDir != dir || !got.DisableMemoryImages || got.Pooling == nil || *got.Pooling != pooling || got.Pooling == &pooling {
			t.Errorf("Config() = %+v", got)
		}
		return e
	}
	entries := func() []os.DirEntry {
		t.Helper()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		return entries
	}

	// The first engine compiles the module and stores it in the cache: one entry appears.
	e := engine()
	m := must(spry.Compile(e, poolModule(true)))(t)
	checkPoolModule(t, e, m)
	artifact := must(m.Serialize())(t)
	m.Close()
	e.Close()
	stored := entries()
	if len(stored) != 1 {
		t.Fatalf("the cache directory holds %d entries after one compilation, want 1", len(stored))
	}
	entry := filepath.Join(dir, stored[0].Name())
	if b, err := os.ReadFile(entry); err != nil || !bytes.Equal(b, artifact) {
		t.Errorf("the entry is not the module's artifact (%d bytes, %v; the artifact has %d)", len(b), err, len(artifact))
	}

	// A module compiled from the same bytes by a later engine must come from that entry. To see it,
	// the entry is replaced by the artifact of another module (43 at 16, not 42), compiled with the
	// same settings: a module loaded from the cache shows 43, a compiled one 42.
	e = engine()
	defer e.Close()
	variant := must(spry.Compile(e, poolModuleData(43)))(t)
	planted := must(variant.Serialize())(t)
	variant.Close()
	if n := len(entries()); n != 2 {
		t.Fatalf("the cache directory holds %d entries after a second module, want 2", n)
	}
	if err := os.WriteFile(entry, planted, 0o600); err != nil {
		t.Fatal(err)
	}
	m = must(spry.Compile(e, poolModule(true)))(t)
	defer m.Close()
	checkPoolModuleData(t, e, m, 43)

	if _, err := spry.NewEngine(&spry.Config{Pooling: &spry.PoolingConfig{MaxVMContextSize: -1}}); err == nil {
		t.Error("a negative MaxVMContextSize was accepted")
	}
}
