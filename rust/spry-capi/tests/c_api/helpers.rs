//! Helpers that drive the C surface the way a C program would, reading results through its accessors.

use spry_capi::*;
use std::ffi::c_char;
use std::ptr::{null, null_mut};

/// Takes and deletes an error, returning its message.
pub fn take_message(err: *mut spry_error_t) -> String {
    assert!(!err.is_null(), "expected an error");
    let mut len = 0;
    // SAFETY: `err` is a live error from Spry; the message is valid until the delete below.
    unsafe {
        let ptr = spry_error_message(err, &mut len);
        let message = String::from_utf8(std::slice::from_raw_parts(ptr.cast::<u8>(), len).to_vec()).unwrap();
        spry_error_delete(err);
        message
    }
}

/// Panics with the message if `err` is an error.
pub fn ok(err: *mut spry_error_t) {
    if !err.is_null() {
        panic!("unexpected error: {}", take_message(err));
    }
}

pub fn engine() -> *mut spry_engine_t {
    let mut engine = null_mut();
    // SAFETY: NULL config means defaults; `engine` is a valid out-parameter.
    ok(unsafe { spry_engine_new(null(), &mut engine) });
    engine
}

pub fn module(engine: *mut spry_engine_t, wat: &str) -> *mut spry_module_t {
    let wasm = wat::parse_str(wat).unwrap();
    let mut module = null_mut();
    // SAFETY: `engine` is live; `wasm` outlives the call.
    ok(unsafe { spry_module_new(engine, wasm.as_ptr(), wasm.len(), &mut module) });
    module
}

pub fn store(engine: *mut spry_engine_t) -> *mut spry_store_t {
    // SAFETY: `engine` is live.
    let store = unsafe { spry_store_new(engine) };
    assert!(!store.is_null());
    store
}

/// Instantiates `module` in `store` with `linker` (a new empty one if NULL).
pub fn instantiate(
    engine: *mut spry_engine_t,
    linker: *mut spry_linker_t,
    store: *mut spry_store_t,
    module: *mut spry_module_t,
) -> spry_instance_t {
    // SAFETY: all objects are live; a linker made here is deleted here.
    unsafe {
        let own = linker.is_null();
        let linker = if own { spry_linker_new(engine) } else { linker };
        let mut instance = spry_instance { store_id: 0, index: 0 };
        let mut trap = null_mut();
        ok(spry_linker_instantiate(linker, store, module, &mut instance, &mut trap));
        assert!(trap.is_null());
        if own {
            spry_linker_delete(linker);
        }
        instance
    }
}

pub fn export(store: *mut spry_store_t, instance: spry_instance_t, name: &str) -> spry_extern_t {
    let mut item = spry_extern { kind: 255, store_id: 0, index: 0 };
    // SAFETY: `store` is live; `name` outlives the call.
    let found = unsafe { spry_instance_export_get(store, instance, name.as_ptr().cast(), name.len(), &mut item) };
    assert!(found, "no export `{name}`");
    item
}

pub fn func(store: *mut spry_store_t, instance: spry_instance_t, name: &str) -> spry_func_t {
    let item = export(store, instance, name);
    assert_eq!(item.kind, SPRY_EXTERN_FUNC);
    spry_func { store_id: item.store_id, index: item.index }
}

pub fn i32v(v: i32) -> spry_val_t {
    spry_val { kind: SPRY_I32, of: v as u32 as u64 }
}

pub fn i64v(v: i64) -> spry_val_t {
    spry_val { kind: SPRY_I64, of: v as u64 }
}

/// Calls `f`; Ok(results) or Err(trap), panicking on an error.
pub fn call(
    store: *mut spry_store_t,
    f: spry_func_t,
    args: &[spry_val_t],
    nresults: usize,
) -> Result<Vec<spry_val_t>, Trap> {
    let mut results = vec![i32v(0); nresults];
    let mut trap = null_mut();
    // SAFETY: `store` is live; the arrays have the stated lengths.
    ok(unsafe { spry_func_call(store, f, args.as_ptr(), args.len(), results.as_mut_ptr(), nresults, &mut trap) });
    if trap.is_null() {
        Ok(results)
    } else {
        Err(Trap::take(trap))
    }
}

/// Calls `f` expecting an error; returns its message.
pub fn call_err(store: *mut spry_store_t, f: spry_func_t, args: &[spry_val_t], nresults: usize) -> String {
    let mut results = vec![i32v(0); nresults];
    let mut trap = null_mut();
    // SAFETY: `store` is live (or deliberately NULL); the arrays have the stated lengths.
    let err = unsafe { spry_func_call(store, f, args.as_ptr(), args.len(), results.as_mut_ptr(), nresults, &mut trap) };
    assert!(trap.is_null());
    take_message(err)
}

/// What a `spry_trap_t` says, read through the C accessors.
#[derive(Debug)]
pub struct Trap {
    pub code: u8,
    pub message: String,
    pub frames: Vec<(u32, Option<String>, Option<String>)>,
}

pub fn string(ptr: *const c_char, len: usize) -> Option<String> {
    // SAFETY: Spry's strings are valid for their length while their owner lives.
    (!ptr.is_null())
        .then(|| String::from_utf8(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }.to_vec()).unwrap())
}

impl Trap {
    /// Reads and deletes `trap`.
    pub fn take(trap: *mut spry_trap_t) -> Trap {
        // SAFETY: `trap` is a live trap owned by the test; deleted once read.
        unsafe {
            let mut len = 0;
            let message = string(spry_trap_message(trap, &mut len), len).unwrap();
            let mut frames = Vec::new();
            for i in 0..spry_trap_frames_len(trap) {
                let mut f = std::mem::zeroed::<spry_frame_t>();
                assert!(spry_trap_frame(trap, i, &mut f));
                frames.push((
                    f.func_index,
                    string(f.func_name, f.func_name_len),
                    string(f.module_name, f.module_name_len),
                ));
            }
            let mut f = std::mem::zeroed::<spry_frame_t>();
            assert!(!spry_trap_frame(trap, frames.len(), &mut f));
            let code = spry_trap_code(trap);
            spry_trap_delete(trap);
            Trap { code, message, frames }
        }
    }
}

pub fn kinds(ptr: *const spry_valkind_t, len: usize) -> Vec<spry_valkind_t> {
    if ptr.is_null() {
        assert_eq!(len, 0);
        return Vec::new();
    }
    // SAFETY: Spry's arrays are valid for their length while their owner lives.
    unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec()
}
