//! [`spry_func_t`]: functions of a store, host functions made from C callbacks, and calls into Wasm,
//! checked (`spry_func_call`, over [`spry_val_t`]s) or raw (`spry_func_call_unchecked`, over slots).

use crate::args;
use crate::caller::{spry_caller, spry_caller_t};
use crate::error::spry_error_t;
use crate::store::{func_types, spry_store_t, store_context, store_mut, store_ref};
use crate::trap::{guard_call, spry_trap_t};
use crate::types::{func_type, size_t, spry_functype_t, spry_valkind_t, uintptr_t, FuncTypeStorage};
use crate::val::{spry_val, spry_val_t};
use anyhow::{anyhow, Result};
use spry::{Caller, Extern, Func, FuncType, Val};

/// A function of a store: exported by an instance, or made by `spry_func_new`. A plain value, valid
/// as long as its store; using it with another store, or a forged one, is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct spry_func {
    /// The id of the store the function belongs to.
    pub store_id: u64,
    /// The function's index in its store.
    pub index: u32,
}

/// Shorthand for `struct spry_func`.
pub type spry_func_t = spry_func;

impl spry_func {
    pub(crate) fn to_func(self) -> Func {
        Func::from_raw_parts(self.store_id, self.index)
    }

    pub(crate) fn from_func(f: Func) -> spry_func {
        let (store_id, index) = f.into_raw_parts();
        spry_func { store_id, index }
    }
}

/// A host function's body, called when Wasm (or the host) calls the function.
///
/// - `env`: the value given when the function was defined, passed through untouched.
/// - `caller`: the calling context, valid only until the callback returns (see `spry_caller_*`).
/// - `slots`: `max(nargs, nresults)` 64-bit slots; on entry `slots[0..nargs]` hold the arguments,
///   and on a successful return `slots[0..nresults]` must hold the results, both laid out by the
///   function's type: i32 and f32 in the low 4 bytes, i64 and f64 in all 8. A reference slot holds an
///   engine-internal value: pass it back unchanged, or write 0 (null).
///
/// Returns NULL on success, or a trap made with `spry_trap_new`, whose ownership passes to Spry: the
/// Wasm code that called the function stops, and the caller of the outermost Wasm call gets that trap
/// back unchanged (code `SPRY_TRAP_HOST_ERROR`, the same message).
///
/// While the callback runs, the store it runs in may be used through the `spry_store_t*` the embedder
/// already holds (nested `spry_func_call`s, memory access and growth, globals...), on the same thread.
/// It must not delete that store. A callback must not unwind (a C++ exception or a Go panic must be
/// caught before returning).
pub type spry_host_callback_t = Option<
    unsafe extern "C" fn(
        env: uintptr_t,
        caller: *mut spry_caller_t,
        slots: *mut u64,
        nargs: size_t,
        nresults: size_t,
    ) -> *mut spry_trap_t,
>;

/// Releases a host function's `env`: called exactly once, when the function can no longer be called
/// (its linker and every store that used it are deleted), or right away if defining it fails. It may
/// run on any thread.
pub type spry_finalizer_t = Option<unsafe extern "C" fn(env: uintptr_t)>;

/// A host function's `env`, finalized when the function is dropped (or when defining it fails).
pub(crate) struct HostEnv {
    env: uintptr_t,
    finalizer: spry_finalizer_t,
}

impl HostEnv {
    pub(crate) fn new(env: uintptr_t, finalizer: spry_finalizer_t) -> HostEnv {
        HostEnv { env, finalizer }
    }
}

impl Drop for HostEnv {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            // SAFETY: the embedder's finalizer, given with `env` and called once, as its type documents.
            unsafe { finalizer(self.env) };
        }
    }
}

/// The body of a host function: calls `cb` with `env` (see [`spry_host_callback_t`]).
pub(crate) struct HostCallback {
    cb: unsafe extern "C" fn(uintptr_t, *mut spry_caller_t, *mut u64, size_t, size_t) -> *mut spry_trap_t,
    env: HostEnv,
    nparams: size_t,
    nresults: size_t,
}

impl HostCallback {
    /// The type and body of a host function that calls `cb` with `env`. `env` is consumed: it is
    /// finalized when the body is dropped, or right away if this fails.
    ///
    /// # Safety
    ///
    /// Non-NULL `params` and `results` point to `nparams` and `nresults` kinds.
    pub(crate) unsafe fn new(
        params: *const spry_valkind_t,
        nparams: size_t,
        results: *const spry_valkind_t,
        nresults: size_t,
        cb: spry_host_callback_t,
        env: HostEnv,
    ) -> Result<(FuncType, HostCallback)> {
        // SAFETY: per the contract.
        let ty = unsafe { func_type(params, nparams, results, nresults) }?;
        let cb = cb.ok_or_else(|| anyhow!("callback is NULL"))?;
        Ok((ty, HostCallback { cb, env, nparams, nresults }))
    }

