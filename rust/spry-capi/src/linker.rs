//! [`spry_linker_t`]: resolves a module's imports by name, from host functions (defined once, usable
//! in every store of the engine) and from items of a store.

use crate::args;
use crate::engine::spry_engine_t;
use crate::error::{guard, guard_or, spry_error_t};
use crate::func::{spry_finalizer_t, spry_host_callback_t, HostCallback, HostEnv};
use crate::instance::{spry_extern_t, spry_instance, spry_instance_t};
use crate::module::spry_module_t;
use crate::store::{spry_store_t, store_context, store_mut};
use crate::trap::{guard_call, spry_trap_t};
use crate::types::{size_t, spry_valkind_t, uintptr_t};
use spry::Linker;
use std::ffi::c_char;

/// Definitions of imports by `(module, name)`. Once defined, it may be used to instantiate from
/// several threads at once (defining is not thread-safe). Owned by the caller.
pub struct spry_linker {
    pub(crate) linker: Linker,
}

/// Shorthand for `struct spry_linker`.
pub type spry_linker_t = spry_linker;

/// A new, empty linker for modules and stores of `engine`, owned by the caller (release it with
/// `spry_linker_delete`). Returns NULL if `engine` is NULL.
///
/// # Safety
///
/// `engine` is NULL or a live engine.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_new(engine: *const spry_engine_t) -> *mut spry_linker_t {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let engine = unsafe { args::object(engine, "engine") }?;
        Ok(Box::into_raw(Box::new(spry_linker { linker: Linker::new(&engine.engine) })))
    })
}

/// Releases `linker`. NULL is ignored. Instances made with it are unaffected; a host function
/// defined in it is finalized once no store uses it either.
///
/// # Safety
///
/// `linker` is NULL or a linker from `spry_linker_new`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_delete(linker: *mut spry_linker_t) {
    // SAFETY: per the contract.
    unsafe { args::release(linker) }
}

/// Sets whether a definition may replace an earlier one of the same `(module, name)` (default false:
/// redefining is an error). NULL `linker` is ignored.
///
/// # Safety
///
/// `linker` is NULL or a live linker not used elsewhere during the call.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_allow_shadowing(linker: *mut spry_linker_t, allow: bool) {
    guard_or((), || {
        // SAFETY: per the contract.
        if let Some(l) = unsafe { linker.as_mut() } {
            l.linker.allow_shadowing(allow);
        }
        Ok(())
    })
}

/// Defines `module::name` (UTF-8 strings, not NUL-terminated, copied) as a host function with the
/// given parameter and result kinds, whose body is `cb` called with `env` (see
/// `spry_host_callback_t`). The function can be instantiated in any store of the linker's engine.
///
/// `env` is owned by the function from this call on: `finalizer` (may be NULL) is called with it
/// exactly once, when the linker, every instance pre made with it and every store that instantiated
/// the function are deleted, or before this function returns if it fails. Returns NULL on success, or an error: NULL `linker` or
/// `cb`, a name that is not valid UTF-8 (or NULL with a nonzero length), an invalid kind, NULL kinds
/// with a nonzero count, or a name already defined (unless shadowing is allowed).
///
/// # Safety
///
/// `linker` is NULL or a live linker not used elsewhere during the call; the strings and kind arrays
/// are NULL or point to their stated number of items; `cb` behaves as `spry_host_callback_t`
/// documents (in particular, reference results are null or come from the calling store).
#[no_mangle]
pub unsafe extern "C" fn spry_linker_define_func(
    linker: *mut spry_linker_t,
    module: *const c_char,
    module_len: size_t,
    name: *const c_char,
    name_len: size_t,
    params: *const spry_valkind_t,
    nparams: size_t,
    results: *const spry_valkind_t,
    nresults: size_t,
    cb: spry_host_callback_t,
    env: uintptr_t,
    finalizer: spry_finalizer_t,
) -> *mut spry_error_t {
    let env = HostEnv::new(env, finalizer);
    guard(|| {
        // SAFETY: per the contract.
        let (ty, host) = unsafe { HostCallback::new(params, nparams, results, nresults, cb, env) }?;
        // SAFETY: per the contract.
        let linker = unsafe { args::object_mut(linker, "linker") }?;
        // SAFETY: per the contract.
        let module = unsafe { args::string(module, module_len, "module") }?;
        // SAFETY: per the contract.
        let name = unsafe { args::string(name, name_len, "name") }?;
        // SAFETY: the callback's reference results are null or of the calling store (the contract).
        unsafe { linker.linker.func_new_unchecked(module, name, ty, move |caller, slots| host.call(caller, slots)) }?;
        Ok(())
    })
}

