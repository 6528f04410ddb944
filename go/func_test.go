//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestCallConvertsValues(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, numbersModule())
	cases := []struct {
		fn   string
		args []any
		want []any
	}{
		{"nop", nil, []any{}},
		{"add32", []any{int32(2), int32(3)}, []any{int32(5)}},
		{"add32", []any{uint32(math.MaxUint32), uint32(2)}, []any{int32(1)}},
		{"add32", []any{40, 2}, []any{int32(42)}}, // untyped constants are ints
		{"add32", []any{-1, math.MaxUint32}, []any{int32(-2)}},
		{"add64", []any{int64(1) << 40, int64(1)}, []any{int64(1)<<40 + 1}},
		{"add64", []any{uint64(math.MaxUint64), 2}, []any{int64(1)}},
		{"addf32", []any{float32(1.5), float32(2.25)}, []any{float32(3.75)}},
		{"addf64", []any{0.5, 0.25}, []any{0.75}},
		{"sum5", []any{1, 2, 3, 4, 5}, []any{int32(15)}},
		{"sum4", []any{1, 2, 3, 4}, []any{int32(10)}},
		{"pair", []any{int32(9)}, []any{int32(9), int64(-1)}},
		{"ret64", nil, []any{int64(0x1_0000_0001)}},
	}
	for _, c := range cases {
		got, err := fn(t, inst, c.fn).Call(ctxb, c.args...)
		if err != nil {
			t.Errorf("%s%v: %v", c.fn, c.args, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s%v = %#v, want %#v", c.fn, c.args, got, c.want)
		}
	}
}

func TestCallBadArguments(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, numbersModule())
	cases := []struct {
		fn   string
		args []any
	}{
		{"add32", nil},                            // too few
		{"add32", []any{1, 2, 3}},                 // too many
		{"add32", []any{int64(1), int32(2)}},      // i64 for i32
		{"add32", []any{"1", 2}},                  // a string
		{"add32", []any{1 << 40, 2}},              // an int that does not fit
		{"add32", []any{1.0, 2}},                  // a float for an int
		{"addf32", []any{1.5, 2.5}},               // float64 for f32
		{"addf64", []any{float32(1), float32(2)}}, // float32 for f64
		{"add64", []any{nil, 1}},                  // nil
		{"add32", []any{&struct{}{}, int32(1)}},   // a pointer
		{"sum5", []any{1, 2, 3, 4, "5"}},          // the slow path checks too
		{"add64", []any{int32(1), int64(2)}},      // i32 for i64
		{"nop", []any{1}},                         // arguments for none
	}
	for _, c := range cases {
		_, err := fn(t, inst, c.fn).Call(ctxb, c.args...)
		if !errors.Is(err, spry.ErrType) {
			t.Errorf("%s%#v: err = %v, want ErrType", c.fn, c.args, err)
		}
	}
}

func TestCallRaw(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, numbersModule())
	slots := []uint64{40, 2}
	if err := fn(t, inst, "add32").CallRaw(ctxb, slots); err != nil {
		t.Fatal(err)
	}
	if slots[0] != 42 {
		t.Errorf("add32 raw = %d", slots[0])
	}
	slots = []uint64{math.Float64bits(1.25), math.Float64bits(2)}
	if err := fn(t, inst, "addf64").CallRaw(ctxb, slots); err != nil {
		t.Fatal(err)
	}
	if got := math.Float64frombits(slots[0]); got != 3.25 {
		t.Errorf("addf64 raw = %v", got)
	}
	// pair needs two slots for one parameter.
	if err := fn(t, inst, "pair").CallRaw(ctxb, []uint64{1}); !errors.Is(err, spry.ErrType) {
		t.Errorf("CallRaw with too few slots: %v, want ErrType", err)
	}
	slots = []uint64{7, 0}
	if err := fn(t, inst, "pair").CallRaw(ctxb, slots); err != nil {
		t.Fatal(err)
	}
	if slots[0] != 7 || slots[1] != math.MaxUint64 {
		t.Errorf("pair raw = %v", slots)
	}
	// Garbage in the high bits of an i32 slot is ignored.
	slots = []uint64{0xdead_beef_0000_0001, 1}
	if err := fn(t, inst, "add32").CallRaw(ctxb, slots); err != nil || uint32(slots[0]) != 2 {
		t.Errorf("add32 with high garbage = %x, %v", slots[0], err)
	}
	if err := fn(t, inst, "nop").CallRaw(ctxb, nil); err != nil {
		t.Errorf("nop with nil slots: %v", err)
	}
}

