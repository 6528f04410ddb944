//! [`Engine`] and [`Config`]: compiler settings, the host ISA, the engine-wide type registry and the
//! per-signature trampolines shared by every module and host function of the engine.

use crate::compile::{self, Tunables};
use crate::module::serialize::{TrampolineEntry, TrampolineSection};
use crate::types::FuncType;
use crate::vm::allocator::{InstanceAllocator, OnDemandAllocator};
use crate::vm::code_memory::CodeMemory;
use crate::vm::pooling::{InstanceAllocationStrategy, PoolingAllocator};
use crate::vm::signals;
use crate::vm::vmcontext::VMArrayCallFn;
use anyhow::{anyhow, Result};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Engine settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
    pub(crate) guard_pages: bool,
    pub(crate) memory_reservation: u64,
    pub(crate) guard_size: u64,
    pub(crate) parallel_compilation: bool,
    pub(crate) interruptible: bool,
    pub(crate) consume_fuel: bool,
    pub(crate) opt_level: &'static str,
    pub(crate) verifier: bool,
    pub(crate) cache_dir: Option<std::path::PathBuf>,
    pub(crate) memory_images: bool,
    pub(crate) allocation_strategy: InstanceAllocationStrategy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_wasm_stack: 512 * 1024,
            guard_pages: true,
            memory_reservation: 4 << 30,
            guard_size: 2 << 30,
            parallel_compilation: true,
            interruptible: true,
            consume_fuel: false,
            opt_level: "speed",
            verifier: cfg!(debug_assertions),
            cache_dir: None,
            memory_images: true,
            allocation_strategy: InstanceAllocationStrategy::OnDemand,
        }
    }
}

impl Config {
    /// The default settings.
    pub fn new() -> Config {
        Config::default()
    }

    /// The most stack Wasm code may use, in bytes (512 KiB by default). It is further bounded by the
    /// calling thread's own stack; running out is a [`crate::TrapCode::StackOverflow`] trap.
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Whether memories are reserved with guard pages so that bounds checks compile away (default on).
    /// Off, every access is checked explicitly and each memory reserves only its maximum size
    /// ([`Config::memory_reservation`] and [`Config::memory_guard_size`] are then ignored).
    pub fn guard_pages(&mut self, on: bool) -> &mut Self {
        self.guard_pages = on;
        self
    }

    /// The address space reserved for each linear memory, in bytes (default 4 GiB; a multiple of
    /// 64 KiB, at most 4 GiB). Reserving costs no memory, but a process has only so much address
    /// space (128 TiB on x86-64 Linux): with the defaults, about 21,000 memories can be live at once.
    ///
    /// A memory never moves, so it grows in place up to its reservation: past it, `memory.grow`
    /// returns -1 (as it does past the memory's declared maximum), and a memory whose minimum size
    /// exceeds the reservation cannot be created. With the pooling allocator it is also the size of
    /// each memory slot (before its guard region).
    ///
    /// Compiled code omits the bounds check of a memory access only when every index it can compute
    /// lands inside the reservation plus the guard region: when `memory_reservation +
    /// memory_guard_size` is at least 4 GiB plus the access's static offset and size. Below 4 GiB in
    /// total, every access is checked explicitly (slower code) and no guard region is reserved, since
    /// it would protect nothing.
    pub fn memory_reservation(&mut self, bytes: u64) -> &mut Self {
        self.memory_reservation = bytes;
        self
    }

    /// The inaccessible region reserved after each linear memory's reservation, in bytes (default
    /// 2 GiB; rounded up to the host page size). An access whose static offset and size fit in what
    /// the reservation and this guard leave past 4 GiB needs no bounds check: if out of bounds, it
    /// faults here and becomes a trap. See [`Config::memory_reservation`].
    pub fn memory_guard_size(&mut self, bytes: u64) -> &mut Self {
        self.guard_size = bytes;
        self
    }

    /// Whether functions compile in parallel on all cores (default on).
    pub fn parallel_compilation(&mut self, on: bool) -> &mut Self {
        self.parallel_compilation = on;
        self
    }

