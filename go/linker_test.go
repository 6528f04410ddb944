//go:build cgo

package spry_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// defineHostModuleImports defines env.f and env.g for hostModule.
func defineHostModuleImports(t testing.TB, l *spry.Linker, f any) {
	t.Helper()
	if err := l.DefineFunc("env", "f", f); err != nil {
		t.Fatal(err)
	}
	if err := l.DefineFunc("env", "g", func() {}); err != nil {
		t.Fatal(err)
	}
}

func TestDefineFuncShapes(t *testing.T) {
	type fd int32 // a defined type: called through reflect
	shapes := map[string]any{
		"plain":           func(x int32) int32 { return x + 1 },
		"caller":          func(c *spry.Caller, x int32) int32 { return x + 1 },
		"error":           func(x int32) (int32, error) { return x + 1, nil },
		"caller+error":    func(c *spry.Caller, x int32) (int32, error) { return x + 1, nil },
		"unsigned":        func(x uint32) uint32 { return x + 1 },
		"defined type":    func(x fd) fd { return x + 1 },
		"mixed (reflect)": func(c *spry.Caller, x int32) (uint32, error) { return uint32(x) + 1, nil },
	}
	for name, host := range shapes {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			defineHostModuleImports(t, f.linker, host)
			inst := f.instantiate(t, hostModule())
			res, err := fn(t, inst, "callF").Call(ctxb, 41)
			if err != nil || res[0] != int32(42) {
				t.Errorf("callF(41) = %v, %v", res, err)
			}
		})
	}
}

func TestDefineFuncAllTypes(t *testing.T) {
	// (module
	//   (import "env" "mix" (func $mix (param i32 i64 f32 f64) (result f64)))
	//   (func (export "run") (result f64)
	//     i32.const -3 i64.const 1099511627776 f32.const 0.5 f64.const 0.25 call $mix))
	m := newModule()
	mix := m.importFunc("env", "mix", sig(vt(spry.I32, spry.I64, spry.F32, spry.F64), spry.F64))
	m.exportFunc("run", sig(nil, spry.F64), nil, i32Const(-3), i64Const(1<<40), op(0x43, 0, 0, 0, 0x3f), f64Const(0.25), call(mix))
	f := newFixture(t)
	var got []any
	err := f.linker.DefineFunc("env", "mix", func(a int32, b int64, c float32, d float64) float64 {
		got = []any{a, b, c, d}
		return float64(a) + float64(b) + float64(c) + d
	})
	if err != nil {
		t.Fatal(err)
	}
	inst := f.instantiate(t, m.bytes())
	res, err := fn(t, inst, "run").Call(ctxb)
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != float64(-3+(1<<40)+0.5+0.25) {
		t.Errorf("run() = %v", res[0])
	}
	if got[0] != int32(-3) || got[1] != int64(1<<40) || got[2] != float32(0.5) || got[3] != 0.25 {
		t.Errorf("arguments = %v", got)
	}
}

func TestDefineFuncFastShapes(t *testing.T) {
	// A sample of shapes called from Go through NewFunc and Func.Call, without Wasm (TestHostShapes
	// runs every generated shape through Wasm).
	f := newFixture(t)
	check := func(name string, fn any, args []any, want any) {
		t.Helper()
		hf, err := spry.NewFunc(f.store, fn)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		res, err := hf.Call(ctxb, args...)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		switch w := want.(type) {
		case nil:
			if len(res) != 0 {
				t.Errorf("%s%v = %v, want no results", name, args, res)
			}
		case []any:
			if !reflect.DeepEqual(res, w) {
				t.Errorf("%s%v = %v, want %v", name, args, res, w)
			}
		default:
			if len(res) != 1 || res[0] != want {
				t.Errorf("%s%v = %v, want %v", name, args, res, want)
			}
		}
	}
	check("i32x4", func(a, b, c, d int32) int32 { return a + b + c + d }, []any{1, 2, 3, 4}, int32(10))
	check("i64x3 caller", func(_ *spry.Caller, a, b, c int64) (int64, error) { return a * b * c, nil }, []any{2, 3, 4}, int64(24))
	check("f64x2", func(a, b float64) float64 { return a / b }, []any{1.0, 4.0}, 0.25)
	check("f32x1 error", func(a float32) (float32, error) { return -a, nil }, []any{float32(2)}, float32(-2))
	check("u64 none", func(_ *spry.Caller, a uint64) {}, []any{uint64(1)}, nil)
	check("u32 err", func(a, b uint32) error { return nil }, []any{uint32(1), uint32(2)}, nil)
	check("0 -> i64", func() int64 { return 1 << 50 }, nil, int64(1<<50))
	check("0 -> f32 caller", func(*spry.Caller) (float32, error) { return 1.5, nil }, nil, float32(1.5))
	check("0 -> 0", func() {}, nil, nil)
	check("0 -> error", func(*spry.Caller) error { return nil }, nil, nil)
	check("mixed", func(a int32, b float64) (float64, error) { return float64(a) + b, nil }, []any{1, 0.5}, 1.5)
	check("two results", func(a int32) (int32, int64) { return a, int64(a) * 2 }, []any{3}, []any{int32(3), int64(6)})
}

