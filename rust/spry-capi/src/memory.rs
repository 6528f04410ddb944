//! [`spry_memory_t`]: linear memories of a store. Their bytes never move: a pointer from
//! `spry_memory_data` stays valid across growth (but its length does not follow).
//!
//! Sizes, deltas and indices from the caller (any `u64`/`u32`) are checked by the engine, which
//! returns an error, never wraps; this file does no arithmetic on them (the lints below keep it so).
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

use crate::args;
use crate::error::{guard, guard_or, spry_error_t};
use crate::store::{spry_store_t, store_mut, store_ref};
use crate::types::size_t;
use crate::types::{memory_type, spry_externtype_t};
use anyhow::{ensure, Result};
use spry::{Extern, Memory, MemoryType, Store};

/// A linear memory of a store: exported by an instance, or made by `spry_memory_new`. A plain value,
/// valid as long as its store; using it with another store, or a forged one, is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct spry_memory {
    /// The id of the store the memory belongs to.
    pub store_id: u64,
    /// The memory's index in its store.
    pub index: u32,
}

/// Shorthand for `struct spry_memory`.
pub type spry_memory_t = spry_memory;

impl spry_memory {
    /// The engine's memory, checked to belong to `store`.
    fn get(self, store: &Store) -> Result<Memory> {
        let m = Memory::from_raw_parts(self.store_id, self.index);
        Extern::Memory(m).check(store)?;
        Ok(m)
    }
}

/// Makes a memory of `min` 64 KiB pages (at most `max` if `has_max`) in `store`, zero-filled.
///
/// Returns NULL on success and writes the memory to `*out`, or an error (writing nothing): NULL
/// `store` or `out`, `min` greater than `max`, more than 65536 pages, or address space that could
/// not be reserved.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_memory_new(
    store: *mut spry_store_t,
    min: u64,
    has_max: bool,
    max: u64,
    out: *mut spry_memory_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        ensure!(!has_max || min <= max, "memory minimum {min} is greater than its maximum {max}");
        ensure!(!out.is_null(), "out is NULL");
        let (store_id, index) = Memory::new(store, MemoryType::new(min, has_max.then_some(max)))?.into_raw_parts();
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_memory { store_id, index }, "out") }
    })
}

/// The start of the memory's bytes, or NULL if `memory` is not a memory of `store` or `store` is
/// NULL. The bytes are owned by the store; the pointer stays valid, at the same address, as long as
/// the store (growing the memory does not move it), for `spry_memory_data_size` bytes as of the last
/// call. Reading and writing them is allowed while no Wasm code of the store runs, and from a host
/// callback.
///
/// # Safety
///
/// `store` is NULL or a live store.
#[no_mangle]
pub unsafe extern "C" fn spry_memory_data(store: *const spry_store_t, memory: spry_memory_t) -> *mut u8 {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        // The bytes are in a mapping owned by the store, not behind a Rust reference that is kept:
        // handing out a mutable pointer to them is how the host reads and writes memory.
        Ok(memory.get(store)?.data(store).as_ptr().cast_mut())
    })
}

/// The memory's current size in bytes; 0 if `memory` is not a memory of `store` or `store` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store.
#[no_mangle]
pub unsafe extern "C" fn spry_memory_data_size(store: *const spry_store_t, memory: spry_memory_t) -> size_t {
    guard_or(0, || {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        Ok(memory.get(store)?.data_size(store))
    })
}

/// The memory's current size in 64 KiB pages; 0 if `memory` is not a memory of `store` or `store` is
/// NULL.
///
/// # Safety
///
/// `store` is NULL or a live store.
#[no_mangle]
pub unsafe extern "C" fn spry_memory_size(store: *const spry_store_t, memory: spry_memory_t) -> u64 {
    guard_or(0, || {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        Ok(memory.get(store)?.size(store))
    })
}

/// Grows the memory by `delta` pages (zero-filled), writing its previous size in pages to
/// `*out_old_pages` (may be NULL). The bytes do not move.
///
/// Returns NULL on success, or an error (the memory unchanged): growth beyond the memory's maximum
/// or 65536 pages, NULL `store`, `memory` not a memory of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `out_old_pages` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_memory_grow(
    store: *mut spry_store_t,
    memory: spry_memory_t,
    delta: u64,
    out_old_pages: *mut u64,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        let old = memory.get(store)?.grow(store, delta)?;
        // SAFETY: per the contract.
        unsafe { args::write_opt(out_old_pages, old) };
        Ok(())
    })
}

/// Writes the memory's type to `*out` (kind `SPRY_EXTERN_MEMORY`; `memory_min` is the current size
/// in pages). Returns NULL, or an error (writing nothing) if `store` or `out` is NULL or `memory` is
/// not a memory of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_memory_type(
    store: *const spry_store_t,
    memory: spry_memory_t,
    out: *mut spry_externtype_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        let ty = memory_type(&memory.get(store)?.ty(store));
        // SAFETY: per the contract.
        unsafe { args::write(out, ty, "out") }
    })
}