    /// Whether compiled code checks the store's interrupt word at function entry and loop headers, so
    /// that [`crate::Store::interrupt_handle`] can stop it (default on).
    pub fn interruptible(&mut self, on: bool) -> &mut Self {
        self.interruptible = on;
        self
    }

    /// Whether compiled code consumes fuel (default off): each function charges the static cost of
    /// each basic block it runs to its store's fuel ([`crate::Store::set_fuel`]) and traps with
    /// [`crate::TrapCode::OutOfFuel`] at a function entry or loop header when none is left. Off, code
    /// has no fuel accounting at all. Artifacts record the setting: one compiled with fuel does not
    /// load into an engine without, and the other way round.
    pub fn consume_fuel(&mut self, on: bool) -> &mut Self {
        self.consume_fuel = on;
        self
    }

    /// Whether a module whose active data segments all have constant offsets into its own (defined)
    /// memory, within its minimum size, gets a copy-on-write memory image at compile time (default on):
    /// instantiation then maps the image over the memory instead of copying the segments. Off, or
    /// for a module that does not qualify, the segments are copied; the semantics are the same.
    pub fn memory_images(&mut self, on: bool) -> &mut Self {
        self.memory_images = on;
        self
    }

    /// How instances, memories and tables are allocated (default: on demand). With
    /// [`InstanceAllocationStrategy::Pooling`], the engine reserves fixed slots for them once, within
    /// the given limits, and instantiation fails with a `pool exhausted` error when they are all in use.
    pub fn allocation_strategy(&mut self, strategy: InstanceAllocationStrategy) -> &mut Self {
        self.allocation_strategy = strategy;
        self
    }

    /// A compile cache directory (default: none): [`crate::Module::new`] loads a module compiled
    /// before, by this Spry version with the same code-shaping settings on the same CPU, from it
    /// instead of compiling, and stores the modules it compiles there (created if missing). Entries
    /// are keyed by a hash of the Wasm bytes and those settings; a corrupt entry is recompiled.
    ///
    /// The directory must be writable only by trusted users: its entries' machine code runs as is
    /// (see [`crate::Module::deserialize`]).
    pub fn cache_dir(&mut self, dir: impl Into<std::path::PathBuf>) -> &mut Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Whether Cranelift's IR verifier runs on every function (default: in debug builds only).
    pub fn cranelift_verifier(&mut self, on: bool) -> &mut Self {
        self.verifier = on;
        self
    }

    /// Cranelift optimization: `false` compiles faster with `opt_level=none` (default: optimize).
    pub fn cranelift_optimize(&mut self, on: bool) -> &mut Self {
        self.opt_level = if on { "speed" } else { "none" };
        self
    }
}

/// The reservation and guard size of each linear memory for `config` (both 0 without guard pages),
/// after checking them.
fn memory_layout(config: &Config) -> Result<(u64, u64)> {
    if !config.guard_pages {
        return Ok((0, 0));
    }
    let reservation = config.memory_reservation;
    anyhow::ensure!(
        reservation.is_multiple_of(crate::WASM_PAGE_SIZE) && reservation <= 1 << 32,
        "memory_reservation must be a multiple of 64 KiB and at most 4 GiB, not {reservation}"
    );
    let page = rustix::param::page_size() as u64;
    let guard = config
        .guard_size
        .checked_next_multiple_of(page)
        .filter(|g| *g <= 1 << 40)
        .ok_or_else(|| anyhow!("memory_guard_size must be at most 1 TiB, not {}", config.guard_size))?;
    // Below 4 GiB in total, no access can be proven in bounds: the guard would protect nothing.
    let guard = if reservation + guard < 1 << 32 { 0 } else { guard };
    Ok((reservation, guard))
}

/// The error of an operation that ran out of a resource the process or the engine has only so much
/// of. Find it with `anyhow::Error::downcast_ref::<ResourceExhausted>()` (it is the root of the
/// error's chain). It clears when other memories, instances or stores are released: an embedder
/// whose objects are freed by a garbage collector can collect and retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceExhausted {
    kind: ResourceKind,
    message: String,
    source: Option<rustix::io::Errno>,
}