func TestDefineFuncBadFunctions(t *testing.T) {
	f := newFixture(t)
	bad := map[string]any{
		"nil":              nil,
		"nil func":         (func(int32))(nil),
		"not a function":   42,
		"string parameter": func(s string) {},
		"int parameter":    func(i int) {},
		"slice result":     func() []byte { return nil },
		"variadic":         func(xs ...int32) {},
		"caller not first": func(x int32, c *spry.Caller) {},
		"error not last":   func() (error, int32) { return nil, 0 },
		"raw func":         spry.RawFunc(func(*spry.Caller, []uint64) error { return nil }),
	}
	for name, fn := range bad {
		if err := f.linker.DefineFunc("env", name, fn); err == nil {
			t.Errorf("%s: DefineFunc succeeded", name)
		}
		if _, err := spry.NewFunc(f.store, fn); err == nil {
			t.Errorf("%s: NewFunc succeeded", name)
		}
	}
}

func TestDefineRawFunc(t *testing.T) {
	f := newFixture(t)
	err := f.linker.DefineRawFunc("env", "f", sig(vt(spry.I32), spry.I32), func(c *spry.Caller, s []uint64) error {
		s[0] = uint64(uint32(int32(s[0]) * 3))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.linker.DefineRawFunc("env", "g", sig(nil), func(*spry.Caller, []uint64) error { return nil }); err != nil {
		t.Fatal(err)
	}
	inst := f.instantiate(t, hostModule())
	if res, err := fn(t, inst, "callF").Call(ctxb, -5); err != nil || res[0] != int32(-15) {
		t.Errorf("callF(-5) = %v, %v", res, err)
	}
	// Bad definitions.
	if err := f.linker.DefineRawFunc("env", "x", sig(nil), nil); err == nil {
		t.Error("DefineRawFunc(nil) succeeded")
	}
	if err := f.linker.DefineRawFunc("env", "x", sig(vt(spry.FuncRef)), func(*spry.Caller, []uint64) error { return nil }); !errors.Is(err, spry.ErrType) {
		t.Errorf("DefineRawFunc with a funcref: %v, want ErrType", err)
	}
	if err := f.linker.DefineRawFunc("env", "x", sig(vt(spry.ValueType(42))), func(*spry.Caller, []uint64) error { return nil }); err == nil {
		t.Error("DefineRawFunc with an invalid type succeeded")
	}
}

func TestInstantiateUnknownImport(t *testing.T) {
	f := newFixture(t)
	if err := f.linker.DefineFunc("env", "f", func(x int32) int32 { return x }); err != nil {
		t.Fatal(err)
	}
	m := must(spry.Compile(f.engine, hostModule()))(t)
	defer m.Close()
	_, err := f.linker.Instantiate(ctxb, f.store, m)
	if err == nil || !strings.Contains(err.Error(), "env") || !strings.Contains(err.Error(), "g") {
		t.Errorf("Instantiate with env.g missing: %v", err)
	}
	var trap *spry.Trap
	if errors.As(err, &trap) {
		t.Error("an unknown import is a trap")
	}
}

func TestInstantiateMismatchedImport(t *testing.T) {
	f := newFixture(t)
	defineHostModuleImports(t, f.linker, func(x int64) int64 { return x })
	m := must(spry.Compile(f.engine, hostModule()))(t)
	defer m.Close()
	if _, err := f.linker.Instantiate(ctxb, f.store, m); err == nil {
		t.Error("Instantiate with env.f of the wrong type succeeded")
	}
}

func TestDefineTwice(t *testing.T) {
	f := newFixture(t)
	one := func() int32 { return 1 }
	two := func() int32 { return 2 }
	if err := f.linker.DefineFunc("env", "n", one); err != nil {
		t.Fatal(err)
	}
	if err := f.linker.DefineFunc("env", "n", two); err == nil {
		t.Error("a second definition succeeded without shadowing")
	}
	if err := f.linker.AllowShadowing(true); err != nil {
		t.Fatal(err)
	}
	if err := f.linker.DefineFunc("env", "n", two); err != nil {
		t.Errorf("a second definition with shadowing: %v", err)
	}
	// (module (import "env" "n" (func $n (result i32))) (func (export "n") (result i32) call $n))
	m := newModule()
	n := m.importFunc("env", "n", sig(nil, spry.I32))
	m.exportFunc("n", sig(nil, spry.I32), nil, call(n))
	inst := f.instantiate(t, m.bytes())
	if res := must(fn(t, inst, "n").Call(ctxb))(t); res[0] != int32(2) {
		t.Errorf("n() = %v, want the second definition", res[0])
	}
}

func TestLinkerDefineStoreItems(t *testing.T) {
	f := newFixture(t)
	mem := must(spry.NewMemory(f.store, spry.MemoryType{Min: 1, HasMax: true, Max: 2}))(t)
	copy(mem.Bytes()[100:], "shared")
	g := must(spry.NewGlobal(f.store, spry.GlobalType{Content: spry.I32, Mutable: true}, int32(5)))(t)
	if err := f.linker.Define("env", "mem", mem); err != nil {
		t.Fatal(err)
	}
	if err := f.linker.Define("env", "g", g); err != nil {
		t.Fatal(err)
	}
	if err := f.linker.Define("env", "nil", nil); err == nil {
		t.Error("Define(nil) succeeded")
	}
	// (module (import "env" "mem" (memory 1)) (import "env" "g" (global (mut i32)))
	//   (func (export "peek") (result i32) i32.const 100 i32.load8_u)
	//   (func (export "g") (result i32) global.get 0))
	m := newModule()
	m.importMemory("env", "mem", 1)
	m.importGlobal("env", "g", spry.I32, true)
	m.exportFunc("peek", sig(nil, spry.I32), nil, i32Const(100), i32Load8U(0))
	m.exportFunc("g", sig(nil, spry.I32), nil, globalGet(0))
	inst := f.instantiate(t, m.bytes())
	if res := must(fn(t, inst, "peek").Call(ctxb))(t); res[0] != int32('s') {
		t.Errorf("peek() = %v", res[0])
	}
	if err := g.Set(int32(9)); err != nil {
		t.Fatal(err)
	}
	if res := must(fn(t, inst, "g").Call(ctxb))(t); res[0] != int32(9) {
		t.Errorf("g() = %v", res[0])
	}
	// The same linker in another store: the items belong to the first.
	other := must(spry.NewStore(f.engine))(t)
	defer other.Close()
	mod := must(spry.Compile(f.engine, m.bytes()))(t)
	defer mod.Close()
	if _, err := f.linker.Instantiate(ctxb, other, mod); err == nil {
		t.Error("instantiating with items of another store succeeded")
	}
}

func TestLinkerDefineInstance(t *testing.T) {
	f := newFixture(t)
	lib := f.instantiate(t, addModule())
	if err := f.linker.DefineInstance("lib", lib); err != nil {
		t.Fatal(err)
	}
	// (module (import "lib" "add" (func $add (param i32 i32) (result i32)))
	//   (func (export "twice") (param i32) (result i32) local.get 0 local.get 0 call $add))
	m := newModule()
	add := m.importFunc("lib", "add", sig(vt(spry.I32, spry.I32), spry.I32))
	m.exportFunc("twice", sig(vt(spry.I32), spry.I32), nil, localGet(0), localGet(0), call(add))
	inst := f.instantiate(t, m.bytes())
	if res := must(fn(t, inst, "twice").Call(ctxb, 21))(t); res[0] != int32(42) {
		t.Errorf("twice(21) = %v", res[0])
	}
	if err := f.linker.DefineInstance("x", nil); err == nil {
		t.Error("DefineInstance(nil) succeeded")
	}
}

func TestNewInstanceWithImports(t *testing.T) {
	f := newFixture(t)
	fImp := must(spry.NewFunc(f.store, func(x int32) int32 { return x * 10 }))(t)
	gImp := must(spry.NewFunc(f.store, func() {}))(t)
	m := must(spry.Compile(f.engine, hostModule()))(t)
	defer m.Close()
	inst := must(spry.NewInstance(ctxb, f.store, m, []spry.Extern{fImp, gImp}))(t)
	if res := must(fn(t, inst, "callF").Call(ctxb, 4))(t); res[0] != int32(40) {
		t.Errorf("callF(4) = %v", res[0])
	}
	if _, err := spry.NewInstance(ctxb, f.store, m, []spry.Extern{fImp}); err == nil {
		t.Error("NewInstance with too few imports succeeded")
	}
	if _, err := spry.NewInstance(ctxb, f.store, m, []spry.Extern{gImp, fImp}); err == nil {
		t.Error("NewInstance with imports in the wrong order succeeded")
	}
	if _, err := spry.NewInstance(ctxb, f.store, m, []spry.Extern{fImp, nil}); err == nil {
		t.Error("NewInstance with a nil import succeeded")
	}
	other := must(spry.NewStore(f.engine))(t)
	defer other.Close()
	if _, err := spry.NewInstance(ctxb, other, m, []spry.Extern{fImp, gImp}); err == nil {
		t.Error("NewInstance with imports of another store succeeded")
	}
}

func TestStartFunctionTrap(t *testing.T) {
	// (module (func $start unreachable) (start $start))
	m := newModule()
	m.start = int64(m.fn(sig(nil), nil, op(opUnreachable)))
	f := newFixture(t)
	mod := must(spry.Compile(f.engine, m.bytes()))(t)
	defer mod.Close()
	_, err := f.linker.Instantiate(ctxb, f.store, mod)
	if !errors.Is(err, spry.ErrUnreachable) {
		t.Errorf("Instantiate with a trapping start: %v, want ErrUnreachable", err)
	}
}

func TestLinkerClose(t *testing.T) {
	f := newFixture(t)
	l := must(spry.NewLinker(f.engine))(t)
	if l.Engine() != f.engine {
		t.Error("Engine() is wrong")
	}
	defineHostModuleImports(t, l, func(x int32) int32 { return x + 1 })
	inst := must(l.Instantiate(ctxb, f.store, must(spry.Compile(f.engine, hostModule()))(t)))(t)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.DefineFunc("env", "h", func() {}); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("DefineFunc after Close: %v", err)
	}
	if err := l.AllowShadowing(true); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("AllowShadowing after Close: %v", err)
	}
	if _, err := l.Instantiate(ctxb, f.store, must(spry.Compile(f.engine, addModule()))(t)); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("Instantiate after Close: %v", err)
	}
	// The host functions of the closed linker still run in the instance made before.
	if res := must(fn(t, inst, "callF").Call(ctxb, 1))(t); res[0] != int32(2) {
		t.Errorf("callF after the linker's Close = %v", res[0])
	}
}

