//! [`spry_store_t`]: a store, plus what the C surface keeps per store so that the pointers it hands
//! out (function types, export names) live as long as the store.
//!
//! # Aliasing
//!
//! A host callback may use the `spry_store_t*` of the store it runs in (a nested `spry_func_call`,
//! memory access) while the engine, further up the same thread's stack, is in the middle of a call
//! on that store and holds a `&mut` to the store's state that it also reaches through raw pointers
//! (its host functions do so). The entry points therefore reach a store only through [`store_ref`]
//! and [`store_mut`], which borrow the one field they need for the duration of the call, never the
//! whole `spry_store_t`, and never keep a borrow across a call into Wasm besides the one the engine
//! itself takes. This is the engine's own discipline for nested calls (a `Caller` is a `&mut` to
//! the state an outer call also holds); it relies on the store's state being touched only from the
//! thread running the call, and on no code holding a value read from the store across a callback.

use crate::args;
use crate::engine::spry_engine_t;
use crate::error::guard_or;
use crate::types::FuncTypeStorage;
use anyhow::{anyhow, Result};
use spry::Store;
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

/// The store behind `store`, shared, or an error if it is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store (see the module's notes on aliasing).
pub(crate) unsafe fn store_ref<'a>(store: *const spry_store_t) -> Result<&'a Store> {
    if store.is_null() {
        return Err(anyhow!("store is NULL"));
    }
    // SAFETY: per the contract; only the `store` field is borrowed.
    Ok(unsafe { &(*store).store })
}

/// The store behind `store`, exclusively, or an error if it is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store (see the module's notes on aliasing).
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