func TestTypedHelpers(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, numbersModule())
	add32 := must(spry.Typed2R[int32, int32, int32](fn(t, inst, "add32")))(t)
	if r, err := add32(ctxb, 20, 22); err != nil || r != 42 {
		t.Errorf("add32 = %d, %v", r, err)
	}
	addU := must(spry.Typed2R[uint32, uint32, uint32](fn(t, inst, "add32")))(t)
	if r, err := addU(ctxb, math.MaxUint32, 3); err != nil || r != 2 {
		t.Errorf("add32 unsigned = %d, %v", r, err)
	}
	add64 := must(spry.Typed2R[int64, int64, int64](fn(t, inst, "add64")))(t)
	if r, err := add64(ctxb, -5, 2); err != nil || r != -3 {
		t.Errorf("add64 = %d, %v", r, err)
	}
	addf32 := must(spry.Typed2R[float32, float32, float32](fn(t, inst, "addf32")))(t)
	if r, err := addf32(ctxb, 0.5, -2); err != nil || r != -1.5 {
		t.Errorf("addf32 = %v, %v", r, err)
	}
	addf64 := must(spry.Typed2R[float64, float64, float64](fn(t, inst, "addf64")))(t)
	if r, err := addf64(ctxb, math.Inf(1), 1); err != nil || !math.IsInf(r, 1) {
		t.Errorf("addf64 = %v, %v", r, err)
	}
	sum4 := must(spry.Typed4R[int32, int32, int32, int32, int32](fn(t, inst, "sum4")))(t)
	if r, err := sum4(ctxb, 1, 2, 3, 4); err != nil || r != 10 {
		t.Errorf("sum4 = %d, %v", r, err)
	}
	nop := must(spry.Typed0(fn(t, inst, "nop")))(t)
	if err := nop(ctxb); err != nil {
		t.Errorf("nop: %v", err)
	}
	ret64 := must(spry.Typed0R[uint64](fn(t, inst, "ret64")))(t)
	if r, err := ret64(ctxb); err != nil || r != 0x1_0000_0001 {
		t.Errorf("ret64 = %x, %v", r, err)
	}

	// Signature mismatches are found when the helper is made.
	mismatches := []error{
		second(spry.Typed2R[int64, int32, int32](fn(t, inst, "add32"))),
		second(spry.Typed2R[int32, int32, int64](fn(t, inst, "add32"))),
		second(spry.Typed1R[int32, int32](fn(t, inst, "add32"))),
		second(spry.Typed2[int32, int32](fn(t, inst, "add32"))),
		second(spry.Typed2R[float64, float64, float32](fn(t, inst, "addf64"))),
		second(spry.Typed0R[int32](fn(t, inst, "nop"))),
		second(spry.Typed1[int32](fn(t, inst, "nop"))),
		second(spry.Typed3[int32, int32, int32](fn(t, inst, "sum4"))),
		second(spry.Typed3R[int32, int32, int32, int32](fn(t, inst, "sum4"))),
		second(spry.Typed4[int32, int32, int32, int32](fn(t, inst, "sum4"))),
		second(spry.Typed1R[int32, int32](fn(t, inst, "pair"))),
		second(spry.Typed0(nil)),
	}
	for i, err := range mismatches {
		if err == nil {
			t.Errorf("mismatch %d: no error", i)
		} else if i < len(mismatches)-1 && !errors.Is(err, spry.ErrType) {
			t.Errorf("mismatch %d: %v, want ErrType", i, err)
		}
	}
}

func second[A, B any](_ A, b B) B { return b }

func TestFuncType(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, numbersModule())
	ft := fn(t, inst, "pair").Type()
	want := spry.FuncType{Params: vt(spry.I32), Results: vt(spry.I32, spry.I64)}
	if !reflect.DeepEqual(ft, want) {
		t.Errorf("Type() = %v, want %v", ft, want)
	}
	if ft.String() != "(i32) -> (i32, i64)" {
		t.Errorf("String() = %q", ft.String())
	}
	// The type is a copy.
	ft.Params[0] = spry.F64
	if fn(t, inst, "pair").Type().Params[0] != spry.I32 {
		t.Error("Type() shares its slices with the Func")
	}
	add := fn(t, inst, "pair")
	if add.Store() != f.store || add.Kind() != spry.ExternFunc {
		t.Error("Store() or Kind() is wrong")
	}
	// Lookups return the same *Func.
	if fn(t, inst, "pair") != add {
		t.Error("two lookups of an export gave two *Func")
	}
}

