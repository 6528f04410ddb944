//! WASI preview 1 (`wasi_snapshot_preview1`): every function of the ABI, as host functions that
//! any [`Linker`] can hold, with per-store state in the [`Store`](crate::Store).
//!
//! ```no_run
//! use spry::wasi::{self, DirPerms, WasiConfig, WasiCtx, I32Exit};
//! # fn main() -> anyhow::Result<()> {
//! let engine = spry::Engine::default();
//! let module = spry::Module::new(&engine, std::fs::read("prog.wasm")?)?;
//! let mut linker = spry::Linker::new(&engine);
//! wasi::add_to_linker(&mut linker)?;                 // all 46 functions
//! let pre = linker.instantiate_pre(&module)?;         // one per program, for every store
//! let cfg = WasiConfig::new()                         // built once, shared (Arc inside)
//!     .args(["prog", "x"])
//!     .env("K", "V")
//!     .inherit_stdio()
//!     .preopen_dir("/tmp", "/data", DirPerms::ReadWrite)?; // opened here, once
//! let mut store = spry::Store::new(&engine);
//! store.set_wasi(WasiCtx::new(&cfg));                 // per store: no syscall
//! let inst = pre.instantiate(&mut store)?;
//! let start = inst.get_func(&mut store, "_start").unwrap();
//! let code = match start.call(&mut store, &[], &mut []) {
//!     Ok(()) => 0,
//!     Err(e) => match wasi::exit_code(&e) {
//!         Some(code) => code,
//!         None => return Err(e),
//!     },
//! };
//! # let _ = code; Ok(()) }
//! ```
//!
//! Files on preopened host directories go through cap-std (`openat2(RESOLVE_BENEATH)` on Linux):
//! no path, symlink or race reaches outside a preopen. Hosts that are not Rust (the C surface, Go)
//! supply streams, read-only file trees, clocks and randomness through the traits below; a call
//! whose objects are all OS objects (host directories, inherited or owned descriptors, the system
//! clocks and random source) never calls into them. `docs/wasi.md` describes the semantics.

mod abi;
mod fs;
mod funcs;
mod guest;
mod poll;
pub(crate) use poll::wake_interrupted;
mod table;

pub use abi::Errno;

use crate::func::Caller;
use crate::linker::Linker;
use crate::trap::Trap;
use crate::types::{FuncType, ValType};
use crate::vm::memory::LinearMemory;
use anyhow::{anyhow, Result};
use std::fmt;
use std::io;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// What a guest may do in a preopened host directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirPerms {
    /// Read files and list directories; every mutation (create, write, rename, remove, set
    /// times) fails with `EPERM`, and files cannot be opened for writing.
    ReadOnly,
    /// Everything inside the directory.
    ReadWrite,
}

/// The error a call ends with when the guest calls `proc_exit(code)`: the trap's host error
/// downcasts to it (see [`exit_code`]). Exit 0 from `_start` means success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl fmt::Display for I32Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// The exit code carried by `err` if it ended a call through `proc_exit` (the trap's host error
/// is an [`I32Exit`]), else `None`.
pub fn exit_code(err: &anyhow::Error) -> Option<i32> {
    if let Some(e) = err.downcast_ref::<I32Exit>() {
        return Some(e.0);
    }
    let trap = err.downcast_ref::<Trap>()?;
    trap.host_error()?.downcast_ref::<I32Exit>().map(|e| e.0)
}

/// A host object the guest's stdin reads from (a Go `io.Reader`, a C callback).
pub trait HostInput: Send + Sync {
    /// Reads up to `buf.len()` bytes; `Ok(0)` is end of input.
    fn read(&self, buf: &mut [u8]) -> io::Result<usize>;
}

/// A host object the guest's stdout or stderr writes to (a Go `io.Writer`, a C callback).
pub trait HostOutput: Send + Sync {
    /// Writes some of `buf` (at least one byte unless `buf` is empty), returning how many.
    fn write(&self, buf: &[u8]) -> io::Result<usize>;
}

/// Where the guest's stdin comes from.
#[derive(Clone, Default)]
pub enum WasiInput {
    /// Always at end of input.
    #[default]
    Null,
    /// The process's own stdin (descriptor 0), read directly.
    Inherit,
    /// An owned descriptor (a pipe, a file, a Go `*os.File`'s descriptor), read directly.
    File(Arc<std::fs::File>),
    /// A host object.
    Host(Arc<dyn HostInput>),
}

