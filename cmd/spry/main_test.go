package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// spryBin is the command, built once by TestMain; cacheHome is the XDG_CACHE_HOME of its runs (so
// that tests never touch the user's cache).
var spryBin, cacheHome string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "spry-cmd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	spryBin = filepath.Join(dir, "spry")
	cacheHome = filepath.Join(dir, "cache")
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(goTool, "build", "-o", spryBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building spry:", err)
		return 1
	}
	return m.Run()
}

// result is what a run of the command did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit status %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runSpry runs the command in dir (the test's directory when "") with args, with extra environment
// variables env ("NAME=VALUE").
func runSpry(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(spryBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+cacheHome), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("spry %v: %v", args, err)
		}
		code = exit.ExitCode()
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// expect fails the test unless the run exited with code and its stdout is stdout (when not "-").
func expect(t *testing.T, r result, code int, stdout string) {
	t.Helper()
	if r.code != code || (stdout != "-" && r.stdout != stdout) {
		t.Errorf("want exit status %d and stdout %q; got %v", code, stdout, r)
	}
}

// writeFile writes a fixture into dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// compute is a module without imports: traps, loops, arithmetic, memory growth.
const compute = `(module
  (memory (export "memory") 1)
  (func $inner (unreachable))
  (func $middle (call $inner))
  (func (export "_start") (call $middle))
  (func (export "add") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
    (i32.add (local.get 0) (i32.const 1))
    (i64.add (local.get 1) (i64.const 1))
    (f32.add (local.get 2) (f32.const 1))
    (f64.add (local.get 3) (f64.const 1)))
  (func $spin (export "spin") (loop $l (br $l)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "count") (param i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i)))`

func TestTrap(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "compute.wat", compute)
	r := runSpry(t, dir, nil, "run", "compute.wat")
	if r.code != exitTrap || !strings.Contains(r.stderr, "Error: wasm trap: unreachable") {
		t.Fatalf("want a trap (status %d, \"unreachable\"); got %v", exitTrap, r)
	}
	// The backtrace, innermost first, with the names of the name section.
	inner, middle := strings.Index(r.stderr, "inner"), strings.Index(r.stderr, "middle")
	if !strings.Contains(r.stderr, "wasm backtrace:") || inner < 0 || middle < inner {
		t.Errorf("want a backtrace with $inner then $middle; got %v", r)
	}
}

func TestInvoke(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "compute.wat", compute)
	r := runSpry(t, dir, nil, "run", "--invoke", "add", "compute.wat", "41", "-2", "0.5", "1e100")
	expect(t, r, 0, "42\n-1\n1.5\n1e+100\n")
	// An i32 also takes unsigned values and hexadecimal; results are signed.
	r = runSpry(t, dir, nil, "run", "--invoke=add", "compute.wat", "0xfffffffe", "9223372036854775807", "inf", "-0")
	expect(t, r, 0, "-1\n-9223372036854775808\ninf\n1\n")
	r = runSpry(t, dir, nil, "run", "--invoke", "add", "compute.wat", "1")
	if r.code != exitUsage || !strings.Contains(r.stderr, "takes 4 arguments") {
		t.Errorf("want a usage error about the arguments; got %v", r)
	}
	r = runSpry(t, dir, nil, "run", "--invoke", "add", "compute.wat", "x", "1", "1", "1")
	if r.code != exitUsage || !strings.Contains(r.stderr, `"x" is not an i32`) {
		t.Errorf("want a usage error about the argument; got %v", r)
	}
	r = runSpry(t, dir, nil, "run", "--invoke", "nope", "compute.wat")
	if r.code != exitError || !strings.Contains(r.stderr, `no function "nope"`) || !strings.Contains(r.stderr, "add, spin, grow") {
		t.Errorf("want an error naming the exports; got %v", r)
	}
}

// A reactor is initialized (_initialize) before the function --invoke names.
func TestInvokeReactor(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "reactor.wat", `(module
	  (global $g (mut i32) (i32.const 0))
	  (func (export "_initialize") (global.set $g (i32.const 40)))
	  (func (export "get") (param i32) (result i32) (i32.add (global.get $g) (local.get 0))))`)
	expect(t, runSpry(t, dir, nil, "run", "--invoke", "get", "reactor.wat", "2"), 0, "42\n")
	expect(t, runSpry(t, dir, nil, "run", "reactor.wat"), 0, "")
}

func TestFuel(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "compute.wat", compute)
	r := runSpry(t, dir, nil, "run", "--fuel", "1000000", "--invoke", "spin", "compute.wat")
	if r.code != exitTrap || !strings.Contains(r.stderr, "all fuel consumed") {
		t.Errorf("want an out-of-fuel trap; got %v", r)
	}
	// Enough fuel for a short loop, not for a long one: the count is deterministic.
	expect(t, runSpry(t, dir, nil, "run", "--fuel", "100000", "--invoke", "count", "compute.wat", "100"), 0, "100\n")
	r = runSpry(t, dir, nil, "run", "--fuel", "100000", "--invoke", "count", "compute.wat", "1000000")
	if r.code != exitTrap || !strings.Contains(r.stderr, "all fuel consumed") {
		t.Errorf("want an out-of-fuel trap; got %v", r)
	}
}

