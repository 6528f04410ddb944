//! [`spry_caller_t`]: what a host callback sees of the Wasm code that called it.

use crate::args;
use crate::error::guard_or;
use crate::instance::spry_extern;
use crate::instance::spry_extern_t;
use crate::types::size_t;
use spry::Caller;
use std::ffi::c_char;

/// The context of a host function call: the calling instance and its store. Passed to a host
/// callback, valid only until the callback returns; owned by Spry.
pub struct spry_caller<'a> {
    pub(crate) caller: Caller<'a>,
}

/// Shorthand for `struct spry_caller`.
pub type spry_caller_t = spry_caller<'static>;

/// Looks up the export `name` (UTF-8, `len` bytes, not NUL-terminated) of the calling instance (for
/// example its memory): returns true and writes it to `*out`, a handle of the caller's store.
/// Returns false and writes nothing if the caller is not an instance (the host called the function
/// directly), it has no such export, `name` is not valid UTF-8, or `caller` or `out` is NULL.
///
/// # Safety
///
/// `caller` is NULL or the caller passed to the running callback; `name` is NULL or points to `len`
/// readable bytes; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_caller_export_get(
    caller: *mut spry_caller_t,
    name: *const c_char,
    len: size_t,
    out: *mut spry_extern_t,
) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract; the caller lives until the callback returns.
        let caller = unsafe { args::object_mut(caller, "caller") }?;
        // SAFETY: per the contract.
        let name = unsafe { args::string(name, len, "name") }?;
        let Some(item) = caller.caller.get_export(name) else { return Ok(false) };
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_extern::from_extern(item), "out") }?;
        Ok(true)
    })
}