/// Where the guest's stdout or stderr goes.
#[derive(Clone, Default)]
pub enum WasiOutput {
    /// Discarded (every write succeeds).
    #[default]
    Null,
    /// The process's own stdout (descriptor 1) or stderr (2), written directly.
    Inherit,
    /// An owned descriptor (a file, a pipe, a Go `*os.File`'s descriptor), written directly.
    File(Arc<std::fs::File>),
    /// A host object.
    Host(Arc<dyn HostOutput>),
}

/// An in-memory output that keeps everything written to it (tests, capture). Clones share it.
#[derive(Clone, Default)]
pub struct MemoryOutput(Arc<Mutex<Vec<u8>>>);

impl MemoryOutput {
    /// An empty buffer.
    pub fn new() -> MemoryOutput {
        MemoryOutput::default()
    }

    /// A copy of what was written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

impl HostOutput for MemoryOutput {
    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }
}

/// An in-memory input that yields a fixed byte string once.
pub struct MemoryInput {
    data: Vec<u8>,
    pos: Mutex<usize>,
}

impl MemoryInput {
    /// An input that yields `data`, then end of input.
    pub fn new(data: impl Into<Vec<u8>>) -> MemoryInput {
        MemoryInput { data: data.into(), pos: Mutex::new(0) }
    }
}

impl HostInput for MemoryInput {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut pos = self.pos.lock().map_err(|_| io::Error::other("poisoned"))?;
        let rest = self.data.get(*pos..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        *pos += n;
        Ok(n)
    }
}

/// A wall clock (`CLOCK_REALTIME`) supplied by the host.
pub trait WallClock: Send + Sync {
    /// Nanoseconds since the Unix epoch.
    fn now(&self) -> u64;
    /// The clock's resolution in nanoseconds.
    fn resolution(&self) -> u64 {
        1
    }
}

/// A monotonic clock (`CLOCK_MONOTONIC`) supplied by the host.
pub trait MonotonicClock: Send + Sync {
    /// Nanoseconds since an arbitrary, fixed origin; never decreases.
    fn now(&self) -> u64;
    /// The clock's resolution in nanoseconds.
    fn resolution(&self) -> u64 {
        1
    }
}

/// A source of random bytes (`random_get`) supplied by the host (deterministic tests).
pub trait RandomSource: Send + Sync {
    /// Fills `buf` entirely.
    fn fill(&self, buf: &mut [u8]) -> io::Result<()>;
}

/// The type of a node of a [`VirtualFs`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VfsFileType {
    /// A regular file (readable with [`VirtualFs::read_at`]).
    #[default]
    RegularFile,
    /// A directory (listable with [`VirtualFs::read_dir`]).
    Directory,
    /// Anything else (reported as `unknown`).
    Other,
}

/// What [`VirtualFs::stat`] reports of a node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VfsStat {
    /// The node's type.
    pub filetype: VfsFileType,
    /// Size in bytes.
    pub size: u64,
    /// An inode number, unique within the tree (0 if the host has none).
    pub ino: u64,
    /// Modification time, nanoseconds since the Unix epoch (also reported as access and change time).
    pub mtim: u64,
}

/// One entry of [`VirtualFs::read_dir`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VfsDirEntry {
    /// The entry's name (one path component).
    pub name: String,
    /// Its type.
    pub filetype: VfsFileType,
    /// Its inode number (0 if the host has none).
    pub ino: u64,
}

/// A read-only file tree supplied by the host, mounted as a preopen (a Go `fs.FS`: `embed.FS`,
/// `fstest.MapFS`...). Paths are in Go's `fs.ValidPath` form: `"."` for the root, else
/// slash-separated components with no `.`, `..` or empty ones (the WASI layer resolves `..`
/// itself, never above the root). The tree has no symbolic links.
pub trait VirtualFs: Send + Sync {
    /// The node at `path` (`ENOENT` if there is none, `ENOTDIR` if a component is a file).
    fn stat(&self, path: &str) -> std::result::Result<VfsStat, Errno>;
    /// The entries of the directory at `path`, in a stable order, without `.` and `..`.
    fn read_dir(&self, path: &str) -> std::result::Result<Vec<VfsDirEntry>, Errno>;
    /// Opens the regular file at `path` for [`VirtualFs::read_at`]; returns the host's handle.
    fn open(&self, path: &str) -> std::result::Result<u64, Errno>;
    /// Reads up to `buf.len()` bytes at `offset` of an open file; `Ok(0)` at its end.
    fn read_at(&self, handle: u64, offset: u64, buf: &mut [u8]) -> std::result::Result<usize, Errno>;
    /// Closes a handle from [`VirtualFs::open`] (called once per handle).
    fn close(&self, handle: u64);
}