// hostShape is a host function of one shape for the shape tests: hostfunc_shapes_test.go
// (generated with hostfunc_fast.go, from the same tables) lists every shape of the fast path,
// reflectShapes some that go through reflect. fn records its Caller and its arguments' bits with
// shapeRecord, and returns want (and shapeError() if err).
type hostShape struct {
	name    string
	fn      any
	params  []spry.ValueType
	results []spry.ValueType
	want    []uint64 // the results' bits
	caller  bool     // fn takes a first *spry.Caller
	err     bool     // fn returns an error, shapeError()
}

// The results the shapes return, one per Go type (variables: some are converted to bits at run
// time), distinct from every argument shapeArg makes.
var (
	shapeI32 int32   = -123456789
	shapeI64 int64   = -0x123456789abcdef
	shapeU32 uint32  = 0xfedcba98
	shapeU64 uint64  = 0xfedcba9876543210
	shapeF32 float32 = -1.5e-7
	shapeF64 float64 = 6.02214076e23
)

// shapeSeen is what the shape functions recorded since the last reset.
var shapeSeen struct {
	calls  int
	caller bool        // the last call had a non-nil *spry.Caller
	store  *spry.Store // its store
	n      int         // how many arguments the last call had
	args   [8]uint64   // their bits
}

// shapeFail makes shapeError return errShape.
var shapeFail bool

