//! [`spry_error_t`], what a fallible function returns when it fails, and the guards every entry point
//! runs its body in: they turn errors into `spry_error_t`s and catch panics so that none unwinds into C.

use crate::types::size_t;
use std::any::Any;
use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An error: misuse of the API (a NULL or invalid argument, a handle of another store, a wrong
/// argument count or type) or a failure (an invalid module, an unknown import, an allocation that
/// failed). Made by Spry, owned by the caller, released with `spry_error_delete`.
pub struct spry_error {
    message: String,
    kind: spry_error_kind_t,
}

/// Shorthand for `struct spry_error`.
pub type spry_error_t = spry_error;

/// What kind of failure an error is (see `spry_error_kind`): one of the `SPRY_ERROR_*` constants.
pub type spry_error_kind_t = u8;

/// Any error not of a kind below.
pub const SPRY_ERROR_OTHER: spry_error_kind_t = 0;
/// The kernel refused to reserve address space for a linear memory: too many memories are live in
/// the process (each reserves `spry_config_memory_reservation` plus `spry_config_memory_guard_size`
/// bytes). It clears when memories are released (stores deleted): a caller whose stores are freed
/// by a garbage collector can collect and retry.
pub const SPRY_ERROR_RESOURCE_EXHAUSTED: spry_error_kind_t = 1;
/// Every instance, memory or table slot of the pooling allocator is in use. It clears when stores
/// are deleted.
pub const SPRY_ERROR_POOL_EXHAUSTED: spry_error_kind_t = 2;

impl spry_error {
    /// A new error for `err` (its whole chain of causes), for the caller to own.
    pub(crate) fn boxed(err: &anyhow::Error) -> *mut spry_error_t {
        let kind = match err.downcast_ref::<spry::ResourceExhausted>() {
            Some(r) if r.is_pool() => SPRY_ERROR_POOL_EXHAUSTED,
            Some(_) => SPRY_ERROR_RESOURCE_EXHAUSTED,
            None => SPRY_ERROR_OTHER,
        };
        Box::into_raw(Box::new(spry_error { message: format!("{err:#}"), kind }))
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "a panic with a non-string payload"
    }
}

/// Runs the body of an entry point that returns a `spry_error_t*`: NULL if it succeeds, a new error
/// if it fails, and an "internal error: <panic message>" error if it panics.
pub(crate) fn guard(body: impl FnOnce() -> anyhow::Result<()>) -> *mut spry_error_t {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(err)) => spry_error::boxed(&err),
        Err(payload) => spry_error::boxed(&anyhow::anyhow!("internal error: {}", panic_message(&*payload))),
    }
}

/// Runs the body of an entry point without an error result: `neutral` if it fails or panics.
pub(crate) fn guard_or<T>(neutral: T, body: impl FnOnce() -> anyhow::Result<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(_)) | Err(_) => neutral,
    }
}

/// The message of `error`, as UTF-8 (not NUL-terminated), with its length written to `*out_len`.
///
/// The message names the problem and, for an invalid module, the byte offset; for an error with
/// causes, it lists them after the first, separated by ": ". The returned pointer is owned by
/// `error` and stays valid until `spry_error_delete(error)`. If `error` is NULL, returns NULL and
/// writes 0. `out_len` may be NULL.
///
/// # Safety
///
/// `error` is NULL or a live error; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_error_message(error: *const spry_error_t, out_len: *mut size_t) -> *const c_char {
    guard_or(std::ptr::null(), || {
        // SAFETY: per the contract, `error` is NULL or live.
        let (ptr, len) = match unsafe { error.as_ref() } {
            Some(e) => (crate::types::c_ptr(e.message.as_bytes()).cast::<c_char>(), e.message.len()),
            None => (std::ptr::null(), 0),
        };
        if !out_len.is_null() {
            // SAFETY: per the contract, a non-NULL `out_len` is valid for a write.
            unsafe { *out_len = len };
        }
        Ok(ptr)
    })
}

/// The kind of `error`: `SPRY_ERROR_RESOURCE_EXHAUSTED` or `SPRY_ERROR_POOL_EXHAUSTED` for a
/// resource that ran out (the operation may succeed once other stores are deleted), else
/// `SPRY_ERROR_OTHER` (also for NULL).
///
/// # Safety
///
/// `error` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn spry_error_kind(error: *const spry_error_t) -> spry_error_kind_t {
    // SAFETY: per the contract, `error` is NULL or live.
    guard_or(SPRY_ERROR_OTHER, || Ok(unsafe { error.as_ref() }.map_or(SPRY_ERROR_OTHER, |e| e.kind)))
}

/// Releases `error`. NULL is ignored.
///
/// # Safety
///
/// `error` is NULL or an error returned by Spry and not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_error_delete(error: *mut spry_error_t) {
    // SAFETY: per the contract.
    unsafe { crate::args::release(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(err: *mut spry_error_t) -> String {
        assert!(!err.is_null());
        // SAFETY: `err` was just made by `guard`; it is read, then released once.
        let boxed = unsafe { Box::from_raw(err) };
        boxed.message
    }

    #[test]
    fn panics_become_internal_errors() {
        assert!(guard(|| Ok(())).is_null());
        assert_eq!(message(guard(|| Err(anyhow::anyhow!("outer").context("ctx")))), "ctx: outer");
        assert_eq!(message(guard(|| panic!("boom {}", 1))), "internal error: boom 1");
        assert_eq!(message(guard(|| std::panic::panic_any(7u8))), "internal error: a panic with a non-string payload");
        assert_eq!(guard_or(3, || panic!("boom")), 3);
        assert_eq!(guard_or(3, || anyhow::bail!("no")), 3);
        assert_eq!(guard_or(3, || Ok(4)), 4);
    }

    #[test]
    fn kinds() {
        let kind = |e: anyhow::Error| {
            let err = spry_error::boxed(&e);
            // SAFETY: `err` was just made; it is read, then released once.
            let k = unsafe { spry_error_kind(err) };
            // SAFETY: as above.
            unsafe { spry_error_delete(err) };
            k
        };
        assert_eq!(kind(anyhow::anyhow!("no")), SPRY_ERROR_OTHER);
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { spry_error_kind(std::ptr::null()) }, SPRY_ERROR_OTHER);
        // Real exhaustion, with context on top: a one-slot pool, and a refused reservation.
        let pool = spry::PoolingConfig { total_memories: 1, ..Default::default() };
        let engine =
            spry::Engine::new(spry::Config::new().allocation_strategy(spry::InstanceAllocationStrategy::Pooling(pool)))
                .unwrap();
        let mut store = spry::Store::new(&engine);
        let ty = spry::MemoryType { minimum: 1, maximum: None };
        spry::Memory::new(&mut store, ty).unwrap();
        let e = spry::Memory::new(&mut store, ty).unwrap_err().context("outer");
        assert_eq!(kind(e), SPRY_ERROR_POOL_EXHAUSTED);
        // SPRY_ERROR_RESOURCE_EXHAUSTED needs fault injection, which is process-wide: it is checked
        // in a test binary of its own (tests/error_kind.rs).
    }
}
