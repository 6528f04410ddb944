//! WASI preview 1 (`wasi_snapshot_preview1`) for C hosts: [`spry_wasi_config_t`] (what every store
//! running a program shares: arguments, environment, stdio, preopened directories, virtual file
//! trees, clocks, random source), `spry_store_set_wasi` (a store's own WASI state, made from a
//! config without a syscall; `spry_store_set_wasi_stdio` gives the store its own stdin, stdout or
//! stderr on top of a shared config), `spry_linker_define_wasi` (every function of the ABI), and
//! `spry_trap_exit_status` (the code a program passed to `proc_exit`).
//!
//! Stdio, file trees, clocks and random can be host callbacks: a C function pointer plus an opaque
//! `uintptr_t env` (Go passes a handle-table index), released by a finalizer once no config or store
//! uses it. A WASI call whose objects are all OS objects (host directories, inherited or owned
//! descriptors, the system clocks and random source) never calls the host.
//!
//! Callbacks report failure with a POSIX errno (Linux numbering, e.g. `EIO`), which the guest sees
//! as the matching WASI errno. One more value, `SPRY_WASI_ABORT`, ends the Wasm call that made the
//! WASI call (a Go callback that panicked uses it): the Wasm frames are unwound and the entry point
//! that entered Wasm returns an error ("internal error: a WASI host callback aborted the call").
//!
//! A callback runs in the middle of a WASI call that holds its store's WASI state: it must not call
//! into that store (a Wasm call, `spry_store_set_wasi`, deleting it). It may use other stores.

use crate::args;
use crate::error::{guard, guard_or, spry_error_t};
use crate::func::spry_finalizer_t;
use crate::linker::spry_linker_t;
use crate::store::{spry_store_t, store_mut};
use crate::trap::spry_trap_t;
use crate::types::{size_t, uintptr_t};
use anyhow::{anyhow, bail, Result};
use spry::wasi::{
    DirPerms, Errno, HostInput, HostOutput, I32Exit, MonotonicClock, RandomSource, VfsDirEntry, VfsFileType, VfsStat,
    VirtualFs, WallClock, WasiConfig, WasiCtx, WasiInput, WasiOutput,
};
use std::ffi::c_char;
use std::io;
use std::sync::Arc;

/// The value a callback returns (or writes to `errno_out`) to end the Wasm call that made the WASI
/// call, rather than report an errno to the guest: the Wasm frames are unwound, and the entry point
/// that entered Wasm returns an error.
pub const SPRY_WASI_ABORT: i32 = -1;

/// The guest's stdin (descriptor 0), for the `spry_wasi_config_stdio_*` functions.
pub const SPRY_WASI_STDIN: i32 = 0;
/// The guest's stdout (descriptor 1).
pub const SPRY_WASI_STDOUT: i32 = 1;
/// The guest's stderr (descriptor 2).
pub const SPRY_WASI_STDERR: i32 = 2;

/// A regular file of a virtual tree (`spry_wasi_vfs_stat`).
pub const SPRY_WASI_VFS_REGULAR_FILE: u8 = 0;
/// A directory of a virtual tree.
pub const SPRY_WASI_VFS_DIRECTORY: u8 = 1;
/// Any other node of a virtual tree (reported to the guest as `unknown`).
pub const SPRY_WASI_VFS_OTHER: u8 = 2;

/// What every store running a program shares: arguments, environment, stdio, preopened directories,
/// virtual trees, clocks and random source. Owned by the caller (`spry_wasi_config_delete`); cloning
/// (`spry_wasi_config_clone`) is cheap, and changing a clone copies the shared state first, so it
/// never changes another clone or a store already set up from it. Not safe to change from several
/// threads at once; a config that is only read (`spry_store_set_wasi`) may be used by many.
///
/// Its callbacks run in the middle of a WASI call that holds the store's WASI state: a callback
/// must not call into the store it serves (a Wasm call, `spry_store_set_wasi`, deleting it); it may
/// use other stores.
pub struct spry_wasi_config {
    cfg: WasiConfig,
}

/// Shorthand for `struct spry_wasi_config`.
pub type spry_wasi_config_t = spry_wasi_config;

impl spry_wasi_config {
    /// Applies a builder method of [`WasiConfig`] in place.
    fn edit(&mut self, f: impl FnOnce(WasiConfig) -> WasiConfig) {
        let cfg = std::mem::take(&mut self.cfg);
        self.cfg = f(cfg);
    }
}

/// A new, empty configuration: no arguments or environment, stdin at end of input, stdout and stderr
/// discarded, no preopens, the system clocks and random source. Owned by the caller; release it with
/// `spry_wasi_config_delete`. Never NULL.
#[no_mangle]
pub extern "C" fn spry_wasi_config_new() -> *mut spry_wasi_config_t {
    Box::into_raw(Box::new(spry_wasi_config { cfg: WasiConfig::new() }))
}

/// A copy of `cfg` (cheap: the state is shared until one of them changes), owned by the caller.
/// NULL if `cfg` is NULL.
///
/// # Safety
///
/// `cfg` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_clone(cfg: *const spry_wasi_config_t) -> *mut spry_wasi_config_t {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object(cfg, "config") }?;
        Ok(Box::into_raw(Box::new(spry_wasi_config { cfg: cfg.cfg.clone() })))
    })
}

/// Releases `cfg`. Stores set up from it keep what they need. NULL is ignored.
///
/// # Safety
///
/// `cfg` is NULL or a config from `spry_wasi_config_new`/`_clone`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_delete(cfg: *mut spry_wasi_config_t) {
    // SAFETY: per the contract.
    unsafe { args::release(cfg) }
}

/// The `n` strings packed in `buf` (`buf_len` bytes), the i-th `lens[i]` bytes long.
///
/// # Safety
///
/// As for `args::slice`, for both arrays.
unsafe fn packed<'a>(buf: *const c_char, buf_len: size_t, lens: *const size_t, n: size_t) -> Result<Vec<&'a str>> {
    // SAFETY: per the contract.
    let buf = unsafe { args::slice(buf.cast::<u8>(), buf_len, "buf") }?;
    // SAFETY: per the contract.
    let lens = unsafe { args::slice(lens, n, "lens") }?;
    let mut out = Vec::with_capacity(lens.len());
    let mut rest = buf;
    for (i, len) in lens.iter().enumerate() {
        let Some((s, tail)) = rest.split_at_checked(*len) else {
            bail!("string {i} (of length {len}) runs past the end of buf ({buf_len} bytes)");
        };
        out.push(std::str::from_utf8(s).map_err(|e| anyhow!("string {i} is not valid UTF-8: {e}"))?);
        rest = tail;
    }
    if !rest.is_empty() {
        bail!("buf has {} bytes after its last string", rest.len());
    }
    Ok(out)
}

/// Appends `n` arguments (`argv[0]` first: the program's name), packed: `buf` holds them one after
/// the other (`buf_len` bytes in all, no separators), the i-th `lens[i]` bytes long, UTF-8. Returns
/// NULL, or an error changing nothing: NULL `cfg`, lengths that do not add up to `buf_len`, invalid
/// UTF-8, or an argument containing a NUL byte.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `buf` and `lens` are NULL or point to `buf_len` bytes and `n`
/// lengths.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_add_args(
    cfg: *mut spry_wasi_config_t,
    buf: *const c_char,
    buf_len: size_t,
    lens: *const size_t,
    n: size_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        // SAFETY: per the contract.
        let strs = unsafe { packed(buf, buf_len, lens, n) }?;
        let new = WasiConfig::clone(&cfg.cfg).args(&strs);
        new.check()?;
        cfg.cfg = new;
        Ok(())
    })
}

