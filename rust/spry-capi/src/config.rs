//! [`spry_config_t`]: engine settings, set one by one before `spry_engine_new` reads them.

use crate::args;
use crate::error::{guard, guard_or, spry_error_t};
use crate::types::size_t;
use spry::{Config, InstanceAllocationStrategy, PoolingConfig};
use std::ffi::c_char;

/// Engine settings, each with a default. Owned by the caller; `spry_engine_new` copies them.
pub struct spry_config {
    pub(crate) config: Config,
}

/// Shorthand for `struct spry_config`.
pub type spry_config_t = spry_config;

/// A new configuration with the default settings. The caller owns it and releases it with
/// `spry_config_delete`. Returns NULL only if the allocation fails.
#[no_mangle]
pub extern "C" fn spry_config_new() -> *mut spry_config_t {
    guard_or(std::ptr::null_mut(), || Ok(Box::into_raw(Box::new(spry_config { config: Config::new() }))))
}

/// Releases `config`. NULL is ignored. Engines made from it are unaffected.
///
/// # Safety
///
/// `config` is NULL or a configuration from `spry_config_new`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_config_delete(config: *mut spry_config_t) {
    // SAFETY: per the contract.
    unsafe { crate::args::release(config) }
}

/// Applies `set` to the configuration behind `config`, if it is not NULL.
///
/// # Safety
///
/// `config` is NULL or a live configuration not used elsewhere during the call.
unsafe fn update(config: *mut spry_config_t, set: impl FnOnce(&mut Config)) {
    guard_or((), || {
        // SAFETY: per the contract.
        if let Some(c) = unsafe { config.as_mut() } {
            set(&mut c.config);
        }
        Ok(())
    })
}

/// Sets the most stack Wasm code may use, in bytes (default 512 KiB). It is further bounded by the
/// calling thread's own stack; running out is a `SPRY_TRAP_STACK_OVERFLOW` trap. NULL `config` is
/// ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_max_wasm_stack(config: *mut spry_config_t, bytes: size_t) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.max_wasm_stack(bytes);
        })
    }
}

/// Sets whether memories are reserved with guard pages so that bounds checks compile away (default
/// true). Without, every access is checked explicitly and a memory reserves only its maximum size.
/// NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_guard_pages(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.guard_pages(enable);
        })
    }
}

/// Sets the address space reserved for each linear memory, in bytes (default 4 GiB; a multiple of
/// 64 KiB, at most 4 GiB, else `spry_engine_new` fails). Reserving costs no memory, but a process
/// has only so much address space (128 TiB on x86-64 Linux): with the defaults, about 21,000
/// memories can be live at once. A memory never moves, so it grows in place up to its reservation:
/// past it, `memory.grow` returns -1, and a memory whose minimum exceeds it cannot be created.
/// Accesses are compiled without bounds checks only where the reservation plus the guard region
/// covers every index (4 GiB plus the access's offset and size); below 4 GiB in total, every access
/// is checked and no guard region is reserved. Ignored without guard pages. NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_memory_reservation(config: *mut spry_config_t, bytes: u64) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.memory_reservation(bytes);
        })
    }
}

/// Sets the size of the inaccessible guard region reserved after each linear memory's reservation,
/// in bytes (default 2 GiB; rounded up to the host page size, at most 1 TiB). See
/// `spry_config_memory_reservation`. Ignored without guard pages. NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_memory_guard_size(config: *mut spry_config_t, bytes: u64) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.memory_guard_size(bytes);
        })
    }
}

/// Sets whether a module's functions compile in parallel on all cores (default true). NULL `config`
/// is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_parallel_compilation(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.parallel_compilation(enable);
        })
    }
}

/// Sets whether compiled code checks the store's interrupt flag at function entries and loop
/// headers, so that `spry_interrupt_handle_interrupt` can stop it (default true). Off, Wasm code is
/// slightly faster and cannot be interrupted. NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_interruptible(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.interruptible(enable);
        })
    }
}

/// Sets whether compiled code consumes fuel (default false): each function charges the static cost
/// of each basic block it runs (1 per operator; `nop`, `drop`, `block`, `loop`, `end`, `else`,
/// `unreachable` and `return` are free) to its store's fuel (`spry_store_set_fuel`, 0 in a new
/// store) and traps with `SPRY_TRAP_OUT_OF_FUEL` at a function entry or loop header when none is
/// left. Off, code has no fuel accounting at all. Modules serialized by an engine with one setting do
/// not load into an engine with the other. NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_consume_fuel(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.consume_fuel(enable);
        })
    }
}

