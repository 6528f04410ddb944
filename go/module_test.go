//go:build cgo

package spry_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestCompileAndValidate(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	if err := spry.Validate(e, addModule()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	m := must(spry.Compile(e, addModule()))(t)
	defer m.Close()
	if m.Engine() != e {
		t.Error("Engine() is not the engine that compiled the module")
	}
}

func TestCompileBadBytes(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	valid := addModule()
	truncated := valid[:len(valid)-3]
	badMagic := append([]byte("\x00asn"), valid[4:]...)
	// A function whose body leaves nothing for its i32 result.
	mt := newModule()
	mt.exportFunc("bad", sig(nil, spry.I32), nil)
	illTyped := mt.bytes()
	for name, wasm := range map[string][]byte{
		"empty": nil, "truncated": truncated, "bad magic": badMagic, "ill-typed": illTyped, "text": []byte("(module)"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := spry.Compile(e, wasm); err == nil {
				t.Error("Compile succeeded")
			} else if !strings.HasPrefix(err.Error(), "spry: ") {
				t.Errorf("error %q has no spry: prefix", err)
			}
			if err := spry.Validate(e, wasm); err == nil {
				t.Error("Validate succeeded")
			}
		})
	}
}

func TestModuleImportsExports(t *testing.T) {
	e := must(spry.NewEngine(nil))(t)
	defer e.Close()
	m := newModule()
	m.moduleName = "described"
	m.importFunc("env", "f", sig(vt(spry.I32, spry.I64), spry.F64))
	m.importMemory("env", "mem", 2)
	m.importGlobal("env", "g", spry.I32, true)
	m.exportFunc("run", sig(nil), nil)
	m.export("table", spry.ExternTable, m.table(1, 4))
	m.export("counter", spry.ExternGlobal, m.global(spry.I64, false, i64Const(1)))
	mod := must(spry.Compile(e, m.bytes()))(t)
	defer mod.Close()

	if mod.Name() != "described" {
		t.Errorf("Name() = %q", mod.Name())
	}
	wantImports := []spry.ImportType{
		{Module: "env", Name: "f", Type: spry.ExternType{Kind: spry.ExternFunc, Func: spry.FuncType{Params: vt(spry.I32, spry.I64), Results: vt(spry.F64)}}},
		{Module: "env", Name: "mem", Type: spry.ExternType{Kind: spry.ExternMemory, Memory: spry.MemoryType{Min: 2}}},
		{Module: "env", Name: "g", Type: spry.ExternType{Kind: spry.ExternGlobal, Global: spry.GlobalType{Content: spry.I32, Mutable: true}}},
	}
	if got := mod.Imports(); !reflect.DeepEqual(got, wantImports) {
		t.Errorf("Imports() =\n%+v\nwant\n%+v", got, wantImports)
	}
	wantExports := []spry.ExportType{
		{Name: "run", Type: spry.ExternType{Kind: spry.ExternFunc}},
		{Name: "table", Type: spry.ExternType{Kind: spry.ExternTable, Table: spry.TableType{Element: spry.FuncRef, Min: 1, HasMax: true, Max: 4}}},
		{Name: "counter", Type: spry.ExternType{Kind: spry.ExternGlobal, Global: spry.GlobalType{Content: spry.I64}}},
	}
	if got := mod.Exports(); !reflect.DeepEqual(got, wantExports) {
		t.Errorf("Exports() =\n%+v\nwant\n%+v", got, wantExports)
	}
	if s := mod.Imports()[0].Type.String(); s != "func (i32, i64) -> (f64)" {
		t.Errorf("String() = %q", s)
	}
}

func TestModuleClose(t *testing.T) {
	f := newFixture(t)
	m := must(spry.Compile(f.engine, addModule()))(t)
	inst := must(f.linker.Instantiate(ctxb, f.store, m))(t)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := f.linker.Instantiate(ctxb, f.store, m); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Instantiate after Close: %v, want ErrClosed", err)
	}
	if _, err := spry.NewInstance(ctxb, f.store, m, nil); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("NewInstance after Close: %v, want ErrClosed", err)
	}
	// The instance made before keeps working.
	if res := must(fn(t, inst, "add").Call(ctxb, 1, 1))(t); res[0] != int32(2) {
		t.Errorf("add after the module's Close = %v", res)
	}
	// The description stays available.
	if len(m.Exports()) != 1 {
		t.Errorf("Exports() after Close = %v", m.Exports())
	}
}

func TestValueTypeStrings(t *testing.T) {
	for v, want := range map[spry.ValueType]string{
		spry.I32: "i32", spry.I64: "i64", spry.F32: "f32", spry.F64: "f64",
		spry.FuncRef: "funcref", spry.ExternRef: "externref", 9: "valtype(9)",
	} {
		if v.String() != want {
			t.Errorf("%d.String() = %q, want %q", v, v.String(), want)
		}
	}
	if s := (spry.GlobalType{Content: spry.I32, Mutable: true}).String(); s != "(mut i32)" {
		t.Errorf("GlobalType.String() = %q", s)
	}
	if s := (spry.MemoryType{Min: 1, HasMax: true, Max: 2}).String(); s != "1 2" {
		t.Errorf("MemoryType.String() = %q", s)
	}
	if s := (spry.TableType{Element: spry.FuncRef, Min: 1}).String(); s != "1 funcref" {
		t.Errorf("TableType.String() = %q", s)
	}
	if s := spry.ExternMemory.String(); s != "memory" {
		t.Errorf("ExternMemory.String() = %q", s)
	}
}
