//go:build cgo

package spry

// WASI preview 1: the native configuration behind a WASIConfig, Store.SetWASI, Linker.DefineWASI,
// and how a call that ended in proc_exit is reported. The callbacks the engine calls for Go
// readers, writers, file trees, clocks and random sources are in wasi_callbacks.go; the C
// definitions they need (which a file with //export cannot hold) are here.

/*
#include <stdint.h>
#include "spry.h"

// The //export'ed callbacks (wasi_callbacks.go).
extern size_t goSpryWasiRead(uintptr_t h, uint8_t* p, size_t n, int32_t* errno_out);
extern size_t goSpryWasiWrite(uintptr_t h, uint8_t* p, size_t n, int32_t* errno_out);
extern int32_t goSpryWasiClock(uintptr_t h, uint64_t* out);
extern int32_t goSpryWasiRandom(uintptr_t h, uint8_t* p, size_t n);
extern int32_t goSpryVfsStat(uintptr_t h, char* path, size_t n, spry_wasi_vfs_stat_t* out);
extern int32_t goSpryVfsReadDir(uintptr_t h, char* path, size_t n, spry_wasi_vfs_dir_t* dir);
extern int32_t goSpryVfsOpen(uintptr_t h, char* path, size_t n, uint64_t* out);
extern int32_t goSpryVfsReadAt(uintptr_t h, uint64_t fh, uint64_t off, uint8_t* p, size_t n, size_t* out_n);
extern void goSpryVfsClose(uintptr_t h, uint64_t fh);
extern void goSpryWasiFinalize(uintptr_t h);

// While a WASI callback runs, the store it serves is in the middle of a WASI call that holds the
// store's WASI state: the trampolines mark the call's activation (enter.go), so that
// go_thread_in_store refuses a nested call into the store, or SetWASI, which would reach that state
// again. (A callback that calls runtime.Goexit never comes back here: its activation is abandoned
// with the mark, see wasiGuard.)
extern void go_wasi_mark(int d);
#define GO_WASI(call) go_wasi_mark(1); call; go_wasi_mark(-1)

static size_t go_wasi_read_tramp(uintptr_t h, uint8_t* p, size_t n, int32_t* e) {
	size_t r; GO_WASI(r = goSpryWasiRead(h, p, n, e)); return r;
}
static size_t go_wasi_write_tramp(uintptr_t h, const uint8_t* p, size_t n, int32_t* e) {
	size_t r; GO_WASI(r = goSpryWasiWrite(h, (uint8_t*)p, n, e)); return r;
}
static int32_t go_wasi_clock_tramp(uintptr_t h, uint64_t* out) {
	int32_t r; GO_WASI(r = goSpryWasiClock(h, out)); return r;
}
static int32_t go_wasi_random_tramp(uintptr_t h, uint8_t* p, size_t n) {
	int32_t r; GO_WASI(r = goSpryWasiRandom(h, p, n)); return r;
}
static int32_t go_vfs_stat_tramp(uintptr_t h, const char* path, size_t n, spry_wasi_vfs_stat_t* out) {
	int32_t r; GO_WASI(r = goSpryVfsStat(h, (char*)path, n, out)); return r;
}
static int32_t go_vfs_read_dir_tramp(uintptr_t h, const char* path, size_t n, spry_wasi_vfs_dir_t* dir) {
	int32_t r; GO_WASI(r = goSpryVfsReadDir(h, (char*)path, n, dir)); return r;
}
static int32_t go_vfs_open_tramp(uintptr_t h, const char* path, size_t n, uint64_t* out) {
	int32_t r; GO_WASI(r = goSpryVfsOpen(h, (char*)path, n, out)); return r;
}
static int32_t go_vfs_read_at_tramp(uintptr_t h, uint64_t fh, uint64_t off, uint8_t* p, size_t n, size_t* out_n) {
	int32_t r; GO_WASI(r = goSpryVfsReadAt(h, fh, off, p, n, out_n)); return r;
}
static void go_vfs_close_tramp(uintptr_t h, uint64_t fh) { GO_WASI(goSpryVfsClose(h, fh)); }

static spry_wasi_read_t go_wasi_read(void) { return go_wasi_read_tramp; }
static spry_wasi_write_t go_wasi_write(void) { return go_wasi_write_tramp; }
static spry_wasi_clock_t go_wasi_clock(void) { return go_wasi_clock_tramp; }
static spry_wasi_random_t go_wasi_random(void) { return go_wasi_random_tramp; }
static spry_finalizer_t go_wasi_finalizer(void) { return goSpryWasiFinalize; }
// go_set_wasi_stdio is spry_store_set_wasi_stdio with the entries made here from scalars (so that
// the Go caller passes no pointer and allocates nothing): kinds[i] is a SPRY_WASI_STDIO_* value,
// fds[i] the descriptor of an _FD entry, envs[i] the handle of a _CALLBACK entry, called through
// the trampolines above. No finalizer: the Go store releases these handles itself (wasiEnvs), which
// spares a call from C into Go per stream when the store is deleted.
static spry_error_t* go_set_wasi_stdio(spry_store_t* store, const spry_wasi_config_t* cfg,
		int32_t k0, int32_t k1, int32_t k2, int32_t fd0, int32_t fd1, int32_t fd2,
		uintptr_t e0, uintptr_t e1, uintptr_t e2) {
	spry_wasi_stdio_t st[3] = {{k0, fd0}, {k1, fd1}, {k2, fd2}};
	uintptr_t envs[3] = {e0, e1, e2};
	for (int i = 0; i < 3; i++) {
		if (st[i].kind == SPRY_WASI_STDIO_CALLBACK) {
			if (i == 0) {
				st[i].read = go_wasi_read_tramp;
			} else {
				st[i].write = go_wasi_write_tramp;
			}
			st[i].env = envs[i];
		}
	}
	return spry_store_set_wasi_stdio(store, cfg, st);
}

static spry_wasi_vfs_t go_wasi_vfs(void) {
	spry_wasi_vfs_t v = {
		go_vfs_stat_tramp, go_vfs_read_dir_tramp, go_vfs_open_tramp, go_vfs_read_at_tramp, go_vfs_close_tramp,
	};
	return v;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// wasiBuild is the native configuration of a WASIConfig, built once, by the first SetWASI.
type wasiBuild struct {
	once   sync.Once
	err    error
	native shared[*C.spry_wasi_config_t]
	closed atomic.Bool // Close was called
	own    atomic.Bool // a config with a base builds its own (the base was closed)
}

// wasiObjs holds the wasiObjs that native configurations and stores call back: a handle is the
// callback's env, released by its finalizer (goSpryWasiFinalize) once nothing native uses it.
var wasiObjs handleTable[wasiObj]

// wasiBuilds counts the native configurations built (a test hook).
var wasiBuilds atomic.Int64

// registerWASI adds o to the table for a C call that takes its handle and finalizer; the C call owns
// the handle from then on (it finalizes it itself if it fails).
func registerWASI(o *wasiObj) C.uintptr_t { return C.uintptr_t(wasiObjs.add(o)) }

// acquire returns the native configuration, building it on first use, for one use followed by
// release.
func (c *WASIConfig) acquire() (*C.spry_wasi_config_t, error) {
	if c == nil || c.b == nil {
		return nil, errors.New("spry: nil WASIConfig (use NewWASIConfig)")
	}
	b := c.b
	b.once.Do(func() {
		p, err := buildWASI(&c.o)
		if err != nil {
			b.err = err
			return
		}
		initShared(b, &b.native, p, "WASI config", "", func(p *C.spry_wasi_config_t) { C.spry_wasi_config_delete(p) })
	})
	if b.err != nil {
		return nil, b.err
	}
	return b.native.acquire()
}

// Close releases the native configuration now rather than when the WASIConfig becomes unreachable
// (its duplicated descriptors, opened directories and registered callbacks go once no store uses
// them either). SetWASI with c then fails with ErrClosed; configs made from c with With methods
// are not affected. Close is idempotent and returns nil.
func (c *WASIConfig) Close() error {
	if c == nil || c.b == nil {
		return nil
	}
	b := c.b
	b.closed.Store(true)
	b.once.Do(func() { b.err = fmt.Errorf("%w: WASI config", ErrClosed) })
	if b.err == nil {
		b.native.close()
	}
	return nil
}

// buildWASI makes the native configuration of o.
func buildWASI(o *wasiOptions) (p *C.spry_wasi_config_t, err error) {
	wasiBuilds.Add(1)
	p = C.spry_wasi_config_new()
	defer func() {
		if err != nil {
			C.spry_wasi_config_delete(p)
			p = nil
		}
	}()
	if len(o.args) > 0 {
		if err := addStrings(p, o.args, false); err != nil {
			return nil, fmt.Errorf("%w (WASI arguments)", err)
		}
	}
	if len(o.env) > 0 {
		if err := addStrings(p, o.env, true); err != nil {
			return nil, fmt.Errorf("%w (WASI environment)", err)
		}
	}
	streams := [...]struct {
		which C.int32_t
		st    *wasiStream
	}{{C.SPRY_WASI_STDIN, &o.stdin}, {C.SPRY_WASI_STDOUT, &o.stdout}, {C.SPRY_WASI_STDERR, &o.stderr}}
	for _, s := range streams {
		if err := setStream(p, s.which, s.st); err != nil {
			return nil, err
		}
	}
	for _, m := range o.mounts {
		gp, gn := cString(m.guest)
		if m.fsys != nil {
			v := C.go_wasi_vfs()
			h := registerWASI(&wasiObj{fs: &wasiFS{fsys: m.fsys, files: map[uint64]*wasiFile{}}})
			err = takeError(C.spry_wasi_config_mount_vfs(p, &v, gp, gn, h, C.go_wasi_finalizer()))
		} else {
			hp, hn := cString(m.host)
			err = takeError(C.spry_wasi_config_preopen_dir(p, hp, hn, gp, gn, C.bool(m.readOnly)))
			runtime.KeepAlive(m.host)
		}
		runtime.KeepAlive(m.guest)
		if err != nil {
			return nil, err
		}
	}
	if o.walltime != nil {
		h := registerWASI(&wasiObj{walltime: o.walltime})
		err := takeError(C.spry_wasi_config_clock(p, false, C.go_wasi_clock(), resolution(o.walltimeResolution), h, C.go_wasi_finalizer()))
		if err != nil {
			return nil, err
		}
	}
	if o.nanotime != nil {
		h := registerWASI(&wasiObj{nanotime: o.nanotime})
		err := takeError(C.spry_wasi_config_clock(p, true, C.go_wasi_clock(), resolution(o.nanotimeResolution), h, C.go_wasi_finalizer()))
		if err != nil {
			return nil, err
		}
	}
	if o.rand != nil {
		h := registerWASI(&wasiObj{rand: o.rand})
		if err := takeError(C.spry_wasi_config_random(p, C.go_wasi_random(), h, C.go_wasi_finalizer())); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func resolution(d time.Duration) C.uint64_t {
	if n := d.Nanoseconds(); n > 0 {
		return C.uint64_t(n)
	}
	return 1
}

// addStrings passes strs to the configuration, packed in one buffer: as arguments, or as
// environment variables (name, value pairs).
func addStrings(p *C.spry_wasi_config_t, strs []string, env bool) error {
	total := 0
	for _, s := range strs {
		total += len(s)
	}
	buf := make([]byte, 0, total)
	lens := make([]C.size_t, len(strs))
	for i, s := range strs {
		buf = append(buf, s...)
		lens[i] = C.size_t(len(s))
	}
	var bp *C.char
	if len(buf) > 0 {
		bp = (*C.char)(unsafe.Pointer(&buf[0]))
	}
	if env {
		return takeError(C.spry_wasi_config_add_env(p, bp, C.size_t(len(buf)), &lens[0], C.size_t(len(strs)/2)))
	}
	return takeError(C.spry_wasi_config_add_args(p, bp, C.size_t(len(buf)), &lens[0], C.size_t(len(strs))))
}

// setStream configures the stdio stream which (SPRY_WASI_STDIN...) as st says.
func setStream(p *C.spry_wasi_config_t, which C.int32_t, st *wasiStream) error {
	switch {
	case st.inherit:
		return takeError(C.spry_wasi_config_stdio_inherit(p, which, true))
	case st.file != nil:
		// Fd puts the file in blocking mode (the engine writes to it with plain writev), and stays
		// valid while st.file is alive; the engine keeps a duplicate.
		fd := st.file.Fd()
		err := takeError(C.spry_wasi_config_stdio_fd(p, which, C.int32_t(fd)))
		runtime.KeepAlive(st.file)
		return err
	case st.r != nil:
		return takeError(C.spry_wasi_config_stdin_callback(p, C.go_wasi_read(), registerWASI(st.obj), C.go_wasi_finalizer()))
	case st.w != nil:
		return takeError(C.spry_wasi_config_output_callback(p, which, C.go_wasi_write(), registerWASI(st.obj), C.go_wasi_finalizer()))
	}
	return nil // nothing: the native default
}

// stdioEntry returns how SetWASI passes st as a store's own stream: a SPRY_WASI_STDIO_* kind and
// its descriptor or callback handle (registered here, owned by the C call from then on).
func stdioEntry(st *wasiStream) (kind, fd C.int32_t, env C.uintptr_t) {
	switch {
	case st.inherit:
		return C.SPRY_WASI_STDIO_INHERIT, -1, 0
	case st.file != nil:
		// As in setStream; the caller keeps st.file alive until the C call has duplicated it.
		return C.SPRY_WASI_STDIO_FD, C.int32_t(st.file.Fd()), 0
	case st.obj != nil:
		return C.SPRY_WASI_STDIO_CALLBACK, -1, registerWASI(st.obj)
	}
	return C.SPRY_WASI_STDIO_NULL, -1, 0
}

// setStdio sets up the store n, for a config c with a base, from the base's native configuration
// plus c's own streams: one C call, no native configuration built. It reports done false when c
// must build a configuration of its own instead (its base was closed).
func (c *WASIConfig) setStdio(n *storeNative) (done bool, err error) {
	b := c.b
	if b.closed.Load() {
		return true, fmt.Errorf("%w: WASI config", ErrClosed)
	}
	if b.own.Load() {
		return false, nil
	}
	cp, err := c.base.acquire()
	if err != nil {
		if errors.Is(err, ErrClosed) {
			b.own.Store(true)
			return false, nil
		}
		return true, err // the base's configuration error is c's
	}
	var kinds, fds [3]C.int32_t
	var envs [3]C.uintptr_t
	for i, st := range [3]*wasiStream{&c.o.stdin, &c.o.stdout, &c.o.stderr} {
		if c.stdio&(1<<i) == 0 {
			kinds[i] = C.SPRY_WASI_STDIO_CONFIG
			continue
		}
		kinds[i], fds[i], envs[i] = stdioEntry(st)
	}
	err = takeError(C.go_set_wasi_stdio(n.ptr, cp, kinds[0], kinds[1], kinds[2], fds[0], fds[1], fds[2], envs[0], envs[1], envs[2]))
	runtime.KeepAlive(c) // its *os.File streams, duplicated by the call
	c.base.b.native.release()
	if err != nil {
		releaseWASIEnvs(&envs) // the store kept its earlier state
		return true, err
	}
	releaseWASIEnvs(&n.wasiEnvs) // the earlier state was dropped with its streams
	n.wasiEnvs = envs
	return true, nil
}

// releaseWASIEnvs removes from wasiObjs the handles of a store's own streams (0 is none) once the
// native store no longer holds them: its WASI state was replaced, or the store deleted
// (storeNative.free). A handle that the engine still had would only find nothing (EBADF).
func releaseWASIEnvs(envs *[3]C.uintptr_t) {
	for i, h := range envs {
		if h != 0 {
			wasiObjs.remove(uint64(h))
			envs[i] = 0
		}
	}
}

// SetWASI gives the store its own WASI state, made from cfg: the guest's arguments, environment,
// stdio, directories, clocks and random source, and a descriptor table of its own. Instances that
// import wasi_snapshot_preview1 (defined with Linker.DefineWASI) then run in it. It replaces an
// earlier state; set it before instantiating.
//
// The first SetWASI with a cfg builds cfg's native configuration (opening its directories), and
// returns its errors (a directory that does not exist, an environment variable name with '='...);
// later ones cost one cgo call, no syscall and no Go allocation. A cfg made from a base config by
// stdio changes only (base.WithStdout(&buf)...) uses the base's native configuration (building it
// if it is the first) with its own streams, registered for this store and released when it is
// closed; an *os.File stream is duplicated for the store (a syscall). It fails with ErrClosed on a
// closed store or cfg, and with ErrConcurrentStoreUse while a call runs in the store (from a host
// function).
//
// The readers, writers, file trees, clocks and random sources of cfg must not use the store they
// serve: while one runs, a call into that store, or an operation on it, returns
// ErrConcurrentStoreUse.
//
// A call that ends because the guest called proc_exit returns an *ExitError carrying the code,
// except that proc_exit(0) from a function without results (a command's _start) called from Go
// returns nil: the program succeeded. An instantiation whose start function exits, or a function
// with results that exits with 0, returns *ExitError with code 0, since it has no instance or
// results to return. A panic in a reader, writer, fs.FS, clock or random source of cfg ends the
// Wasm call and is raised again by the Go call that entered Wasm, as a host function's is.
func (s *Store) SetWASI(cfg *WASIConfig) error {
	sp, owned, err := s.use()
	if err != nil {
		return err
	}
	defer s.unuse(owned)
	if !owned {
		return fmt.Errorf("%w: SetWASI while a call is running in the store", ErrConcurrentStoreUse)
	}
	if cfg != nil && cfg.base != nil {
		if done, err := cfg.setStdio(s.native); done {
			return err
		}
	}
	cp, err := cfg.acquire()
	if err != nil {
		return err
	}
	err = takeError(C.spry_store_set_wasi(sp, cp))
	cfg.b.native.release()
	if err == nil {
		releaseWASIEnvs(&s.native.wasiEnvs)
	}
	return err
}

// DefineWASI defines every function of wasi_snapshot_preview1 in the linker. They find their state
// in the store they run in (Store.SetWASI); called in a store without one, they trap. Defining them
// twice is an error, as for any definition, unless AllowShadowing(true) was set.
func (l *Linker) DefineWASI() error {
	p, err := l.acquire()
	if err != nil {
		return err
	}
	defer l.release()
	l.mu.Lock()
	defer l.mu.Unlock()
	return takeError(C.spry_linker_define_wasi(p))
}

// trapExitCode returns the exit code of a trap raised by proc_exit.
func trapExitCode(tp *C.spry_trap_t) (uint32, bool) {
	var code C.int32_t
	if !C.spry_trap_exit_status(tp, &code) {
		return 0, false
	}
	return uint32(int32(code)), true
}

// exitOutcome is the error of a call c that ended with proc_exit(code): nil for code 0 ending the
// outermost call of a function without results (a command's _start), else an *ExitError.
func (s *Store) exitOutcome(c *callState, code uint32) error {
	if code == 0 && c.outer && c.call {
		var ct C.spry_functype_t
		if C.spry_func_type(s.native.ptr, c.fn, &ct) == nil && ct.nresults == 0 {
			return nil
		}
	}
	return &ExitError{code: code}
}

// wasiFS serves an fs.FS to the engine: the files it opened, by handle.
type wasiFS struct {
	fsys  fs.FS
	mu    sync.Mutex
	next  uint64
	files map[uint64]*wasiFile
}

// wasiFile is an open file of a wasiFS.
type wasiFile struct {
	mu   sync.Mutex // serializes Seek+Read and sequential reads
	f    fs.File
	name string
	pos  int64 // for files read sequentially
}

func (w *wasiFS) open(name string) (uint64, error) {
	f, err := w.fsys.Open(name)
	if err != nil {
		return 0, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.next++
	w.files[w.next] = &wasiFile{f: f, name: name}
	return w.next, nil
}

func (w *wasiFS) file(h uint64) *wasiFile {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.files[h]
}

func (w *wasiFS) close(h uint64) {
	w.mu.Lock()
	f := w.files[h]
	delete(w.files, h)
	w.mu.Unlock()
	if f != nil {
		f.f.Close()
	}
}

// readAt reads at off: through io.ReaderAt, else io.Seeker, else sequentially (reopening the file
// to go back).
func (w *wasiFS) readAt(f *wasiFile, buf []byte, off int64) (int, error) {
	if ra, ok := f.f.(io.ReaderAt); ok {
		n, err := ra.ReadAt(buf, off)
		if err == io.EOF {
			err = nil
		}
		return n, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if sk, ok := f.f.(io.Seeker); ok {
		if _, err := sk.Seek(off, io.SeekStart); err != nil {
			return 0, err
		}
		return readSome(f.f, buf)
	}
	if off < f.pos {
		nf, err := w.fsys.Open(f.name)
		if err != nil {
			return 0, err
		}
		f.f.Close()
		f.f, f.pos = nf, 0
	}
	if off > f.pos {
		k, err := io.CopyN(io.Discard, f.f, off-f.pos)
		f.pos += k
		if err == io.EOF {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
	}
	n, err := readSome(f.f, buf)
	f.pos += int64(n)
	return n, err
}

// readSome reads at least one byte into buf unless at the end (0, nil).
func readSome(r io.Reader, buf []byte) (int, error) {
	for range 100 {
		n, err := r.Read(buf)
		if n > 0 || err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
	return 0, io.ErrNoProgress
}