/// Sets whether a module whose active data segments all have constant offsets into its own memory,
/// within its minimum size, gets a copy-on-write memory image at compile time, which instantiation
/// maps instead of copying the segments (default true). The semantics are the same either way. NULL
/// `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_memory_images(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.memory_images(enable);
        })
    }
}

/// Sets a compile cache directory, `path` (`len` bytes of UTF-8, copied; default: none): modules
/// compiled by engines of this configuration are stored there (the directory is created if
/// missing), and `spry_module_new` loads a module compiled before, by this Spry version with the
/// same code-shaping settings on the same CPU, instead of compiling it. A corrupt entry is
/// recompiled.
///
/// The directory must be writable only by trusted users: the machine code of its entries runs as
/// is (see `spry_module_deserialize`).
///
/// Returns NULL on success, else an error, leaving the configuration unchanged: NULL `config`, NULL
/// `path` with a nonzero `len`, an empty path, or a path that is not valid UTF-8.
///
/// # Safety
///
/// `config` is NULL or a live configuration; `path` is NULL or points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn spry_config_cache_dir(
    config: *mut spry_config_t,
    path: *const c_char,
    len: size_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let config = unsafe { args::object_mut(config, "config") }?;
        // SAFETY: per the contract.
        let path = unsafe { args::string(path, len, "path") }?;
        anyhow::ensure!(!path.is_empty(), "path is empty");
        config.config.cache_dir(path);
        Ok(())
    })
}

/// The limits of the pooling instance allocator (see `spry_config_pooling`). Fill it with
/// `spry_pooling_config_default`, then change what you need. Each memory slot reserves address space
/// (not memory) for the largest memory: 4 GiB plus the guard region with guard pages, or
/// `max_memory_pages` × 64 KiB without.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct spry_pooling_config {
    /// How many instances may be live at once (default 1000).
    pub total_instances: u32,
    /// How many defined memories may be live at once (default 1000).
    pub total_memories: u32,
    /// How many defined tables may be live at once (default 1000).
    pub total_tables: u32,
    /// The most pages a memory may have, initially or by growing (default 65536, i.e. 4 GiB).
    pub max_memory_pages: u64,
    /// The most elements a table may have, initially or by growing (default 100,000).
    pub max_table_elements: u32,
    /// The largest VMContext a module may need, in bytes (default 1 MiB).
    pub max_vmctx_size: size_t,
    /// Slots whose used part is at most this many bytes are reset by writing zeros, keeping their
    /// pages resident, instead of with `madvise` (default 64 KiB).
    pub keep_resident_bytes: size_t,
}

/// Shorthand for `struct spry_pooling_config`.
pub type spry_pooling_config_t = spry_pooling_config;

impl From<&spry_pooling_config> for PoolingConfig {
    fn from(c: &spry_pooling_config) -> Self {
        PoolingConfig {
            total_instances: c.total_instances,
            total_memories: c.total_memories,
            total_tables: c.total_tables,
            max_memory_pages: c.max_memory_pages,
            max_table_elements: c.max_table_elements,
            max_vmctx_size: c.max_vmctx_size,
            keep_resident_bytes: c.keep_resident_bytes,
        }
    }
}

/// Writes the default pooling limits to `*out`. NULL `out` is ignored.
///
/// # Safety
///
/// `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_pooling_config_default(out: *mut spry_pooling_config_t) {
    guard_or((), || {
        let d = PoolingConfig::default();
        let c = spry_pooling_config {
            total_instances: d.total_instances,
            total_memories: d.total_memories,
            total_tables: d.total_tables,
            max_memory_pages: d.max_memory_pages,
            max_table_elements: d.max_table_elements,
            max_vmctx_size: d.max_vmctx_size,
            keep_resident_bytes: d.keep_resident_bytes,
        };
        // SAFETY: per the contract.
        unsafe { args::write_opt(out, c) };
        Ok(())
    })
}

/// Selects the pooling instance allocator with the limits in `*pooling` (copied), or, if `pooling`
/// is NULL, on-demand allocation (the default). With pooling, `spry_engine_new` reserves fixed slots
/// for instances, memories and tables once; an instantiation that finds them all in use fails with
/// a "pool exhausted" error, which clears as soon as stores are deleted. A memory or table may not
/// grow past the pool's limits (`memory.grow` returns -1). NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration; `pooling` is NULL or points to a readable
/// `spry_pooling_config_t`.
#[no_mangle]
pub unsafe extern "C" fn spry_config_pooling(config: *mut spry_config_t, pooling: *const spry_pooling_config_t) {
    // SAFETY: per the contract.
    let strategy = match unsafe { pooling.as_ref() } {
        Some(p) => InstanceAllocationStrategy::Pooling(p.into()),
        None => InstanceAllocationStrategy::OnDemand,
    };
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.allocation_strategy(strategy);
        })
    }
}