/// Adds `n` environment variables, packed as in `spry_wasi_config_add_args` as `2 * n` strings:
/// name, value, name, value... (`lens` holds `2 * n` lengths). Returns NULL, or an error changing
/// nothing: as for `spry_wasi_config_add_args`, or a name containing `=`.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `buf` and `lens` are NULL or point to `buf_len` bytes and `2 * n`
/// lengths.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_add_env(
    cfg: *mut spry_wasi_config_t,
    buf: *const c_char,
    buf_len: size_t,
    lens: *const size_t,
    n: size_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        let count = n.checked_mul(2).ok_or_else(|| anyhow!("impossible number of variables {n}"))?;
        // SAFETY: per the contract.
        let strs = unsafe { packed(buf, buf_len, lens, count) }?;
        let new = WasiConfig::clone(&cfg.cfg).envs(strs.chunks_exact(2).map(|kv| (kv[0], kv[1])));
        new.check()?;
        cfg.cfg = new;
        Ok(())
    })
}

/// Which stream `which` names, checked.
fn stream(which: i32) -> Result<i32> {
    match which {
        SPRY_WASI_STDIN | SPRY_WASI_STDOUT | SPRY_WASI_STDERR => Ok(which),
        _ => bail!("invalid stdio stream {which} (want SPRY_WASI_STDIN, _STDOUT or _STDERR)"),
    }
}

fn set_output(cfg: &mut spry_wasi_config, which: i32, out: WasiOutput) {
    if which == SPRY_WASI_STDOUT {
        cfg.edit(|c| c.stdout(out));
    } else {
        cfg.edit(|c| c.stderr(out));
    }
}

/// Makes stdin, stdout and stderr the process's own (descriptors 0, 1 and 2, used directly). NULL
/// `cfg` is ignored.
///
/// # Safety
///
/// `cfg` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_inherit_stdio(cfg: *mut spry_wasi_config_t) {
    guard_or((), || {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        cfg.edit(WasiConfig::inherit_stdio);
        Ok(())
    })
}

/// Makes the stream `which` (`SPRY_WASI_STDIN`, `_STDOUT` or `_STDERR`) the process's own
/// descriptor of the same number (`inherit` true), or nothing (`inherit` false: stdin at end of
/// input, output discarded). Returns NULL, or an error for NULL `cfg` or an invalid `which`.
///
/// # Safety
///
/// `cfg` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_stdio_inherit(
    cfg: *mut spry_wasi_config_t,
    which: i32,
    inherit: bool,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        match (stream(which)?, inherit) {
            (SPRY_WASI_STDIN, true) => cfg.edit(|c| c.stdin(WasiInput::Inherit)),
            (SPRY_WASI_STDIN, false) => cfg.edit(|c| c.stdin(WasiInput::Null)),
            (w, true) => set_output(cfg, w, WasiOutput::Inherit),
            (w, false) => set_output(cfg, w, WasiOutput::Null),
        }
        Ok(())
    })
}

/// Makes the stream `which` a duplicate of the host descriptor `fd` (a file, a pipe; made with
/// `F_DUPFD_CLOEXEC`): the guest reads or writes it directly, without a callback. The caller keeps
/// `fd` and closes it when it likes; the duplicate is closed once neither a config nor a store uses
/// it. Returns NULL, or an error changing nothing: NULL `cfg`, an invalid `which`, or a descriptor
/// that cannot be duplicated (`EBADF`...).
///
/// # Safety
///
/// `cfg` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_stdio_fd(
    cfg: *mut spry_wasi_config_t,
    which: i32,
    fd: i32,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        let which = stream(which)?;
        let file = dup_fd(fd)?;
        if which == SPRY_WASI_STDIN {
            cfg.edit(|c| c.stdin(WasiInput::File(file)));
        } else {
            set_output(cfg, which, WasiOutput::File(file));
        }
        Ok(())
    })
}

/// A host callback's `env`, finalized once when its object is dropped.
struct Env {
    env: uintptr_t,
    finalizer: spry_finalizer_t,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(f) = self.finalizer {
            // SAFETY: the host's finalizer, called once with its `env`, as `spry_finalizer_t` says.
            unsafe { f(self.env) };
        }
    }
}

/// Ends the Wasm call that made the WASI call (see `SPRY_WASI_ABORT`): the engine catches the unwind
/// at its host-call boundary, unwinds the Wasm frames and resumes it out of Wasm, where the entry
/// point's guard turns it into an error. `resume_unwind` does not run the panic hook (nothing is
/// printed).
fn abort_call() -> ! {
    std::panic::resume_unwind(Box::new("a WASI host callback aborted the call"))
}

/// An errno from a callback, as an I/O error (or the end of the call, for `SPRY_WASI_ABORT`).
fn io_errno(e: i32) -> io::Error {
    if e == SPRY_WASI_ABORT {
        abort_call();
    }
    io::Error::from_raw_os_error(e)
}

/// An errno from a callback, as a WASI errno.
fn wasi_errno(e: i32) -> Errno {
    if e == SPRY_WASI_ABORT {
        abort_call();
    }
    Errno::from_raw_os_error(e)
}

/// Reads stdin for the guest: up to `len` bytes into `buf`; returns how many (0 at the end of
/// input). On failure writes a POSIX errno (or `SPRY_WASI_ABORT`) to `*errno_out`, which is 0 on
/// entry, and the result is ignored. Called on the thread running the guest.
pub type spry_wasi_read_t =
    Option<unsafe extern "C" fn(env: uintptr_t, buf: *mut u8, len: size_t, errno_out: *mut i32) -> size_t>;

/// Writes the guest's stdout or stderr: some of the `len` bytes at `buf` (at least one), returning
/// how many; `buf` points into the guest's memory and is valid only during the call. On failure
/// writes a POSIX errno (or `SPRY_WASI_ABORT`) to `*errno_out`, which is 0 on entry, and the result
/// is ignored. Called on the thread running the guest.
pub type spry_wasi_write_t =
    Option<unsafe extern "C" fn(env: uintptr_t, buf: *const u8, len: size_t, errno_out: *mut i32) -> size_t>;

struct CbInput {
    cb: unsafe extern "C" fn(uintptr_t, *mut u8, size_t, *mut i32) -> size_t,
    env: Env,
}

impl HostInput for CbInput {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut errno = 0i32;
        // SAFETY: the host's callback, called as `spry_wasi_read_t` documents, over a live buffer.
        let n = unsafe { (self.cb)(self.env.env, buf.as_mut_ptr(), buf.len(), &mut errno) };
        if errno != 0 {
            return Err(io_errno(errno));
        }
        if n > buf.len() {
            return Err(io::Error::other("the stdin callback returned more bytes than asked for"));
        }
        Ok(n)
    }
}

struct CbOutput {
    cb: unsafe extern "C" fn(uintptr_t, *const u8, size_t, *mut i32) -> size_t,
    env: Env,
}

impl HostOutput for CbOutput {
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut errno = 0i32;
        // SAFETY: the host's callback, called as `spry_wasi_write_t` documents, over a live buffer.
        let n = unsafe { (self.cb)(self.env.env, buf.as_ptr(), buf.len(), &mut errno) };
        if errno != 0 {
            return Err(io_errno(errno));
        }
        // 0 or more than asked for: the WASI layer reports EIO.
        Ok(n)
    }
}

/// Makes the guest's stdin the callback `cb` with `env`. `env` belongs to the config from this call
/// on: `finalizer` (may be NULL) is called with it once no config or store uses it, or before this
/// function returns if it fails. Returns NULL, or an error: NULL `cfg` or `cb`.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `cb` behaves as `spry_wasi_read_t` documents, from any thread
/// that runs a store set up with the config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_stdin_callback(
    cfg: *mut spry_wasi_config_t,
    cb: spry_wasi_read_t,
    env: uintptr_t,
    finalizer: spry_finalizer_t,
) -> *mut spry_error_t {
    let env = Env { env, finalizer };
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        let cb = cb.ok_or_else(|| anyhow!("callback is NULL"))?;
        let input: Arc<dyn HostInput> = Arc::new(CbInput { cb, env });
        cfg.edit(|c| c.stdin(WasiInput::Host(input)));
        Ok(())
    })
}

