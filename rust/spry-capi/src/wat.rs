//! The WebAssembly text format: `spry_wat2wasm` turns a module's text (`.wat`) into its binary
//! encoding, through the `wat` crate (as wasmtime's C API does with `wasmtime_wat2wasm`).

use crate::args;
use crate::error::{guard, spry_error_t};
use crate::types::size_t;
use std::ffi::c_char;

/// Translates the WebAssembly text `wat` (`len` bytes of UTF-8, read during the call only) into the
/// binary encoding of the module it describes. The text is one module (`(module ...)`, or its
/// fields alone); the result is not validated (pass it to `spry_module_new`, which validates).
///
/// On success, returns NULL and writes a new byte array, owned by the caller, to `*out_bytes` and its
/// length to `*out_len`; release it with `spry_bytes_delete(*out_bytes, *out_len)` (not `free`). On
/// failure returns an error and writes nothing: a syntax error (the message gives its line and
/// column), text that is not UTF-8, NULL `out_bytes` or `out_len`, or NULL `wat` with a nonzero
/// `len`.
///
/// # Safety
///
/// `wat` is NULL or points to `len` readable bytes; `out_bytes` and `out_len` are NULL or valid for a
/// write.
#[no_mangle]
pub unsafe extern "C" fn spry_wat2wasm(
    wat: *const c_char,
    len: size_t,
    out_bytes: *mut *mut u8,
    out_len: *mut size_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let text = unsafe { args::string(wat, len, "wat") }?;
        anyhow::ensure!(!out_bytes.is_null(), "out_bytes is NULL");
        anyhow::ensure!(!out_len.is_null(), "out_len is NULL");
        let bytes = ::wat::parse_str(text)?.into_boxed_slice();
        let len = bytes.len();
        let ptr = Box::into_raw(bytes).cast::<u8>();
        // SAFETY: per the contract; both are non-NULL.
        unsafe {
            out_bytes.write(ptr);
            out_len.write(len);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `spry_wat2wasm` on `text`: the bytes, or the error's message.
    fn wat2wasm(text: &str) -> Result<Vec<u8>, String> {
        let mut ptr = std::ptr::null_mut();
        let mut len = 0;
        // SAFETY: `text` is live for the call; the out-parameters are valid.
        let err = unsafe { spry_wat2wasm(text.as_ptr().cast(), text.len(), &mut ptr, &mut len) };
        if !err.is_null() {
            let mut n = 0;
            // SAFETY: `err` is a live error; its message lives as long as it.
            let msg = unsafe {
                let p = crate::error::spry_error_message(err, &mut n);
                String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), n)).into_owned()
            };
            // SAFETY: `err` is ours and released once.
            unsafe { crate::error::spry_error_delete(err) };
            return Err(msg);
        }
        // SAFETY: `ptr`/`len` were written by the successful call.
        let out = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
        // SAFETY: released once, with its length.
        unsafe { crate::module::spry_bytes_delete(ptr, len) };
        Ok(out)
    }

    #[test]
    fn translates_a_module() {
        let wasm = wat2wasm(r#"(module (func (export "f") (result i32) i32.const 7))"#).unwrap();
        assert_eq!(&wasm[..8], b"\0asm\x01\0\0\0");
        let engine = spry::Engine::default();
        let module = spry::Module::new(&engine, &wasm).unwrap();
        assert_eq!(module.exports().map(|e| e.name.to_string()).collect::<Vec<_>>(), ["f"]);
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let err = wat2wasm("(module\n  (func (i32.bogus)))").unwrap_err();
        assert!(err.contains("2:"), "{err}");
    }

    #[test]
    fn rejects_null_and_bad_utf8() {
        let mut ptr = std::ptr::null_mut();
        let mut len = 0;
        // SAFETY: NULL with a nonzero length is checked, never read.
        let err = unsafe { spry_wat2wasm(std::ptr::null(), 3, &mut ptr, &mut len) };
        assert!(!err.is_null());
        // SAFETY: ours, released once.
        unsafe { crate::error::spry_error_delete(err) };
        let bad = [0xffu8, 0xfe];
        // SAFETY: `bad` is live for the call.
        let err = unsafe { spry_wat2wasm(bad.as_ptr().cast(), bad.len(), &mut ptr, &mut len) };
        assert!(!err.is_null());
        // SAFETY: ours, released once.
        unsafe { crate::error::spry_error_delete(err) };
        // SAFETY: NULL out-parameters are checked, never written.
        let err = unsafe { spry_wat2wasm("(module)".as_ptr().cast(), 8, std::ptr::null_mut(), &mut len) };
        assert!(!err.is_null());
        // SAFETY: ours, released once.
        unsafe { crate::error::spry_error_delete(err) };
    }
}
