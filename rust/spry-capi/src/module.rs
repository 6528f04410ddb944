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
        // SAFETY: per the contract.
        unsafe { args::write_box(out, spry_module::new(module)) }
    })
}

impl spry_module {
    /// Wraps `module`, preparing the C views of its imports and exports.
    fn new(module: Module) -> spry_module {
        let imports = module
            .imports()
            .map(|i| ImportStorage { module: i.module.into(), name: i.name.into(), ty: ExternTypeStorage::new(i.ty) })
            .collect();
        let exports =
            module.exports().map(|e| ExportStorage { name: e.name.into(), ty: ExternTypeStorage::new(e.ty) }).collect();
        spry_module { module, imports, exports }
    }
}

/// Writes the module's compiled form: an artifact that `spry_module_deserialize` loads without
/// compiling, in an engine with the same code-shaping settings (guard pages, interrupts, Cranelift
/// options, ...), of the same Spry version, on a CPU with the same features.
///
/// On success, returns NULL and writes a new byte array, owned by the caller, to `*out_bytes` and its
/// length to `*out_len`; release it with `spry_bytes_delete(*out_bytes, *out_len)` (not `free`). On
/// failure returns an error and writes nothing: NULL `module`, `out_bytes` or `out_len`.
///
/// # Safety
///
/// `module` is NULL or a live module; `out_bytes` and `out_len` are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_module_serialize(
    module: *const spry_module_t,
    out_bytes: *mut *mut u8,
    out_len: *mut size_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let module = unsafe { args::object(module, "module") }?;
        anyhow::ensure!(!out_bytes.is_null(), "out_bytes is NULL");
        anyhow::ensure!(!out_len.is_null(), "out_len is NULL");
        let bytes = module.module.serialize()?.into_boxed_slice();
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

/// Releases a byte array that Spry gave the caller (from `spry_module_serialize` or
/// `spry_wat2wasm`), with the length it came with. NULL `bytes` is ignored.
///
/// # Safety
///
/// `bytes` is NULL or a byte array from `spry_module_serialize` or `spry_wat2wasm`, not yet released,
/// and `len` is the length written with it.
#[no_mangle]
pub unsafe extern "C" fn spry_bytes_delete(bytes: *mut u8, len: size_t) {
    // SAFETY: per the contract, `bytes` came from `Box::<[u8]>::into_raw` with this length.
    unsafe { args::release(std::ptr::slice_from_raw_parts_mut(bytes, len)) }
}

/// Loads a module from `bytes` (`len` bytes, read during the call only), an artifact of
/// `spry_module_serialize`, without compiling it.
///
/// On success, returns NULL and writes the new module, owned by the caller (release it with
/// `spry_module_delete`), to `*out`. On failure returns an error and writes nothing: an artifact that
/// is truncated, corrupt (a 64-bit checksum is checked) or was written by another Spry version, for
/// other code-shaping engine settings or for another CPU; NULL `engine` or `out`, or NULL `bytes`
/// with a nonzero `len`.
///
/// # Safety
///
/// The artifact's machine code runs as is: `bytes` must come from `spry_module_serialize` of a
/// trusted Spry (for example, written and read back by the same application, from storage only it
/// can write). The checks above catch accidents, not malice: a crafted artifact with a valid
/// checksum can run arbitrary code. In addition, `engine` is NULL or a live engine; `bytes` is NULL
/// or points to `len` readable bytes; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_module_deserialize(
    engine: *const spry_engine_t,
    bytes: *const u8,
    len: size_t,
    out: *mut *mut spry_module_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let engine = unsafe { args::object(engine, "engine") }?;
        // SAFETY: per the contract.
        let bytes = unsafe { args::slice(bytes, len, "bytes") }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        // SAFETY: the caller vouches for the artifact (see the contract).
        let module = unsafe { Module::deserialize(&engine.engine, bytes) }?;
        // SAFETY: per the contract.
        unsafe { args::write_box(out, spry_module::new(module)) }
    })
}

/// `spry_module_deserialize` of the contents of the file at `path` (`len` bytes of UTF-8, not
/// NUL-terminated), which is mapped rather than read: the module's code runs from the file's pages.
///
/// On success, returns NULL and writes the new module, owned by the caller, to `*out`. On failure
/// returns an error and writes nothing: as for `spry_module_deserialize`, and also a file that
/// cannot be opened, or a path that is NULL with a nonzero `len` or not valid UTF-8.
///
/// # Safety
///
/// As for `spry_module_deserialize`: the file must hold an artifact of `spry_module_serialize` of a
/// trusted Spry and be writable only by trusted users; in addition it must not be modified while the
/// module (or anything made from it) lives (replace it by renaming a new file over it). `path` is
/// NULL or points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn spry_module_deserialize_file(
    engine: *const spry_engine_t,
    path: *const c_char,
    len: size_t,
    out: *mut *mut spry_module_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let engine = unsafe { args::object(engine, "engine") }?;
        // SAFETY: per the contract.
        let path = unsafe { args::string(path, len, "path") }?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        // SAFETY: the caller vouches for the file (see the contract).
        let module = unsafe { Module::deserialize_file(&engine.engine, path) }?;
        // SAFETY: per the contract.
        unsafe { args::write_box(out, spry_module::new(module)) }
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
/// `module` is NULL or a module from `spry_module_new` or `spry_module_deserialize*`, not yet
/// deleted.
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
