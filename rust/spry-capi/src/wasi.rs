//! WASI preview 1 (`wasi_snapshot_preview1`) for C hosts: [`spry_wasi_config_t`] (what every store
//! running a program shares: arguments, environment, stdio, preopened directories, virtual file
//! trees, clocks, random source), `spry_store_set_wasi` (a store's own WASI state, made from a
//! config without a syscall), `spry_linker_define_wasi` (every function of the ABI), and
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
pub unsafe extern "C" fn spry_wasi_config_stdio_fd(cfg: *mut spry_wasi_config_t, which: i32, fd: i32) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let cfg = unsafe { args::object_mut(cfg, "config") }?;
        let which = stream(which)?;
        if fd < 0 {
            bail!("invalid file descriptor {fd}");
        }
        use std::os::fd::BorrowedFd;
        // SAFETY: the descriptor is only borrowed for the duplication, during which the caller
        // keeps it open (an fd closed meanwhile makes the duplication fail with EBADF).
        let owned = unsafe { BorrowedFd::borrow_raw(fd) }
            .try_clone_to_owned()
            .map_err(|e| anyhow!("cannot duplicate file descriptor {fd}: {e}"))?;
        let file = Arc::new(std::fs::File::from(owned));
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
    pub stat:
        Option<unsafe extern "C" fn(env: uintptr_t, path: *const c_char, len: size_t, out: *mut spry_wasi_vfs_stat_t) -> i32>,
    /// Lists the directory at `path` with `spry_wasi_vfs_dir_push`, in a stable order, without "."
    /// and "..".
    pub read_dir:
        Option<unsafe extern "C" fn(env: uintptr_t, path: *const c_char, len: size_t, dir: *mut spry_wasi_vfs_dir_t) -> i32>,
    /// Opens the regular file at `path`, writing the host's handle for it to `*out_handle`.
    pub open:
        Option<unsafe extern "C" fn(env: uintptr_t, path: *const c_char, len: size_t, out_handle: *mut u64) -> i32>,
    /// Reads up to `len` bytes at `offset` of an open file into `buf`, writing how many to `*out_n`
    /// (0 at its end).
    pub read_at: Option<
        unsafe extern "C" fn(env: uintptr_t, handle: u64, offset: u64, buf: *mut u8, len: size_t, out_n: *mut size_t) -> i32,
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
pub unsafe extern "C" fn spry_store_set_wasi(store: *mut spry_store_t, cfg: *const spry_wasi_config_t) -> *mut spry_error_t {
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
