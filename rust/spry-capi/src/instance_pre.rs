//! [`spry_instance_pre_t`]: a module whose imports a linker has resolved and type-checked once, to
//! instantiate it many times, in any store of the engine.

use crate::args;
use crate::error::{guard, spry_error_t};
use crate::instance::{spry_instance, spry_instance_t};
use crate::linker::spry_linker_t;
use crate::module::spry_module_t;
use crate::store::{spry_store_t, store_context};
use crate::trap::{guard_call, spry_trap_t};
use spry::InstancePre;

/// A module with its imports resolved and type-checked, ready to be instantiated in any store of its
/// engine. It may be used from several threads at once. Owned by the caller.
pub struct spry_instance_pre {
    pre: InstancePre,
}

/// Shorthand for `struct spry_instance_pre`.
pub type spry_instance_pre_t = spry_instance_pre;

/// Resolves `module`'s imports by name in `linker` and type-checks them, once, for instantiating the
/// module many times with `spry_instance_pre_instantiate`. Every import must be a host function
/// defined with `spry_linker_define_func`: store items (`spry_linker_define`,
/// `spry_linker_define_instance`) belong to one store and are an error here.
///
/// Returns NULL on success and writes a new instance pre, owned by the caller (release it with
/// `spry_instance_pre_delete`), to `*out`. Returns an error otherwise, and `*out` is not written: an
/// import that is not defined ("unknown import: `env::f` has not been defined"), one of the wrong type
/// ("incompatible import type"), one defined as a store item ("InstancePre requires imports defined
/// as host functions"), a linker and module of different engines, or NULL `linker`, `module` or
/// `out`.
///
/// The linker is only read, and may be deleted afterwards: the instance pre keeps the host functions
/// it uses.
///
/// # Safety
///
/// `linker` and `module` are NULL or live; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_linker_instantiate_pre(
    linker: *const spry_linker_t,
    module: *const spry_module_t,
    out: *mut *mut spry_instance_pre_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let linker = unsafe { args::object(linker, "linker") }?;
        // SAFETY: per the contract.
        let module = unsafe { args::object(module, "module") }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        let pre = linker.linker.instantiate_pre(&module.module)?;
        let pre = Box::into_raw(Box::new(spry_instance_pre { pre }));
        // SAFETY: `out` is valid for a write (the contract; not NULL, checked above).
        unsafe { args::write(out, pre, "out") }
    })
}

/// Releases `pre`. NULL is ignored. Instances made from it are unaffected.
///
/// # Safety
///
/// `pre` is NULL or an instance pre from `spry_linker_instantiate_pre`, not yet deleted and not in
/// use by another thread.
#[no_mangle]
pub unsafe extern "C" fn spry_instance_pre_delete(pre: *mut spry_instance_pre_t) {
    // SAFETY: per the contract.
    unsafe { args::release(pre) }
}

/// Instantiates the module of `pre` in `store`, without resolving or checking its imports again:
/// applies its data and element segments and runs its start function.
///
/// Outcomes:
/// - Success: returns NULL, sets `*out_trap` to NULL and writes the instance to `*out`.
/// - Trap (in a segment's initialization or the start function): returns NULL and sets `*out_trap`
///   to a new trap owned by the caller; `*out` is not written.
/// - Error: returns an error and sets `*out_trap` to NULL: `pre` and `store` of different engines,
///   or NULL `pre`, `store` or `out`.
///
/// If `out_trap` is NULL, a trap is returned as an error instead. `pre` is only read: several
/// threads may instantiate from it at once (in different stores).
///
/// # Safety
///
/// `pre` and `store` are NULL or live; `out` and `out_trap` are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_instance_pre_instantiate(
    pre: *const spry_instance_pre_t,
    store: *mut spry_store_t,
    out: *mut spry_instance_t,
    out_trap: *mut *mut spry_trap_t,
) -> *mut spry_error_t {
    let body = || {
        // SAFETY: `pre` is NULL or live (the contract).
        let pre = unsafe { args::object(pre, "pre") }?;
        // SAFETY: `store` is NULL or live (the contract); the start function may call back into it.
        let store = unsafe { store_context(store) }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        let (store_id, index) = pre.pre.instantiate(store)?.into_raw_parts();
        // SAFETY: `out` is valid for a write (the contract; not NULL, checked above).
        unsafe { args::write(out, spry_instance { store_id, index }, "out") }
    };
    // SAFETY: `out_trap` is NULL or valid for a write (the contract).
    unsafe { guard_call(out_trap, body) }
}