/// Makes the guest's stdout (`which` is `SPRY_WASI_STDOUT`) or stderr (`SPRY_WASI_STDERR`) the
/// callback `cb` with `env`, owned as in `spry_wasi_config_stdin_callback`. Returns NULL, or an
/// error: NULL `cfg` or `cb`, or another `which`.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `cb` behaves as `spry_wasi_write_t` documents, from any thread
/// that runs a store set up with the config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_output_callback(
    cfg: *mut spry_wasi_config_t,
    which: i32,
    cb: spry_wasi_write_t,
    env: uintptr_t,
    finalizer: spry_finalizer_t,
) -> *mut spry_error_t {
    let env = Env { env, finalizer };
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        if which != SPRY_WASI_STDOUT && which != SPRY_WASI_STDERR {
            bail!("invalid output stream {which} (want SPRY_WASI_STDOUT or SPRY_WASI_STDERR)");
        }
        let cb = cb.ok_or_else(|| anyhow!("callback is NULL"))?;
        let output: Arc<dyn HostOutput> = Arc::new(CbOutput { cb, env });
        set_output(cfg, which, WasiOutput::Host(output));
        Ok(())
    })
}

/// Preopens the host directory `host` (a path, UTF-8) as `guest` (e.g. "/", "/data", "."), read-only
/// (every mutation fails, files cannot be opened for writing) or read-write. The directory is opened
/// now, once; every store set up with the config shares the descriptor, and nothing the guest does
/// reaches outside it (cap-std). Returns NULL, or an error changing nothing: NULL `cfg`, invalid
/// UTF-8, or a directory that cannot be opened.
///
/// # Safety
///
/// `cfg` is NULL or a live config; the strings are NULL or point to their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_preopen_dir(
    cfg: *mut spry_wasi_config_t,
    host: *const c_char,
    host_len: size_t,
    guest: *const c_char,
    guest_len: size_t,
    read_only: bool,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        // SAFETY: per the contract.
        let host = unsafe { args::string(host, host_len, "host") }?;
        // SAFETY: per the contract.
        let guest = unsafe { args::string(guest, guest_len, "guest") }?;
        let perms = if read_only { DirPerms::ReadOnly } else { DirPerms::ReadWrite };
        cfg.cfg = WasiConfig::clone(&cfg.cfg).preopen_dir(host, guest, perms)?;
        Ok(())
    })
}

/// What the `stat` callback of a virtual tree reports of a node.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct spry_wasi_vfs_stat {
    /// `SPRY_WASI_VFS_REGULAR_FILE`, `_DIRECTORY` or `_OTHER`.
    pub filetype: u8,
    /// Size in bytes.
    pub size: u64,
    /// An inode number unique within the tree, or 0.
    pub ino: u64,
    /// Modification time, in nanoseconds since the Unix epoch (0 if unknown).
    pub mtim: u64,
}

/// Shorthand for `struct spry_wasi_vfs_stat`.
pub type spry_wasi_vfs_stat_t = spry_wasi_vfs_stat;

/// The list a `read_dir` callback fills with `spry_wasi_vfs_dir_push`. Valid during that callback.
pub struct spry_wasi_vfs_dir {
    entries: Vec<VfsDirEntry>,
}

/// Shorthand for `struct spry_wasi_vfs_dir`.
pub type spry_wasi_vfs_dir_t = spry_wasi_vfs_dir;

/// The callbacks of a read-only virtual file tree (a Go `fs.FS`...). Paths are UTF-8, not
/// NUL-terminated, in Go's `fs.ValidPath` form: "." for the root, else slash-separated names without
/// ".", ".." or empty ones (the WASI layer resolves ".." itself, never above the root). Each callback
/// returns 0 or a POSIX errno (`ENOENT`, `ENOTDIR`...), or `SPRY_WASI_ABORT`, and is called on the
/// thread running the guest with the `env` of `spry_wasi_config_mount_vfs`. Every field is required.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct spry_wasi_vfs {
    /// Writes what the node at `path` is to `*out`.
    pub stat: Option<
        unsafe extern "C" fn(env: uintptr_t, path: *const c_char, len: size_t, out: *mut spry_wasi_vfs_stat_t) -> i32,
    >,
    /// Lists the directory at `path` with `spry_wasi_vfs_dir_push`, in a stable order, without "."
    /// and "..".
    pub read_dir: Option<
        unsafe extern "C" fn(env: uintptr_t, path: *const c_char, len: size_t, dir: *mut spry_wasi_vfs_dir_t) -> i32,
    >,
    /// Opens the regular file at `path`, writing the host's handle for it to `*out_handle`.
    pub open:
        Option<unsafe extern "C" fn(env: uintptr_t, path: *const c_char, len: size_t, out_handle: *mut u64) -> i32>,
    /// Reads up to `len` bytes at `offset` of an open file into `buf`, writing how many to `*out_n`
    /// (0 at its end).
    pub read_at: Option<
        unsafe extern "C" fn(
            env: uintptr_t,
            handle: u64,
            offset: u64,
            buf: *mut u8,
            len: size_t,
            out_n: *mut size_t,
        ) -> i32,
    >,
    /// Closes a handle from `open` (once per handle; possibly when the store is deleted).
    pub close: Option<unsafe extern "C" fn(env: uintptr_t, handle: u64)>,
}

/// Shorthand for `struct spry_wasi_vfs`.
pub type spry_wasi_vfs_t = spry_wasi_vfs;

/// Adds an entry to the list of a `read_dir` callback: `name` (one path component, UTF-8, copied),
/// its type (`SPRY_WASI_VFS_*`) and inode number (or 0). Returns false, adding nothing, for NULL
/// `dir`, an invalid name or type.
///
/// # Safety
///
/// `dir` is NULL or the list passed to the running `read_dir` callback; `name` is NULL or points to
/// `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_vfs_dir_push(
    dir: *mut spry_wasi_vfs_dir_t,
    name: *const c_char,
    len: size_t,
    filetype: u8,
    ino: u64,
) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let dir = unsafe { args::object_mut(dir, "dir") }?;
        // SAFETY: per the contract.
        let name = unsafe { args::string(name, len, "name") }?;
        if name.is_empty() || name == "." || name == ".." || name.contains('/') {
            bail!("invalid directory entry name {name:?}");
        }
        dir.entries.push(VfsDirEntry { name: name.to_string(), filetype: vfs_type(filetype)?, ino });
        Ok(true)
    })
}

fn vfs_type(t: u8) -> Result<VfsFileType> {
    Ok(match t {
        SPRY_WASI_VFS_REGULAR_FILE => VfsFileType::RegularFile,
        SPRY_WASI_VFS_DIRECTORY => VfsFileType::Directory,
        SPRY_WASI_VFS_OTHER => VfsFileType::Other,
        _ => bail!("invalid file type {t}"),
    })
}

type StatFn = unsafe extern "C" fn(uintptr_t, *const c_char, size_t, *mut spry_wasi_vfs_stat_t) -> i32;
type ReadDirFn = unsafe extern "C" fn(uintptr_t, *const c_char, size_t, *mut spry_wasi_vfs_dir_t) -> i32;
type OpenFn = unsafe extern "C" fn(uintptr_t, *const c_char, size_t, *mut u64) -> i32;
type ReadAtFn = unsafe extern "C" fn(uintptr_t, u64, u64, *mut u8, size_t, *mut size_t) -> i32;
type CloseFn = unsafe extern "C" fn(uintptr_t, u64);

struct CbVfs {
    stat: StatFn,
    read_dir: ReadDirFn,
    open: OpenFn,
    read_at: ReadAtFn,
    close: CloseFn,
    env: Env,
}

