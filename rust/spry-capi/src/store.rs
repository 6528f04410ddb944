//! [`spry_store_t`]: a store, plus what the C surface keeps per store so that the pointers it hands
//! out (function types, export names) live as long as the store.
//!
//! # Ownership during nested calls
//!
//! A host callback may use the `spry_store_t*` of the store it runs in (a nested `spry_func_call`,
//! memory access) while an outer entry point, further up the same thread's stack, is in the middle
//! of a call on that store. The engine's rule (see `spry::store` and `docs/store-ownership.md`) is
//! that no two live `&mut` reach a store's state: the `Store` handle owns the state through a raw
//! pointer, and a call into Wasm holds only that raw pointer while Wasm (and so the callback) runs.
//! The C surface keeps to the same rule:
//!
//! - Entry points that can run Wasm or host code (`spry_func_call`, `spry_func_call_unchecked`,
//!   `spry_instance_new`, `spry_linker_instantiate`, `spry_instance_pre_instantiate`) reach the
//!   store only through [`store_context`], which reads the state's pointer out of the `spry_store_t`
//!   through the raw pointer and returns a `StoreContextMut` (a raw pointer with a lifetime). They
//!   create no `&Store`, `&mut Store` or `&mut spry_store_t` that could be live during a callback.
//! - Entry points that run no Wasm use [`store_ref`] and [`store_mut`], which borrow the `store`
//!   field (the handle) for the duration of the entry point. During a nested call such a borrow
//!   aliases nothing live: the outer entry points hold no reference to the handle or to the state,
//!   only to their own arguments and stack.
//! - The per-store caches ([`func_types`], [`export_names`]) are separate fields, borrowed as
//!   `RefCell`s inside one entry point and never across a call into Wasm.
//!
//! A callback must not delete the store it runs in, and a store is used by one thread at a time.

use crate::args;
use crate::engine::spry_engine_t;
use crate::error::{guard, guard_or, spry_error_t};
use crate::types::FuncTypeStorage;
use anyhow::{anyhow, Result};
use spry::{Store, StoreContextMut, StoreLimits};
use std::cell::RefCell;
use std::collections::HashMap;

/// A store: the instances of modules, and the functions, memories, tables, globals and externrefs
/// made for them. Not safe to use from several threads at once (it may move between threads between
/// calls). Owned by the caller; deleting it releases everything in it, and makes every handle of it
/// (`spry_func_t`, `spry_memory_t`...) and every pointer obtained from it invalid.
pub struct spry_store {
    store: Store,
    /// The C views of function types, by function index (see `spry_func_type`).
    func_types: RefCell<HashMap<u32, FuncTypeStorage>>,
    /// The export names of instances, by instance index (see `spry_instance_export_nth`).
    export_names: RefCell<HashMap<u32, Box<[Box<str>]>>>,
}

/// Shorthand for `struct spry_store`.
pub type spry_store_t = spry_store;

/// The store behind `store`, exclusively, for an entry point that may run Wasm or host code: a
/// context holding the state's raw pointer, made without borrowing `*store` (see the module docs).
/// Or an error if `store` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store that stays alive for `'a` (a callback does not delete it).
pub(crate) unsafe fn store_context<'a>(store: *mut spry_store_t) -> Result<StoreContextMut<'a>> {
    if store.is_null() {
        return Err(anyhow!("store is NULL"));
    }
    // SAFETY: per the contract; a projection to the handle and a read of its pointer, through the
    // raw pointer, with no reference made.
    Ok(unsafe { Store::context_from_raw(std::ptr::addr_of!((*store).store)) })
}

/// The store behind `store`, shared, or an error if it is NULL. For entry points that run no Wasm.
///
/// # Safety
///
/// `store` is NULL or a live store (see the module's notes on ownership).
pub(crate) unsafe fn store_ref<'a>(store: *const spry_store_t) -> Result<&'a Store> {
    if store.is_null() {
        return Err(anyhow!("store is NULL"));
    }
    // SAFETY: per the contract; only the `store` field is borrowed.
    Ok(unsafe { &(*store).store })
}

/// The store behind `store`, exclusively, or an error if it is NULL. For entry points that run no
/// Wasm (those that do use [`store_context`]).
///
/// # Safety
///
/// `store` is NULL or a live store (see the module's notes on ownership).
pub(crate) unsafe fn store_mut<'a>(store: *mut spry_store_t) -> Result<&'a mut Store> {
    if store.is_null() {
        return Err(anyhow!("store is NULL"));
    }
    // SAFETY: per the contract; only the `store` field is borrowed.
    Ok(unsafe { &mut (*store).store })
}

/// The cache of function types of `store`.
///
/// # Safety
///
/// `store` is a live store (not NULL).
pub(crate) unsafe fn func_types<'a>(store: *const spry_store_t) -> &'a RefCell<HashMap<u32, FuncTypeStorage>> {
    // SAFETY: per the contract; only the cache is borrowed, and it is never borrowed across a call
    // into Wasm.
    unsafe { &(*store).func_types }
}

