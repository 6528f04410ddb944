//go:build cgo

package spry_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

const signalsChildEnv = "SPRY_SIGNALS_CHILD"

// TestSignalNotify: a program that calls signal.Notify (and signal.Ignore, signal.Reset) for SIGSEGV
// and SIGBUS, before and after creating an engine, still gets Wasm traps as *spry.Trap and Go nil
// dereferences as recoverable runtime panics. Spry installs its signal handler once per process,
// at the first engine, so the checks run in a fresh process: this test binary, re-run with only
// TestSignalNotifyChild and signalsChildEnv set.
func TestSignalNotify(t *testing.T) {
	if os.Getenv(signalsChildEnv) != "" {
		t.Skip("runs only as the parent")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSignalNotifyChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), signalsChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "signals child: all checks ran") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// TestSignalNotifyChild is the child process of TestSignalNotify.
func TestSignalNotifyChild(t *testing.T) {
	if os.Getenv(signalsChildEnv) == "" {
		t.Skip("runs only as TestSignalNotify's child process")
	}
	before := make(chan os.Signal, 4)
	signal.Notify(before, syscall.SIGSEGV, syscall.SIGBUS)
	signal.Ignore(syscall.SIGBUS)

	e, err := spry.NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	load := func() *spry.Func {
		f := newFixtureOn(t, e)
		inst := f.instantiate(t, trapsModule())
		return fn(t, inst, "load")
	}
	check := func(stage string) {
		// Out of bounds (guard page fault): a trap.
		_, err := load().Call(context.Background(), int32(0x7fff0000))
		var trap *spry.Trap
		if !errors.As(err, &trap) || trap.Code() != spry.TrapMemoryOutOfBounds {
			t.Fatalf("%s: Wasm load out of bounds: %v, want a memory trap", stage, err)
		}
		// A Go nil dereference: a recoverable runtime error.
		if msg := nilDeref(); !strings.Contains(msg, "nil pointer dereference") {
			t.Fatalf("%s: nil dereference recovered %q", stage, msg)
		}
	}
	check("Notify before the engine")

	after := make(chan os.Signal, 4)
	signal.Notify(after, syscall.SIGSEGV, syscall.SIGBUS)
	signal.Ignore(syscall.SIGSEGV)
	check("Notify and Ignore after the engine")

	signal.Reset(syscall.SIGSEGV, syscall.SIGBUS)
	check("Reset")

	// Faults are synchronous: none is delivered to the channels.
	select {
	case sig := <-before:
		t.Fatalf("a %v was delivered to a channel", sig)
	case sig := <-after:
		t.Fatalf("a %v was delivered to a channel", sig)
	default:
	}
	fmt.Println("signals child: all checks ran")
}

// nilDeref dereferences a nil pointer and returns the message of the recovered runtime error.
func nilDeref() (msg string) {
	defer func() {
		r := recover()
		if re, ok := r.(runtime.Error); ok {
			msg = re.Error()
		} else {
			msg = fmt.Sprintf("not a runtime.Error: %v", r)
		}
	}()
	var p *int
	_ = *nilPtr(p)
	return "no panic"
}

//go:noinline
func nilPtr(p *int) *int { return p }