impl VirtualFs for CbVfs {
    fn stat(&self, path: &str) -> Result<VfsStat, Errno> {
        let mut out = spry_wasi_vfs_stat::default();
        // SAFETY: the host's callback, called as `spry_wasi_vfs` documents, over live arguments.
        let e = unsafe { (self.stat)(self.env.env, path.as_ptr().cast(), path.len(), &mut out) };
        if e != 0 {
            return Err(wasi_errno(e));
        }
        let filetype = vfs_type(out.filetype).map_err(|_| Errno::IO)?;
        Ok(VfsStat { filetype, size: out.size, ino: out.ino, mtim: out.mtim })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<VfsDirEntry>, Errno> {
        let mut dir = spry_wasi_vfs_dir { entries: Vec::new() };
        // SAFETY: as in `stat`; `dir` lives through the call.
        let e = unsafe { (self.read_dir)(self.env.env, path.as_ptr().cast(), path.len(), &mut dir) };
        if e != 0 {
            return Err(wasi_errno(e));
        }
        Ok(dir.entries)
    }

    fn open(&self, path: &str) -> Result<u64, Errno> {
        let mut h = 0u64;
        // SAFETY: as in `stat`.
        let e = unsafe { (self.open)(self.env.env, path.as_ptr().cast(), path.len(), &mut h) };
        if e != 0 {
            return Err(wasi_errno(e));
        }
        Ok(h)
    }

    fn read_at(&self, handle: u64, offset: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut n: size_t = 0;
        // SAFETY: as in `stat`; `buf` is live and writable for its length.
        let e = unsafe { (self.read_at)(self.env.env, handle, offset, buf.as_mut_ptr(), buf.len(), &mut n) };
        if e != 0 {
            return Err(wasi_errno(e));
        }
        if n > buf.len() {
            return Err(Errno::IO);
        }
        Ok(n)
    }

    fn close(&self, handle: u64) {
        // SAFETY: as in `stat`.
        unsafe { (self.close)(self.env.env, handle) }
    }
}

/// Mounts a read-only virtual file tree served by the callbacks `vfs` (copied) with `env` as `guest`
/// (e.g. "/assets"). `env` is owned as in `spry_wasi_config_stdin_callback`. Returns NULL, or an
/// error: NULL `cfg` or `vfs`, a NULL callback, or a `guest` that is not UTF-8.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `vfs` is NULL or valid for a read; `guest` is NULL or points to
/// `guest_len` bytes; the callbacks behave as `spry_wasi_vfs` documents, from any thread that runs a
/// store set up with the config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_mount_vfs(
    cfg: *mut spry_wasi_config_t,
    vfs: *const spry_wasi_vfs_t,
    guest: *const c_char,
    guest_len: size_t,
    env: uintptr_t,
    finalizer: spry_finalizer_t,
) -> *mut spry_error_t {
    let env = Env { env, finalizer };
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        // SAFETY: per the contract.
        let vfs = unsafe { args::object(vfs, "vfs") }?;
        // SAFETY: per the contract.
        let guest = unsafe { args::string(guest, guest_len, "guest") }?;
        let missing = || anyhow!("a callback of the virtual tree is NULL");
        let fs = CbVfs {
            stat: vfs.stat.ok_or_else(missing)?,
            read_dir: vfs.read_dir.ok_or_else(missing)?,
            open: vfs.open.ok_or_else(missing)?,
            read_at: vfs.read_at.ok_or_else(missing)?,
            close: vfs.close.ok_or_else(missing)?,
            env,
        };
        let fs: Arc<dyn VirtualFs> = Arc::new(fs);
        cfg.edit(|c| c.preopen_virtual(fs, guest));
        Ok(())
    })
}

/// A clock: writes the time in nanoseconds (since the Unix epoch for the wall clock, since a fixed
/// origin for the monotonic one, never decreasing) to `*out_ns` and returns 0; any other result ends
/// the Wasm call as `SPRY_WASI_ABORT` does. Called on the thread running the guest.
pub type spry_wasi_clock_t = Option<unsafe extern "C" fn(env: uintptr_t, out_ns: *mut u64) -> i32>;

/// A random source: fills the `len` bytes at `buf` entirely and returns 0, or returns a POSIX errno
/// (or `SPRY_WASI_ABORT`). Called on the thread running the guest.
pub type spry_wasi_random_t = Option<unsafe extern "C" fn(env: uintptr_t, buf: *mut u8, len: size_t) -> i32>;

struct CbClock {
    cb: unsafe extern "C" fn(uintptr_t, *mut u64) -> i32,
    resolution: u64,
    env: Env,
}

impl CbClock {
    fn now(&self) -> u64 {
        let mut ns = 0u64;
        // SAFETY: the host's callback, called as `spry_wasi_clock_t` documents.
        if unsafe { (self.cb)(self.env.env, &mut ns) } != 0 {
            abort_call();
        }
        ns
    }
}

impl WallClock for CbClock {
    fn now(&self) -> u64 {
        CbClock::now(self)
    }
    fn resolution(&self) -> u64 {
        self.resolution
    }
}

impl MonotonicClock for CbClock {
    fn now(&self) -> u64 {
        CbClock::now(self)
    }
    fn resolution(&self) -> u64 {
        self.resolution
    }
}

struct CbRandom {
    cb: unsafe extern "C" fn(uintptr_t, *mut u8, size_t) -> i32,
    env: Env,
}

impl RandomSource for CbRandom {
    fn fill(&self, buf: &mut [u8]) -> io::Result<()> {
        // SAFETY: the host's callback, called as `spry_wasi_random_t` documents, over a live buffer.
        let e = unsafe { (self.cb)(self.env.env, buf.as_mut_ptr(), buf.len()) };
        if e != 0 {
            return Err(io_errno(e));
        }
        Ok(())
    }
}

/// Sets a clock: the wall clock (`CLOCK_REALTIME`, `monotonic` false) or the monotonic clock
/// (`monotonic` true) becomes the callback `cb` with `env` and the given resolution in nanoseconds
/// (0 is taken as 1). `env` is owned as in `spry_wasi_config_stdin_callback`. Returns NULL, or an
/// error for NULL `cfg` or `cb`.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `cb` behaves as `spry_wasi_clock_t` documents, from any thread
/// that runs a store set up with the config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_clock(
    cfg: *mut spry_wasi_config_t,
    monotonic: bool,
    cb: spry_wasi_clock_t,
    resolution: u64,
    env: uintptr_t,
    finalizer: spry_finalizer_t,
) -> *mut spry_error_t {
    let env = Env { env, finalizer };
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        let cb = cb.ok_or_else(|| anyhow!("callback is NULL"))?;
        let clock = Arc::new(CbClock { cb, resolution: resolution.max(1), env });
        if monotonic {
            cfg.edit(|c| c.monotonic_clock(clock));
        } else {
            cfg.edit(|c| c.wall_clock(clock));
        }
        Ok(())
    })
}

/// Makes the callback `cb` with `env` the source of `random_get`. `env` is owned as in
/// `spry_wasi_config_stdin_callback`. Returns NULL, or an error for NULL `cfg` or `cb`.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `cb` behaves as `spry_wasi_random_t` documents, from any thread
/// that runs a store set up with the config.
#[no_mangle]
pub unsafe extern "C" fn spry_wasi_config_random(
    cfg: *mut spry_wasi_config_t,
    cb: spry_wasi_random_t,
    env: uintptr_t,
    finalizer: spry_finalizer_t,
) -> *mut spry_error_t {
    let env = Env { env, finalizer };
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        let cb = cb.ok_or_else(|| anyhow!("callback is NULL"))?;
        cfg.edit(|c| c.random(Arc::new(CbRandom { cb, env })));
        Ok(())
    })
}

/// Gives `store` its own WASI state made from `cfg` (not consumed; it may be deleted or changed
/// afterwards without affecting the store), replacing any earlier one: a descriptor table with stdio
/// and the preopens, made without a syscall. Returns NULL, or an error: NULL `store` or `cfg`.
///
/// # Safety
///
/// `store` is NULL or a live store not running a call; `cfg` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn spry_store_set_wasi(
    store: *mut spry_store_t,
    cfg: *const spry_wasi_config_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        // SAFETY: per the contract.
        let cfg = unsafe { args::object(cfg, "config") }?;
        cfg.cfg.check()?;
        store.set_wasi(WasiCtx::new(&cfg.cfg));
        Ok(())
    })
}