/// What ran out (see [`ResourceExhausted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResourceKind {
    /// The kernel refused to reserve address space for a linear memory (`mmap` failed with `ENOMEM`):
    /// too many memories are live in the process (each reserves
    /// [`Config::memory_reservation`] plus [`Config::memory_guard_size`]).
    AddressSpace,
    /// Every instance slot of the pooling allocator is in use.
    InstancePool,
    /// Every memory slot of the pooling allocator is in use.
    MemoryPool,
    /// Every table slot of the pooling allocator is in use.
    TablePool,
}

impl ResourceExhausted {
    pub(crate) fn new(kind: ResourceKind, message: impl Into<String>, source: Option<rustix::io::Errno>) -> Self {
        ResourceExhausted { kind, message: message.into(), source }
    }

    /// What ran out.
    pub fn kind(&self) -> ResourceKind {
        self.kind
    }

    /// Whether a pooling allocator's slots ran out (rather than the process's address space).
    pub fn is_pool(&self) -> bool {
        matches!(self.kind, ResourceKind::InstancePool | ResourceKind::MemoryPool | ResourceKind::TablePool)
    }
}

impl std::fmt::Display for ResourceExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ResourceExhausted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Host-to-wasm and wasm-to-host code for one signature.
pub(crate) struct Trampolines {
    /// See [`VMArrayCallFn`].
    pub entry: VMArrayCallFn,
    /// The wasm-to-host stub (Wasm convention).
    pub host: *const u8,
    /// The length of the entry trampoline's code (for artifacts).
    pub entry_len: u32,
    /// The length of the wasm-to-host trampoline's code.
    pub host_len: u32,
}

impl Trampolines {
    /// The trampolines whose code is at `entry` and `host` (offset, length) in `code`.
    ///
    /// # Safety
    /// The ranges lie in `code` and hold functions compiled for this engine with the
    /// [`VMArrayCallFn`] signature and the Wasm signature of a wasm-to-host trampoline; the engine
    /// keeps `code` alive.
    unsafe fn at(code: &CodeMemory, entry: (usize, usize), host: (usize, usize)) -> Trampolines {
        debug_assert!(entry.0 + entry.1 <= code.len() && host.0 + host.1 <= code.len());
        // SAFETY: per the contract, `entry` starts a function with the `VMArrayCallFn` signature.
        let entry_fn = unsafe { std::mem::transmute::<usize, VMArrayCallFn>(code.base() + entry.0) };
        Trampolines {
            entry: entry_fn,
            host: (code.base() + host.0) as *const u8,
            entry_len: entry.1 as u32,
            host_len: host.1 as u32,
        }
    }
}

// SAFETY: both are pointers into immutable code kept alive by the engine.
unsafe impl Send for Trampolines {}
// SAFETY: as above.
unsafe impl Sync for Trampolines {}

pub(crate) struct EngineInner {
    pub config: Config,
    pub isa: OwnedTargetIsa,
    pub tunables: Tunables,
    pub allocator: Arc<dyn InstanceAllocator>,
    types: Mutex<TypeRegistry>,
    trampolines: Mutex<HashMap<FuncType, Arc<Trampolines>>>,
    trampoline_code: Mutex<Vec<CodeMemory>>,
    /// The artifact fingerprint (`module/serialize.rs`), computed on first use.
    pub fingerprint: OnceLock<Vec<(&'static str, String)>>,
    /// Signatures whose trampolines were compiled (not taken from an artifact).
    trampolines_compiled: AtomicU64,
    /// Compile-cache lookups that loaded an entry (see `module/cache.rs`).
    pub cache_hits: AtomicU64,
    /// Compile-cache lookups that compiled the module.
    pub cache_misses: AtomicU64,
}

#[derive(Default)]
struct TypeRegistry {
    ids: HashMap<FuncType, u32>,
    types: Vec<FuncType>,
}

/// A compilation environment shared by modules, linkers and stores. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<EngineInner>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("config", &self.inner.config).finish()
    }
}