var errShape = errors.New("the shape's error")

// shapeRecord records a shape function's call: its Caller (nil for shapes without one) and its
// arguments' bits. It allocates nothing.
func shapeRecord(c *spry.Caller, withCaller bool, args ...uint64) {
	shapeSeen.calls++
	shapeSeen.caller = withCaller && c != nil
	shapeSeen.store = c.Store()
	shapeSeen.n = copy(shapeSeen.args[:], args)
}

func shapeError() error {
	if shapeFail {
		return errShape
	}
	return nil
}

// shapeArg is the bits of argument i (up to 5) of Wasm type t: distinct for each position and type.
func shapeArg(t spry.ValueType, i int) uint64 {
	switch t {
	case spry.I32:
		return uint64([]uint32{0xfffffffe, 3, 0x80000000, 0x7fff1234, 0x10001, 0xdeadbeef}[i])
	case spry.I64:
		return []uint64{0xfffffffffffffff0, 5, 1<<63 | 1, 0x123456789abcdef0, 0x8000, 0xcafef00dd00dfeed}[i]
	case spry.F32:
		return uint64(math.Float32bits([]float32{-0.5, 1.25, 3e38, -7.75, 1e-40, 42}[i]))
	case spry.F64:
		return math.Float64bits([]float64{-1e300, 0.1, 2.5, -7.25, 5e-324, 1e100}[i])
	}
	panic(fmt.Sprintf("no arguments of type %v", t))
}

