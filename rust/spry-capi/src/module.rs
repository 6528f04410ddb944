//! [`spry_module_t`]: a compiled module, with the C views of its import and export types prepared once
//! at compile time so that the pointers in them live exactly as long as the module.

use crate::args;
use crate::engine::spry_engine_t;
use crate::error::{guard, guard_or, spry_error_t};
use crate::types::*;
use spry::Module;
use std::ffi::c_char;

/// A compiled WebAssembly module. Safe to use from several threads at once. Owned by the caller;
/// instances made from it keep what they need, so it may be deleted before them.
pub struct spry_module {
    pub(crate) module: Module,
    imports: Box<[ImportStorage]>,
    exports: Box<[ExportStorage]>,
}

/// Shorthand for `struct spry_module`.
pub type spry_module_t = spry_module;

struct ImportStorage {
    module: Box<str>,
    name: Box<str>,
    ty: ExternTypeStorage,
}

struct ExportStorage {
    name: Box<str>,
    ty: ExternTypeStorage,
}

/// Validates and compiles the binary module `wasm` (`len` bytes, copied: the caller keeps
/// ownership).
///
/// On success, returns NULL and writes the new module, owned by the caller (release it with
/// `spry_module_delete`), to `*out`. On failure returns an error and writes nothing: an invalid or
/// malformed module (the message names the problem and its byte offset, "... (at offset 0x1f)"), a
/// feature Spry does not support, NULL `engine` or `out`, or NULL `wasm` with a nonzero `len`.
///
/// # Safety
///
/// `engine` is NULL or a live engine; `wasm` is NULL or points to `len` readable bytes; `out` is
/// NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_module_new(
    engine: *const spry_engine_t,
    wasm: *const u8,
    len: size_t,
    out: *mut *mut spry_module_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let engine = unsafe { args::object(engine, "engine") }?;
        // SAFETY: per the contract.
        let wasm = unsafe { args::slice(wasm, len, "wasm") }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        let module = Module::new(&engine.engine, wasm)?;
        let imports = module
            .imports()
            .map(|i| ImportStorage { module: i.module.into(), name: i.name.into(), ty: ExternTypeStorage::new(i.ty) })
            .collect();
        let exports =
            module.exports().map(|e| ExportStorage { name: e.name.into(), ty: ExternTypeStorage::new(e.ty) }).collect();
        // SAFETY: per the contract.
        unsafe { args::write_box(out, spry_module { module, imports, exports }) }
    })
}

/// Checks that `wasm` (`len` bytes) is a valid module that Spry can run, without compiling it.
/// Returns NULL if it is, else an error as `spry_module_new` would give (also for NULL `engine`, or
/// NULL `wasm` with a nonzero `len`).
///
/// # Safety
///
/// `engine` is NULL or a live engine; `wasm` is NULL or points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn spry_module_validate(
    engine: *const spry_engine_t,
    wasm: *const u8,
    len: size_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let engine = unsafe { args::object(engine, "engine") }?;
        // SAFETY: per the contract.
        let wasm = unsafe { args::slice(wasm, len, "wasm") }?;
        Module::validate(&engine.engine, wasm)
    })
}

/// Releases `module`. NULL is ignored. Instances made from it are unaffected; the pointers in the
/// types obtained from it become invalid.
///
/// # Safety
///
/// `module` is NULL or a module from `spry_module_new`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_module_delete(module: *mut spry_module_t) {
    // SAFETY: per the contract.
    unsafe { args::release(module) }
}

/// The module's name from its name section: returns true and writes it (UTF-8, not NUL-terminated,
/// owned by the module and valid as long as it is) to `*out` and its length to `*out_len`. Returns
/// false and writes nothing if the module has no name, or if `module`, `out` or `out_len` is NULL.
///
/// # Safety
///
/// `module` is NULL or a live module; `out` and `out_len` are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_module_name(
    module: *const spry_module_t,
    out: *mut *const c_char,
    out_len: *mut size_t,
) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let module = unsafe { args::object(module, "module") }?;
        let Some(name) = module.module.name() else { return Ok(false) };
        anyhow::ensure!(!out.is_null() && !out_len.is_null(), "out is NULL");
        // SAFETY: per the contract; both are non-NULL.
        unsafe {
            out.write(c_ptr(name.as_bytes()).cast());
            out_len.write(name.len());
        }
        Ok(true)
    })
}

/// The number of imports of the module; 0 if `module` is NULL.
///
/// # Safety
///
/// `module` is NULL or a live module.
#[no_mangle]
pub unsafe extern "C" fn spry_module_imports_len(module: *const spry_module_t) -> size_t {
    // SAFETY: per the contract.
    guard_or(0, || Ok(unsafe { args::object(module, "module") }?.imports.len()))
}

/// Writes import `i` of the module (in the module's order, which is the order `spry_instance_new`
/// takes imports in) to `*out` and returns true. Returns false and writes nothing if `i` is out of
/// range or `module` or `out` is NULL. The strings and arrays in `*out` are owned by the module and
/// valid as long as it is.
///
/// # Safety
///
/// `module` is NULL or a live module; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_module_import(
    module: *const spry_module_t,
    i: size_t,
    out: *mut spry_importtype_t,
) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let Some(import) = unsafe { args::object(module, "module") }?.imports.get(i) else { return Ok(false) };
        let c = spry_importtype {
            module: c_ptr(import.module.as_bytes()).cast(),
            module_len: import.module.len(),
            name: c_ptr(import.name.as_bytes()).cast(),
            name_len: import.name.len(),
            r#type: import.ty.to_c(),
        };
        // SAFETY: per the contract.
        unsafe { args::write(out, c, "out") }?;
        Ok(true)
    })
}

/// The number of exports of the module; 0 if `module` is NULL.
///
/// # Safety
///
/// `module` is NULL or a live module.
#[no_mangle]
pub unsafe extern "C" fn spry_module_exports_len(module: *const spry_module_t) -> size_t {
    // SAFETY: per the contract.
    guard_or(0, || Ok(unsafe { args::object(module, "module") }?.exports.len()))
}

/// Writes export `i` of the module (in the module's order) to `*out` and returns true. Returns false
/// and writes nothing if `i` is out of range or `module` or `out` is NULL. The strings and arrays in
/// `*out` are owned by the module and valid as long as it is.
///
/// # Safety
///
/// `module` is NULL or a live module; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_module_export(
    module: *const spry_module_t,
    i: size_t,
    out: *mut spry_exporttype_t,
) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let Some(export) = unsafe { args::object(module, "module") }?.exports.get(i) else { return Ok(false) };
        let c = spry_exporttype {
            name: c_ptr(export.name.as_bytes()).cast(),
            name_len: export.name.len(),
            r#type: export.ty.to_c(),
        };
        // SAFETY: per the contract.
        unsafe { args::write(out, c, "out") }?;
        Ok(true)
    })
}