    /// Runs the callback for one call: its trap, if it returns one, becomes the call's error.
    pub(crate) fn call(&self, caller: Caller<'_>, slots: &mut [u64]) -> Result<()> {
        let mut caller = spry_caller { caller };
        // The callback sees the caller only for the duration of the call.
        let caller_ptr: *mut spry_caller_t = (&raw mut caller).cast();
        // SAFETY: the embedder's callback, called as its type documents: the engine sizes the slots
        // by the function's type, max(nparams, nresults).
        let trap = unsafe { (self.cb)(self.env.env, caller_ptr, slots.as_mut_ptr(), self.nparams, self.nresults) };
        if trap.is_null() {
            return Ok(());
        }
        // SAFETY: a non-NULL result is a trap from `spry_trap_new`, now ours.
        let trap = unsafe { Box::from_raw(trap) };
        // The trap itself, so that the engine re-raises it unchanged.
        Err(anyhow::Error::from(trap.trap))
    }
}

/// Makes a host function in `store` with the given parameter and result kinds, whose body is `cb`
/// called with `env` (see `spry_host_callback_t`).
///
/// `env` is owned by the function from this call on: `finalizer` (may be NULL) is called with it
/// exactly once, when the store is deleted, or before this function returns if it fails. On success,
/// returns NULL and writes the function to `*out`. On failure returns an error and writes nothing:
/// NULL `store`, `cb` or `out`, an invalid kind, or NULL kinds with a nonzero count. The kinds are
/// copied.
///
/// # Safety
///
/// `store` is NULL or a live store; non-NULL `params` and `results` point to `nparams` and `nresults`
/// kinds; `out` is NULL or valid for a write; `cb` behaves as `spry_host_callback_t` documents (in
/// particular, reference results are null or come from this store).
#[no_mangle]
pub unsafe extern "C" fn spry_func_new(
    store: *mut spry_store_t,
    params: *const spry_valkind_t,
    nparams: size_t,
    results: *const spry_valkind_t,
    nresults: size_t,
    cb: spry_host_callback_t,
    env: uintptr_t,
    finalizer: spry_finalizer_t,
    out: *mut spry_func_t,
) -> *mut spry_error_t {
    let env = HostEnv::new(env, finalizer);
    crate::error::guard(|| {
        // SAFETY: per the contract.
        let (ty, host) = unsafe { HostCallback::new(params, nparams, results, nresults, cb, env) }?;
        // SAFETY: per the contract.
        let store = unsafe { store_mut(store) }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        // SAFETY: the callback's reference results are null or of this store (the contract).
        let func = unsafe { Func::new_unchecked(store, ty, move |caller, slots| host.call(caller, slots)) }?;
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_func::from_func(func), "out") }
    })
}

/// Writes the type of `func` to `*out`. Its arrays are owned by `store` and stay valid as long as it
/// does (they are computed once per function).
///
/// Returns NULL on success, or an error (writing nothing) if `store` or `out` is NULL or `func` is
/// not a function of `store`.
///
/// # Safety
///
/// `store` is NULL or a live store; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_func_type(
    store: *const spry_store_t,
    func: spry_func_t,
    out: *mut spry_functype_t,
) -> *mut spry_error_t {
    crate::error::guard(|| {
        // SAFETY: per the contract.
        let s = unsafe { store_ref(store) }?;
        let f = func.to_func();
        Extern::Func(f).check(s)?;
        // SAFETY: `store` is live and not NULL (checked above).
        let mut cache = unsafe { func_types(store) }.borrow_mut();
        let ty = cache.entry(func.index).or_insert_with(|| FuncTypeStorage::new(&f.ty(s))).to_c();
        // SAFETY: per the contract.
        unsafe { args::write(out, ty, "out") }
    })
}

/// Values kept on the stack for calls with up to this many arguments or results.
const INLINE_VALS: usize = 16;