/// The cache of export names of `store`.
///
/// # Safety
///
/// `store` is a live store (not NULL).
pub(crate) unsafe fn export_names<'a>(store: *const spry_store_t) -> &'a RefCell<HashMap<u32, Box<[Box<str>]>>> {
    // SAFETY: as in `func_types`.
    unsafe { &(*store).export_names }
}

/// A new, empty store for modules of `engine`. The caller owns it and releases it with
/// `spry_store_delete`. Returns NULL if `engine` is NULL.
///
/// # Safety
///
/// `engine` is NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn spry_store_new(engine: *const spry_engine_t) -> *mut spry_store_t {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let engine = unsafe { args::object(engine, "engine") }?;
        let store = spry_store {
            store: Store::new(&engine.engine),
            func_types: RefCell::default(),
            export_names: RefCell::default(),
        };
        Ok(Box::into_raw(Box::new(store)))
    })
}

/// Releases `store` and everything in it: its instances, memories, tables, globals and externrefs,
/// and its references to host functions (a host function's finalizer runs once neither its linker
/// nor any store uses it). NULL is ignored.
///
/// # Safety
///
/// `store` is NULL or a store from `spry_store_new`, not yet deleted, and not running a call (it
/// must not be deleted from a host callback).
#[no_mangle]
pub unsafe extern "C" fn spry_store_delete(store: *mut spry_store_t) {
    // SAFETY: per the contract.
    unsafe { args::release(store) }
}

/// Limits on what a store may hold (see `spry_store_set_limits`). 0 in a field means unlimited.
/// The size limits apply to each memory and table on its own, the counts to the store as a whole
/// (the memories and tables its instances define plus those made with `spry_memory_new` and
/// `spry_table_new`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct spry_store_limits {
    /// The most bytes any one linear memory may have, initially or by growing.
    pub max_memory_bytes: u64,
    /// The most elements any one table may have, initially or by growing.
    pub max_table_elements: u64,
    /// The most instances the store may hold.
    pub max_instances: u64,
    /// The most tables the store may own.
    pub max_tables: u64,
    /// The most linear memories the store may own.
    pub max_memories: u64,
}

/// Shorthand for `struct spry_store_limits`.
pub type spry_store_limits_t = spry_store_limits;

impl From<&spry_store_limits> for StoreLimits {
    fn from(c: &spry_store_limits) -> Self {
        let some = |v: u64| (v != 0).then_some(v);
        let count = |v: u64| (v != 0).then(|| usize::try_from(v).unwrap_or(usize::MAX));
        StoreLimits {
            max_memory_bytes: some(c.max_memory_bytes),
            max_table_elements: some(c.max_table_elements),
            max_instances: count(c.max_instances),
            max_tables: count(c.max_tables),
            max_memories: count(c.max_memories),
        }
    }
}

/// Sets the store's limits, replacing earlier ones (a zeroed struct lifts them all). They apply to
/// what is made or grown from then on: `memory.grow` / `table.grow` past a limit return -1 to Wasm,
/// and an instantiation, `spry_memory_new`, `spry_table_new`, `spry_memory_grow` or
/// `spry_table_grow` past one fails with an error naming the limit. Returns NULL, or an error if
/// `store` or `limits` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store not running a call; `limits` is NULL or valid for a read.
#[no_mangle]
pub unsafe extern "C" fn spry_store_set_limits(
    store: *mut spry_store_t,
    limits: *const spry_store_limits_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        // SAFETY: per the contract.
        let limits = unsafe { args::object(limits, "limits") }?;
        store.set_limits(limits.into());
        Ok(())
    })
}

/// Sets the fuel the store's Wasm code may consume (values above `INT64_MAX` are `INT64_MAX`). A
/// host callback may call it on the store it runs in: the Wasm code that called it continues with
/// the new amount. Returns NULL, or an error if `store` is NULL or its engine does not consume fuel
/// (`spry_config_consume_fuel`).
///
/// # Safety
///
/// `store` is NULL or a live store.
#[no_mangle]
pub unsafe extern "C" fn spry_store_set_fuel(store: *mut spry_store_t, fuel: u64) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract; a context, not a borrow of the handle, since a callback of a
        // running call may be the caller.
        let mut cx = unsafe { store_context(store) }?;
        cx.set_fuel(fuel)
    })
}

/// Writes the fuel the store has left (0 once exhausted) to `*out`. Returns NULL, or an error
/// (writing nothing) if `store` or `out` is NULL or its engine does not consume fuel.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_store_get_fuel(store: *mut spry_store_t, out: *mut u64) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract, as in `spry_store_set_fuel`.
        let cx = unsafe { store_context(store) }?;
        let fuel = cx.fuel()?;
        // SAFETY: per the contract.
        unsafe { args::write(out, fuel, "out") }
    })
}
