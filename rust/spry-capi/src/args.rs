//! Reading what C passes in, checked rather than trusted: objects that may be NULL, `(pointer, length)`
//! slices where NULL with length 0 is empty, UTF-8 strings; and writing out-parameters.

use anyhow::{anyhow, bail, Result};
use std::ffi::c_char;

/// The object behind `ptr`, or an error naming `what` if it is NULL.
///
/// # Safety
///
/// `ptr` is NULL or points to a live `T` that nothing mutates for `'a`.
pub(crate) unsafe fn object<'a, T>(ptr: *const T, what: &str) -> Result<&'a T> {
    // SAFETY: per the contract.
    unsafe { ptr.as_ref() }.ok_or_else(|| anyhow!("{what} is NULL"))
}

/// The object behind `ptr`, mutably, or an error naming `what` if it is NULL.
///
/// # Safety
///
/// `ptr` is NULL or points to a live `T` that nothing else uses for `'a`.
pub(crate) unsafe fn object_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T> {
    // SAFETY: per the contract.
    unsafe { ptr.as_mut() }.ok_or_else(|| anyhow!("{what} is NULL"))
}

/// The `len` items at `ptr`: empty if `ptr` is NULL and `len` is 0, an error naming `what` if `ptr`
/// is NULL and `len` is not.
///
/// # Safety
///
/// A non-NULL `ptr` points to `len` initialized items, aligned, that nothing mutates for `'a`.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, len: usize, what: &str) -> Result<&'a [T]> {
    if ptr.is_null() {
        if len != 0 {
            bail!("{what} is NULL but its length is {len}");
        }
        return Ok(&[]);
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// As [`slice`], mutably.
///
/// # Safety
///
/// A non-NULL `ptr` points to `len` initialized items, aligned, that nothing else uses for `'a`.
pub(crate) unsafe fn slice_mut<'a, T>(ptr: *mut T, len: usize, what: &str) -> Result<&'a mut [T]> {
    if ptr.is_null() {
        if len != 0 {
            bail!("{what} is NULL but its length is {len}");
        }
        return Ok(&mut []);
    }
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// The UTF-8 string of `len` bytes at `ptr` (as for [`slice`]), or an error naming `what` if it is
/// not valid UTF-8.
///
/// # Safety
///
/// As for [`slice`].
pub(crate) unsafe fn string<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a str> {
    // SAFETY: per the contract.
    let bytes = unsafe { slice(ptr.cast::<u8>(), len, what) }?;
    std::str::from_utf8(bytes).map_err(|e| anyhow!("{what} is not valid UTF-8: {e}"))
}

/// Writes `value` to the out-parameter `out`, or fails naming `what` if it is NULL.
///
/// # Safety
///
/// `out` is NULL or valid for a write of a `T`.
pub(crate) unsafe fn write<T>(out: *mut T, value: T, what: &str) -> Result<()> {
    if out.is_null() {
        bail!("{what} is NULL");
    }
    // SAFETY: per the contract; `T` is a plain C value (nothing to drop in the old contents).
    unsafe { out.write(value) };
    Ok(())
}

/// Writes `value` to `out` if it is not NULL.
///
/// # Safety
///
/// `out` is NULL or valid for a write of a `T`.
pub(crate) unsafe fn write_opt<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: per the contract.
        unsafe { out.write(value) };
    }
}

/// Boxes `value` and writes the pointer, which the caller of the entry point then owns, to `out`;
/// fails (dropping `value`) if `out` is NULL.
///
/// # Safety
///
/// `out` is NULL or valid for a write of a pointer.
pub(crate) unsafe fn write_box<T>(out: *mut *mut T, value: T) -> Result<()> {
    if out.is_null() {
        bail!("out is NULL");
    }
    // SAFETY: per the contract.
    unsafe { out.write(Box::into_raw(Box::new(value))) };
    Ok(())
}

/// Drops the object `ptr` that a `_new` function boxed for the caller; NULL is ignored. A panic in
/// its destructor is caught (and the object leaked).
///
/// # Safety
///
/// `ptr` is NULL or came from [`write_box`] (or `Box::into_raw`) and is not used afterwards.
pub(crate) unsafe fn release<T: ?Sized>(ptr: *mut T) {
    if !ptr.is_null() {
        crate::error::guard_or((), || {
            // SAFETY: per the contract.
            drop(unsafe { Box::from_raw(ptr) });
            Ok(())
        });
    }
}
