package spry

import (
	"errors"
	"fmt"
	"strings"
)

// TrapCode says why Wasm execution trapped. The numbers are those of the C surface
// (spry_trap_code, SPRY_TRAP_*).
type TrapCode uint8

// The trap codes.
const (
	TrapStackOverflow          TrapCode = 1  // the Wasm stack was exhausted
	TrapMemoryOutOfBounds      TrapCode = 2  // a memory access out of the memory's bounds
	TrapTableOutOfBounds       TrapCode = 3  // a table access out of the table's bounds
	TrapIndirectCallToNull     TrapCode = 4  // call_indirect through a null table entry
	TrapBadSignature           TrapCode = 5  // call_indirect to a function of another type
	TrapIntegerOverflow        TrapCode = 6  // integer overflow (i32.div_s(INT_MIN, -1), a float-to-int conversion out of range)
	TrapIntegerDivisionByZero  TrapCode = 7  // integer division or remainder by zero
	TrapBadConversionToInteger TrapCode = 8  // a float-to-int conversion of NaN
	TrapUnreachable            TrapCode = 9  // the unreachable instruction
	TrapInterrupt              TrapCode = 10 // interrupted (a cancelled context or passed deadline)
	TrapNullReference          TrapCode = 11 // a null reference was dereferenced
	TrapHostError              TrapCode = 12 // a host function returned an error (or panicked)
	TrapInternal               TrapCode = 13 // a runtime invariant was violated serving Wasm code (a bug in Spry, caught)
	TrapOutOfFuel              TrapCode = 14 // the store ran out of fuel (Config.ConsumeFuel, Store.SetFuel)
)

// Sentinel errors, one per trap code, for errors.Is: errors.Is(err, spry.ErrUnreachable) holds when
// err is (or wraps) a *Trap with code TrapUnreachable.
var (
	ErrStackOverflow          = errors.New("spry: call stack exhausted")
	ErrMemoryOutOfBounds      = errors.New("spry: out of bounds memory access")
	ErrTableOutOfBounds       = errors.New("spry: out of bounds table access")
	ErrIndirectCallToNull     = errors.New("spry: uninitialized element")
	ErrBadSignature           = errors.New("spry: indirect call type mismatch")
	ErrIntegerOverflow        = errors.New("spry: integer overflow")
	ErrIntegerDivisionByZero  = errors.New("spry: integer divide by zero")
	ErrBadConversionToInteger = errors.New("spry: invalid conversion to integer")
	ErrUnreachable            = errors.New("spry: unreachable")
	ErrInterrupted            = errors.New("spry: interrupted")
	ErrNullReference          = errors.New("spry: null reference")
	ErrHostError              = errors.New("spry: host function error")
	ErrInternal               = errors.New("spry: internal runtime error")
	ErrOutOfFuel              = errors.New("spry: all fuel consumed by WebAssembly")
)

var trapSentinels = [...]error{
	TrapStackOverflow:          ErrStackOverflow,
	TrapMemoryOutOfBounds:      ErrMemoryOutOfBounds,
	TrapTableOutOfBounds:       ErrTableOutOfBounds,
	TrapIndirectCallToNull:     ErrIndirectCallToNull,
	TrapBadSignature:           ErrBadSignature,
	TrapIntegerOverflow:        ErrIntegerOverflow,
	TrapIntegerDivisionByZero:  ErrIntegerDivisionByZero,
	TrapBadConversionToInteger: ErrBadConversionToInteger,
	TrapUnreachable:            ErrUnreachable,
	TrapInterrupt:              ErrInterrupted,
	TrapNullReference:          ErrNullReference,
	TrapHostError:              ErrHostError,
	TrapInternal:               ErrInternal,
	TrapOutOfFuel:              ErrOutOfFuel,
}

// Err returns the sentinel error of the code (ErrUnreachable for TrapUnreachable...), or nil for an
// unknown code.
func (c TrapCode) Err() error {
	if int(c) < len(trapSentinels) {
		return trapSentinels[c]
	}
	return nil
}

// String returns the message of the WebAssembly specification for the code ("unreachable",
// "integer divide by zero"...).
func (c TrapCode) String() string {
	if err := c.Err(); err != nil {
		return strings.TrimPrefix(err.Error(), "spry: ")
	}
	return fmt.Sprintf("trap code %d", uint8(c))
}

// Frame is one Wasm function of a trap's backtrace.
type Frame struct {
	FuncIndex  uint32 // the function's index in its module's function index space
	FuncName   string // from the module's name section; empty when absent
	ModuleName string // from the module's name section; empty when absent
}

// String returns "module!func", with "<module>" and "<wasm function N>" for missing names.
func (f Frame) String() string {
	m := f.ModuleName
	if m == "" {
		m = "<module>"
	}
	if f.FuncName == "" {
		return fmt.Sprintf("%s!<wasm function %d>", m, f.FuncIndex)
	}
	return m + "!" + f.FuncName
}

// Trap is the error of a call whose Wasm code stopped abnormally. Recover it with errors.As; test
// its code with errors.Is and the sentinels (ErrUnreachable...).
//
// A trap raised because a host function returned an error wraps that error (errors.Is and
// errors.As reach it); a trap raised because a context was cancelled wraps ctx.Err().
type Trap struct {
	code   TrapCode
	msg    string
	frames []Frame
	cause  error
}

// Code returns why the code trapped.
func (t *Trap) Code() TrapCode { return t.code }

// Frames returns the Wasm backtrace, innermost function first.
func (t *Trap) Frames() []Frame { return t.frames }

// Error returns the trap's message, with the innermost Wasm function when it is known.
func (t *Trap) Error() string {
	var b strings.Builder
	b.WriteString("spry: wasm trap: ")
	b.WriteString(t.msg)
	if t.cause != nil && !strings.Contains(t.msg, t.cause.Error()) {
		b.WriteString(": ")
		b.WriteString(t.cause.Error())
	}
	if len(t.frames) > 0 {
		b.WriteString(" (in ")
		b.WriteString(t.frames[0].String())
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the error the trap carries: the error a host function returned, or ctx.Err() for
// an interrupt caused by a context; nil otherwise.
func (t *Trap) Unwrap() error { return t.cause }

// Is reports whether target is the sentinel error of the trap's code (ErrUnreachable...).
func (t *Trap) Is(target error) bool {
	s := t.code.Err()
	return s != nil && target == s
}

// newInterruptTrap is the trap of a call that did not start, or stopped, because ctx was done.
func newInterruptTrap(cause error) *Trap {
	return &Trap{code: TrapInterrupt, msg: TrapInterrupt.String(), cause: cause}
}
