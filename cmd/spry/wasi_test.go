package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// wasiModule is a WASI program in the text format: the imports and helpers every fixture uses,
// then body (more functions, with its own "_start").
//
// Memory: 0..8 an iovec, 16..64 digits, 64..128 results of calls, 1000 "\n", 1024.. the fixture's
// strings, 4096.. argv/environ pointers, 8192.. their strings, 12288.. a read buffer.
func wasiModule(imports, body string) string {
	return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  ` + imports + `
  (memory (export "memory") 1)
  (data (i32.const 1000) "\n")
  ;; print writes len bytes at ptr to stdout
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $nl (call $print (i32.const 1000) (i32.const 1)))
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $n))
  ;; println0 prints a NUL-terminated string and a newline
  (func $println0 (param $p i32) (call $print (local.get $p) (call $strlen (local.get $p))) (call $nl))
  ;; printnum prints an unsigned number in decimal
  (func $printnum (param $n i32) (local $p i32)
    (local.set $p (i32.const 64))
    (loop $l
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $l (local.get $n)))
    (call $print (local.get $p) (i32.sub (i32.const 64) (local.get $p))))
  ;; printlist prints the n NUL-terminated strings whose pointers are at 4096
  (func $printlist (param $n i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (call $println0 (i32.load (i32.add (i32.const 4096) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  ` + body + `)`
}

// The fixtures.
var (
	// hello prints "hello" and returns from _start.
	wasiHello = wasiModule("", `(data (i32.const 1024) "hello\n")
	  (func (export "_start") (call $print (i32.const 1024) (i32.const 6)))`)
	// exit3 prints "bye" and calls proc_exit(3).
	wasiExit3 = wasiModule("", `(data (i32.const 1024) "bye\n")
	  (func (export "_start") (call $print (i32.const 1024) (i32.const 4)) (call $proc_exit (i32.const 3)) (unreachable))`)
	// args prints its arguments, one per line.
	wasiArgs = wasiModule("", `(func (export "_start")
	  (drop (call $args_sizes_get (i32.const 64) (i32.const 68)))
	  (drop (call $args_get (i32.const 4096) (i32.const 8192)))
	  (call $printlist (i32.load (i32.const 64))))`)
	// env prints its environment, one variable per line.
	wasiEnv = wasiModule("", `(func (export "_start")
	  (drop (call $environ_sizes_get (i32.const 64) (i32.const 68)))
	  (drop (call $environ_get (i32.const 4096) (i32.const 8192)))
	  (call $printlist (i32.load (i32.const 64))))`)
	// files prints the name of its preopen (fd 3) and the contents of in.txt in it, then tries to
	// create out.txt in it and prints "create errno N".
	wasiFiles = wasiModule("", `(data (i32.const 1024) "in.txt")
	  (data (i32.const 1040) "out.txt")
	  (data (i32.const 1056) "create errno ")
	  (data (i32.const 1072) "open errno ")
	  (func (export "_start") (local $errno i32)
	    ;; the preopen's name
	    (if (call $fd_prestat_get (i32.const 3) (i32.const 64)) (then (call $proc_exit (i32.const 10))))
	    (drop (call $fd_prestat_dir_name (i32.const 3) (i32.const 2048) (i32.load (i32.const 68))))
	    (call $print (i32.const 2048) (i32.load (i32.const 68)))
	    (call $nl)
	    ;; in.txt: open for reading (rights fd_read = 2), read, print
	    (local.set $errno (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 6)
	      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 72)))
	    (if (local.get $errno) (then
	      (call $print (i32.const 1072) (i32.const 11)) (call $printnum (local.get $errno)) (call $nl))
	    (else
	      (i32.store (i32.const 0) (i32.const 12288))
	      (i32.store (i32.const 4) (i32.const 1024))
	      (drop (call $fd_read (i32.load (i32.const 72)) (i32.const 0) (i32.const 1) (i32.const 76)))
	      (call $print (i32.const 12288) (i32.load (i32.const 76)))))
	    ;; out.txt: create (oflags creat = 1) for writing (rights fd_write = 64)
	    (local.set $errno (call $path_open (i32.const 3) (i32.const 0) (i32.const 1040) (i32.const 7)
	      (i32.const 1) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 72)))
	    (call $print (i32.const 1056) (i32.const 13))
	    (call $printnum (local.get $errno))
	    (call $nl))`)
	// bridge imports env.foo (a host it was not built for): it prints "before", then calls foo
	// when given an argument.
	wasiBridge = wasiModule(`(import "env" "foo" (func $foo (param i32) (result i32)))`,
		`(data (i32.const 1024) "before\n")
	  (func $call_foo (drop (call $foo (i32.const 1))))
	  (func (export "_start")
	    (call $print (i32.const 1024) (i32.const 7))
	    (drop (call $args_sizes_get (i32.const 64) (i32.const 68)))
	    (if (i32.gt_u (i32.load (i32.const 64)) (i32.const 1)) (then (call $call_foo))))`)
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hello.wat", wasiHello)
	writeFile(t, dir, "exit3.wat", wasiExit3)
	expect(t, runSpry(t, dir, nil, "run", "hello.wat"), 0, "hello\n")
	expect(t, runSpry(t, dir, nil, "run", "exit3.wat"), 3, "bye\n")
	// A compiled program, through the cache and without it.
	expect(t, runSpry(t, dir, nil, "compile", "exit3.wat"), 0, "")
	expect(t, runSpry(t, dir, nil, "run", "--no-cache", "exit3.cwasm"), 3, "bye\n")
}

func TestArgs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "args.wat", wasiArgs)
	// argv[0] is the file's base name; options after the program are the program's.
	r := runSpry(t, dir, nil, "run", filepath.Join(dir, "args.wat"), "--dir", "x", "-v", "", "two words")
	expect(t, r, 0, "args.wat\n--dir\nx\n-v\n\ntwo words\n")
	expect(t, runSpry(t, dir, nil, "run", "--argv0", "prog", "args.wat", "a"), 0, "prog\na\n")
	expect(t, runSpry(t, dir, nil, "run", "args.wat"), 0, "args.wat\n")
}

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "env.wat", wasiEnv)
	r := runSpry(t, dir, []string{"SPRY_TEST_INHERITED=from host"}, "run",
		"--env", "A=1", "--env=B=x=y", "--env", "SPRY_TEST_INHERITED", "--env", "SPRY_TEST_UNSET_VAR", "env.wat")
	expect(t, r, 0, "A=1\nB=x=y\nSPRY_TEST_INHERITED=from host\n")
	// Nothing of the host's environment unless asked for.
	expect(t, runSpry(t, dir, nil, "run", "env.wat"), 0, "")
}

func TestDirs(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "files.wat", wasiFiles)
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, data, "in.txt", "contents of in.txt\n")
	out := filepath.Join(data, "out.txt")
	created := func() bool {
		_, err := os.Stat(out)
		return err == nil
	}
	// --dir HOST::GUEST: the guest sees GUEST, the files are HOST's.
	r := runSpry(t, dir, nil, "run", "--dir", data+"::/sandbox", "files.wat")
	expect(t, r, 0, "/sandbox\ncontents of in.txt\ncreate errno 0\n")
	if !created() {
		t.Error("out.txt not created on the host")
	}
	os.Remove(out)
	// --dir HOST: the guest sees HOST as given.
	expect(t, runSpry(t, dir, nil, "run", "--dir=data", "files.wat"), 0, "data\ncontents of in.txt\ncreate errno 0\n")
	os.Remove(out)
	// -mount HOST:GUEST, read-write.
	expect(t, runSpry(t, dir, nil, "run", "-mount="+data+":/m", "files.wat"), 0, "/m\ncontents of in.txt\ncreate errno 0\n")
	os.Remove(out)
	// -mount HOST:GUEST:ro: reading works, creating fails with an errno, nothing on the host.
	r = runSpry(t, dir, nil, "run", "-mount", data+":/ro:ro", "files.wat")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "/ro\ncontents of in.txt\ncreate errno ") ||
		strings.HasSuffix(r.stdout, "create errno 0\n") || created() {
		t.Errorf("want a read-only mount (nonzero errno, no out.txt on the host); got %v", r)
	}
	// Command-line order decides the descriptors: the first directory is fd 3.
	other := t.TempDir()
	expect(t, runSpry(t, dir, nil, "run", "-mount="+data+":/first:ro", "--dir", other+"::/second", "files.wat"),
		0, "-")
	r = runSpry(t, dir, nil, "run", "--dir", "missing", "files.wat")
	if r.code != exitError || !strings.Contains(r.stderr, "missing") {
		t.Errorf("want an error about the missing directory; got %v", r)
	}
}

func TestTrapUnknownImports(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bridge.wat", wasiBridge)
	r := runSpry(t, dir, nil, "run", "bridge.wat")
	if r.code != exitError || !strings.Contains(r.stderr, "foo") || r.stdout != "" {
		t.Errorf("without --trap-unknown-imports: want a link error naming env.foo; got %v", r)
	}
	// The WASI path runs.
	expect(t, runSpry(t, dir, nil, "run", "--trap-unknown-imports", "bridge.wat"), 0, "before\n")
	// Calling the import traps with its name and the Wasm backtrace (recorded where the host
	// function returned its error).
	r = runSpry(t, dir, nil, "run", "--trap-unknown-imports", "bridge.wat", "call")
	if r.code != exitTrap || r.stdout != "before\n" || !strings.Contains(r.stderr, "Error: wasm trap: unknown import env.foo was called") ||
		!strings.Contains(r.stderr, "wasm backtrace:") || !strings.Contains(r.stderr, "call_foo") {
		t.Errorf("want a trap naming env.foo, with a backtrace through $call_foo; got %v", r)
	}
}

// The fixtures are valid modules (checked in every build, WASI or not).
func TestWASIFixturesValidate(t *testing.T) {
	for name, text := range map[string]string{
		"hello": wasiHello, "exit3": wasiExit3, "args": wasiArgs, "env": wasiEnv, "files": wasiFiles, "bridge": wasiBridge,
	} {
		wasm, err := wasmOf(text)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := validate(wasm); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// SIGINT interrupts the running program: the command exits with 130, as a shell reports it.
func TestInterruptSignal(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "spin.wat", wasiModule("", `(data (i32.const 1024) "ready\n")
	  (func $spin (loop $l (br $l)))
	  (func (export "_start") (call $print (i32.const 1024) (i32.const 6)) (call $spin))`))
	cmd := exec.Command(spryBin, "run", "spin.wat")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cacheHome)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("read %q, %v; want \"ready\"", line, err)
	}
	// The program runs Wasm code now: the signal handler is installed.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitSigInt || stderr.String() != "" {
		t.Errorf("want exit status %d and no message; got %v, stderr %q", exitSigInt, err, stderr.String())
	}
}
