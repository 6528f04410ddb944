//go:build cgo

package spry_test

import (
	"errors"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

func TestTraps(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	cases := []struct {
		fn       string
		args     []any
		code     spry.TrapCode
		sentinel error
		frame    string
	}{
		{"unreachable", nil, spry.TrapUnreachable, spry.ErrUnreachable, "traps!unreachable"},
		{"div", []any{1, 0}, spry.TrapIntegerDivisionByZero, spry.ErrIntegerDivisionByZero, "traps!div"},
		{"div", []any{int32(-1 << 31), -1}, spry.TrapIntegerOverflow, spry.ErrIntegerOverflow, "traps!div"},
		{"load", []any{65535}, spry.TrapMemoryOutOfBounds, spry.ErrMemoryOutOfBounds, "traps!load"},
		{"load", []any{-1}, spry.TrapMemoryOutOfBounds, spry.ErrMemoryOutOfBounds, "traps!load"},
		{"recurse", nil, spry.TrapStackOverflow, spry.ErrStackOverflow, "traps!recurse"},
	}
	for _, c := range cases {
		_, err := fn(t, inst, c.fn).Call(ctxb, c.args...)
		var trap *spry.Trap
		if !errors.As(err, &trap) {
			t.Errorf("%s%v: err = %v, want a *Trap", c.fn, c.args, err)
			continue
		}
		if trap.Code() != c.code {
			t.Errorf("%s%v: Code() = %v, want %v", c.fn, c.args, trap.Code(), c.code)
		}
		if !errors.Is(err, c.sentinel) {
			t.Errorf("%s%v: errors.Is(%v) is false", c.fn, c.args, c.sentinel)
		}
		if errors.Is(err, spry.ErrInterrupted) {
			t.Errorf("%s%v: errors.Is(ErrInterrupted) is true", c.fn, c.args)
		}
		if len(trap.Frames()) == 0 || trap.Frames()[0].String() != c.frame {
			t.Errorf("%s%v: Frames() = %v, want %s first", c.fn, c.args, trap.Frames(), c.frame)
		}
		if !strings.Contains(err.Error(), c.code.String()) {
			t.Errorf("%s%v: Error() = %q does not say %q", c.fn, c.args, err, c.code)
		}
	}
}

func TestTrapBacktrace(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	err := second(fn(t, inst, "outer").Call(ctxb))
	var trap *spry.Trap
	if !errors.As(err, &trap) {
		t.Fatalf("err = %v", err)
	}
	frames := trap.Frames()
	if len(frames) != 2 {
		t.Fatalf("Frames() = %v, want inner then outer", frames)
	}
	if frames[0].FuncName != "inner" || frames[1].FuncName != "outer" || frames[0].ModuleName != "traps" {
		t.Errorf("Frames() = %+v", frames)
	}
	if frames[1].FuncIndex != frames[0].FuncIndex+1 {
		t.Errorf("FuncIndex: %d, %d", frames[0].FuncIndex, frames[1].FuncIndex)
	}
	if !strings.Contains(trap.Error(), "traps!inner") {
		t.Errorf("Error() = %q", trap.Error())
	}
	if trap.Unwrap() != nil {
		t.Errorf("Unwrap() = %v, want nil for a Wasm trap", trap.Unwrap())
	}
}

func TestTrapLeavesStoreUsable(t *testing.T) {
	f := newFixture(t)
	inst := f.instantiate(t, trapsModule())
	for i := 0; i < 100; i++ {
		if _, err := fn(t, inst, "recurse").Call(ctxb); !errors.Is(err, spry.ErrStackOverflow) {
			t.Fatalf("recurse: %v", err)
		}
		if res, err := fn(t, inst, "div").Call(ctxb, 9, 3); err != nil || res[0] != int32(3) {
			t.Fatalf("div after a trap = %v, %v", res, err)
		}
	}
}

func TestTrapCodes(t *testing.T) {
	for c := spry.TrapStackOverflow; c <= spry.TrapHostError; c++ {
		if c.Err() == nil || c.String() == "" || strings.HasPrefix(c.String(), "spry") {
			t.Errorf("code %d: Err() = %v, String() = %q", c, c.Err(), c.String())
		}
	}
	if spry.TrapCode(99).Err() != nil || spry.TrapCode(99).String() != "trap code 99" {
		t.Error("unknown code")
	}
	if spry.TrapUnreachable.String() != "unreachable" {
		t.Errorf("TrapUnreachable.String() = %q", spry.TrapUnreachable.String())
	}
	f := spry.Frame{FuncIndex: 3}
	if f.String() != "<module>!<wasm function 3>" {
		t.Errorf("Frame.String() = %q", f.String())
	}
}
