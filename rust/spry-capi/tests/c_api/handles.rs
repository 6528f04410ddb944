//! Misuse (forged, foreign and NULL handles) and the lifetime of host functions (finalizers).

use crate::calls::add_cb;
use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn invalid_and_foreign_handles_are_errors() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (func (export "f") (result i32) (i32.const 1)) (memory (export "m") 1)
            (global (export "g") (mut i32) (i32.const 0)) (table (export "t") 1 funcref))"#,
    );
    // SAFETY: all objects are live; the handles are deliberately forged or foreign.
    unsafe {
        let a = store(engine);
        let b = store(engine);
        let instance = instantiate(engine, null_mut(), a, m);
        let f = func(a, instance, "f");
        let forged = spry_func { index: 999, ..f };

        let msg = call_err(b, f, &[], 1);
        assert!(msg.contains("another store") || msg.contains("other than its own"), "{msg}");
        let msg = call_err(a, forged, &[], 1);
        assert!(msg.contains("invalid function handle"), "{msg}");
        let mut slots = [0u64];
        let mut trap = null_mut();
        let msg = take_message(spry_func_call_unchecked(a, forged, slots.as_mut_ptr(), 1, &mut trap));
        assert!(msg.contains("invalid function handle"), "{msg}");
        let msg = take_message(spry_func_call_unchecked(b, f, slots.as_mut_ptr(), 1, &mut trap));
        assert!(msg.contains("other than its own"), "{msg}");
        assert!(trap.is_null());
        let mut ty = std::mem::zeroed::<spry_functype_t>();
        let msg = take_message(spry_func_type(b, f, &mut ty));
        assert!(msg.contains("other than its own"), "{msg}");
        let msg = take_message(spry_func_type(a, forged, &mut ty));
        assert!(msg.contains("invalid function handle"), "{msg}");
        ok(spry_func_type(a, f, &mut ty));
        let mut ty2 = std::mem::zeroed::<spry_functype_t>();
        ok(spry_func_type(a, f, &mut ty2));
        assert_eq!(ty.results, ty2.results, "types are cached per function");
        let msg = take_message(spry_func_type(null(), f, &mut ty));
        assert!(msg.contains("store is NULL"), "{msg}");

        // Instances.
        let mut item = spry_extern { kind: 255, store_id: 0, index: 0 };
        assert!(!spry_instance_export_get(b, instance, "f".as_ptr().cast(), 1, &mut item));
        assert!(!spry_instance_export_get(
            a,
            spry_instance { index: 77, ..instance },
            "f".as_ptr().cast(),
            1,
            &mut item
        ));
        assert!(!spry_instance_export_get(a, instance, b"\xff".as_ptr().cast(), 1, &mut item));
        assert!(!spry_instance_export_get(a, instance, null(), 1, &mut item));
        assert!(!spry_instance_export_get(null_mut(), instance, "f".as_ptr().cast(), 1, &mut item));
        assert_eq!(spry_instance_exports_len(b, instance), 0);
        let linker = spry_linker_new(engine);
        let msg = take_message(spry_linker_define_instance(linker, b, "x".as_ptr().cast(), 1, instance));
        assert!(msg.contains("other than its own"), "{msg}");
        let msg = take_message(spry_linker_define_instance(
            linker,
            a,
            "x".as_ptr().cast(),
            1,
            spry_instance { index: 5, ..instance },
        ));
        assert!(msg.contains("invalid instance handle"), "{msg}");
        let msg = take_message(spry_linker_define(linker, b"\xc3".as_ptr().cast(), 1, "x".as_ptr().cast(), 1, item));
        assert!(msg.contains("not valid UTF-8"), "{msg}");
        let msg = take_message(spry_linker_define(null_mut(), "x".as_ptr().cast(), 1, "x".as_ptr().cast(), 1, item));
        assert!(msg.contains("linker is NULL"), "{msg}");

        // Memories, globals, tables.
        let mem = export(a, instance, "m");
        let mem = spry_memory { store_id: mem.store_id, index: mem.index };
        let bad_mem = spry_memory { index: 50, ..mem };
        assert!(spry_memory_data(b, mem).is_null());
        assert!(spry_memory_data(a, bad_mem).is_null());
        assert!(spry_memory_data(null(), mem).is_null());
        assert_eq!(spry_memory_data_size(a, bad_mem), 0);
        assert_eq!(spry_memory_size(b, mem), 0);
        assert!(take_message(spry_memory_grow(a, bad_mem, 1, null_mut())).contains("invalid memory handle"));
        let mut et = std::mem::zeroed::<spry_externtype_t>();
        assert!(take_message(spry_memory_type(b, mem, &mut et)).contains("other than its own"));

        let g = export(a, instance, "g");
        let g = spry_global { store_id: g.store_id, index: g.index };
        let mut v = i32v(0);
        assert!(take_message(spry_global_get(b, g, &mut v)).contains("other than its own"));
        assert!(
            take_message(spry_global_get(a, spry_global { index: 9, ..g }, &mut v)).contains("invalid global handle")
        );
        assert!(take_message(spry_global_set(a, spry_global { index: 9, ..g }, &v)).contains("invalid global handle"));
        assert!(take_message(spry_global_type(b, g, &mut et)).contains("other than its own"));

        let t = export(a, instance, "t");
        let t = spry_table { store_id: t.store_id, index: t.index };
        assert!(take_message(spry_table_get(b, t, 0, &mut v)).contains("other than its own"));
        assert!(take_message(spry_table_set(a, spry_table { index: 3, ..t }, 0, &v)).contains("invalid table handle"));
        assert_eq!(spry_table_size(b, t), 0);
        assert!(take_message(spry_table_grow(b, t, 1, null(), null_mut())).contains("other than its own"));
        assert!(
            take_message(spry_table_type(a, spry_table { index: 3, ..t }, &mut et)).contains("invalid table handle")
        );

        // Funcref values naming functions that do not exist.
        let mut out = spry_global { store_id: 0, index: 0 };
        let init = spry_val { kind: SPRY_FUNCREF, of: 1000 };
        let msg = take_message(spry_global_new(a, SPRY_FUNCREF, true, &init, &mut out));
        assert!(msg.contains("invalid function handle"), "{msg}");
        let init = spry_val { kind: SPRY_FUNCREF, of: u64::MAX };
        let msg = take_message(spry_global_new(a, SPRY_FUNCREF, true, &init, &mut out));
        assert!(msg.contains("invalid reference value"), "{msg}");

        spry_linker_delete(linker);
        spry_store_delete(a);
        spry_store_delete(b);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn null_objects_are_errors_or_neutral() {
    // SAFETY: every object pointer is NULL on purpose; every delete accepts NULL.
    unsafe {
        assert!(spry_store_new(null()).is_null());
        assert!(spry_linker_new(null()).is_null());
        assert!(spry_store_interrupt_handle(null()).is_null());
        let mut len = 3;
        assert!(spry_error_message(null(), &mut len).is_null());
        assert_eq!(len, 0);
        spry_config_max_wasm_stack(null_mut(), 1);
        spry_linker_allow_shadowing(null_mut(), true);
        assert!(take_message(spry_module_validate(null(), null(), 0)).contains("engine is NULL"));
        let mut f = spry_func { store_id: 0, index: 0 };
        let msg = take_message(spry_func_new(null_mut(), null(), 0, null(), 0, Some(add_cb), 0, None, &mut f));
        assert!(msg.contains("store is NULL"), "{msg}");
        let mut v = i32v(0);
        assert!(take_message(spry_externref_new(null_mut(), 1, &mut v)).contains("store is NULL"));
        spry_error_delete(null_mut());
        spry_config_delete(null_mut());
        spry_engine_delete(null_mut());
        spry_module_delete(null_mut());
        spry_store_delete(null_mut());
        spry_linker_delete(null_mut());
        spry_interrupt_handle_delete(null_mut());

        // A configuration.
        let config = spry_config_new();
        spry_config_max_wasm_stack(config, 256 * 1024);
        spry_config_guard_pages(config, false);
        spry_config_parallel_compilation(config, false);
        spry_config_interruptible(config, false);
        let mut engine = null_mut();
        ok(spry_engine_new(config, &mut engine));
        spry_config_delete(config);
        let m = module(
            engine,
            r#"(module (memory (export "m") 1) (func (export "f") (result i32) (i32.load (i32.const 65534))))"#,
        );
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let trap = call(store, func(store, instance, "f"), &[], 1).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_MEMORY_OUT_OF_BOUNDS);
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

// ---- finalizers ----------------------------------------------------------------------------------

static FINALIZED: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

unsafe extern "C" fn count_finalizer(env: uintptr_t) {
    FINALIZED[env].fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn nop_cb(
    _: uintptr_t,
    _: *mut spry_caller_t,
    _: *mut u64,
    _: size_t,
    _: size_t,
) -> *mut spry_trap_t {
    null_mut()
}

#[test]
fn finalizers_run_exactly_once() {
    let engine = engine();
    let m = module(engine, r#"(module (import "env" "f" (func)) (func (export "run") (call 0)))"#);
    let count = |i: usize| FINALIZED[i].load(Ordering::SeqCst);
    // SAFETY: all objects are live until deleted.
    unsafe {
        // A linker function used by two stores: finalized when the linker and both stores are gone.
        let linker = spry_linker_new(engine);
        ok(spry_linker_define_func(
            linker,
            "env".as_ptr().cast(),
            3,
            "f".as_ptr().cast(),
            1,
            null(),
            0,
            null(),
            0,
            Some(nop_cb),
            0,
            Some(count_finalizer),
        ));
        let (s1, s2) = (store(engine), store(engine));
        for s in [s1, s2] {
            let i = instantiate(engine, linker, s, m);
            call(s, func(s, i, "run"), &[], 0).unwrap();
        }
        spry_linker_delete(linker);
        assert_eq!(count(0), 0);
        spry_store_delete(s1);
        assert_eq!(count(0), 0);
        spry_store_delete(s2);
        assert_eq!(count(0), 1);

        // A store function: finalized with its store.
        let s = store(engine);
        let mut f = spry_func { store_id: 0, index: 0 };
        ok(spry_func_new(s, null(), 0, null(), 0, Some(nop_cb), 1, Some(count_finalizer), &mut f));
        call(s, f, &[], 0).unwrap();
        assert_eq!(count(1), 0);
        spry_store_delete(s);
        assert_eq!(count(1), 1);

        // A failed definition finalizes right away, once.
        let linker = spry_linker_new(engine);
        ok(spry_linker_define_func(
            linker,
            "a".as_ptr().cast(),
            1,
            "b".as_ptr().cast(),
            1,
            null(),
            0,
            null(),
            0,
            Some(nop_cb),
            3,
            None,
        ));
        let msg = take_message(spry_linker_define_func(
            linker,
            "a".as_ptr().cast(),
            1,
            "b".as_ptr().cast(),
            1,
            null(),
            0,
            null(),
            0,
            Some(nop_cb),
            2,
            Some(count_finalizer),
        ));
        assert!(msg.contains("already defined"), "{msg}");
        assert_eq!(count(2), 1);
        let bad_kind = [9u8];
        let msg = take_message(spry_linker_define_func(
            linker,
            "a".as_ptr().cast(),
            1,
            "c".as_ptr().cast(),
            1,
            bad_kind.as_ptr(),
            1,
            null(),
            0,
            Some(nop_cb),
            2,
            Some(count_finalizer),
        ));
        assert!(msg.contains("invalid value kind 9"), "{msg}");
        let msg = take_message(spry_linker_define_func(
            linker,
            "a".as_ptr().cast(),
            1,
            "c".as_ptr().cast(),
            1,
            null(),
            0,
            null(),
            0,
            None,
            2,
            Some(count_finalizer),
        ));
        assert!(msg.contains("callback is NULL"), "{msg}");
        let msg = take_message(spry_func_new(
            null_mut(),
            null(),
            0,
            null(),
            0,
            Some(nop_cb),
            2,
            Some(count_finalizer),
            &mut f,
        ));
        assert!(msg.contains("store is NULL"), "{msg}");
        assert_eq!(count(2), 4);
        spry_linker_delete(linker);
        assert_eq!(count(2), 4);

        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}