// slotBits masks a result slot to its type's width (an i32 or f32 result fills 32 bits).
func slotBits(t spry.ValueType, s uint64) uint64 {
	if t == spry.I32 || t == spry.F32 {
		return uint64(uint32(s))
	}
	return s
}

type definedI32 int32 // a defined type: served through reflect

// reflectShapes are shapes the generated adapters do not cover: they must run through reflect.
var reflectShapes = []hostShape{
	{
		name: "mixed parameter types", params: vt(spry.I32, spry.I64), results: vt(spry.I64),
		want: []uint64{uint64(shapeI64)},
		fn: func(a int32, b int64) int64 {
			shapeRecord(nil, false, uint64(uint32(a)), uint64(b))
			return shapeI64
		},
	},
	{
		name: "five parameters", params: vt(spry.I32, spry.I32, spry.I32, spry.I32, spry.I32), results: vt(spry.I32),
		want: []uint64{uint64(uint32(shapeI32))},
		fn: func(a, b, c, d, e int32) int32 {
			shapeRecord(nil, false, uint64(uint32(a)), uint64(uint32(b)), uint64(uint32(c)), uint64(uint32(d)), uint64(uint32(e)))
			return shapeI32
		},
	},
	{
		name: "defined type", params: vt(spry.I32), results: vt(spry.I32),
		want: []uint64{uint64(uint32(shapeI32))},
		fn: func(a definedI32) definedI32 {
			shapeRecord(nil, false, uint64(uint32(a)))
			return definedI32(shapeI32)
		},
	},
	{
		name: "result of another type than the parameters", params: vt(spry.F32), results: vt(spry.F64), caller: true, err: true,
		want: []uint64{math.Float64bits(shapeF64)},
		fn: func(c *spry.Caller, a float32) (float64, error) {
			shapeRecord(c, true, uint64(math.Float32bits(a)))
			return shapeF64, shapeError()
		},
	},
	{
		name: "two results", params: vt(spry.I64), results: vt(spry.I32, spry.F64), caller: true, err: true,
		want: []uint64{uint64(shapeU32), math.Float64bits(shapeF64)},
		fn: func(c *spry.Caller, a uint64) (uint32, float64, error) {
			shapeRecord(c, true, a)
			return shapeU32, shapeF64, shapeError()
		},
	},
	{
		name: "mixed parameters, no result", params: vt(spry.I32, spry.F32, spry.F64), caller: true,
		fn: func(c *spry.Caller, a uint32, b float32, d float64) {
			shapeRecord(c, true, uint64(a), uint64(math.Float32bits(b)), math.Float64bits(d))
		},
	},
	{
		name: "no parameters, two results", results: vt(spry.I64, spry.F32),
		want: []uint64{shapeU64, uint64(math.Float32bits(shapeF32))},
		fn: func() (uint64, float32) {
			shapeRecord(nil, false)
			return shapeU64, shapeF32
		},
	},
}

// shapeModule imports each shape i as shapes.s<i> and exports call<i> of the same type, which
// passes its parameters to the import in order and returns its results.
func shapeModule(shapes []hostShape) []byte {
	m := newModule()
	imports := make([]uint32, len(shapes))
	for i, s := range shapes {
		imports[i] = m.importFunc("shapes", fmt.Sprintf("s%d", i), sig(s.params, s.results...))
	}
	for i, s := range shapes {
		var body [][]byte
		for j := range s.params {
			body = append(body, localGet(uint32(j)))
		}
		body = append(body, call(imports[i]))
		m.exportFunc(fmt.Sprintf("call%d", i), sig(s.params, s.results...), nil, body...)
	}
	return m.bytes()
}