/// Defines `module::name` (UTF-8 strings, not NUL-terminated, copied) as `item`, an item of a
/// store; modules instantiated with it must then be instantiated in that store.
///
/// Returns NULL on success, or an error: NULL `linker`, a name that is not valid UTF-8 (or NULL with
/// a nonzero length), an invalid `item.kind`, or a name already defined (unless shadowing is
/// allowed). The handle itself is checked when a module is instantiated with it.
///
/// # Safety
///
/// `linker` is NULL or a live linker not used elsewhere during the call; the strings are NULL or
/// point to their stated lengths.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_define(
    linker: *mut spry_linker_t,
    module: *const c_char,
    module_len: size_t,
    name: *const c_char,
    name_len: size_t,
    item: spry_extern_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let linker = unsafe { args::object_mut(linker, "linker") }?;
        // SAFETY: per the contract.
        let module = unsafe { args::string(module, module_len, "module") }?;
        // SAFETY: per the contract.
        let name = unsafe { args::string(name, name_len, "name") }?;
        linker.linker.define(module, name, item.to_extern()?)?;
        Ok(())
    })
}

/// Defines every export of `instance`, an instance of `store`, under the module name `module`
/// (UTF-8, not NUL-terminated, copied).
///
/// Returns NULL on success, or an error: NULL `linker` or `store`, `instance` not an instance of
/// `store`, a name that is not valid UTF-8 (or NULL with a nonzero length), or an export name
/// already defined under `module` (unless shadowing is allowed; exports before it are defined).
///
/// # Safety
///
/// `linker` is NULL or a live linker not used elsewhere during the call; `store` is NULL or a live
/// store; `module` is NULL or points to `module_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_define_instance(
    linker: *mut spry_linker_t,
    store: *mut spry_store_t,
    module: *const c_char,
    module_len: size_t,
    instance: spry_instance_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let linker = unsafe { args::object_mut(linker, "linker") }?;
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        // SAFETY: per the contract.
        let module = unsafe { args::string(module, module_len, "module") }?;
        instance.module(store)?;
        linker.linker.instance(store, module, instance.to_instance())?;
        Ok(())
    })
}

/// Instantiates `module` in `store`, resolving its imports by name in `linker`, applying its data
/// and element segments and running its start function.
///
/// Outcomes:
/// - Success: returns NULL, sets `*out_trap` to NULL and writes the instance to `*out`.
/// - Trap (in a segment's initialization or the start function): returns NULL and sets `*out_trap`
///   to a new trap owned by the caller; `*out` is not written.
/// - Error: returns an error and sets `*out_trap` to NULL: an import that is not defined ("unknown
///   import: `env::f` has not been defined"), one of the wrong type ("incompatible import type"),
///   an item of another store, a linker, module and store of different engines, or NULL `linker`,
///   `store`, `module` or `out`.
///
/// If `out_trap` is NULL, a trap is returned as an error instead. The linker is only read: several
/// threads may instantiate with it at once (in different stores).
///
/// # Safety
///
/// `linker`, `store` and `module` are NULL or live; `out` and `out_trap` are NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_instantiate(
    linker: *const spry_linker_t,
    store: *mut spry_store_t,
    module: *const spry_module_t,
    out: *mut spry_instance_t,
    out_trap: *mut *mut spry_trap_t,
) -> *mut spry_error_t {
    let body = || {
        // SAFETY: `linker` is NULL or live (the contract).
        let linker = unsafe { args::object(linker, "linker") }?;
        // SAFETY: `store` is NULL or live (the contract); the start function may call back into it.
        let store = unsafe { store_context(store) }?;
        // SAFETY: `module` is NULL or live (the contract).
        let module = unsafe { args::object(module, "module") }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        let (store_id, index) = linker.linker.instantiate(store, &module.module)?.into_raw_parts();
        // SAFETY: `out` is valid for a write (the contract; not NULL, checked above).
        unsafe { args::write(out, spry_instance { store_id, index }, "out") }
    };
    // SAFETY: `out_trap` is NULL or valid for a write (the contract).
    unsafe { guard_call(out_trap, body) }
}
