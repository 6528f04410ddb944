//! Externrefs: references to host values that Wasm can hold. Through the C surface the host value
//! is a `uint64_t` chosen by the embedder (Go uses a handle-table index).

use crate::args;
use crate::error::{guard, spry_error_t};
use crate::store::{spry_store_t, store_mut, store_ref};
use crate::types::SPRY_EXTERNREF;
use crate::val::{spry_val, spry_val_t};
use anyhow::{anyhow, bail};
use spry::{ExternRef, Val};

/// Makes an externref in `store` holding `data` (opaque to Spry, never interpreted), and writes it to
/// `*out` as a value of kind `SPRY_EXTERNREF`. The reference lives as long as the store.
///
/// Returns NULL on success, or an error (writing nothing) if `store` or `out` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_externref_new(
    store: *mut spry_store_t,
    data: u64,
    out: *mut spry_val_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        let value = spry_val::from_val(Val::ExternRef(Some(ExternRef::new(store, data))));
        // SAFETY: per the contract.
        unsafe { args::write(out, value, "out") }
    })
}

/// Writes the data of the externref `*ref` (only read) to `*out`. Returns NULL, or an error
/// (writing nothing): `ref` is not of kind `SPRY_EXTERNREF`, is null, is not a reference of `store`,
/// or was not made by `spry_externref_new`; or `store`, `ref` or `out` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store; `ref` is NULL or valid for a read; `out` is NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn spry_externref_data(
    store: *const spry_store_t,
    r#ref: *const spry_val_t,
    out: *mut u64,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_ref(store) }?;
        // SAFETY: per the contract.
        let value = *unsafe { args::object(r#ref, "ref") }?;
        if value.kind != SPRY_EXTERNREF {
            bail!("value of kind {} is not an externref", value.kind);
        }
        let Val::ExternRef(Some(r)) = value.to_val(store.id())? else { bail!("null externref") };
        let data = r.data(&store).ok_or_else(|| anyhow!("invalid externref"))?;
        let data = data.downcast_ref::<u64>().ok_or_else(|| anyhow!("externref not made by spry_externref_new"))?;
        // SAFETY: per the contract.
        unsafe { args::write(out, *data, "out") }
    })
}