/// A preopened directory of a [`WasiConfig`].
#[derive(Clone)]
pub(crate) struct Preopen {
    /// The guest's name for it (`fd_prestat_dir_name`).
    pub name: Arc<str>,
    pub kind: PreopenKind,
}

#[derive(Clone)]
pub(crate) enum PreopenKind {
    Dir(Arc<cap_std::fs::Dir>, DirPerms),
    Virtual(Arc<dyn VirtualFs>),
}

/// NUL-terminated strings packed as `args_get`/`environ_get` write them, with their offsets.
#[derive(Clone, Default)]
pub(crate) struct Strings {
    pub buf: Vec<u8>,
    pub offsets: Vec<u32>,
}

impl Strings {
    fn push(&mut self, s: &[u8]) -> Result<()> {
        if s.contains(&0) {
            return Err(anyhow!("WASI arguments and environment entries cannot contain NUL bytes"));
        }
        let off = u32::try_from(self.buf.len()).map_err(|_| anyhow!("WASI arguments too large"))?;
        self.buf.extend_from_slice(s);
        self.buf.push(0);
        u32::try_from(self.buf.len()).map_err(|_| anyhow!("WASI arguments too large"))?;
        self.offsets.push(off);
        Ok(())
    }
}

#[derive(Clone, Default)]
pub(crate) struct ConfigInner {
    pub args: Strings,
    pub env: Strings,
    pub stdin: WasiInput,
    pub stdout: WasiOutput,
    pub stderr: WasiOutput,
    pub preopens: Vec<Preopen>,
    pub wall: Option<Arc<dyn WallClock>>,
    pub mono: Option<Arc<dyn MonotonicClock>>,
    pub random: Option<Arc<dyn RandomSource>>,
    /// The first configuration error (reported by [`WasiConfig::check`]); builder methods that
    /// cannot return one record it here.
    pub error: Option<String>,
}

/// What every store running a program shares: arguments, environment, stdio, preopened
/// directories, clocks and random source. Built once; cloning is cheap (an `Arc`), and the
/// builder methods copy the shared state only if another clone holds it.
#[derive(Clone, Default)]
pub struct WasiConfig {
    pub(crate) inner: Arc<ConfigInner>,
}

impl WasiConfig {
    /// An empty configuration: no arguments or environment, stdin empty, stdout and stderr
    /// discarded, no preopens, the system clocks and random source.
    pub fn new() -> WasiConfig {
        WasiConfig::default()
    }

    fn edit(&mut self) -> &mut ConfigInner {
        Arc::make_mut(&mut self.inner)
    }

    fn record(&mut self, r: Result<()>) {
        if let Err(e) = r {
            let inner = self.edit();
            if inner.error.is_none() {
                inner.error = Some(e.to_string());
            }
        }
    }

    /// Appends one argument (`argv[0]` first: the program's name).
    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        let r = self.edit().args.push(arg.as_ref().as_bytes());
        self.record(r);
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    /// Adds the environment variable `key=value`.
    pub fn env(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let (k, v) = (key.as_ref(), value.as_ref());
        let r = if k.contains('=') {
            Err(anyhow!("WASI environment variable name {k:?} contains '='"))
        } else {
            self.edit().env.push(format!("{k}={v}").as_bytes())
        };
        self.record(r);
        self
    }