func TestTimeout(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "compute.wat", compute)
	r := runSpry(t, dir, nil, "run", "--timeout", "200ms", "--invoke", "spin", "compute.wat")
	if r.code != exitTrap || !strings.Contains(r.stderr, "timed out") || !strings.Contains(r.stderr, "spin") {
		t.Errorf("want a timeout with the backtrace; got %v", r)
	}
}

func TestMaxMemory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "compute.wat", compute)
	// One page to start with; 128 KiB allows one more, not two.
	expect(t, runSpry(t, dir, nil, "run", "--max-memory", "128K", "--invoke", "grow", "compute.wat", "1"), 0, "1\n")
	expect(t, runSpry(t, dir, nil, "run", "--max-memory", "128K", "--invoke", "grow", "compute.wat", "2"), 0, "-1\n")
	expect(t, runSpry(t, dir, nil, "run", "--invoke", "grow", "compute.wat", "2"), 0, "1\n")
	r := runSpry(t, dir, nil, "run", "--max-memory", "lots", "compute.wat")
	if r.code != exitUsage {
		t.Errorf("want a usage error; got %v", r)
	}
}

func TestMaxWasmStack(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "rec.wat", `(module
	  (func $rec (export "rec") (param i32) (result i32)
	    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
	      (else (i32.add (i32.const 1) (call $rec (i32.sub (local.get 0) (i32.const 1))))))))`)
	expect(t, runSpry(t, dir, nil, "run", "--invoke", "rec", "rec.wat", "1000"), 0, "1000\n")
	r := runSpry(t, dir, nil, "run", "--max-wasm-stack", "16K", "--invoke", "rec", "rec.wat", "100000")
	if r.code != exitTrap || !strings.Contains(r.stderr, "call stack exhausted") {
		t.Errorf("want a stack overflow; got %v", r)
	}
}

func TestCompileThenRun(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "compute.wat", compute)
	expect(t, runSpry(t, dir, nil, "compile", "compute.wat", "-o", "compute.cwasm"), 0, "")
	b, err := os.ReadFile(filepath.Join(dir, "compute.cwasm"))
	if err != nil || !bytes.HasPrefix(b, artifactMagic) {
		t.Fatalf("compile wrote no artifact: %v", err)
	}
	expect(t, runSpry(t, dir, nil, "run", "--no-cache", "--invoke", "add", "compute.cwasm", "1", "2", "3", "4"), 0, "2\n3\n4\n5\n")
	// The format is told by the contents, not by the name.
	if err := os.Rename(filepath.Join(dir, "compute.cwasm"), filepath.Join(dir, "renamed.wasm")); err != nil {
		t.Fatal(err)
	}
	expect(t, runSpry(t, dir, nil, "run", "--invoke", "add", "renamed.wasm", "1", "2", "3", "4"), 0, "2\n3\n4\n5\n")
	// Without fuel accounting compiled in, --fuel cannot work; with it, the artifact runs either way.
	r := runSpry(t, dir, nil, "run", "--fuel", "10", "--invoke", "spin", "renamed.wasm")
	if r.code != exitError || !strings.Contains(r.stderr, "--consume-fuel") {
		t.Errorf("want an error pointing to --consume-fuel; got %v", r)
	}
	expect(t, runSpry(t, dir, nil, "compile", "--consume-fuel", "-o", "fuel.cwasm", "compute.wat"), 0, "")
	r = runSpry(t, dir, nil, "run", "--fuel", "10", "--invoke", "spin", "fuel.cwasm")
	if r.code != exitTrap || !strings.Contains(r.stderr, "fuel") {
		t.Errorf("want an out-of-fuel trap; got %v", r)
	}
	expect(t, runSpry(t, dir, nil, "run", "--invoke", "count", "fuel.cwasm", "7"), 0, "7\n")
	// The default output name, and the binary format as input.
	wasm := filepath.Join(dir, "bin.wasm")
	bin, err := wasmOf(compute)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wasm, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, runSpry(t, dir, nil, "compile", "bin.wasm"), 0, "")
	expect(t, runSpry(t, dir, nil, "run", "--invoke", "count", "bin.cwasm", "3"), 0, "3\n")
	r = runSpry(t, dir, nil, "compile", "bin.cwasm")
	if r.code != exitError || !strings.Contains(r.stderr, "already compiled") {
		t.Errorf("want an error; got %v", r)
	}
}

