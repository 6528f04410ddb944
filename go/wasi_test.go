//go:build cgo

package spry_test

import (
	"bytes"
	"context"
	"embed"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

// wasiWat exports thin wrappers of WASI functions, so that the tests drive them from Go: arguments
// in, errno out, results at fixed addresses (8: the count of fd_write/fd_read/fd_readdir, 12: the
// descriptor of path_open, 16: the time of clock_time_get). _start writes "hello\n" to stdout.
const wasiWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "hello\n")
  (func (export "write") (param $fd i32) (param $p i32) (param $n i32) (result i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "read") (param $fd i32) (param $p i32) (param $n i32) (result i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  (func (export "open") (param $dir i32) (param $p i32) (param $n i32) (param $oflags i32) (param $rights i64) (result i32)
    (call $path_open (local.get $dir) (i32.const 0) (local.get $p) (local.get $n) (local.get $oflags)
      (local.get $rights) (local.get $rights) (i32.const 0) (i32.const 12)))
  (func (export "readdir") (param $fd i32) (param $p i32) (param $n i32) (result i32)
    (call $fd_readdir (local.get $fd) (local.get $p) (local.get $n) (i64.const 0) (i32.const 8)))
  (func (export "close") (param i32) (result i32) (call $fd_close (local.get 0)))
  (func (export "clock") (param $id i32) (result i32) (call $clock (local.get $id) (i64.const 1) (i32.const 16)))
  (func (export "random") (param i32 i32) (result i32) (call $random (local.get 0) (local.get 1)))
  (func (export "exit") (param i32) (call $exit (local.get 0)))
  (func (export "exit_with_result") (param i32) (result i32) (call $exit (local.get 0)) (i32.const 7))
  ;; One relative subscription to the monotonic clock (at 64, 48 bytes), its event at 128.
  (func (export "sleep") (param $ns i64) (result i32)
    (i64.store (i32.const 64) (i64.const 42))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (local.get $ns))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (call $poll (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 8)))
  (func (export "_start")
    (drop (call $fd_write (i32.const 1)
      (block (result i32)
        (i32.store (i32.const 0) (i32.const 256))
        (i32.store (i32.const 4) (i32.const 6))
        (i32.const 0))
      (i32.const 1) (i32.const 8)))))`

// WASI errnos and flags used below (wasi_snapshot_preview1.witx).
const (
	errnoIO      = 29
	errnoNoEnt   = 44
	oflagCreat   = 1
	oflagDir     = 2
	rightRead    = 1 << 1
	rightWrite   = 1 << 6
	rightReaddir = 1 << 14
	scratch      = 1024 // where the tests put paths and buffers in the guest's memory
)

var (
	wasiWasmOnce sync.Once
	wasiWasm     []byte
	wasiWasmErr  error
)

func wasiModuleBytes(t testing.TB) []byte {
	t.Helper()
	wasiWasmOnce.Do(func() { wasiWasm, wasiWasmErr = spry.Wat2Wasm(wasiWat) })
	if wasiWasmErr != nil {
		t.Fatal(wasiWasmErr)
	}
	return wasiWasm
}

// wasiEnv is an engine, a linker with WASI, and the compiled wasiWat.
type wasiEnv struct {
	engine *spry.Engine
	linker *spry.Linker
	module *spry.Module
}

func newWASIEnv(t testing.TB, cfg *spry.Config) *wasiEnv {
	t.Helper()
	e := &wasiEnv{engine: must(spry.NewEngine(cfg))(t)}
	t.Cleanup(func() { e.engine.Close() })
	e.linker = must(spry.NewLinker(e.engine))(t)
	t.Cleanup(func() { e.linker.Close() })
	if err := e.linker.DefineWASI(); err != nil {
		t.Fatal(err)
	}
	e.module = must(spry.Compile(e.engine, wasiModuleBytes(t)))(t)
	t.Cleanup(func() { e.module.Close() })
	return e
}

// wasiRun is one store running wasiWat with a WASI configuration.
type wasiRun struct {
	t     testing.TB
	store *spry.Store
	inst  *spry.Instance
	mem   *spry.Memory
}

func (e *wasiEnv) run(t testing.TB, cfg *spry.WASIConfig) *wasiRun {
	t.Helper()
	s := must(spry.NewStore(e.engine))(t)
	t.Cleanup(func() { s.Close() })
	if err := s.SetWASI(cfg); err != nil {
		t.Fatal(err)
	}
	inst := must(e.linker.Instantiate(context.Background(), s, e.module))(t)
	return &wasiRun{t: t, store: s, inst: inst, mem: must(inst.Memory("memory"))(t)}
}

// call calls export name and returns its first result (an errno), failing the test on an error.
func (r *wasiRun) call(name string, args ...any) int32 {
	r.t.Helper()
	res, err := r.callErr(context.Background(), name, args...)
	if err != nil {
		r.t.Fatalf("%s: %v", name, err)
	}
	if len(res) == 0 {
		return 0
	}
	return res[0].(int32)
}

func (r *wasiRun) callErr(ctx context.Context, name string, args ...any) ([]any, error) {
	r.t.Helper()
	f := must(r.inst.Func(name))(r.t)
	return f.Call(ctx, args...)
}

func (r *wasiRun) u32(at uint32) uint32 {
	r.t.Helper()
	v, ok := r.mem.ReadUint32Le(at)
	if !ok {
		r.t.Fatalf("read at %d out of bounds", at)
	}
	return v
}

func (r *wasiRun) put(at uint32, b []byte) {
	r.t.Helper()
	if !r.mem.Write(at, b) {
		r.t.Fatalf("write at %d out of bounds", at)
	}
}

func (r *wasiRun) get(at, n uint32) []byte {
	r.t.Helper()
	b, ok := r.mem.Read(at, n)
	if !ok {
		r.t.Fatalf("read at %d out of bounds", at)
	}
	return b
}

// open opens path under the preopened directory dir with path_open; it returns the errno and the
// new descriptor.
func (r *wasiRun) open(dir int32, path string, oflags int32, rights int64) (int32, int32) {
	r.t.Helper()
	r.put(scratch, []byte(path))
	errno := r.call("open", dir, int32(scratch), int32(len(path)), oflags, rights)
	return errno, int32(r.u32(12))
}

// readFile reads a whole file of the preopen dir.
func (r *wasiRun) readFile(dir int32, path string) string {
	r.t.Helper()
	errno, fd := r.open(dir, path, 0, rightRead)
	if errno != 0 {
		r.t.Fatalf("path_open %q: errno %d", path, errno)
	}
	defer r.call("close", fd)
	var out []byte
	for {
		if errno := r.call("read", fd, int32(scratch), int32(7)); errno != 0 {
			r.t.Fatalf("fd_read %q: errno %d", path, errno)
		}
		n := r.u32(8)
		if n == 0 {
			return string(out)
		}
		out = append(out, r.get(scratch, n)...)
	}
}

// listDir lists a directory of the preopen dir with fd_readdir: the names, without "." and "..".
func (r *wasiRun) listDir(dir int32, path string) []string {
	r.t.Helper()
	errno, fd := r.open(dir, path, oflagDir, rightReaddir)
	if errno != 0 {
		r.t.Fatalf("path_open %q: errno %d", path, errno)
	}
	defer r.call("close", fd)
	const bufLen = 4096
	if errno := r.call("readdir", fd, int32(scratch), int32(bufLen)); errno != 0 {
		r.t.Fatalf("fd_readdir %q: errno %d", path, errno)
	}
	buf := r.get(scratch, r.u32(8))
	var names []string
	for len(buf) >= 24 { // dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8, name
		n := binary.LittleEndian.Uint32(buf[16:])
		if uint32(len(buf)) < 24+n {
			break
		}
		if name := string(buf[24 : 24+n]); name != "." && name != ".." {
			names = append(names, name)
		}
		buf = buf[24+n:]
	}
	sort.Strings(names)
	return names
}

func TestWASIStdoutWriter(t *testing.T) {
	e := newWASIEnv(t, nil)
	var out, errOut bytes.Buffer
	base := spry.NewWASIConfig()
	r := e.run(t, base.WithStdout(&out).WithStderr(&errOut))
	before := spry.WASICallbackCount()
	if _, err := r.callErr(context.Background(), "_start"); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "hello\n" {
		t.Errorf("stdout %q, want %q", got, "hello\n")
	}
	if spry.WASICallbackCount() == before {
		t.Error("no Go callback ran for an io.Writer stdout")
	}
	r.put(scratch, []byte("oops"))
	if errno := r.call("write", int32(2), int32(scratch), int32(4)); errno != 0 || r.u32(8) != 4 {
		t.Errorf("fd_write to stderr: errno %d, %d bytes", errno, r.u32(8))
	}
	if got := errOut.String(); got != "oops" {
		t.Errorf("stderr %q, want %q", got, "oops")
	}
	// The base config is unchanged: a store made with it discards stdout.
	r2 := e.run(t, base)
	if _, err := r2.callErr(context.Background(), "_start"); err != nil {
		t.Fatal(err)
	}
	if out.String() != "hello\n" {
		t.Errorf("a store of the base config wrote to the other's stdout: %q", out.String())
	}
}

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestWASIWriterErrorIsEIO(t *testing.T) {
	e := newWASIEnv(t, nil)
	r := e.run(t, spry.NewWASIConfig().WithStdout(failingWriter{}))
	r.put(scratch, []byte("x"))
	if errno := r.call("write", int32(1), int32(scratch), int32(1)); errno != errnoIO {
		t.Errorf("fd_write to a failing writer: errno %d, want EIO (%d)", errno, errnoIO)
	}
}

type panickingWriter struct{}

func (panickingWriter) Write(p []byte) (int, error) { panic("writer exploded") }

func TestWASIWriterPanic(t *testing.T) {
	e := newWASIEnv(t, nil)
	r := e.run(t, spry.NewWASIConfig().WithStdout(panickingWriter{}))
	func() {
		defer func() {
			if v := recover(); v != "writer exploded" {
				t.Errorf("recovered %v, want the writer's panic", v)
			}
		}()
		r.callErr(context.Background(), "_start")
		t.Error("the call returned: the writer's panic was not raised again")
	}()
	// The store stays usable.
	if errno := r.call("clock", int32(1)); errno != 0 {
		t.Errorf("clock_time_get after the panic: errno %d", errno)
	}
}

func TestWASIStdoutFileWithoutCallback(t *testing.T) {
	e := newWASIEnv(t, nil)
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cfg := spry.NewWASIConfig().WithStdout(f).WithStderr(pw)
	r := e.run(t, cfg)
	pw.Close() // the configuration and the store write to their own duplicate
	before := spry.WASICallbackCount()
	if _, err := r.callErr(context.Background(), "_start"); err != nil {
		t.Fatal(err)
	}
	r.put(scratch, []byte("to the pipe"))
	if errno := r.call("write", int32(2), int32(scratch), int32(11)); errno != 0 {
		t.Fatalf("fd_write to the pipe: errno %d", errno)
	}
	if n := spry.WASICallbackCount() - before; n != 0 {
		t.Errorf("%d Go callbacks ran for *os.File stdout and stderr, want 0", n)
	}
	if b, _ := os.ReadFile(f.Name()); string(b) != "hello\n" {
		t.Errorf("file holds %q, want %q", b, "hello\n")
	}
	// The last write end of the pipe goes with the store and the configuration.
	r.store.Close()
	cfg.Close()
	if b, _ := io.ReadAll(pr); string(b) != "to the pipe" {
		t.Errorf("pipe got %q", b)
	}
}

func TestWASIStdin(t *testing.T) {
	e := newWASIEnv(t, nil)
	r := e.run(t, spry.NewWASIConfig().WithStdin(strings.NewReader("some input")))
	var got []byte
	for {
		if errno := r.call("read", int32(0), int32(scratch), int32(4)); errno != 0 {
			t.Fatalf("fd_read: errno %d", errno)
		}
		n := r.u32(8)
		if n == 0 {
			break
		}
		got = append(got, r.get(scratch, n)...)
	}
	if string(got) != "some input" {
		t.Errorf("stdin %q", got)
	}
}

//go:embed testdata/wasifs
var embedded embed.FS

func TestWASIFSMount(t *testing.T) {
	e := newWASIEnv(t, nil)
	mapFS := fstest.MapFS{
		"top.txt":       {Data: []byte("top")},
		"dir/a.txt":     {Data: []byte("alpha, a longer file than one read")},
		"dir/b.txt":     {Data: []byte("beta")},
		"dir/sub/c.txt": {Data: []byte("gamma")},
	}
	r := e.run(t, spry.NewWASIConfig().WithFSMount(mapFS, "/map").WithFSMount(embedded, "/embed"))
	const mapFd, embedFd = 3, 4
	if got := r.readFile(mapFd, "dir/a.txt"); got != "alpha, a longer file than one read" {
		t.Errorf("dir/a.txt: %q", got)
	}
	if got := r.readFile(mapFd, "top.txt"); got != "top" {
		t.Errorf("top.txt: %q", got)
	}
	if got := strings.Join(r.listDir(mapFd, "dir"), ","); got != "a.txt,b.txt,sub" {
		t.Errorf("dir lists %q", got)
	}
	if got := r.readFile(embedFd, "testdata/wasifs/hello.txt"); got != "embedded hello\n" {
		t.Errorf("embedded hello.txt: %q", got)
	}
	if got := r.readFile(embedFd, "testdata/wasifs/sub/x.txt"); got != "x" {
		t.Errorf("embedded sub/x.txt: %q", got)
	}
	if got := strings.Join(r.listDir(embedFd, "testdata/wasifs"), ","); got != "hello.txt,sub" {
		t.Errorf("embedded root lists %q", got)
	}
	if errno, _ := r.open(mapFd, "missing.txt", 0, rightRead); errno != errnoNoEnt {
		t.Errorf("opening a missing file: errno %d, want ENOENT (%d)", errno, errnoNoEnt)
	}
	// Read-only: creating or opening for writing is refused.
	if errno, _ := r.open(mapFd, "new.txt", oflagCreat, rightWrite); errno == 0 {
		t.Error("creating a file in an fs.FS mount succeeded")
	}
	if errno, _ := r.open(mapFd, "top.txt", 0, rightWrite|rightRead); errno == 0 {
		t.Error("opening a file of an fs.FS mount for writing succeeded")
	}
}

func TestWASIDirMounts(t *testing.T) {
	e := newWASIEnv(t, nil)
	rw, ro := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "ro.txt"), []byte("read only"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.run(t, spry.NewWASIConfig().WithDirMount(rw, "/rw").WithReadOnlyDirMount(ro, "/ro"))
	errno, fd := r.open(3, "made.txt", oflagCreat, rightWrite)
	if errno != 0 {
		t.Fatalf("creating a file in a read-write mount: errno %d", errno)
	}
	r.put(scratch, []byte("written"))
	if errno := r.call("write", fd, int32(scratch), int32(7)); errno != 0 {
		t.Fatalf("fd_write: errno %d", errno)
	}
	r.call("close", fd)
	if b, err := os.ReadFile(filepath.Join(rw, "made.txt")); err != nil || string(b) != "written" {
		t.Errorf("host file: %q, %v", b, err)
	}
	if got := r.readFile(4, "ro.txt"); got != "read only" {
		t.Errorf("ro.txt: %q", got)
	}
	if errno, _ := r.open(4, "new.txt", oflagCreat, rightWrite); errno == 0 {
		t.Error("creating a file in a read-only mount succeeded")
	}
	if _, err := os.Stat(filepath.Join(ro, "new.txt")); err == nil {
		t.Error("the read-only mount got a new file")
	}
}

func TestWASIConfigErrors(t *testing.T) {
	e := newWASIEnv(t, nil)
	s := must(spry.NewStore(e.engine))(t)
	defer s.Close()
	missing := filepath.Join(t.TempDir(), "missing")
	if err := s.SetWASI(spry.NewWASIConfig().WithDirMount(missing, "/data")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("mounting a missing directory: %v", err)
	}
	if err := s.SetWASI(spry.NewWASIConfig().WithEnv("A=B", "c")); err == nil {
		t.Error("an environment name with '=' was accepted")
	}
	if err := s.SetWASI(spry.NewWASIConfig().WithArgs("a\x00b")); err == nil {
		t.Error("an argument with a NUL byte was accepted")
	}
	var nilCfg *spry.WASIConfig
	if err := s.SetWASI(nilCfg); err == nil {
		t.Error("SetWASI(nil) succeeded")
	}
	cfg := spry.NewWASIConfig()
	cfg.Close()
	if err := s.SetWASI(cfg); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("SetWASI with a closed config: %v, want ErrClosed", err)
	}
}

func TestWASIArgsEnv(t *testing.T) {
	// Args and env are checked through the guest's view of their sizes (args_sizes_get and
	// environ_sizes_get), in a module of their own.
	wasm := must(spry.Wat2Wasm(`(module
	  (import "wasi_snapshot_preview1" "args_sizes_get" (func $as (param i32 i32) (result i32)))
	  (import "wasi_snapshot_preview1" "args_get" (func $ag (param i32 i32) (result i32)))
	  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $es (param i32 i32) (result i32)))
	  (import "wasi_snapshot_preview1" "environ_get" (func $eg (param i32 i32) (result i32)))
	  (memory (export "memory") 1)
	  (func (export "args") (result i32)
	    (drop (call $as (i32.const 0) (i32.const 4)))
	    (call $ag (i32.const 16) (i32.const 256)))
	  (func (export "env") (result i32)
	    (drop (call $es (i32.const 0) (i32.const 4)))
	    (call $eg (i32.const 16) (i32.const 256))))`))(t)
	e := newWASIEnv(t, nil)
	m := must(spry.Compile(e.engine, wasm))(t)
	defer m.Close()
	s := must(spry.NewStore(e.engine))(t)
	defer s.Close()
	cfg := spry.NewWASIConfig().WithArgs("prog", "x y").WithEnv("K", "V").WithEnv("A", "1").WithEnv("K", "W")
	if err := s.SetWASI(cfg); err != nil {
		t.Fatal(err)
	}
	inst := must(e.linker.Instantiate(context.Background(), s, m))(t)
	mem := must(inst.Memory("memory"))(t)
	for _, c := range []struct{ fn, want string }{{"args", "prog\x00x y\x00"}, {"env", "K=W\x00A=1\x00"}} {
		f := must(inst.Func(c.fn))(t)
		res := must(f.Call(context.Background()))(t)
		if res[0].(int32) != 0 {
			t.Fatalf("%s: errno %d", c.fn, res[0])
		}
		size, _ := mem.ReadUint32Le(4)
		got, _ := mem.Read(256, size)
		if string(got) != c.want {
			t.Errorf("%s: %q, want %q", c.fn, got, c.want)
		}
	}
}

// deterministicConfig injects a fixed wall clock, a monotonic clock that advances 1 µs per
// reading, and a seeded random source.
func deterministicConfig() *spry.WASIConfig {
	var mono int64
	return spry.NewWASIConfig().
		WithWalltime(func() (int64, int32) { return 1_700_000_000, 5 }, time.Millisecond).
		WithNanotime(func() int64 { mono += 1000; return mono }, time.Microsecond).
		WithRandSource(rand.NewChaCha8([32]byte{1, 2, 3}))
}

func TestWASIDeterministicClockAndRandom(t *testing.T) {
	e := newWASIEnv(t, nil)
	runOnce := func() []byte {
		r := e.run(t, deterministicConfig())
		var out []byte
		for _, id := range []int32{0, 1, 1} {
			if errno := r.call("clock", id); errno != 0 {
				t.Fatalf("clock_time_get(%d): errno %d", id, errno)
			}
			out = append(out, r.get(16, 8)...)
		}
		if errno := r.call("random", int32(scratch), int32(32)); errno != 0 {
			t.Fatalf("random_get: errno %d", errno)
		}
		return append(out, r.get(scratch, 32)...)
	}
	a, b := runOnce(), runOnce()
	if !bytes.Equal(a, b) {
		t.Errorf("two runs differ:\n%x\n%x", a, b)
	}
	if wall := binary.LittleEndian.Uint64(a); wall != 1_700_000_000_000_000_005 {
		t.Errorf("wall clock %d, want the injected one", wall)
	}
	if m1, m2 := binary.LittleEndian.Uint64(a[8:]), binary.LittleEndian.Uint64(a[16:]); m1 != 1000 || m2 != 2000 {
		t.Errorf("monotonic clock %d, %d, want 1000, 2000", m1, m2)
	}
	want := make([]byte, 32)
	rand.NewChaCha8([32]byte{1, 2, 3}).Read(want)
	if got := a[24:]; !bytes.Equal(got, want) {
		t.Errorf("random bytes %x, want the seeded source's %x", got, want)
	}
}

func TestWASIExit(t *testing.T) {
	e := newWASIEnv(t, nil)
	r := e.run(t, spry.NewWASIConfig())
	ctx := context.Background()
	if _, err := r.callErr(ctx, "exit", int32(0)); err != nil {
		t.Errorf("exit(0) from a function without results: %v, want nil", err)
	}
	exitCode := func(err error) int {
		t.Helper()
		var exit *spry.ExitError
		if !errors.As(err, &exit) {
			t.Fatalf("%v (%T) is not an *ExitError", err, err)
		}
		return exit.ExitCode()
	}
	_, err := r.callErr(ctx, "exit", int32(3))
	if code := exitCode(err); code != 3 {
		t.Errorf("exit(3): code %d", code)
	}
	if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("message %q", err.Error())
	}
	_, err = r.callErr(ctx, "exit_with_result", int32(0))
	if code := exitCode(err); code != 0 {
		t.Errorf("exit_with_result(0): code %d", code)
	}
	exit := must(spry.Typed1[int32](must(r.inst.Func("exit"))(t)))(t)
	if err := exit(ctx, 0); err != nil {
		t.Errorf("typed exit(0): %v", err)
	}
	if code := exitCode(exit(ctx, 255)); code != 255 {
		t.Errorf("typed exit(255): code %d", code)
	}
	// A start function that exits: the instantiation fails with the code.
	wasm := must(spry.Wat2Wasm(`(module
	  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
	  (memory (export "memory") 1)
	  (func $start (call $exit (i32.const 0)))
	  (start $start))`))(t)
	m := must(spry.Compile(e.engine, wasm))(t)
	defer m.Close()
	s := must(spry.NewStore(e.engine))(t)
	defer s.Close()
	if err := s.SetWASI(spry.NewWASIConfig()); err != nil {
		t.Fatal(err)
	}
	_, err = e.linker.Instantiate(ctx, s, m)
	if code := exitCode(err); code != 0 {
		t.Errorf("start function exit(0): code %d", code)
	}
}

func TestWASIPollCancel(t *testing.T) {
	e := newWASIEnv(t, nil)
	r := e.run(t, spry.NewWASIConfig())
	if errno := r.call("sleep", int64(time.Millisecond)); errno != 0 {
		t.Fatalf("poll_oneoff 1ms: errno %d", errno)
	}
	if n := r.u32(8); n != 1 {
		t.Fatalf("poll_oneoff 1ms: %d events, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(50*time.Millisecond, cancel)
	defer timer.Stop()
	_, err := r.callErr(ctx, "sleep", int64(10*time.Second))
	if !errors.Is(err, spry.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled sleep returned %v, want an interrupt caused by the cancellation", err)
	}
	// The store runs again.
	if errno := r.call("clock", int32(1)); errno != 0 {
		t.Errorf("clock_time_get after the interrupt: errno %d", errno)
	}
}

func TestWASIClosedStoreAndDefineTwice(t *testing.T) {
	e := newWASIEnv(t, nil)
	s := must(spry.NewStore(e.engine))(t)
	s.Close()
	if err := s.SetWASI(spry.NewWASIConfig()); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("SetWASI on a closed store: %v, want ErrClosed", err)
	}
	if err := e.linker.DefineWASI(); err == nil {
		t.Error("a second DefineWASI succeeded")
	}
	// The linker still works.
	var out bytes.Buffer
	r := e.run(t, spry.NewWASIConfig().WithStdout(&out))
	if _, err := r.callErr(context.Background(), "_start"); err != nil || out.String() != "hello\n" {
		t.Errorf("after a failed DefineWASI: %v, %q", err, out.String())
	}
	if err := e.linker.AllowShadowing(true); err != nil {
		t.Fatal(err)
	}
	if err := e.linker.DefineWASI(); err != nil {
		t.Errorf("DefineWASI with shadowing: %v", err)
	}
}

func TestWASIWithoutSetWASITraps(t *testing.T) {
	e := newWASIEnv(t, nil)
	s := must(spry.NewStore(e.engine))(t)
	defer s.Close()
	inst := must(e.linker.Instantiate(context.Background(), s, e.module))(t)
	_, err := must(inst.Func("_start"))(t).Call(context.Background())
	var trap *spry.Trap
	if !errors.As(err, &trap) || !strings.Contains(err.Error(), "WASI is not configured") {
		t.Errorf("a WASI call in a store without WASI: %v", err)
	}
}

func TestWASIInstancePrePooling(t *testing.T) {
	pooling := spry.DefaultPoolingConfig()
	pooling.TotalInstances, pooling.TotalMemories, pooling.TotalTables = 4, 4, 4
	e := newWASIEnv(t, &spry.Config{Pooling: &pooling})
	pre := must(e.linker.InstantiatePre(e.module))(t)
	defer pre.Close()
	base := spry.NewWASIConfig().WithArgs("prog")
	for i := range 10 { // more stores than slots: each slot is reused
		var out bytes.Buffer
		s := must(spry.NewStore(e.engine))(t)
		if err := s.SetWASI(base.WithStdout(&out)); err != nil {
			t.Fatal(err)
		}
		inst := must(pre.Instantiate(context.Background(), s))(t)
		if _, err := must(inst.Func("_start"))(t).Call(context.Background()); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		if out.String() != "hello\n" {
			t.Fatalf("store %d: stdout %q", i, out.String())
		}
		s.Close()
	}
}
