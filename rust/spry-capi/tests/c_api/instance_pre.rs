//! Instance pres: resolve a module's imports once, instantiate it many times in many stores.

use crate::calls::add_cb;
use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};

const WAT: &str = r#"(module (import "env" "add" (func $add (param i32 i32) (result i32)))
    (global $g (export "g") (mut i32) (i32.const 0))
    (func $start (global.set $g (call $add (i32.const 40) (i32.const 2))))
    (start $start)
    (func (export "twice") (param i32 i32) (result i32)
      (call $add (call $add (local.get 0) (local.get 1)) (local.get 1))))"#;

/// A linker defining `env::add` as `add_cb`.
unsafe fn add_linker(engine: *mut spry_engine_t) -> *mut spry_linker_t {
    // SAFETY: `engine` is live; the strings and kind arrays outlive the call.
    unsafe {
        let linker = spry_linker_new(engine);
        let (params, results) = ([SPRY_I32, SPRY_I32], [SPRY_I32]);
        ok(spry_linker_define_func(
            linker,
            "env".as_ptr().cast(),
            3,
            "add".as_ptr().cast(),
            3,
            params.as_ptr(),
            2,
            results.as_ptr(),
            1,
            Some(add_cb),
            7,
            None,
        ));
        linker
    }
}

#[test]
fn many_instances_from_one_pre_in_many_stores() {
    let engine = engine();
    let m = module(engine, WAT);
    // SAFETY: all objects are live; out-parameters are valid.
    unsafe {
        let linker = add_linker(engine);
        let mut pre = null_mut();
        ok(spry_linker_instantiate_pre(linker, m, &mut pre));
        assert!(!pre.is_null());
        // The pre does not need the linker any more.
        spry_linker_delete(linker);
        for _ in 0..3 {
            let store = store(engine);
            for i in 0..4 {
                let mut instance = spry_instance { store_id: 0, index: 0 };
                let mut trap = null_mut();
                ok(spry_instance_pre_instantiate(pre, store, &mut instance, &mut trap));
                assert!(trap.is_null());
                let twice = func(store, instance, "twice");
                assert_eq!(call(store, twice, &[i32v(i), i32v(1)], 1).unwrap(), [i32v(i + 2)]);
                // The start function ran for this instance.
                let g = export(store, instance, "g");
                let mut v = i32v(0);
                ok(spry_global_get(store, spry_global { store_id: g.store_id, index: g.index }, &mut v));
                assert_eq!(v, i32v(42));
            }
            spry_store_delete(store);
        }
        spry_instance_pre_delete(pre);
        spry_instance_pre_delete(null_mut());
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn pre_errors_come_at_pre_time() {
    let engine = engine();
    let m = module(engine, WAT);
    // SAFETY: all objects are live or deliberately NULL; out-parameters are valid.
    unsafe {
        let mut pre = null_mut();
        let empty = spry_linker_new(engine);
        let msg = take_message(spry_linker_instantiate_pre(empty, m, &mut pre));
        assert!(msg.contains("unknown import") && msg.contains("env::add"), "{msg}");
        assert!(pre.is_null(), "out written on failure");

        // The wrong type.
        let wrong = spry_linker_new(engine);
        ok(spry_linker_define_func(
            wrong,
            "env".as_ptr().cast(),
            3,
            "add".as_ptr().cast(),
            3,
            null(),
            0,
            null(),
            0,
            Some(add_cb),
            7,
            None,
        ));
        let msg = take_message(spry_linker_instantiate_pre(wrong, m, &mut pre));
        assert!(msg.contains("incompatible import type") && msg.contains("env::add"), "{msg}");

        // A store item.
        let store = store(engine);
        let mm = module(engine, r#"(module (memory (export "mem") 1))"#);
        let provider = instantiate(engine, null_mut(), store, mm);
        let items = spry_linker_new(engine);
        ok(spry_linker_define(
            items,
            "env".as_ptr().cast(),
            3,
            "add".as_ptr().cast(),
            3,
            export(store, provider, "mem"),
        ));
        let msg = take_message(spry_linker_instantiate_pre(items, m, &mut pre));
        assert!(msg.contains("requires imports defined as host functions") && msg.contains("env::add"), "{msg}");

        // NULLs.
        let linker = add_linker(engine);
        assert!(take_message(spry_linker_instantiate_pre(null(), m, &mut pre)).contains("linker is NULL"));
        assert!(take_message(spry_linker_instantiate_pre(linker, null(), &mut pre)).contains("module is NULL"));
        assert!(take_message(spry_linker_instantiate_pre(linker, m, null_mut())).contains("out is NULL"));
        assert!(pre.is_null());

        ok(spry_linker_instantiate_pre(linker, m, &mut pre));
        let mut instance = spry_instance { store_id: 0, index: 0 };
        let mut trap = null_mut();
        let msg = take_message(spry_instance_pre_instantiate(null(), store, &mut instance, &mut trap));
        assert!(msg.contains("pre is NULL") && trap.is_null(), "{msg}");
        let msg = take_message(spry_instance_pre_instantiate(pre, null_mut(), &mut instance, &mut trap));
        assert!(msg.contains("store is NULL") && trap.is_null(), "{msg}");
        let msg = take_message(spry_instance_pre_instantiate(pre, store, null_mut(), &mut trap));
        assert!(msg.contains("out is NULL") && trap.is_null(), "{msg}");

        // A store of another engine.
        let other = crate::helpers::engine();
        let other_store = crate::helpers::store(other);
        let msg = take_message(spry_instance_pre_instantiate(pre, other_store, &mut instance, &mut trap));
        assert!(msg.contains("different engines") && trap.is_null(), "{msg}");
        spry_store_delete(other_store);
        spry_engine_delete(other);

        spry_instance_pre_delete(pre);
        for l in [empty, wrong, items, linker] {
            spry_linker_delete(l);
        }
        spry_store_delete(store);
        spry_module_delete(mm);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn a_trap_in_the_start_function_goes_to_out_trap() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (import "env" "add" (func $add (param i32 i32) (result i32)))
            (func $s (drop (call $add (i32.const -5) (i32.const 1)))) (start $s))"#,
    );
    // SAFETY: all objects are live; out-parameters are valid.
    unsafe {
        let linker = add_linker(engine);
        let mut pre = null_mut();
        ok(spry_linker_instantiate_pre(linker, m, &mut pre));
        let store = store(engine);
        let mut instance = spry_instance { store_id: 0, index: 0 };
        let mut trap = null_mut();
        ok(spry_instance_pre_instantiate(pre, store, &mut instance, &mut trap));
        let trap = Trap::take(trap);
        assert_eq!((trap.code, trap.message.as_str()), (SPRY_TRAP_HOST_ERROR, "negative"));
        // Without `out_trap`, the trap is an error.
        let msg = take_message(spry_instance_pre_instantiate(pre, store, &mut instance, null_mut()));
        assert!(msg.contains("negative"), "{msg}");
        spry_store_delete(store);
        spry_instance_pre_delete(pre);
        spry_linker_delete(linker);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}