func TestBadModule(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad.wat", "(module (func (export \"f\") (result i32)))")
	r := runSpry(t, dir, nil, "run", "bad.wat")
	if r.code != exitError || !strings.HasPrefix(r.stderr, "Error: ") {
		t.Errorf("want a validation error; got %v", r)
	}
	writeFile(t, dir, "syntax.wat", "(module (func (i32.bogus)))")
	r = runSpry(t, dir, nil, "run", "syntax.wat")
	if r.code != exitError || !strings.Contains(r.stderr, "syntax.wat") {
		t.Errorf("want a syntax error; got %v", r)
	}
	r = runSpry(t, dir, nil, "run", "missing.wasm")
	if r.code != exitError || !strings.Contains(r.stderr, "missing.wasm") {
		t.Errorf("want a file error; got %v", r)
	}
	writeFile(t, dir, "import.wat", `(module (import "env" "foo" (func)))`)
	r = runSpry(t, dir, nil, "run", "import.wat")
	if r.code != exitError || !strings.Contains(r.stderr, "foo") {
		t.Errorf("want a link error naming env.foo; got %v", r)
	}
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	home := filepath.Join(dir, "cache")
	env := []string{"XDG_CACHE_HOME=" + home}
	writeFile(t, dir, "compute.wat", compute)
	entries := func() []string {
		t.Helper()
		found, err := filepath.Glob(filepath.Join(home, "spry", "*", "*.spryaot"))
		if err != nil {
			t.Fatal(err)
		}
		return found
	}
	expect(t, runSpry(t, dir, env, "run", "--no-cache", "--invoke", "count", "compute.wat", "5"), 0, "5\n")
	if e := entries(); len(e) != 0 {
		t.Fatalf("--no-cache wrote %v", e)
	}
	expect(t, runSpry(t, dir, env, "run", "--invoke", "count", "compute.wat", "5"), 0, "5\n")
	e := entries()
	if len(e) != 1 {
		t.Fatalf("want one cache entry after a run, found %v", e)
	}
	before, err := os.Stat(e[0])
	if err != nil {
		t.Fatal(err)
	}
	// A hit loads the entry: it is neither rewritten nor replaced (a rename would make a new file).
	expect(t, runSpry(t, dir, env, "run", "--invoke", "count", "compute.wat", "6"), 0, "6\n")
	after, err := os.Stat(e[0])
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) || len(entries()) != 1 {
		t.Errorf("the second run rewrote the cache entry (%v, then %v)", before.ModTime(), after.ModTime())
	}
	// Fuel accounting changes the code: another entry.
	expect(t, runSpry(t, dir, env, "run", "--fuel", "1000", "--invoke", "count", "compute.wat", "5"), 0, "5\n")
	if n := len(entries()); n != 2 {
		t.Errorf("want a second entry for the fuel-consuming engine, found %d", n)
	}
	// A corrupt entry is recompiled and replaced.
	if err := os.WriteFile(e[0], []byte("SPRYAOT\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	expect(t, runSpry(t, dir, env, "run", "--invoke", "count", "compute.wat", "5"), 0, "5\n")
	if b, err := os.ReadFile(e[0]); err != nil || len(b) < 100 {
		t.Errorf("the corrupt entry was not replaced (%d bytes, %v)", len(b), err)
	}
}

func TestUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"run"},
		{"run", "--bogus", "x.wasm"},
		{"run", "--fuel", "-1", "x.wasm"},
		{"run", "--dir", "::x", "x.wasm"},
		{"run", "-mount", ":ro", "x.wasm"},
		{"compile"},
		{"compile", "a.wasm", "b.wasm"},
		{"version", "extra"},
		{"help", "nothing"},
	} {
		r := runSpry(t, dir, nil, args...)
		if r.code != exitUsage || r.stderr == "" {
			t.Errorf("spry %q: want a usage error (status 2, a message); got %v", args, r)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"-h"}} {
		r := runSpry(t, "", nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Spry runs WebAssembly") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("spry %q: %v", args, r)
		}
	}
	check := func(args []string, fs *flag.FlagSet, usage string) {
		for _, a := range [][]string{args, {"help", args[0]}} {
			r := runSpry(t, "", nil, a...)
			if r.code != 0 || r.stdout != usage {
				t.Errorf("spry %q: want the usage text; got %v", a, r)
			}
		}
		// Every option is documented, one line each.
		fs.VisitAll(func(f *flag.Flag) {
			dash := "--"
			if len(f.Name) == 1 || f.Name == "mount" {
				dash = "-"
			}
			if !strings.Contains(usage, "\n  "+dash+f.Name+" ") {
				t.Errorf("spry %s --help does not document %s%s", args[0], dash, f.Name)
			}
		})
		for _, line := range strings.Split(usage, "\n") {
			if len(line) > 100 {
				t.Errorf("spry %s --help: line longer than 100 columns: %q", args[0], line)
			}
		}
	}
	check([]string{"run", "--help"}, newRunFlags(nil).fs, runUsage)
	check([]string{"compile", "-h"}, newCompileFlags(nil).fs, compileUsage)
	r := runSpry(t, "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "spry ") || !strings.Contains(r.stdout, "engine ") {
		t.Errorf("spry version: %v", r)
	}
}
