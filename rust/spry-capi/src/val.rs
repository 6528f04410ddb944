//! [`spry_val_t`], a Wasm value as C holds it: a kind and 64 bits, with references as store indices.

use crate::types::*;
use anyhow::{anyhow, Result};
use spry::{ExternRef, Func, Val};

/// A Wasm value. `of` holds, by `kind`:
/// - `SPRY_I32`: the 32 bits, zero-extended (higher bits are ignored on input);
/// - `SPRY_I64`: the 64 bits;
/// - `SPRY_F32`: the float's bits in the low 32 bits;
/// - `SPRY_F64`: the float's bits;
/// - `SPRY_FUNCREF`: the function's index in its store plus 1 (the `index` of its `spry_func_t`
///   plus 1), or 0 for null;
/// - `SPRY_EXTERNREF`: the reference's index in its store plus 1, or 0 for null.
///
/// References are always relative to the store the value is used with.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct spry_val {
    /// One of the `SPRY_I32` ... `SPRY_EXTERNREF` constants.
    pub kind: spry_valkind_t,
    /// The value's bits (see above).
    pub of: u64,
}

/// Shorthand for `struct spry_val`.
pub type spry_val_t = spry_val;

/// The index a reference value names, or an error if it does not fit.
fn ref_index(of: u64) -> Result<Option<u32>> {
    match of {
        0 => Ok(None),
        n => u32::try_from(n - 1).map(Some).map_err(|_| anyhow!("invalid reference value {n}")),
    }
}

impl spry_val {
    /// The engine value, with references naming items of the store with id `store_id` (the engine
    /// checks them when the value is used).
    pub(crate) fn to_val(self, store_id: u64) -> Result<Val> {
        Ok(match self.kind {
            SPRY_I32 => Val::I32(self.of as u32 as i32),
            SPRY_I64 => Val::I64(self.of as i64),
            SPRY_F32 => Val::F32(self.of as u32),
            SPRY_F64 => Val::F64(self.of),
            SPRY_FUNCREF => Val::FuncRef(ref_index(self.of)?.map(|i| Func::from_raw_parts(store_id, i))),
            SPRY_EXTERNREF => Val::ExternRef(ref_index(self.of)?.map(|i| ExternRef::from_raw_parts(store_id, i))),
            other => return Err(anyhow!("invalid value kind {other}")),
        })
    }

    /// The C form of an engine value.
    pub(crate) fn from_val(val: Val) -> spry_val {
        let reference = |index: Option<u32>| index.map_or(0, |i| u64::from(i) + 1);
        let (kind, of) = match val {
            Val::I32(v) => (SPRY_I32, u64::from(v as u32)),
            Val::I64(v) => (SPRY_I64, v as u64),
            Val::F32(v) => (SPRY_F32, u64::from(v)),
            Val::F64(v) => (SPRY_F64, v),
            Val::FuncRef(f) => (SPRY_FUNCREF, reference(f.map(|f| f.into_raw_parts().1))),
            Val::ExternRef(e) => (SPRY_EXTERNREF, reference(e.map(|e| e.into_raw_parts().1))),
        };
        spry_val { kind, of }
    }
}

/// The value at `init`, or the zero value (0 or null) of type `kind` if `init` is NULL.
///
/// # Safety
///
/// `init` is NULL or valid for a read.
pub(crate) unsafe fn val_or_zero(init: *const spry_val_t, kind: spry_valkind_t, store_id: u64) -> Result<Val> {
    // SAFETY: per the contract.
    match unsafe { init.as_ref() } {
        Some(v) => v.to_val(store_id),
        None => Ok(Val::null(val_type(kind)?)),
    }
}