    /// Adds environment variables.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        for (k, v) in vars {
            self = self.env(k, v);
        }
        self
    }

    /// The guest's stdin.
    pub fn stdin(mut self, input: WasiInput) -> Self {
        self.edit().stdin = input;
        self
    }

    /// The guest's stdout.
    pub fn stdout(mut self, output: WasiOutput) -> Self {
        self.edit().stdout = output;
        self
    }

    /// The guest's stderr.
    pub fn stderr(mut self, output: WasiOutput) -> Self {
        self.edit().stderr = output;
        self
    }

    /// Stdin, stdout and stderr are the process's own (descriptors 0, 1, 2).
    pub fn inherit_stdio(self) -> Self {
        self.stdin(WasiInput::Inherit).stdout(WasiOutput::Inherit).stderr(WasiOutput::Inherit)
    }

    /// Preopens the host directory `host` as `guest` (e.g. `"/"`, `"/data"`, `"."`). The directory
    /// is opened now, once; every store made from this configuration shares the descriptor.
    pub fn preopen_dir(self, host: impl AsRef<Path>, guest: &str, perms: DirPerms) -> Result<Self> {
        let host = host.as_ref();
        let dir = cap_std::fs::Dir::open_ambient_dir(host, cap_std::ambient_authority())
            .map_err(|e| anyhow!("cannot open directory {}: {e}", host.display()))?;
        Ok(self.preopen_cap_dir(dir, guest, perms))
    }

    /// Preopens an already open directory as `guest`.
    pub fn preopen_cap_dir(mut self, dir: cap_std::fs::Dir, guest: &str, perms: DirPerms) -> Self {
        let name: Arc<str> = Arc::from(guest);
        self.edit().preopens.push(Preopen { name, kind: PreopenKind::Dir(Arc::new(dir), perms) });
        self
    }

    /// Mounts a read-only host file tree as `guest`.
    pub fn preopen_virtual(mut self, fs: Arc<dyn VirtualFs>, guest: &str) -> Self {
        let name: Arc<str> = Arc::from(guest);
        self.edit().preopens.push(Preopen { name, kind: PreopenKind::Virtual(fs) });
        self
    }

    /// The wall clock (default: the system's `CLOCK_REALTIME`).
    pub fn wall_clock(mut self, clock: Arc<dyn WallClock>) -> Self {
        self.edit().wall = Some(clock);
        self
    }

    /// The monotonic clock (default: the system's `CLOCK_MONOTONIC`).
    pub fn monotonic_clock(mut self, clock: Arc<dyn MonotonicClock>) -> Self {
        self.edit().mono = Some(clock);
        self
    }

    /// The random source (default: the system's `getrandom`).
    pub fn random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.edit().random = Some(random);
        self
    }

    /// The first error a builder method met (an argument with a NUL byte, an environment name
    /// with `=`), if any. [`Store::set_wasi`](crate::Store::set_wasi) does not check it;
    /// embedders call this once after building.
    pub fn check(&self) -> Result<()> {
        match &self.inner.error {
            Some(e) => Err(anyhow!("{e}")),
            None => Ok(()),
        }
    }
}

/// A store's WASI state: the descriptor table (stdio and preopens first, made on the first WASI
/// call), per-store stdio overrides, and the exit code. Made from a [`WasiConfig`] without a
/// syscall; install it with [`Store::set_wasi`](crate::Store::set_wasi).
pub struct WasiCtx {
    pub(crate) cfg: Arc<ConfigInner>,
    pub(crate) table: table::Table,
    pub(crate) stdin: Option<WasiInput>,
    pub(crate) stdout: Option<WasiOutput>,
    pub(crate) stderr: Option<WasiOutput>,
    /// The memory of the last calling instance: `(caller VMContext, memory)`. Instances live as
    /// long as their store, so a VMContext address names one instance for the store's lifetime.
    mem_cache: (usize, *mut LinearMemory),
    pub(crate) exit: Option<i32>,
}

// SAFETY: the cached pointer points into an instance of the store that owns this context, and is
// used only by the thread using that store; the rest is `Send`.
unsafe impl Send for WasiCtx {}

impl WasiCtx {
    /// The state for one store running with `cfg`.
    pub fn new(cfg: &WasiConfig) -> WasiCtx {
        WasiCtx {
            cfg: cfg.inner.clone(),
            table: table::Table::default(),
            stdin: None,
            stdout: None,
            stderr: None,
            mem_cache: (0, std::ptr::null_mut()),
            exit: None,
        }
    }

    /// Replaces this store's stdin (the configuration's stays as it is for other stores).
    pub fn set_stdin(&mut self, input: WasiInput) {
        self.stdin = Some(input);
    }

