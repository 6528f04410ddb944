//! [`Engine`] and [`Config`]: compiler settings, the host ISA, the engine-wide type registry and the
//! per-signature trampolines shared by every module and host function of the engine.

use crate::compile::{self, Tunables};
use crate::types::FuncType;
use crate::vm::allocator::{InstanceAllocator, OnDemandAllocator};
use crate::vm::code_memory::CodeMemory;
use crate::vm::pooling::{InstanceAllocationStrategy, PoolingAllocator};
use crate::vm::vmcontext::VMArrayCallFn;
use crate::vm::{libcalls, signals};
use anyhow::{anyhow, Result};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Engine settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) max_wasm_stack: usize,
    pub(crate) guard_pages: bool,
    pub(crate) guard_size: u64,
    pub(crate) parallel_compilation: bool,
    pub(crate) interruptible: bool,
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
            guard_size: 2 << 30,
            parallel_compilation: true,
            interruptible: true,
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
    /// Off, every access is checked explicitly and each memory reserves only its maximum size.
    pub fn guard_pages(&mut self, on: bool) -> &mut Self {
        self.guard_pages = on;
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

/// Host-to-wasm and wasm-to-host code for one signature.
pub(crate) struct Trampolines {
    /// See [`VMArrayCallFn`].
    pub entry: VMArrayCallFn,
    /// The wasm-to-host stub (Wasm convention).
    pub host: *const u8,
}

// SAFETY: both are pointers into immutable code kept alive by the engine.
unsafe impl Send for Trampolines {}
// SAFETY: as above.
unsafe impl Sync for Trampolines {}

pub(crate) struct EngineInner {
    pub config: Config,
    pub isa: OwnedTargetIsa,
    pub tunables: Tunables,
    pub allocator: Box<dyn InstanceAllocator>,
    types: Mutex<TypeRegistry>,
    trampolines: Mutex<HashMap<FuncType, Arc<Trampolines>>>,
    trampoline_code: Mutex<Vec<CodeMemory>>,
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
        let tunables = Tunables {
            guard_pages: config.guard_pages,
            guard_size: if config.guard_pages { config.guard_size } else { 0 },
            interruptible: config.interruptible,
            memory_images: config.memory_images,
            frontend_config: isa.frontend_config(),
        };
        let allocator: Box<dyn InstanceAllocator> = match &config.allocation_strategy {
            InstanceAllocationStrategy::OnDemand => Box::new(OnDemandAllocator),
            InstanceAllocationStrategy::Pooling(pooling) => Box::new(PoolingAllocator::new(pooling, &tunables)?),
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
            }),
        })
    }

    /// The settings the engine was created with.
    pub fn config(&self) -> &Config {
        &self.inner.config
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
            let isa = &*self.inner.isa;
            let mut ctx = Context::new();
            let mut blob = Vec::new();
            let mut offsets = Vec::new();
            for ty in &missing {
                for func in [
                    compile::trampolines::entry_trampoline(ty, self.inner.tunables.frontend_config),
                    compile::trampolines::host_trampoline(
                        ty,
                        libcalls::raise_trap_address(),
                        self.inner.tunables.frontend_config,
                    ),
                ] {
                    let f = compile::compile_ir(isa, &mut ctx, func)?;
                    anyhow::ensure!(f.relocs.is_empty(), "trampolines have no relocations");
                    blob.resize(blob.len().next_multiple_of(16), 0);
                    offsets.push(blob.len());
                    blob.extend_from_slice(&f.code);
                }
            }
            let code = CodeMemory::new(&blob, |_, _| Ok(()))?;
            for (i, ty) in missing.iter().enumerate() {
                let entry = code.base() + offsets[2 * i];
                let host = code.base() + offsets[2 * i + 1];
                // SAFETY: `entry` is the start of a function compiled with the `VMArrayCallFn` signature,
                // in code kept alive by the engine.
                let entry: VMArrayCallFn = unsafe { std::mem::transmute::<usize, VMArrayCallFn>(entry) };
                cache.insert((*ty).clone(), Arc::new(Trampolines { entry, host: host as *const u8 }));
            }
            self.inner.trampoline_code.lock().unwrap().push(code);
        }
        Ok(types.iter().map(|t| cache[t].clone()).collect())
    }
}