// shapeInstance defines every shape in a new fixture's linker, failing unless the generated fast
// path serves each exactly when wantFast, and instantiates shapeModule; it returns the fixture and
// the exports call<i>.
func shapeInstance(t *testing.T, shapes []hostShape, wantFast bool) (*fixture, []*spry.Func) {
	t.Helper()
	f := newFixture(t)
	for i, s := range shapes {
		fast, err := spry.DefineFuncPath(f.linker, "shapes", fmt.Sprintf("s%d", i), s.fn)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if fast != wantFast {
			t.Errorf("%s: served by the fast path: %v, want %v", s.name, fast, wantFast)
		}
	}
	inst := f.instantiate(t, shapeModule(shapes))
	calls := make([]*spry.Func, len(shapes))
	for i := range shapes {
		calls[i] = fn(t, inst, fmt.Sprintf("call%d", i))
	}
	t.Cleanup(func() { shapeFail = false })
	return f, calls
}

// shapeSlots returns the slots of a call to s with its distinct arguments.
func shapeSlots(s hostShape) []uint64 {
	slots := make([]uint64, max(len(s.params), len(s.results), 1))
	for i, p := range s.params {
		slots[i] = shapeArg(p, i)
	}
	return slots
}

// checkShape calls s through Wasm (the export call) and checks that its arguments arrived in
// order, that it saw a Caller of f's store if it takes one, that its results came back, and that
// an error it returns traps with that error.
func checkShape(t *testing.T, f *fixture, s hostShape, call *spry.Func) {
	t.Helper()
	shapeSeen.calls = 0
	slots := shapeSlots(s)
	if err := call.CallRaw(ctxb, slots); err != nil {
		t.Errorf("%s: %v", s.name, err)
		return
	}
	if shapeSeen.calls != 1 {
		t.Errorf("%s: the host function ran %d times, want once", s.name, shapeSeen.calls)
		return
	}
	if shapeSeen.n != len(s.params) {
		t.Errorf("%s: %d arguments arrived, want %d", s.name, shapeSeen.n, len(s.params))
	}
	for i, p := range s.params {
		if i < shapeSeen.n && shapeSeen.args[i] != shapeArg(p, i) {
			t.Errorf("%s: argument %d is %#x, want %#x", s.name, i, shapeSeen.args[i], shapeArg(p, i))
		}
	}
	if shapeSeen.caller != s.caller || (s.caller && shapeSeen.store != f.store) {
		t.Errorf("%s: Caller seen: %v (store %p), want %v (store %p)", s.name, shapeSeen.caller, shapeSeen.store, s.caller, f.store)
	}
	for i, r := range s.results {
		if got := slotBits(r, slots[i]); got != s.want[i] {
			t.Errorf("%s: result %d is %#x, want %#x", s.name, i, got, s.want[i])
		}
	}
	if s.err {
		shapeFail = true
		err := call.CallRaw(ctxb, shapeSlots(s))
		shapeFail = false
		var trap *spry.Trap
		if !errors.Is(err, errShape) || !errors.As(err, &trap) || trap.Code() != spry.TrapHostError {
			t.Errorf("%s returning an error: %v, want a host-error trap wrapping it", s.name, err)
		}
	}
}

// TestHostShapes runs every shape hostfunc_fast.go serves, for every numeric type, through Wasm,
// and checks that the generated adapter (not reflect) served each.
func TestHostShapes(t *testing.T) {
	// The generator's tables: 4 shapes without parameters or value results, 2 x 2 with a value
	// result and no parameters, 4 x 2 x 4 with one to four parameters, per numeric type (6).
	if want := 4 + 6*(2*2+4*2*4); len(fastHostShapes) != want {
		t.Fatalf("hostfunc_shapes_test.go lists %d shapes, want %d", len(fastHostShapes), want)
	}
	f, calls := shapeInstance(t, fastHostShapes, true)
	for i, s := range fastHostShapes {
		checkShape(t, f, s, calls[i])
	}
}

// TestHostReflectShapes runs shapes without a generated adapter through Wasm, and checks that
// reflect served each.
func TestHostReflectShapes(t *testing.T) {
	f, calls := shapeInstance(t, reflectShapes, false)
	for i, s := range reflectShapes {
		checkShape(t, f, s, calls[i])
	}
}
