//go:build cgo

package spry

// The //export'ed callbacks of WASI (see wasi.go): the engine calls them, on the thread running a
// store's guest, for the Go readers, writers, file trees, clocks and random sources of a
// WASIConfig. They report failure with a POSIX errno, which the guest sees as the matching WASI
// errno; a panic ends the Wasm call (wasiAbort) and is raised again by the Go call that entered
// Wasm, as a host function's panic is.

/*
#include <stdint.h>
#include "spry.h"

// enter.go.
extern uintptr_t go_current_store(void);
extern void go_abandon(void);
*/
import "C"

import (
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"path"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// wasiCallbacks counts the calls of the callbacks below (the tests check that a descriptor passed
// as stdout is written without one).
var wasiCallbacks atomic.Int64

// wasiAbort ends the Wasm call rather than return an errno.
const wasiAbort = C.SPRY_WASI_ABORT

// wasiGuard, deferred by every callback, turns a panic into wasiAbort (recording the panic in the
// store whose call runs, so that the Go call that entered Wasm raises it again), and forgets the
// abandoned activation if the callback calls runtime.Goexit (as finishHost does for host functions).
func wasiGuard(status *C.int32_t, returned *bool) {
	r := recover()
	if r == nil && !*returned {
		C.go_abandon()
		return
	}
	if r == nil {
		return
	}
	if ref := stores.get(uint64(C.go_current_store())); ref != nil && ref.active != nil {
		s := ref.active
		s.hostErr = nil
		s.panicking = true
		s.panicValue = r
	}
	*status = wasiAbort
}

// errnoOf maps a Go error to a POSIX errno.
func errnoOf(err error) C.int32_t {
	var e syscall.Errno
	switch {
	case errors.As(err, &e):
		return C.int32_t(e)
	case errors.Is(err, fs.ErrNotExist):
		return C.int32_t(syscall.ENOENT)
	case errors.Is(err, fs.ErrPermission):
		return C.int32_t(syscall.EACCES)
	case errors.Is(err, fs.ErrExist):
		return C.int32_t(syscall.EEXIST)
	case errors.Is(err, fs.ErrInvalid):
		return C.int32_t(syscall.EINVAL)
	}
	return C.int32_t(syscall.EIO)
}

func bytesOf(p *C.uint8_t, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

//export goSpryWasiRead
func goSpryWasiRead(h C.uintptr_t, p *C.uint8_t, n C.size_t, errnoOut *C.int32_t) (read C.size_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(errnoOut, &returned)
	o := wasiObjs.get(uint64(h))
	if o == nil || o.r == nil {
		*errnoOut = C.int32_t(syscall.EBADF)
		returned = true
		return 0
	}
	k, err := readSome(o.r, bytesOf(p, n))
	if err != nil {
		*errnoOut = C.int32_t(syscall.EIO)
	}
	returned = true
	return C.size_t(k)
}

//export goSpryWasiWrite
func goSpryWasiWrite(h C.uintptr_t, p *C.uint8_t, n C.size_t, errnoOut *C.int32_t) (written C.size_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(errnoOut, &returned)
	o := wasiObjs.get(uint64(h))
	if o == nil || o.w == nil {
		*errnoOut = C.int32_t(syscall.EBADF)
		returned = true
		return 0
	}
	k, err := o.w.Write(bytesOf(p, n))
	if k <= 0 && err != nil {
		*errnoOut = C.int32_t(syscall.EIO)
		k = 0
	}
	returned = true
	return C.size_t(max(k, 0))
}

//export goSpryWasiClock
func goSpryWasiClock(h C.uintptr_t, out *C.uint64_t) (status C.int32_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(&status, &returned)
	o := wasiObjs.get(uint64(h))
	var ns int64
	switch {
	case o == nil:
		returned = true
		return wasiAbort
	case o.walltime != nil:
		sec, nsec := o.walltime()
		ns = sec*1e9 + int64(nsec)
	case o.nanotime != nil:
		ns = o.nanotime()
	}
	*out = C.uint64_t(max(ns, 0))
	returned = true
	return 0
}

//export goSpryWasiRandom
func goSpryWasiRandom(h C.uintptr_t, p *C.uint8_t, n C.size_t) (status C.int32_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(&status, &returned)
	o := wasiObjs.get(uint64(h))
	if o == nil || o.rand == nil {
		returned = true
		return C.int32_t(syscall.EIO)
	}
	if _, err := io.ReadFull(o.rand, bytesOf(p, n)); err != nil {
		status = C.int32_t(syscall.EIO)
	}
	returned = true
	return status
}

// vfsOf returns the file tree registered under h.
func vfsOf(h C.uintptr_t) *wasiFS {
	if o := wasiObjs.get(uint64(h)); o != nil {
		return o.fs
	}
	return nil
}

// inode numbers a path of a tree: a hash, the same for a stat and a directory entry.
func inode(name string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(name))
	return f.Sum64() | 1
}

// notDirOr returns ENOTDIR if a parent of name is a file, else errnoOf(err) (fs.FS reports both
// as fs.ErrNotExist).
func notDirOr(fsys fs.FS, name string, err error) C.int32_t {
	if errors.Is(err, fs.ErrNotExist) {
		for dir := path.Dir(name); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if fi, serr := fs.Stat(fsys, dir); serr == nil {
				if !fi.IsDir() {
					return C.int32_t(syscall.ENOTDIR)
				}
				break
			}
		}
	}
	return errnoOf(err)
}