/// A stdio entry of `spry_store_set_wasi_stdio` that keeps what the config says.
pub const SPRY_WASI_STDIO_CONFIG: i32 = 0;
/// A stdio entry that is nothing: stdin at end of input, output discarded.
pub const SPRY_WASI_STDIO_NULL: i32 = 1;
/// A stdio entry that is the process's own descriptor of the same number (0, 1 or 2).
pub const SPRY_WASI_STDIO_INHERIT: i32 = 2;
/// A stdio entry that is a duplicate of the host descriptor `fd` (as `spry_wasi_config_stdio_fd`).
pub const SPRY_WASI_STDIO_FD: i32 = 3;
/// A stdio entry that is a host callback: `read` for stdin, `write` for stdout and stderr, with `env`.
pub const SPRY_WASI_STDIO_CALLBACK: i32 = 4;

/// One stream of a store's own stdio (`spry_store_set_wasi_stdio`). A zeroed entry keeps the
/// config's stream.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct spry_wasi_stdio {
    /// `SPRY_WASI_STDIO_CONFIG`, `_NULL`, `_INHERIT`, `_FD` or `_CALLBACK`.
    pub kind: i32,
    /// The descriptor of `SPRY_WASI_STDIO_FD` (duplicated: the caller keeps its own).
    pub fd: i32,
    /// The callback of a `SPRY_WASI_STDIO_CALLBACK` stdin entry.
    pub read: spry_wasi_read_t,
    /// The callback of a `SPRY_WASI_STDIO_CALLBACK` stdout or stderr entry.
    pub write: spry_wasi_write_t,
    /// The callback's `env`.
    pub env: uintptr_t,
    /// Releases `env` (may be NULL); see `spry_store_set_wasi_stdio`.
    pub finalizer: spry_finalizer_t,
}

/// Shorthand for `struct spry_wasi_stdio`.
pub type spry_wasi_stdio_t = spry_wasi_stdio;

/// Duplicates the host descriptor `fd` into an owned file (`F_DUPFD_CLOEXEC`).
fn dup_fd(fd: i32) -> Result<Arc<std::fs::File>> {
    if fd < 0 {
        bail!("invalid file descriptor {fd}");
    }
    use std::os::fd::BorrowedFd;
    // SAFETY: the descriptor is only borrowed for the duplication, during which the caller keeps it
    // open (an fd closed meanwhile makes the duplication fail with EBADF).
    let owned = unsafe { BorrowedFd::borrow_raw(fd) }
        .try_clone_to_owned()
        .map_err(|e| anyhow!("cannot duplicate file descriptor {fd}: {e}"))?;
    Ok(Arc::new(std::fs::File::from(owned)))
}

/// An entry that keeps the config's stream.
const KEEP_STDIO: spry_wasi_stdio =
    spry_wasi_stdio { kind: SPRY_WASI_STDIO_CONFIG, fd: -1, read: None, write: None, env: 0, finalizer: None };

/// Applies the stdio entry `e` of stream `which` to `ctx`; `env` is the entry's, taken over (kept by
/// a callback, dropped otherwise).
fn apply_stdio(ctx: &mut WasiCtx, which: i32, e: &spry_wasi_stdio, env: Env) -> Result<()> {
    let name = match which {
        SPRY_WASI_STDIN => "stdin",
        SPRY_WASI_STDOUT => "stdout",
        _ => "stderr",
    };
    let bad_kind = |k: i32| anyhow!("invalid kind {k} of the {name} entry (want a SPRY_WASI_STDIO_* value)");
    let no_callback = || anyhow!("the callback of {name} is NULL");
    if which == SPRY_WASI_STDIN {
        let input = match e.kind {
            SPRY_WASI_STDIO_CONFIG => return Ok(()),
            SPRY_WASI_STDIO_NULL => WasiInput::Null,
            SPRY_WASI_STDIO_INHERIT => WasiInput::Inherit,
            SPRY_WASI_STDIO_FD => WasiInput::File(dup_fd(e.fd)?),
            SPRY_WASI_STDIO_CALLBACK => {
                let cb = e.read.ok_or_else(no_callback)?;
                WasiInput::Host(Arc::new(CbInput { cb, env }))
            }
            k => return Err(bad_kind(k)),
        };
        ctx.set_stdin(input);
        return Ok(());
    }
    let output = match e.kind {
        SPRY_WASI_STDIO_CONFIG => return Ok(()),
        SPRY_WASI_STDIO_NULL => WasiOutput::Null,
        SPRY_WASI_STDIO_INHERIT => WasiOutput::Inherit,
        SPRY_WASI_STDIO_FD => WasiOutput::File(dup_fd(e.fd)?),
        SPRY_WASI_STDIO_CALLBACK => {
            let cb = e.write.ok_or_else(no_callback)?;
            WasiOutput::Host(Arc::new(CbOutput { cb, env }))
        }
        k => return Err(bad_kind(k)),
    };
    if which == SPRY_WASI_STDOUT {
        ctx.set_stdout(output);
    } else {
        ctx.set_stderr(output);
    }
    Ok(())
}

/// `spry_store_set_wasi` with the store's own stdio: `stdio` is NULL (every stream as `cfg` says) or
/// points to three entries, for stdin, stdout and stderr, each keeping the stream of `cfg`
/// (`SPRY_WASI_STDIO_CONFIG`, a zeroed entry) or replacing it for this store only. `cfg` is shared
/// as it is (nothing of it is copied or rebuilt), so a service gives each request its own output
/// from one config at the cost of this one call.
///
/// Every entry's `env` with a non-NULL `finalizer` belongs to Spry from this call on, whatever its
/// kind: the finalizer is called once with it, when no store uses it any more (the store is deleted
/// or set up again) for a callback entry of a call that succeeded, else before this function
/// returns. Returns NULL, or an error changing nothing: NULL `store` or `cfg`, an invalid kind, a
/// NULL callback, a descriptor that cannot be duplicated.
///
/// # Safety
///
/// `store` is NULL or a live store not running a call; `cfg` is NULL or a live config; `stdio` is
/// NULL or valid for reading three entries; their callbacks behave as `spry_wasi_read_t` and
/// `spry_wasi_write_t` document, on the thread that runs the store.
#[no_mangle]
pub unsafe extern "C" fn spry_store_set_wasi_stdio(
    store: *mut spry_store_t,
    cfg: *const spry_wasi_config_t,
    stdio: *const spry_wasi_stdio_t,
) -> *mut spry_error_t {
    // SAFETY: per the contract: NULL, or three readable entries.
    let entries: [spry_wasi_stdio; 3] = match unsafe { stdio.cast::<[spry_wasi_stdio; 3]>().as_ref() } {
        Some(e) => *e,
        None => [KEEP_STDIO; 3],
    };
    // Taken over first, so that every path (an error, a panic) finalizes them.
    let envs = entries.map(|e| Env { env: e.env, finalizer: e.finalizer });
    guard(move || {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        // SAFETY: per the contract.
        let cfg = unsafe { args::object(cfg, "config") }?;
        cfg.cfg.check()?;
        let mut ctx = WasiCtx::new(&cfg.cfg);
        for ((which, e), env) in (SPRY_WASI_STDIN..).zip(entries.iter()).zip(envs) {
            apply_stdio(&mut ctx, which, e, env)?;
        }
        store.set_wasi(ctx);
        Ok(())
    })
}

/// Defines every function of `wasi_snapshot_preview1` in `linker`. Each finds its state in the
/// calling store (`spry_store_set_wasi`); a call in a store without one traps. Returns NULL, or an
/// error: NULL `linker`, or a WASI name already defined (unless shadowing is allowed).
///
/// # Safety
///
/// `linker` is NULL or a live linker not used elsewhere during the call.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_define_wasi(linker: *mut spry_linker_t) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let linker = unsafe { args::object_mut(linker, "linker") }?;
        spry::wasi::add_to_linker(&mut linker.linker)
    })
}