func TestNilFunc(t *testing.T) {
	var f *spry.Func
	if _, err := f.Call(ctxb); err == nil {
		t.Error("Call of a nil *Func succeeded")
	}
	if err := f.CallRaw(ctxb, nil); err == nil {
		t.Error("CallRaw of a nil *Func succeeded")
	}
	if f.Type().Params != nil || f.Store() != nil {
		t.Error("a nil *Func has a type or a store")
	}
}

func TestCallWithNilContext(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, addModule())
	var ctx context.Context // a nil context must not crash
	res, err := fn(t, inst, "add").Call(ctx, 1, 2)
	if err != nil || res[0] != int32(3) {
		t.Errorf("Call(nil ctx) = %v, %v", res, err)
	}
}

func TestTypedHelpersOverHostFunctions(t *testing.T) {
	// Host functions called from Go: every typed helper's happy path.
	f := newFixture(t)
	var got []int64
	record := func(xs ...int64) { got = append(got[:0], xs...) }
	newFunc := func(fn any) *spry.Func { return must(spry.NewFunc(f.store, fn))(t) }

	t1 := must(spry.Typed1[int64](newFunc(func(a int64) { record(a) })))(t)
	t2 := must(spry.Typed2[int32, int32](newFunc(func(a, b int32) { record(int64(a), int64(b)) })))(t)
	t3 := must(spry.Typed3[uint32, uint32, uint32](newFunc(func(a, b, c uint32) { record(int64(a), int64(b), int64(c)) })))(t)
	t4 := must(spry.Typed4[int32, int32, int32, int32](newFunc(func(a, b, c, d int32) { record(int64(a), int64(b), int64(c), int64(d)) })))(t)
	t1r := must(spry.Typed1R[float64, float64](newFunc(func(a float64) float64 { return a * 2 })))(t)
	t3r := must(spry.Typed3R[int64, int64, int64, int64](newFunc(func(a, b, c int64) int64 { return a - b - c })))(t)

	if err := t1(ctxb, -7); err != nil || len(got) != 1 || got[0] != -7 {
		t.Errorf("Typed1: %v, %v", got, err)
	}
	if err := t2(ctxb, 1, -2); err != nil || len(got) != 2 || got[1] != -2 {
		t.Errorf("Typed2: %v, %v", got, err)
	}
	if err := t3(ctxb, 1, 2, math.MaxUint32); err != nil || len(got) != 3 || got[2] != math.MaxUint32 {
		t.Errorf("Typed3: %v, %v", got, err)
	}
	if err := t4(ctxb, 1, 2, 3, 4); err != nil || len(got) != 4 || got[3] != 4 {
		t.Errorf("Typed4: %v, %v", got, err)
	}
	if r, err := t1r(ctxb, 1.25); err != nil || r != 2.5 {
		t.Errorf("Typed1R: %v, %v", r, err)
	}
	if r, err := t3r(ctxb, 10, 3, 2); err != nil || r != 5 {
		t.Errorf("Typed3R: %v, %v", r, err)
	}
}

func TestNewRawFunc(t *testing.T) {
	f := newFixture(t)
	ft := sig(vt(spry.I64, spry.F32), spry.F32)
	raw := must(spry.NewRawFunc(f.store, ft, func(c *spry.Caller, s []uint64) error {
		x := math.Float32frombits(uint32(s[1])) * float32(int64(s[0]))
		s[0] = uint64(math.Float32bits(x))
		return nil
	}))(t)
	if !reflect.DeepEqual(raw.Type(), ft) {
		t.Errorf("Type() = %v", raw.Type())
	}
	if res, err := raw.Call(ctxb, int64(3), float32(1.5)); err != nil || res[0] != float32(4.5) {
		t.Errorf("Call = %v, %v", res, err)
	}
	if _, err := spry.NewRawFunc(f.store, ft, nil); err == nil {
		t.Error("NewRawFunc(nil) succeeded")
	}
	if _, err := spry.NewRawFunc(f.store, sig(vt(spry.ExternRef)), func(*spry.Caller, []uint64) error { return nil }); !errors.Is(err, spry.ErrType) {
		t.Errorf("NewRawFunc with an externref: %v, want ErrType", err)
	}
}