func vfsType(m fs.FileMode) C.uint8_t {
	switch {
	case m.IsDir():
		return C.SPRY_WASI_VFS_DIRECTORY
	case m.IsRegular():
		return C.SPRY_WASI_VFS_REGULAR_FILE
	}
	return C.SPRY_WASI_VFS_OTHER
}

//export goSpryVfsStat
func goSpryVfsStat(h C.uintptr_t, p *C.char, n C.size_t, out *C.spry_wasi_vfs_stat_t) (status C.int32_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(&status, &returned)
	w := vfsOf(h)
	if w == nil {
		returned = true
		return C.int32_t(syscall.EBADF)
	}
	name := string(bytesOf((*C.uint8_t)(unsafe.Pointer(p)), n))
	fi, err := fs.Stat(w.fsys, name)
	if err != nil {
		returned = true
		return notDirOr(w.fsys, name, err)
	}
	out.filetype = vfsType(fi.Mode())
	out.size = C.uint64_t(max(fi.Size(), 0))
	out.ino = C.uint64_t(inode(name))
	out.mtim = 0
	if t := fi.ModTime(); !t.IsZero() && t.UnixNano() > 0 {
		out.mtim = C.uint64_t(t.UnixNano())
	}
	returned = true
	return 0
}

//export goSpryVfsReadDir
func goSpryVfsReadDir(h C.uintptr_t, p *C.char, n C.size_t, dir *C.spry_wasi_vfs_dir_t) (status C.int32_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(&status, &returned)
	w := vfsOf(h)
	if w == nil {
		returned = true
		return C.int32_t(syscall.EBADF)
	}
	name := string(bytesOf((*C.uint8_t)(unsafe.Pointer(p)), n))
	entries, err := fs.ReadDir(w.fsys, name)
	if err != nil {
		if fi, serr := fs.Stat(w.fsys, name); serr == nil && !fi.IsDir() {
			returned = true
			return C.int32_t(syscall.ENOTDIR)
		}
		returned = true
		return notDirOr(w.fsys, name, err)
	}
	for _, e := range entries {
		en := e.Name()
		full := en
		if name != "." {
			full = name + "/" + en
		}
		np, nn := cString(en)
		C.spry_wasi_vfs_dir_push(dir, np, nn, vfsType(e.Type()), C.uint64_t(inode(full)))
	}
	returned = true
	return 0
}

//export goSpryVfsOpen
func goSpryVfsOpen(h C.uintptr_t, p *C.char, n C.size_t, out *C.uint64_t) (status C.int32_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(&status, &returned)
	w := vfsOf(h)
	if w == nil {
		returned = true
		return C.int32_t(syscall.EBADF)
	}
	name := string(bytesOf((*C.uint8_t)(unsafe.Pointer(p)), n))
	fh, err := w.open(name)
	if err != nil {
		returned = true
		return notDirOr(w.fsys, name, err)
	}
	*out = C.uint64_t(fh)
	returned = true
	return 0
}

//export goSpryVfsReadAt
func goSpryVfsReadAt(h C.uintptr_t, fh C.uint64_t, off C.uint64_t, p *C.uint8_t, n C.size_t, outN *C.size_t) (status C.int32_t) {
	wasiCallbacks.Add(1)
	returned := false
	defer wasiGuard(&status, &returned)
	w := vfsOf(h)
	var f *wasiFile
	if w != nil {
		f = w.file(uint64(fh))
	}
	if f == nil || off > 1<<62 {
		returned = true
		return C.int32_t(syscall.EBADF)
	}
	k, err := w.readAt(f, bytesOf(p, n), int64(off))
	if err != nil {
		returned = true
		return errnoOf(err)
	}
	*outN = C.size_t(k)
	returned = true
	return 0
}

//export goSpryVfsClose
func goSpryVfsClose(h C.uintptr_t, fh C.uint64_t) {
	wasiCallbacks.Add(1)
	// Also called when a store is deleted, outside any call: a panic of fs.File.Close has no call
	// to end, and is dropped.
	defer func() { _ = recover() }()
	if w := vfsOf(h); w != nil {
		w.close(uint64(fh))
	}
}

// goSpryWasiFinalize releases the object registered under h: no native configuration or store
// uses it any more.
//
//export goSpryWasiFinalize
func goSpryWasiFinalize(h C.uintptr_t) {
	wasiObjs.remove(uint64(h))
}