/// Whether `trap` ended a call because the guest called `proc_exit`; if so writes its exit code to
/// `*out_code` (which may be NULL). False for NULL `trap` and for every other trap.
///
/// # Safety
///
/// `trap` is NULL or a live trap; `out_code` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_trap_exit_status(trap: *const spry_trap_t, out_code: *mut i32) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let Some(t) = (unsafe { trap.as_ref() }) else { return Ok(false) };
        match t.trap.host_error().and_then(|e| e.downcast_ref::<I32Exit>()) {
            Some(exit) => {
                // SAFETY: per the contract.
                unsafe { args::write_opt(out_code, exit.0) };
                Ok(true)
            }
            None => Ok(false),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{spry_engine_delete, spry_engine_new, spry_engine_t};
    use crate::linker::{spry_linker_delete, spry_linker_new};
    use crate::store::{spry_store_delete, spry_store_new, store_context};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    const PROG: &str = r#"(module
      (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 256) "hello\n")
      (data (i32.const 300) "f.txt")
      (func (export "_start")
        (i32.store (i32.const 0) (i32.const 256))
        (i32.store (i32.const 4) (i32.const 6))
        (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
      ;; Opens f.txt in the preopen 3 and returns the errno of reading it to 512 (count at 8).
      (func (export "read_file") (result i32)
        (local $e i32)
        (local.set $e (call $path_open (i32.const 3) (i32.const 0) (i32.const 300) (i32.const 5) (i32.const 0)
          (i64.const 2) (i64.const 2) (i32.const 0) (i32.const 12)))
        (if (local.get $e) (then (return (local.get $e))))
        (i32.store (i32.const 0) (i32.const 512))
        (i32.store (i32.const 4) (i32.const 64))
        (call $fd_read (i32.load (i32.const 12)) (i32.const 0) (i32.const 1) (i32.const 8)))
      (func (export "clock") (result i64)
        (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 16)))
        (i64.load (i32.const 16)))
      (func (export "random") (result i32)
        (call $random (i32.const 32) (i32.const 4)))
      (func (export "exit") (call $exit (i32.const 3)))
      (func (export "argc") (result i32)
        (drop (call $args_sizes (i32.const 40) (i32.const 44)))
        (i32.load (i32.const 40))))"#;

    /// An engine, a linker with WASI (through the C surface), a store set up with `cfg` and an
    /// instance of PROG in it; `f` runs with them, then everything is deleted.
    fn with_instance(cfg: *const spry_wasi_config_t, f: impl FnOnce(*mut spry_store_t, spry::Instance)) {
        with_instance_stdio(cfg, None, f)
    }

    /// `with_instance`, the store set up with `spry_store_set_wasi_stdio(store, cfg, stdio)` when
    /// `stdio` is given.
    fn with_instance_stdio(
        cfg: *const spry_wasi_config_t,
        stdio: Option<&[spry_wasi_stdio; 3]>,
        f: impl FnOnce(*mut spry_store_t, spry::Instance),
    ) {
        // SAFETY: each object is made here, used while alive and deleted once at the end.
        unsafe {
            let mut engine: *mut spry_engine_t = std::ptr::null_mut();
            assert!(spry_engine_new(std::ptr::null(), &mut engine).is_null());
            let linker = spry_linker_new(engine);
            assert!(spry_linker_define_wasi(linker).is_null());
            let store = spry_store_new(engine);
            match stdio {
                Some(e) => assert!(spry_store_set_wasi_stdio(store, cfg, e.as_ptr()).is_null()),
                None => assert!(spry_store_set_wasi(store, cfg).is_null()),
            }
            let module = spry::Module::new(&(*engine).engine, wat::parse_str(PROG).unwrap()).unwrap();
            let inst = (*linker).linker.instantiate(store_context(store).unwrap(), &module).unwrap();
            f(store, inst);
            spry_store_delete(store);
            spry_linker_delete(linker);
            spry_engine_delete(engine);
        }
    }

    /// Calls export `name` of `inst`, with no parameters and at most one result.
    fn call(
        store: *mut spry_store_t,
        inst: spry::Instance,
        name: &str,
        results: &mut [spry::Val],
    ) -> anyhow::Result<()> {
        // SAFETY: `store` is live (see `with_instance`), and nothing else uses it during the call.
        let f = inst.get_func(unsafe { store_context(store) }.unwrap(), name).unwrap();
        // SAFETY: as above.
        f.call(unsafe { store_context(store) }.unwrap(), &[], results)
    }

    fn message(err: *mut spry_error_t) -> String {
        assert!(!err.is_null());
        let mut n = 0;
        // SAFETY: `err` is a live error, read then released once.
        unsafe {
            let p = crate::error::spry_error_message(err, &mut n);
            let s = String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), n)).into_owned();
            crate::error::spry_error_delete(err);
            s
        }
    }

    static OUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    static FINALIZED: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn write_cb(env: uintptr_t, buf: *const u8, len: size_t, errno_out: *mut i32) -> size_t {
        if env == 2 {
            // SAFETY: the engine passes a writable errno slot.
            unsafe { *errno_out = SPRY_WASI_ABORT };
            return 0;
        }
        // SAFETY: the engine passes `len` readable bytes.
        OUT.lock().unwrap().extend_from_slice(unsafe { std::slice::from_raw_parts(buf, len) });
        len
    }

    unsafe extern "C" fn finalize(_env: uintptr_t) {
        FINALIZED.fetch_add(1, Ordering::SeqCst);
    }

    #[test]
    fn output_callback_and_finalizer() {
        let cfg = spry_wasi_config_new();
        // SAFETY: `cfg` is live; the callback and finalizer follow their documented contracts.
        unsafe {
            assert!(
                spry_wasi_config_output_callback(cfg, SPRY_WASI_STDOUT, Some(write_cb), 1, Some(finalize)).is_null()
            );
            let before = FINALIZED.load(Ordering::SeqCst);
            with_instance(cfg, |store, inst| {
                call(store, inst, "_start", &mut []).unwrap();
            });
            assert_eq!(OUT.lock().unwrap().as_slice(), b"hello\n");
            assert_eq!(FINALIZED.load(Ordering::SeqCst), before, "finalized while the config holds it");
            spry_wasi_config_delete(cfg);
            assert_eq!(FINALIZED.load(Ordering::SeqCst), before + 1);
        }
    }

    #[test]
    fn abort_ends_the_call() {
        let cfg = spry_wasi_config_new();
        // SAFETY: as in `output_callback_and_finalizer`.
        unsafe {
            assert!(spry_wasi_config_output_callback(cfg, SPRY_WASI_STDOUT, Some(write_cb), 2, None).is_null());
            with_instance(cfg, |store, inst| {
                // Out of the engine, the abort unwinds further (the C entry points' guard catches it).
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(store, inst, "_start", &mut [])));
                let payload = r.expect_err("the call returned");
                assert_eq!(crate::error::panic_message(&*payload), "a WASI host callback aborted the call");
                // The store stays usable.
                let mut res = [spry::Val::I32(-1)];
                call(store, inst, "random", &mut res).unwrap();
                assert_eq!(res[0].i32(), Some(0));
            });
            spry_wasi_config_delete(cfg);
        }
    }

    unsafe extern "C" fn clock_cb(_env: uintptr_t, out: *mut u64) -> i32 {
        // SAFETY: the engine passes a writable slot.
        unsafe { *out = 1234 };
        0
    }

    unsafe extern "C" fn random_cb(_env: uintptr_t, buf: *mut u8, len: size_t) -> i32 {
        // SAFETY: the engine passes `len` writable bytes.
        unsafe { std::slice::from_raw_parts_mut(buf, len) }.fill(7);
        0
    }

    unsafe extern "C" fn failing_random_cb(_env: uintptr_t, _buf: *mut u8, _len: size_t) -> i32 {
        5 // EIO
    }

    #[test]
    fn clock_random_and_exit_status() {
        let cfg = spry_wasi_config_new();
        // SAFETY: as in `output_callback_and_finalizer`.
        unsafe {
            assert!(spry_wasi_config_clock(cfg, false, Some(clock_cb), 10, 0, None).is_null());
            assert!(spry_wasi_config_random(cfg, Some(random_cb), 0, None).is_null());
            let failing = spry_wasi_config_clone(cfg);
            assert!(spry_wasi_config_random(failing, Some(failing_random_cb), 0, None).is_null());
            with_instance(cfg, |store, inst| {
                let mut res = [spry::Val::I64(0)];
                call(store, inst, "clock", &mut res).unwrap();
                assert_eq!(res[0].i64(), Some(1234));
                let mut res = [spry::Val::I32(-1)];
                call(store, inst, "random", &mut res).unwrap();
                assert_eq!(res[0].i32(), Some(0));
                let err = call(store, inst, "exit", &mut []).unwrap_err();
                let trap = crate::trap::spry_trap::boxed(err.downcast::<spry::Trap>().unwrap());
                let mut code = -1;
                assert!(spry_trap_exit_status(trap, &mut code));
                assert_eq!(code, 3);
                crate::trap::spry_trap_delete(trap);
                let other = crate::trap::spry_trap_new("boom".as_ptr().cast(), 4);
                assert!(!spry_trap_exit_status(other, &mut code));
                crate::trap::spry_trap_delete(other);
                assert!(!spry_trap_exit_status(std::ptr::null(), std::ptr::null_mut()));
            });
            // The clone changed on its own: its random source fails with EIO (29).
            with_instance(failing, |store, inst| {
                let mut res = [spry::Val::I32(-1)];
                call(store, inst, "random", &mut res).unwrap();
                assert_eq!(res[0].i32(), Some(29));
            });
            spry_wasi_config_delete(failing);
            spry_wasi_config_delete(cfg);
        }
    }

    // A one-file tree: "." holds "f.txt" with "virtual!".
    const FILE: &[u8] = b"virtual!";

    unsafe fn path<'a>(p: *const c_char, n: size_t) -> &'a str {
        // SAFETY: the engine passes `n` bytes of UTF-8.
        unsafe { std::str::from_utf8(std::slice::from_raw_parts(p.cast::<u8>(), n)).unwrap() }
    }

    unsafe extern "C" fn vfs_stat(_e: uintptr_t, p: *const c_char, n: size_t, out: *mut spry_wasi_vfs_stat_t) -> i32 {
        // SAFETY: per `spry_wasi_vfs`.
        let (filetype, size) = match unsafe { path(p, n) } {
            "." => (SPRY_WASI_VFS_DIRECTORY, 0),
            "f.txt" => (SPRY_WASI_VFS_REGULAR_FILE, FILE.len() as u64),
            _ => return 2, // ENOENT
        };
        // SAFETY: per `spry_wasi_vfs`.
        unsafe { *out = spry_wasi_vfs_stat { filetype, size, ino: 0, mtim: 0 } };
        0
    }

    unsafe extern "C" fn vfs_read_dir(
        _e: uintptr_t,
        p: *const c_char,
        n: size_t,
        dir: *mut spry_wasi_vfs_dir_t,
    ) -> i32 {
        // SAFETY: per `spry_wasi_vfs`.
        if unsafe { path(p, n) } != "." {
            return 20; // ENOTDIR
        }
        // SAFETY: per `spry_wasi_vfs`.
        unsafe {
            assert!(!spry_wasi_vfs_dir_push(dir, "..".as_ptr().cast(), 2, SPRY_WASI_VFS_DIRECTORY, 0));
            assert!(spry_wasi_vfs_dir_push(dir, "f.txt".as_ptr().cast(), 5, SPRY_WASI_VFS_REGULAR_FILE, 0));
        }
        0
    }

    static OPEN: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" fn vfs_open(_e: uintptr_t, p: *const c_char, n: size_t, out: *mut u64) -> i32 {
        // SAFETY: per `spry_wasi_vfs`.
        if unsafe { path(p, n) } != "f.txt" {
            return 2;
        }
        OPEN.fetch_add(1, Ordering::SeqCst);
        // SAFETY: per `spry_wasi_vfs`.
        unsafe { *out = 77 };
        0
    }

    unsafe extern "C" fn vfs_read_at(
        _e: uintptr_t,
        h: u64,
        off: u64,
        buf: *mut u8,
        len: size_t,
        out_n: *mut size_t,
    ) -> i32 {
        assert_eq!(h, 77);
        let rest = FILE.get(off as usize..).unwrap_or(&[]);
        let n = rest.len().min(len);
        // SAFETY: per `spry_wasi_vfs`.
        unsafe {
            std::ptr::copy_nonoverlapping(rest.as_ptr(), buf, n);
            *out_n = n;
        }
        0
    }

    unsafe extern "C" fn vfs_close(_e: uintptr_t, h: u64) {
        assert_eq!(h, 77);
        OPEN.fetch_sub(1, Ordering::SeqCst);
    }

    #[test]
    fn virtual_tree() {
        let vfs = spry_wasi_vfs {
            stat: Some(vfs_stat),
            read_dir: Some(vfs_read_dir),
            open: Some(vfs_open),
            read_at: Some(vfs_read_at),
            close: Some(vfs_close),
        };
        let cfg = spry_wasi_config_new();
        // SAFETY: as in `output_callback_and_finalizer`.
        unsafe {
            let missing = spry_wasi_vfs { close: None, ..vfs };
            let err = spry_wasi_config_mount_vfs(cfg, &missing, "/v".as_ptr().cast(), 2, 0, None);
            assert!(message(err).contains("NULL"));
            assert!(spry_wasi_config_mount_vfs(cfg, &vfs, "/v".as_ptr().cast(), 2, 0, None).is_null());
            with_instance(cfg, |store, inst| {
                let mut res = [spry::Val::I32(-1)];
                call(store, inst, "read_file", &mut res).unwrap();
                assert_eq!(res[0].i32(), Some(0));
                let ctx = store_context(store).unwrap();
                let mem = inst.get_memory(ctx, "memory").unwrap();
                let mut buf = [0u8; 12];
                mem.read(store_context(store).unwrap(), 8, &mut buf[..4]).unwrap();
                assert_eq!(u32::from_le_bytes(buf[..4].try_into().unwrap()) as usize, FILE.len());
                mem.read(store_context(store).unwrap(), 512, &mut buf[..FILE.len()]).unwrap();
                assert_eq!(&buf[..FILE.len()], FILE);
            });
            assert_eq!(OPEN.load(Ordering::SeqCst), 0, "the store's deletion closes its files");
            spry_wasi_config_delete(cfg);
        }
    }

    // Per-store stdio (`spry_store_set_wasi_stdio`): each env has its own buffer and finalizer count.
    static STDIO_OUT: Mutex<Vec<(uintptr_t, Vec<u8>)>> = Mutex::new(Vec::new());
    static STDIO_FINALIZED: Mutex<Vec<uintptr_t>> = Mutex::new(Vec::new());

    unsafe extern "C" fn stdio_write_cb(env: uintptr_t, buf: *const u8, len: size_t, _e: *mut i32) -> size_t {
        // SAFETY: the engine passes `len` readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(buf, len) }.to_vec();
        STDIO_OUT.lock().unwrap().push((env, bytes));
        len
    }

    unsafe extern "C" fn stdio_finalize(env: uintptr_t) {
        STDIO_FINALIZED.lock().unwrap().push(env);
    }

    fn stdio_written(env: uintptr_t) -> Vec<u8> {
        STDIO_OUT.lock().unwrap().iter().filter(|(e, _)| *e == env).flat_map(|(_, b)| b.clone()).collect()
    }

    fn stdio_finalized(env: uintptr_t) -> usize {
        STDIO_FINALIZED.lock().unwrap().iter().filter(|e| **e == env).count()
    }

    const CONFIG: spry_wasi_stdio = KEEP_STDIO;

    fn stdout_callback(env: uintptr_t) -> [spry_wasi_stdio; 3] {
        let out = spry_wasi_stdio {
            kind: SPRY_WASI_STDIO_CALLBACK,
            write: Some(stdio_write_cb),
            env,
            finalizer: Some(stdio_finalize),
            ..CONFIG
        };
        [CONFIG, out, CONFIG]
    }

    #[test]
    fn per_store_stdio_overrides_share_the_config() {
        let cfg = spry_wasi_config_new();
        // SAFETY: `cfg` is live; the callbacks and finalizers follow their documented contracts.
        unsafe {
            // The config's own stdout (env 100) is never written: each store has its own.
            let own = spry_wasi_config_output_callback(
                cfg,
                SPRY_WASI_STDOUT,
                Some(stdio_write_cb),
                100,
                Some(stdio_finalize),
            );
            assert!(own.is_null());
            for env in [101, 102] {
                with_instance_stdio(cfg, Some(&stdout_callback(env)), |store, inst| {
                    call(store, inst, "_start", &mut []).unwrap();
                    assert_eq!(stdio_finalized(env), 0, "finalized while its store uses it");
                });
                assert_eq!(stdio_written(env), b"hello\n");
                assert_eq!(stdio_finalized(env), 1, "the store's deletion finalizes its stdout");
            }
            // Setting the store up again releases the earlier override at once.
            with_instance_stdio(cfg, Some(&stdout_callback(103)), |store, inst| {
                assert!(spry_store_set_wasi_stdio(store, cfg, std::ptr::null()).is_null());
                assert_eq!(stdio_finalized(103), 1);
                call(store, inst, "_start", &mut []).unwrap();
            });
            assert_eq!(stdio_written(103), b"");
            assert_eq!(stdio_written(100), b"hello\n", "NULL stdio: the config's streams");
            assert_eq!(stdio_finalized(100), 0);
            spry_wasi_config_delete(cfg);
            assert_eq!(stdio_finalized(100), 1);
        }
    }

    #[test]
    fn per_store_stdio_descriptor_and_null() {
        let path = std::env::temp_dir().join(format!("spry-capi-stdio-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        use std::os::fd::AsRawFd;
        let cfg = spry_wasi_config_new();
        // SAFETY: as in `per_store_stdio_overrides_share_the_config`.
        unsafe {
            assert!(spry_wasi_config_output_callback(cfg, SPRY_WASI_STDOUT, Some(stdio_write_cb), 110, None).is_null());
            let fd = spry_wasi_stdio { kind: SPRY_WASI_STDIO_FD, fd: file.as_raw_fd(), ..CONFIG };
            with_instance_stdio(cfg, Some(&[CONFIG, fd, CONFIG]), |store, inst| {
                call(store, inst, "_start", &mut []).unwrap();
            });
            drop(file);
            assert_eq!(std::fs::read(&path).unwrap(), b"hello\n", "written through the descriptor");
            let null = spry_wasi_stdio { kind: SPRY_WASI_STDIO_NULL, ..CONFIG };
            with_instance_stdio(cfg, Some(&[CONFIG, null, CONFIG]), |store, inst| {
                call(store, inst, "_start", &mut []).unwrap();
            });
            assert_eq!(stdio_written(110), b"", "the config's stdout was replaced");
            spry_wasi_config_delete(cfg);
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn per_store_stdio_errors_finalize_and_change_nothing() {
        let cfg = spry_wasi_config_new();
        // SAFETY: as in `per_store_stdio_overrides_share_the_config`.
        unsafe {
            with_instance_stdio(cfg, Some(&stdout_callback(125)), |store, inst| {
                let bad = [
                    // An invalid kind, a NULL callback, the wrong callback for stdin, a bad descriptor.
                    [CONFIG, stdout_callback(120)[1], spry_wasi_stdio { kind: 9, ..CONFIG }],
                    [CONFIG, spry_wasi_stdio { write: None, ..stdout_callback(121)[1] }, CONFIG],
                    [stdout_callback(122)[1], CONFIG, CONFIG],
                    [CONFIG, stdout_callback(123)[1], spry_wasi_stdio { kind: SPRY_WASI_STDIO_FD, fd: -1, ..CONFIG }],
                ];
                let messages = ["invalid kind 9", "callback of stdout is NULL", "callback of stdin is NULL", "-1"];
                for (entries, want) in bad.iter().zip(messages) {
                    let got = message(spry_store_set_wasi_stdio(store, cfg, entries.as_ptr()));
                    assert!(got.contains(want), "{got:?} lacks {want:?}");
                }
                for env in 120..124 {
                    assert_eq!(stdio_finalized(env), 1, "env {env} finalized on failure");
                }
                let e = stdout_callback(124);
                assert!(!spry_store_set_wasi_stdio(store, std::ptr::null(), e.as_ptr()).is_null());
                assert!(!spry_store_set_wasi_stdio(std::ptr::null_mut(), cfg, e.as_ptr()).is_null());
                assert_eq!(stdio_finalized(124), 2);
                // The store kept its state.
                call(store, inst, "_start", &mut []).unwrap();
            });
            assert_eq!(stdio_written(125), b"hello\n");
            spry_wasi_config_delete(cfg);
        }
    }

    #[test]
    fn bad_arguments_change_nothing() {
        let cfg = spry_wasi_config_new();
        // SAFETY: `cfg` is live; the buffers are live for each call.
        unsafe {
            let buf = b"progxK=V";
            // Lengths that do not add up.
            assert!(message(spry_wasi_config_add_args(cfg, buf.as_ptr().cast(), 5, [4].as_ptr(), 1)).contains("after"));
            assert!(message(spry_wasi_config_add_args(cfg, buf.as_ptr().cast(), 4, [5].as_ptr(), 1)).contains("past"));
            // A NUL byte, a name with '=', invalid UTF-8.
            assert!(!spry_wasi_config_add_args(cfg, c"a".as_ptr(), 2, [2].as_ptr(), 1).is_null());
            assert!(!spry_wasi_config_add_env(cfg, b"K=V1".as_ptr().cast(), 4, [3, 1].as_ptr(), 1).is_null());
            assert!(!spry_wasi_config_add_args(cfg, b"\xff".as_ptr().cast(), 1, [1].as_ptr(), 1).is_null());
            assert!(spry_wasi_config_add_args(cfg, buf.as_ptr().cast(), 5, [4, 1].as_ptr(), 2).is_null());
            assert!(spry_wasi_config_add_env(cfg, b"KV".as_ptr().cast(), 2, [1, 1].as_ptr(), 1).is_null());
            assert!((*cfg).cfg.check().is_ok());
            with_instance(cfg, |store, inst| {
                let mut res = [spry::Val::I32(-1)];
                call(store, inst, "argc", &mut res).unwrap();
                assert_eq!(res[0].i32(), Some(2), "failed calls added nothing");
            });
            // Streams, descriptors and directories.
            assert!(!spry_wasi_config_stdio_inherit(cfg, 3, true).is_null());
            assert!(!spry_wasi_config_stdio_fd(cfg, SPRY_WASI_STDOUT, -1).is_null());
            assert!(!spry_wasi_config_stdio_fd(cfg, SPRY_WASI_STDOUT, 1 << 20).is_null());
            assert!(spry_wasi_config_stdio_fd(cfg, SPRY_WASI_STDERR, 2).is_null());
            assert!(!spry_wasi_config_output_callback(cfg, SPRY_WASI_STDIN, Some(write_cb), 0, None).is_null());
            let err =
                spry_wasi_config_preopen_dir(cfg, "/no/such/dir".as_ptr().cast(), 12, "/d".as_ptr().cast(), 2, false);
            assert!(message(err).contains("/no/such/dir"));
            assert!(!spry_store_set_wasi(std::ptr::null_mut(), cfg).is_null());
            assert!(!spry_linker_define_wasi(std::ptr::null_mut()).is_null());
            assert!(spry_wasi_config_clone(std::ptr::null()).is_null());
            spry_wasi_config_delete(cfg);
            spry_wasi_config_delete(std::ptr::null_mut());
        }
    }
}