/// Calls `func` with `nargs` arguments from `args`, writing its results to `results[0..nresults]`.
/// The arguments are only read; the results array is owned by the caller (it may be the same array
/// as `args`).
///
/// Outcomes:
/// - Success: returns NULL, sets `*out_trap` to NULL and writes the results.
/// - Trap (the Wasm code, or a host function it called, trapped): returns NULL and sets `*out_trap`
///   to a new trap owned by the caller (release it with `spry_trap_delete`); `results` is untouched.
/// - Error: returns an error, sets `*out_trap` to NULL, runs nothing and leaves `results` untouched:
///   NULL `store`, `func` not a function of `store`, `nargs` or `nresults` not the function's number
///   of parameters or results, an argument whose kind is not the parameter's (or a reference that is
///   not valid in `store`), NULL `args` or `results` with a nonzero count.
///
/// If `out_trap` is NULL, a trap is returned as an error instead. May be called from a host
/// callback running in `store` (a nested call).
///
/// # Safety
///
/// `store` is NULL or a live store; non-NULL `args` and `results` point to `nargs` and `nresults`
/// values; `out_trap` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_func_call(
    store: *mut spry_store_t,
    func: spry_func_t,
    args: *const spry_val_t,
    nargs: size_t,
    results: *mut spry_val_t,
    nresults: size_t,
    out_trap: *mut *mut spry_trap_t,
) -> *mut spry_error_t {
    let body = || {
        // SAFETY: `store` is NULL or live (the contract); a callback may use it during the call.
        let mut store = unsafe { store_context(store) }?;
        let id = store.id();
        anyhow::ensure!(!results.is_null() || nresults == 0, "results is NULL but its length is {nresults}");
        // SAFETY: `args` is NULL or points to `nargs` values (the contract).
        let args = unsafe { args::slice(args, nargs, "args") }?;
        let (mut inline_params, mut inline_results) = ([Val::I32(0); INLINE_VALS], [Val::I32(0); INLINE_VALS]);
        let (mut heap_params, mut heap_results) = (Vec::new(), Vec::new());
        let params = vals(&mut inline_params, &mut heap_params, nargs);
        for (p, a) in params.iter_mut().zip(args) {
            *p = a.to_val(id)?;
        }
        let vals_out = vals(&mut inline_results, &mut heap_results, nresults);
        func.to_func().call(&mut store, params, vals_out)?;
        // Only now, when `args` is no longer used: `results` may be the same array.
        // SAFETY: `results` is NULL or points to `nresults` values (the contract).
        let results = unsafe { args::slice_mut(results, nresults, "results") }?;
        for (out, r) in results.iter_mut().zip(vals_out.iter()) {
            *out = spry_val::from_val(*r);
        }
        Ok(())
    };
    // SAFETY: `out_trap` is NULL or valid for a write (the contract).
    unsafe { guard_call(out_trap, body) }
}

/// `n` values: on the stack if they fit, else in `heap`.
fn vals<'a>(inline: &'a mut [Val; INLINE_VALS], heap: &'a mut Vec<Val>, n: usize) -> &'a mut [Val] {
    if n <= INLINE_VALS {
        &mut inline[..n]
    } else {
        heap.resize(n, Val::I32(0));
        heap
    }
}

/// Calls `func` with raw slots: the fast path, with no conversion and no allocation. On entry
/// `slots[0..nparams]` hold the arguments; on success `slots[0..nresults]` hold the results (layout
/// as for `spry_host_callback_t`). `nslots` must be at least `max(nparams, nresults)` of the
/// function's type.
///
/// Outcomes are as for `spry_func_call`: NULL with `*out_trap` NULL on success; NULL with a new trap
/// in `*out_trap` (owned by the caller) if execution trapped; an error if `store` is NULL, `func` is
/// not a function of `store`, `nslots` is too small, or `slots` is NULL with a nonzero `nslots`. The
/// argument kinds are NOT checked.
///
/// # Safety
///
/// As for `spry_func_call`, and: the arguments must match the function's parameter types, and a
/// reference argument must be 0 or a value Spry gave for a reference of this store (in a result
/// slot or a callback's argument slot); `slots` points to `nslots` writable slots.
#[no_mangle]
pub unsafe extern "C" fn spry_func_call_unchecked(
    store: *mut spry_store_t,
    func: spry_func_t,
    slots: *mut u64,
    nslots: size_t,
    out_trap: *mut *mut spry_trap_t,
) -> *mut spry_error_t {
    let body = || {
        // SAFETY: `store` is NULL or live (the contract); a callback may use it during the call.
        let store = unsafe { store_context(store) }?;
        // SAFETY: `slots` is NULL or points to `nslots` writable slots (the contract).
        let slots = unsafe { args::slice_mut(slots, nslots, "slots") }?;
        // SAFETY: the arguments match the function's type, references are this store's (the
        // contract); the engine checks the handle and the number of slots.
        unsafe { func.to_func().call_unchecked(store, slots) }
    };
    // SAFETY: `out_trap` is NULL or valid for a write (the contract).
    unsafe { guard_call(out_trap, body) }
}
