//! Reading what C passes in, checked rather than trusted: objects that may be NULL, `(pointer, length)`
//! slices where NULL with length 0 is empty, UTF-8 strings; and writing out-parameters.
//!
//! Lengths come from the caller as any `size_t`: one that no slice can have (more than `isize::MAX`
//! bytes) is an error, never a slice made from it.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

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
    check_len::<T>(len, what)?;
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
    check_len::<T>(len, what)?;
    // SAFETY: per the contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// Fails if `len` items of `T` would take more than `isize::MAX` bytes, which no object can (a length
/// like `SIZE_MAX` from a confused caller): `from_raw_parts` must never see such a length.
fn check_len<T>(len: usize, what: &str) -> Result<()> {
    let fits = len.checked_mul(std::mem::size_of::<T>()).is_some_and(|bytes| isize::try_from(bytes).is_ok());
    if !fits {
        bail!("{what} has an impossible length {len}");
    }
    Ok(())
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

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn impossible_lengths_are_errors() {
        let items = [1u64, 2, 3];
        // SAFETY: the slice's pointer and a length it holds; the others fail before any slice is made.
        unsafe {
            assert_eq!(slice(items.as_ptr(), 3, "items").unwrap(), &items);
            for len in [usize::MAX, usize::MAX / 8 + 1, isize::MAX as usize / 8 + 1] {
                let err = slice(items.as_ptr(), len, "items").unwrap_err().to_string();
                assert!(err.contains("impossible length"), "{err}");
                assert!(slice_mut(items.as_ptr().cast_mut(), len, "items").is_err());
            }
            assert!(string(c"abc".as_ptr(), usize::MAX, "name").is_err());
            assert!(slice::<u8>(std::ptr::null(), usize::MAX, "null").is_err());
            assert_eq!(slice::<u8>(std::ptr::null(), 0, "null").unwrap(), &[] as &[u8]);
        }
    }
}
