//go:build cgo

package spry

import (
	"context"
	"fmt"
)

// The typed helpers turn a *Func into an ordinary Go function, checking its signature once, here:
// the returned function converts nothing at run time and allocates nothing. The name says the
// number of parameters, and R marks a result: Typed2R[int32, int32, int32](f) returns a
// func(context.Context, int32, int32) (int32, error) for a Wasm function of type
// (i32, i32) -> (i32).
//
// A type parameter carries a Wasm type as in Number: int32 or uint32 for i32, int64 or uint64 for
// i64, float32 for f32, float64 for f64. The context works as for Func.Call.

// checkTyped checks f's type against the Go types of a typed helper.
func checkTyped(f *Func, params []ValueType, results []ValueType) error {
	if f == nil {
		return errNilFunc
	}
	want := FuncType{Params: params, Results: results}
	if !f.ty.equal(want) {
		return fmt.Errorf("%w: the function has type %v, the typed helper %v", ErrType, f.ty, want)
	}
	return nil
}

// Typed0 returns f as a Go function without parameters or results.
func Typed0(f *Func) (func(context.Context) error, error) {
	if err := checkTyped(f, nil, nil); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		_, err := f.store.callTyped(ctx, f.h, 0, 0, 0, 0, 0)
		return err
	}, nil
}

// Typed1 returns f as a Go function of one parameter without results.
func Typed1[P1 Number](f *Func) (func(context.Context, P1) error, error) {
	if err := checkTyped(f, []ValueType{numberType[P1]()}, nil); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1) error {
		_, err := f.store.callTyped(ctx, f.h, 1, toSlot(a), 0, 0, 0)
		return err
	}, nil
}

// Typed2 returns f as a Go function of two parameters without results.
func Typed2[P1, P2 Number](f *Func) (func(context.Context, P1, P2) error, error) {
	if err := checkTyped(f, []ValueType{numberType[P1](), numberType[P2]()}, nil); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1, b P2) error {
		_, err := f.store.callTyped(ctx, f.h, 2, toSlot(a), toSlot(b), 0, 0)
		return err
	}, nil
}

// Typed3 returns f as a Go function of three parameters without results.
func Typed3[P1, P2, P3 Number](f *Func) (func(context.Context, P1, P2, P3) error, error) {
	if err := checkTyped(f, []ValueType{numberType[P1](), numberType[P2](), numberType[P3]()}, nil); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1, b P2, c P3) error {
		_, err := f.store.callTyped(ctx, f.h, 3, toSlot(a), toSlot(b), toSlot(c), 0)
		return err
	}, nil
}

// Typed4 returns f as a Go function of four parameters without results.
func Typed4[P1, P2, P3, P4 Number](f *Func) (func(context.Context, P1, P2, P3, P4) error, error) {
	if err := checkTyped(f, []ValueType{numberType[P1](), numberType[P2](), numberType[P3](), numberType[P4]()}, nil); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1, b P2, c P3, d P4) error {
		_, err := f.store.callTyped(ctx, f.h, 4, toSlot(a), toSlot(b), toSlot(c), toSlot(d))
		return err
	}, nil
}

// Typed0R returns f as a Go function without parameters and with one result.
func Typed0R[R Number](f *Func) (func(context.Context) (R, error), error) {
	if err := checkTyped(f, nil, []ValueType{numberType[R]()}); err != nil {
		return nil, err
	}
	return func(ctx context.Context) (R, error) {
		r, err := f.store.callTyped(ctx, f.h, 1, 0, 0, 0, 0)
		return fromSlot[R](r), err
	}, nil
}

// Typed1R returns f as a Go function of one parameter and one result.
func Typed1R[P1, R Number](f *Func) (func(context.Context, P1) (R, error), error) {
	if err := checkTyped(f, []ValueType{numberType[P1]()}, []ValueType{numberType[R]()}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1) (R, error) {
		r, err := f.store.callTyped(ctx, f.h, 1, toSlot(a), 0, 0, 0)
		return fromSlot[R](r), err
	}, nil
}

// Typed2R returns f as a Go function of two parameters and one result: for example
// Typed2R[int32, int32, int32](add) is a func(context.Context, int32, int32) (int32, error).
func Typed2R[P1, P2, R Number](f *Func) (func(context.Context, P1, P2) (R, error), error) {
	if err := checkTyped(f, []ValueType{numberType[P1](), numberType[P2]()}, []ValueType{numberType[R]()}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1, b P2) (R, error) {
		r, err := f.store.callTyped(ctx, f.h, 2, toSlot(a), toSlot(b), 0, 0)
		return fromSlot[R](r), err
	}, nil
}

// Typed3R returns f as a Go function of three parameters and one result.
func Typed3R[P1, P2, P3, R Number](f *Func) (func(context.Context, P1, P2, P3) (R, error), error) {
	if err := checkTyped(f, []ValueType{numberType[P1](), numberType[P2](), numberType[P3]()}, []ValueType{numberType[R]()}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1, b P2, c P3) (R, error) {
		r, err := f.store.callTyped(ctx, f.h, 3, toSlot(a), toSlot(b), toSlot(c), 0)
		return fromSlot[R](r), err
	}, nil
}

// Typed4R returns f as a Go function of four parameters and one result.
func Typed4R[P1, P2, P3, P4, R Number](f *Func) (func(context.Context, P1, P2, P3, P4) (R, error), error) {
	if err := checkTyped(f, []ValueType{numberType[P1](), numberType[P2](), numberType[P3](), numberType[P4]()}, []ValueType{numberType[R]()}); err != nil {
		return nil, err
	}
	return func(ctx context.Context, a P1, b P2, c P3, d P4) (R, error) {
		r, err := f.store.callTyped(ctx, f.h, 4, toSlot(a), toSlot(b), toSlot(c), toSlot(d))
		return fromSlot[R](r), err
	}, nil
}