    /// Replaces this store's stdout.
    pub fn set_stdout(&mut self, output: WasiOutput) {
        self.stdout = Some(output);
    }

    /// Replaces this store's stderr.
    pub fn set_stderr(&mut self, output: WasiOutput) {
        self.stderr = Some(output);
    }

    /// The code the guest passed to `proc_exit`, once it has.
    pub fn exit_code(&self) -> Option<i32> {
        self.exit
    }

    pub(crate) fn input(&self) -> &WasiInput {
        self.stdin.as_ref().unwrap_or(&self.cfg.stdin)
    }

    pub(crate) fn output(&self, fd: u8) -> &WasiOutput {
        if fd == 2 {
            self.stderr.as_ref().unwrap_or(&self.cfg.stderr)
        } else {
            self.stdout.as_ref().unwrap_or(&self.cfg.stdout)
        }
    }
}

/// Why a WASI function did not succeed: an errno for the guest, or a trap that ends the call.
pub(crate) enum Fail {
    Errno(Errno),
    Trap(anyhow::Error),
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Fail {
        Fail::Errno(e)
    }
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        Fail::Errno(e.into())
    }
}

impl From<rustix::io::Errno> for Fail {
    fn from(e: rustix::io::Errno) -> Fail {
        Fail::Errno(e.into())
    }
}

pub(crate) type R<T> = std::result::Result<T, Fail>;

/// One WASI call's view: the store's WASI state, the caller's memory (if it exports one), and
/// the store's interrupt flag.
pub(crate) struct Call<'a> {
    pub ctx: &'a mut WasiCtx,
    mem: Option<guest::GuestMem<'a>>,
    pub interrupt: &'a AtomicU64,
}

impl<'a> Call<'a> {
    /// The caller's memory; a trap if it exports none (as wasmtime: a WASI function with pointer
    /// arguments cannot run without one).
    pub fn mem(&mut self) -> R<&mut guest::GuestMem<'a>> {
        self.mem.as_mut().ok_or_else(|| Fail::Trap(anyhow!("missing required memory export")))
    }

    /// The state and the memory at once (disjoint).
    pub fn both(&mut self) -> R<(&mut WasiCtx, &mut guest::GuestMem<'a>)> {
        let mem = self.mem.as_mut().ok_or_else(|| Fail::Trap(anyhow!("missing required memory export")))?;
        Ok((&mut *self.ctx, mem))
    }
}

