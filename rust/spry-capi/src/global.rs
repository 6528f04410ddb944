//! [`spry_global_t`]: global variables of a store.
//!
//! Sizes, deltas and indices from the caller (any `u64`/`u32`) are checked by the engine, which
//! returns an error, never wraps; this file does no arithmetic on them (the lints below keep it so).
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

use crate::args;
use crate::error::{guard, spry_error_t};
use crate::store::{spry_store_t, store_mut, store_ref};
use crate::types::{global_type, spry_externtype_t, spry_valkind_t, val_type};
use crate::val::{spry_val, spry_val_t, val_or_zero};
use anyhow::{anyhow, Result};
use spry::{Extern, Global, GlobalType, Store};

/// A global of a store: exported by an instance, or made by `spry_global_new`. A plain value, valid
/// as long as its store; using it with another store, or a forged one, is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct spry_global {
    /// The id of the store the global belongs to.
    pub store_id: u64,
    /// The global's index in its store.
    pub index: u32,
}

/// Shorthand for `struct spry_global`.
pub type spry_global_t = spry_global;

impl spry_global {
    /// The engine's global, checked to belong to `store`.
    fn get(self, store: &Store) -> Result<Global> {
        let g = Global::from_raw_parts(self.store_id, self.index);
        Extern::Global(g).check(store)?;
        Ok(g)
    }
}

/// Makes a global holding values of kind `content`, settable if `mutable_`, with the value `*init`
/// (NULL: 0, or null for a reference kind) in `store`. `init` is only read.
///
/// Returns NULL on success and writes the global to `*out`, or an error (writing nothing): NULL
/// `store` or `out`, an invalid `content`, an `init` of another kind than `content` or with a
/// reference that is not valid in `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `init` is NULL or valid for a read; `out` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn spry_global_new(
    store: *mut spry_store_t,
    content: spry_valkind_t,
    mutable_: bool,
    init: *const spry_val_t,
    out: *mut spry_global_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        let ty = GlobalType::new(val_type(content)?, mutable_);
        // SAFETY: per the contract.
        let init = unsafe { val_or_zero(init, content, store.id()) }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        let (store_id, index) = Global::new(store, ty, init)?.into_raw_parts();
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_global { store_id, index }, "out") }
    })
}

/// Writes the global's current value to `*out`. Returns NULL, or an error (writing nothing) if
/// `store` or `out` is NULL or `global` is not a global of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_global_get(
    store: *mut spry_store_t,
    global: spry_global_t,
    out: *mut spry_val_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        let value = global.get(store)?.get(&mut *store);
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_val::from_val(value), "out") }
    })
}

/// Sets the global to `*value` (only read). Returns NULL, or an error (the global unchanged): the
/// global is immutable, `value` is of another kind than the global's or a reference not valid in
/// `store`, `store` or `value` is NULL, `global` is not a global of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `value` is NULL or valid for a read.
#[no_mangle]
pub unsafe extern "C" fn spry_global_set(
    store: *mut spry_store_t,
    global: spry_global_t,
    value: *const spry_val_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        // SAFETY: per the contract.
        let value = unsafe { value.as_ref() }.ok_or_else(|| anyhow!("value is NULL"))?.to_val(store.id())?;
        global.get(store)?.set(store, value)
    })
}

/// Writes the global's type to `*out` (kind `SPRY_EXTERN_GLOBAL`). Returns NULL, or an error
/// (writing nothing) if `store` or `out` is NULL or `global` is not a global of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_global_type(
    store: *const spry_store_t,
    global: spry_global_t,
    out: *mut spry_externtype_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        let ty = global_type(&global.get(store)?.ty(store));
        // SAFETY: per the contract.
        unsafe { args::write(out, ty, "out") }
    })
}