impl Engine {
    /// An engine for the host CPU with the given settings.
    pub fn new(config: &Config) -> Result<Engine> {
        signals::init_signal_handlers();
        let mut flags = settings::builder();
        flags.set("opt_level", config.opt_level)?;
        flags.set("enable_verifier", if config.verifier { "true" } else { "false" })?;
        flags.set("preserve_frame_pointers", "true")?;
        flags.set("unwind_info", "false")?;
        // Wasm multi-value may return more values than fit in registers; Cranelift then returns the
        // rest through a hidden pointer (found by the fuzzer: 9 i32 results did not compile).
        flags.set("enable_multi_ret_implicit_sret", "true")?;
        let isa = cranelift_native::builder()
            .map_err(|e| anyhow!("host CPU not supported: {e}"))?
            .finish(settings::Flags::new(flags))?;
        let (memory_reservation, guard_size) = memory_layout(config)?;
        let tunables = Tunables {
            guard_pages: config.guard_pages,
            memory_reservation,
            guard_size,
            interruptible: config.interruptible,
            consume_fuel: config.consume_fuel,
            memory_images: config.memory_images,
            frontend_config: isa.frontend_config(),
        };
        let allocator: Arc<dyn InstanceAllocator> = match &config.allocation_strategy {
            InstanceAllocationStrategy::OnDemand => Arc::new(OnDemandAllocator),
            InstanceAllocationStrategy::Pooling(pooling) => Arc::new(PoolingAllocator::new(pooling, &tunables)?),
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                isa,
                tunables,
                allocator,
                types: Mutex::default(),
                trampolines: Mutex::default(),
                trampoline_code: Mutex::default(),
                trampolines_compiled: AtomicU64::new(0),
                fingerprint: OnceLock::new(),
                cache_hits: AtomicU64::new(0),
                cache_misses: AtomicU64::new(0),
            }),
        })
    }

    /// The settings the engine was created with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Test and diagnostic hook, not a stable API: how many times [`crate::Module::new`] loaded a
    /// module from the compile cache ([`Config::cache_dir`]) since the engine was created.
    #[doc(hidden)]
    pub fn cache_hits(&self) -> u64 {
        self.inner.cache_hits.load(Ordering::Relaxed)
    }

    /// Test and diagnostic hook, not a stable API: how many times [`crate::Module::new`] found no
    /// usable compile-cache entry (missing or corrupt) and compiled the module.
    #[doc(hidden)]
    pub fn cache_misses(&self) -> u64 {
        self.inner.cache_misses.load(Ordering::Relaxed)
    }

    pub(crate) fn same(&self, other: &Engine) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The engine-wide index of `ty`, registering it on first use. Indices are never reused.
    pub(crate) fn type_id(&self, ty: &FuncType) -> u32 {
        let mut reg = self.inner.types.lock().unwrap();
        if let Some(id) = reg.ids.get(ty) {
            return *id;
        }
        let id = reg.types.len() as u32;
        reg.types.push(ty.clone());
        reg.ids.insert(ty.clone(), id);
        id
    }

    /// The type registered under engine-wide index `id`.
    pub(crate) fn type_by_id(&self, id: u32) -> FuncType {
        self.inner.types.lock().unwrap().types[id as usize].clone()
    }

    /// The trampolines of each type in `types`, compiling (in one batch) those not yet cached.
    pub(crate) fn trampolines(&self, types: &[FuncType]) -> Result<Vec<Arc<Trampolines>>> {
        let mut cache = self.inner.trampolines.lock().unwrap();
        let mut missing: Vec<&FuncType> = types.iter().filter(|t| !cache.contains_key(*t)).collect();
        missing.sort_by_key(|t| t.to_string());
        missing.dedup();
        if !missing.is_empty() {
            self.inner.trampolines_compiled.fetch_add(missing.len() as u64, Ordering::Relaxed);
            let isa = &*self.inner.isa;
            let fc = self.inner.tunables.frontend_config;
            let mut ctx = Context::new();
            let mut blob = Vec::new();
            let mut ranges = Vec::new();
            for ty in &missing {
                for func in
                    [compile::trampolines::entry_trampoline(ty, fc), compile::trampolines::host_trampoline(ty, fc)]
                {
                    let f = compile::compile_ir(isa, &mut ctx, func)?;
                    anyhow::ensure!(f.relocs.is_empty(), "trampolines have no relocations");
                    blob.resize(blob.len().next_multiple_of(16), 0);
                    ranges.push((blob.len(), f.code.len()));
                    blob.extend_from_slice(&f.code);
                }
            }
            let code = CodeMemory::new(&blob, |_, _| Ok(()))?;
            for (i, ty) in missing.iter().enumerate() {
                // SAFETY: the ranges are functions compiled just above with the entry and the
                // wasm-to-host signatures, in `code`, which the engine keeps alive.
                let t = unsafe { Trampolines::at(&code, ranges[2 * i], ranges[2 * i + 1]) };
                cache.insert((*ty).clone(), Arc::new(t));
            }
            self.inner.trampoline_code.lock().unwrap().push(code);
        }
        Ok(types.iter().map(|t| cache[t].clone()).collect())
    }

    /// Makes the trampolines of an artifact (see `module/serialize.rs`) the engine's for those of
    /// their types it has none for yet, so that neither the module nor the host functions it imports
    /// compile any. `types` are the module's types; `section` names a type index and the ranges of
    /// its two trampolines in `section.code`, checked against both when the artifact was decoded.
    pub(crate) fn adopt_trampolines(&self, types: &[FuncType], section: &TrampolineSection) -> Result<()> {
        let mut cache = self.inner.trampolines.lock().unwrap();
        let new: Vec<&TrampolineEntry> =
            section.entries.iter().filter(|e| !cache.contains_key(&types[e.type_index as usize])).collect();
        if new.is_empty() {
            return Ok(());
        }
        let code = CodeMemory::new(&section.code, |_, _| Ok(()))?;
        for e in new {
            let entry = (e.entry.0 as usize, e.entry.1 as usize);
            let host = (e.host.0 as usize, e.host.1 as usize);
            // SAFETY: the artifact's trampolines were compiled by an engine with the same fingerprint
            // (ISA, flags and Spry version) for this type, with the entry and the wasm-to-host
            // signatures; the ranges lie in `code` (checked by `deserialize`), which the engine keeps
            // alive. As for all artifact code, the artifact is trusted (`Module::deserialize`).
            let t = unsafe { Trampolines::at(&code, entry, host) };
            cache.entry(types[e.type_index as usize].clone()).or_insert_with(|| Arc::new(t));
        }
        self.inner.trampoline_code.lock().unwrap().push(code);
        Ok(())
    }

    /// The trampolines of every distinct type of `types` as an artifact section (their code copied
    /// into one blob), compiling those not yet cached.
    pub(crate) fn trampoline_section(&self, types: &[FuncType]) -> Result<TrampolineSection> {
        let all = self.trampolines(types)?;
        let mut section = TrampolineSection::default();
        let mut seen = std::collections::HashSet::new();
        for (i, (ty, t)) in types.iter().zip(&all).enumerate() {
            if !seen.insert(ty) {
                continue;
            }
            let mut copy = |ptr: usize, len: u32| {
                section.code.resize(section.code.len().next_multiple_of(16), 0);
                let at = section.code.len() as u32;
                // SAFETY: `ptr..ptr + len` is the code of a trampoline the engine keeps mapped
                // (readable and executable).
                section.code.extend_from_slice(unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) });
                (at, len)
            };
            let entry = copy(t.entry as usize, t.entry_len);
            let host = copy(t.host as usize, t.host_len);
            section.entries.push(TrampolineEntry { type_index: i as u32, entry, host });
        }
        Ok(section)
    }

    /// Test and diagnostic hook, not a stable API: how many signatures' trampolines the engine has
    /// compiled (not taken from an artifact) since it was created.
    #[doc(hidden)]
    pub fn trampolines_compiled(&self) -> u64 {
        self.inner.trampolines_compiled.load(Ordering::Relaxed)
    }
}
