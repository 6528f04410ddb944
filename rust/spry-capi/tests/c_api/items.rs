//! Memories, globals, tables and externrefs.

use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};

#[test]
fn memory_data_and_grow() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (memory (export "m") 1 3) (data (i32.const 16) "\01\02\03\04")
            (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
            (func (export "size") (result i32) (memory.size)))"#,
    );
    // SAFETY: all objects are live; memory bytes are accessed within the reported size.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let e = export(store, instance, "m");
        assert_eq!(e.kind, SPRY_EXTERN_MEMORY);
        let mem = spry_memory { store_id: e.store_id, index: e.index };
        let data = spry_memory_data(store, mem);
        assert!(!data.is_null());
        assert_eq!(spry_memory_data_size(store, mem), 65536);
        assert_eq!(spry_memory_size(store, mem), 1);
        assert_eq!(std::slice::from_raw_parts(data.add(16), 4), [1, 2, 3, 4]);
        *data.add(100) = 42;
        assert_eq!(call(store, func(store, instance, "load"), &[i32v(100)], 1).unwrap(), [i32v(42)]);

        let mut old = 0;
        ok(spry_memory_grow(store, mem, 2, &mut old));
        assert_eq!(old, 1);
        assert_eq!(spry_memory_size(store, mem), 3);
        assert_eq!(spry_memory_data(store, mem), data, "memory does not move");
        assert_eq!(call(store, func(store, instance, "size"), &[], 1).unwrap(), [i32v(3)]);
        let msg = take_message(spry_memory_grow(store, mem, 1, &mut old));
        assert!(msg.contains("failed to grow"), "{msg}");
        let mut ty = std::mem::zeroed::<spry_externtype_t>();
        ok(spry_memory_type(store, mem, &mut ty));
        assert_eq!((ty.kind, ty.memory_min, ty.memory_has_max, ty.memory_max), (SPRY_EXTERN_MEMORY, 3, true, 3));

        // A host memory.
        let mut host = spry_memory { store_id: 0, index: 0 };
        ok(spry_memory_new(store, 2, false, 0, &mut host));
        assert_eq!(spry_memory_data_size(store, host), 2 * 65536);
        ok(spry_memory_grow(store, host, 0, null_mut()));
        let msg = take_message(spry_memory_new(store, 3, true, 2, &mut host));
        assert!(msg.contains("greater than its maximum"), "{msg}");
        let msg = take_message(spry_memory_new(store, 70000, false, 0, &mut host));
        assert!(msg.contains("65536"), "{msg}");
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn globals_get_set_and_type() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (global (export "g") (mut i32) (i32.const 5)) (global (export "c") i64 (i64.const -1))
            (func (export "read") (result i32) (global.get 0)))"#,
    );
    // SAFETY: all objects are live.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let e = export(store, instance, "g");
        let g = spry_global { store_id: e.store_id, index: e.index };
        let mut v = i64v(0);
        ok(spry_global_get(store, g, &mut v));
        assert_eq!(v, i32v(5));
        ok(spry_global_set(store, g, &i32v(-8)));
        assert_eq!(call(store, func(store, instance, "read"), &[], 1).unwrap(), [i32v(-8)]);
        let msg = take_message(spry_global_set(store, g, &i64v(1)));
        assert!(msg.contains("global of type i32 set to a i64"), "{msg}");
        let msg = take_message(spry_global_set(store, g, null()));
        assert!(msg.contains("value is NULL"), "{msg}");

        let e = export(store, instance, "c");
        let c = spry_global { store_id: e.store_id, index: e.index };
        ok(spry_global_get(store, c, &mut v));
        assert_eq!(v, i64v(-1));
        let msg = take_message(spry_global_set(store, c, &i64v(1)));
        assert!(msg.contains("immutable"), "{msg}");
        let mut ty = std::mem::zeroed::<spry_externtype_t>();
        ok(spry_global_type(store, c, &mut ty));
        assert_eq!((ty.kind, ty.global_content, ty.global_mutable), (SPRY_EXTERN_GLOBAL, SPRY_I64, false));

        // Host globals: f64 with a value, externref with NULL init (null).
        let mut h = spry_global { store_id: 0, index: 0 };
        let pi = spry_val { kind: SPRY_F64, of: std::f64::consts::PI.to_bits() };
        ok(spry_global_new(store, SPRY_F64, false, &pi, &mut h));
        ok(spry_global_get(store, h, &mut v));
        assert_eq!(v, pi);
        ok(spry_global_new(store, SPRY_EXTERNREF, true, null(), &mut h));
        ok(spry_global_get(store, h, &mut v));
        assert_eq!(v, spry_val { kind: SPRY_EXTERNREF, of: 0 });
        let msg = take_message(spry_global_new(store, SPRY_I32, false, &pi, &mut h));
        assert!(msg.contains("initialized with a f64"), "{msg}");
        let msg = take_message(spry_global_new(store, 17, false, null(), &mut h));
        assert!(msg.contains("invalid value kind 17"), "{msg}");
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn tables_get_set_grow_and_call_indirect() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (type $t (func (result i32)))
            (table (export "t") 2 4 funcref)
            (func (export "nine") (result i32) (i32.const 9))
            (func (export "call") (param i32) (result i32) (call_indirect (type $t) (local.get 0))))"#,
    );
    // SAFETY: all objects are live.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let e = export(store, instance, "t");
        let t = spry_table { store_id: e.store_id, index: e.index };
        assert_eq!(spry_table_size(store, t), 2);
        let mut v = i32v(0);
        ok(spry_table_get(store, t, 0, &mut v));
        assert_eq!(v, spry_val { kind: SPRY_FUNCREF, of: 0 });
        let call_fn = func(store, instance, "call");
        let trap = call(store, call_fn, &[i32v(1)], 1).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_INDIRECT_CALL_TO_NULL);

        let nine = func(store, instance, "nine");
        let nine_ref = spry_val { kind: SPRY_FUNCREF, of: nine.index as u64 + 1 };
        ok(spry_table_set(store, t, 1, &nine_ref));
        ok(spry_table_get(store, t, 1, &mut v));
        assert_eq!(v, nine_ref);
        assert_eq!(call(store, call_fn, &[i32v(1)], 1).unwrap(), [i32v(9)]);

        let msg = take_message(spry_table_get(store, t, 2, &mut v));
        assert!(msg.contains("out of bounds"), "{msg}");
        let msg = take_message(spry_table_set(store, t, 5, &nine_ref));
        assert!(msg.contains("out of bounds"), "{msg}");
        let msg = take_message(spry_table_set(store, t, 0, &i32v(1)));
        assert!(msg.contains("table of funcref set to a i32"), "{msg}");

        let mut old = 0;
        ok(spry_table_grow(store, t, 2, &nine_ref, &mut old));
        assert_eq!(old, 2);
        assert_eq!(spry_table_size(store, t), 4);
        assert_eq!(call(store, call_fn, &[i32v(3)], 1).unwrap(), [i32v(9)]);
        let msg = take_message(spry_table_grow(store, t, 1, null(), &mut old));
        assert!(msg.contains("failed to grow"), "{msg}");
        let mut ty = std::mem::zeroed::<spry_externtype_t>();
        ok(spry_table_type(store, t, &mut ty));
        assert_eq!((ty.kind, ty.table_element, ty.table_min, ty.table_max), (SPRY_EXTERN_TABLE, SPRY_FUNCREF, 4, 4));

        // Host tables.
        let mut h = spry_table { store_id: 0, index: 0 };
        ok(spry_table_new(store, SPRY_EXTERNREF, 3, false, 0, null(), &mut h));
        assert_eq!(spry_table_size(store, h), 3);
        let msg = take_message(spry_table_new(store, SPRY_I32, 1, false, 0, null(), &mut h));
        assert!(msg.contains("must be references"), "{msg}");
        let msg = take_message(spry_table_new(store, SPRY_FUNCREF, 5, true, 1, null(), &mut h));
        assert!(msg.contains("greater than its maximum"), "{msg}");
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn externrefs_carry_host_data() {
    let engine = engine();
    let m = module(engine, r#"(module (func (export "id") (param externref) (result externref) local.get 0))"#);
    // SAFETY: all objects are live.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let mut r = i32v(0);
        ok(spry_externref_new(store, 0xdead_beef, &mut r));
        assert_eq!(r.kind, SPRY_EXTERNREF);
        assert_ne!(r.of, 0);
        let back = call(store, func(store, instance, "id"), &[r], 1).unwrap();
        assert_eq!(back, [r]);
        let mut data = 0;
        ok(spry_externref_data(store, &back[0], &mut data));
        assert_eq!(data, 0xdead_beef);

        let null_ref = spry_val { kind: SPRY_EXTERNREF, of: 0 };
        assert_eq!(call(store, func(store, instance, "id"), &[null_ref], 1).unwrap(), [null_ref]);
        assert!(take_message(spry_externref_data(store, &null_ref, &mut data)).contains("null externref"));
        assert!(take_message(spry_externref_data(store, &i32v(1), &mut data)).contains("not an externref"));
        let forged = spry_val { kind: SPRY_EXTERNREF, of: 99 };
        assert!(take_message(spry_externref_data(store, &forged, &mut data)).contains("invalid externref"));
        let msg = call_err(store, func(store, instance, "id"), &[forged], 1);
        assert!(msg.contains("invalid externref handle"), "{msg}");
        let other = self::store(engine);
        assert!(take_message(spry_externref_data(other, &r, &mut data)).contains("invalid externref"));
        spry_store_delete(other);
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}
