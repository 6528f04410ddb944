//! [`spry_table_t`]: tables of references of a store.
//!
//! Sizes, deltas and indices from the caller (any `u64`/`u32`) are checked by the engine, which
//! returns an error, never wraps; this file does no arithmetic on them (the lints below keep it so).
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

use crate::args;
use crate::error::{guard, guard_or, spry_error_t};
use crate::store::{spry_store_t, store_mut, store_ref};
use crate::types::{spry_externtype_t, spry_valkind_t, table_type, val_type};
use crate::val::{spry_val, spry_val_t, val_or_zero};
use anyhow::{anyhow, ensure, Result};
use spry::{Extern, Store, Table, TableType};

/// A table of a store: exported by an instance, or made by `spry_table_new`. A plain value, valid as
/// long as its store; using it with another store, or a forged one, is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct spry_table {
    /// The id of the store the table belongs to.
    pub store_id: u64,
    /// The table's index in its store.
    pub index: u32,
}

/// Shorthand for `struct spry_table`.
pub type spry_table_t = spry_table;

impl spry_table {
    /// The engine's table, checked to belong to `store`.
    fn get(self, store: &Store) -> Result<Table> {
        let t = Table::from_raw_parts(self.store_id, self.index);
        Extern::Table(t).check(store)?;
        Ok(t)
    }
}

/// Makes a table of `min` elements (at most `max` if `has_max`) of kind `element` (`SPRY_FUNCREF` or
/// `SPRY_EXTERNREF`), each set to `*init` (NULL: null), in `store`. `init` is only read.
///
/// Returns NULL on success and writes the table to `*out`, or an error (writing nothing): NULL
/// `store` or `out`, an `element` that is not a reference kind, `min` greater than `max`, too many
/// elements, an `init` of another kind or with a reference that is not valid in `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `init` is NULL or valid for a read; `out` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn spry_table_new(
    store: *mut spry_store_t,
    element: spry_valkind_t,
    min: u32,
    has_max: bool,
    max: u32,
    init: *const spry_val_t,
    out: *mut spry_table_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        let element_ty = val_type(element)?;
        ensure!(element_ty.is_ref(), "table elements must be references, not {element_ty}");
        ensure!(!has_max || min <= max, "table minimum {min} is greater than its maximum {max}");
        // SAFETY: per the contract.
        let init = unsafe { val_or_zero(init, element, store.id()) }?;
        ensure!(!out.is_null(), "out is NULL");
        let ty = TableType::new(element_ty, min, has_max.then_some(max));
        let (store_id, index) = Table::new(store, ty, init)?.into_raw_parts();
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_table { store_id, index }, "out") }
    })
}

/// Writes element `index` of the table to `*out`. Returns NULL, or an error (writing nothing):
/// `index` out of bounds, `store` or `out` NULL, `table` not a table of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_table_get(
    store: *mut spry_store_t,
    table: spry_table_t,
    index: u32,
    out: *mut spry_val_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        let value =
            table.get(store)?.get(&mut *store, index).ok_or_else(|| anyhow!("table index {index} out of bounds"))?;
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_val::from_val(value), "out") }
    })
}

/// Sets element `index` of the table to `*value` (only read). Returns NULL, or an error (the table
/// unchanged): `index` out of bounds, `value` of another kind than the elements or a reference not
/// valid in `store`, `store` or `value` NULL, `table` not a table of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `value` is NULL or valid for a read.
#[no_mangle]
pub unsafe extern "C" fn spry_table_set(
    store: *mut spry_store_t,
    table: spry_table_t,
    index: u32,
    value: *const spry_val_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        // SAFETY: per the contract.
        let value = unsafe { value.as_ref() }.ok_or_else(|| anyhow!("value is NULL"))?.to_val(store.id())?;
        table.get(store)?.set(store, index, value)
    })
}

/// The table's current number of elements; 0 if `table` is not a table of `store` or `store` is
/// NULL.
///
/// # Safety
///
/// `store` is NULL or a live store.
#[no_mangle]
pub unsafe extern "C" fn spry_table_size(store: *const spry_store_t, table: spry_table_t) -> u32 {
    guard_or(0, || {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        Ok(table.get(store)?.size(store))
    })
}

/// Grows the table by `delta` elements set to `*init` (NULL: null; only read), writing its previous
/// size to `*out_old` (may be NULL).
///
/// Returns NULL on success, or an error (the table unchanged): growth beyond the table's maximum,
/// `init` of another kind than the elements or a reference not valid in `store`, NULL `store`,
/// `table` not a table of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `init` is NULL or valid for a read; `out_old` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_table_grow(
    store: *mut spry_store_t,
    table: spry_table_t,
    delta: u32,
    init: *const spry_val_t,
    out_old: *mut u32,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        let t = table.get(store)?;
        let element = crate::types::val_kind(t.ty(&*store).element);
        // SAFETY: per the contract.
        let init = unsafe { val_or_zero(init, element, store.id()) }?;
        let old = t.grow(store, delta, init)?;
        // SAFETY: per the contract.
        unsafe { args::write_opt(out_old, old) };
        Ok(())
    })
}

/// Writes the table's type to `*out` (kind `SPRY_EXTERN_TABLE`; `table_min` is the current size).
/// Returns NULL, or an error (writing nothing) if `store` or `out` is NULL or `table` is not a table
/// of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_table_type(
    store: *const spry_store_t,
    table: spry_table_t,
    out: *mut spry_externtype_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        let ty = table_type(&table.get(store)?.ty(store));
        // SAFETY: per the contract.
        unsafe { args::write(out, ty, "out") }
    })
}