type Impl = fn(&mut Call<'_>, &[u64]) -> R<u64>;

/// Runs one WASI function for `caller`: finds the store's state and the caller's memory, runs
/// `f`, and writes its errno (or nothing, for `proc_exit`) to the result slot.
///
/// Not re-entrant: while it runs, it holds the store's WASI state exclusively, and a host object it
/// calls (a `HostOutput`, a C or Go stream, file tree, clock or random source) may call back into the
/// store. A WASI call made meanwhile would reach that same state, so it is refused with a trap, told
/// by the store context's `wasi_call` (outside the WASI state, so that checking it aliases nothing).
fn dispatch(caller: Caller<'_>, slots: &mut [u64], f: Impl, has_result: bool) -> Result<()> {
    let store = caller.store.as_ptr();
    // SAFETY: the store is alive during the host call; its context lives in an `Arc` the store holds.
    // Only its raw pointer is used: the field is an `UnsafeCell` this thread alone touches.
    let wasi_call = unsafe { (*(*store).vm_ptr()).wasi_call.get() };
    // SAFETY: as above.
    if unsafe { *wasi_call } != 0 {
        return Err(anyhow!(
            "WASI call re-entered: a host callback of a WASI function (stdio stream, file tree, clock, \
             random source) called into the store it serves, which then called WASI again"
        ));
    }
    /// Clears the mark when the call ends, also by a panic (an abandoned call's activation is
    /// cleared by `traphandlers::abandon_innermost_activation`).
    struct Active(*mut usize);
    impl Drop for Active {
        fn drop(&mut self) {
            // SAFETY: the store outlives its host calls (see `dispatch`).
            unsafe { *self.0 = 0 };
        }
    }
    // The activation this WASI function runs in (a host function always runs in one).
    let activation = (crate::vm::traphandlers::current_activation() as usize).max(1);
    // SAFETY: as above.
    unsafe { *wasi_call = activation };
    let _active = Active(wasi_call);
    dispatch_active(caller, slots, f, has_result)
}

/// [`dispatch`], once the call is marked active.
fn dispatch_active(mut caller: Caller<'_>, slots: &mut [u64], f: Impl, has_result: bool) -> Result<()> {
    let vmctx = caller.caller_vmctx() as usize;
    let store = caller.store.as_ptr();
    // The memory, from the cache or (once per calling instance) the `memory` export.
    let (cached_vmctx, cached_mem) = {
        // SAFETY: the store is alive during the host call and nothing else borrows it now.
        let inner = unsafe { &*store };
        match inner.wasi.as_deref() {
            Some(ctx) => ctx.mem_cache,
            None => return Err(anyhow!("WASI is not configured in this store (Store::set_wasi)")),
        }
    };
    let mem: *mut LinearMemory = if cached_vmctx == vmctx && vmctx != 0 {
        cached_mem
    } else {
        let m = match caller.get_export("memory") {
            Some(crate::Extern::Memory(m)) => {
                // SAFETY: as above; `get_export`'s borrow has ended.
                let inner = unsafe { &*store };
                inner.memories.get(m.index as usize).copied().unwrap_or(std::ptr::null_mut())
            }
            _ => std::ptr::null_mut(),
        };
        // SAFETY: as above.
        if let Some(ctx) = unsafe { (*store).wasi.as_deref_mut() } {
            ctx.mem_cache = (vmctx, m);
        }
        m
    };
    // SAFETY: the store is alive and no reference into it is live (the caller's borrows ended);
    // the WASI state is boxed, so this reference covers only that box, not the rest of the store.
    let ctx: &mut WasiCtx = match unsafe { (*store).wasi.as_deref_mut() } {
        Some(c) => c,
        None => return Err(anyhow!("WASI is not configured in this store (Store::set_wasi)")),
    };
    // SAFETY: the store's context lives in an `Arc` the store holds; the flag is atomic.
    let interrupt: &AtomicU64 = unsafe { &(*(*store).vm_ptr()).interrupt };
    let guest_mem = if mem.is_null() {
        None
    } else {
        // SAFETY: `mem` is a live memory of this store (memories live as long as their store).
        // Its bytes are neither in `StoreInner` nor in the WASI state, so this slice aliases no
        // other live reference: Wasm is suspended in this host call, and no frame up the stack
        // holds a reference to the memory (`invoke` keeps raw pointers only). WASI functions
        // neither grow the memory nor call into Wasm, so the slice stays valid while it lives.
        let bytes = unsafe { std::slice::from_raw_parts_mut((*mem).base(), (*mem).byte_size()) };
        Some(guest::GuestMem::new(bytes))
    };
    let mut call = Call { ctx, mem: guest_mem, interrupt };
    let args: [u64; 9] = std::array::from_fn(|i| slots.get(i).copied().unwrap_or(0));
    let errno = match f(&mut call, &args) {
        Ok(v) => v,
        Err(Fail::Errno(e)) => u64::from(e.0),
        Err(Fail::Trap(e)) => return Err(e),
    };
    if has_result {
        if let Some(s) = slots.first_mut() {
            *s = errno;
        }
    }
    Ok(())
}

/// Defines every function of `wasi_snapshot_preview1` in `linker`. The functions find their state
/// in the calling store ([`Store::set_wasi`](crate::Store::set_wasi)); a call in a store without
/// one traps.
pub fn add_to_linker(linker: &mut Linker) -> Result<()> {
    use ValType::{I32, I64};
    for (name, params, has_result, f) in funcs::FUNCS {
        let results: &[ValType] = if *has_result { &[I32] } else { &[] };
        let ty = FuncType::new(params.iter().map(|p| if *p == 64 { I64 } else { I32 }), results.iter().copied());
        let (f, has_result) = (*f, *has_result);
        // SAFETY: the functions write only an i32 errno to their result slot, never a reference.
        unsafe {
            linker.func_new_unchecked("wasi_snapshot_preview1", name, ty, move |caller, slots| {
                dispatch(caller, slots, f, has_result)
            })?;
        }
    }
    Ok(())
}
