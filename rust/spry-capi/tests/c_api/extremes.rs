//! The C surface's memory, table and call accessors at the extremes of their integer arguments
//! (issue 12): deltas, sizes and indices of `u64::MAX`/`u32::MAX`, lengths of `SIZE_MAX`. Each gives an
//! error (or a neutral value), never a wrapped computation, a panic or an abort.

use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};

const WAT: &str = r#"(module
  (memory (export "m") 1)
  (table (export "t") 2 funcref)
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0))))"#;

#[test]
fn memory_accessors_at_the_extremes() {
    let engine = engine();
    let m = module(engine, WAT);
    // SAFETY: all objects are live; memory bytes are accessed within the reported size.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let e = export(store, instance, "m");
        let mem = spry_memory { store_id: e.store_id, index: e.index };
        let mut old = 7u64;
        for delta in [u64::MAX, u64::MAX - 1, 1 << 48, 1 << 32, 65536] {
            let msg = take_message(spry_memory_grow(store, mem, delta, &mut old));
            assert!(msg.contains("failed to grow"), "delta {delta}: {msg}");
            assert_eq!(old, 7, "nothing written on failure");
            assert_eq!(spry_memory_size(store, mem), 1);
        }
        // To exactly 65,536 pages: 2^32 bytes, which a u32 size would have wrapped to 0.
        ok(spry_memory_grow(store, mem, 65535, &mut old));
        assert_eq!(old, 1);
        assert_eq!(spry_memory_size(store, mem), 65536);
        assert_eq!(spry_memory_data_size(store, mem), 1usize << 32);
        ok(spry_memory_grow(store, mem, 0, &mut old));
        assert_eq!(old, 65536);
        assert!(take_message(spry_memory_grow(store, mem, 1, null_mut())).contains("failed to grow"));
        assert!(take_message(spry_memory_grow(store, mem, u64::MAX, null_mut())).contains("failed to grow"));

        // The issue's reproduction through the C surface: the last 64 KiB, and one byte more.
        let fill = func(store, instance, "fill");
        let args = [i32v(0xFFFF_0000u32 as i32), i32v(0x5A), i32v(0x10000)];
        call(store, fill, &args, 0).unwrap();
        let data = spry_memory_data(store, mem);
        assert_eq!(*data.add((1usize << 32) - 1), 0x5A);
        assert_eq!(*data.add(0xFFFF_0000), 0x5A);
        assert_eq!(*data.add(0xFFFF_0000 - 1), 0);
        let trap = call(store, fill, &[i32v(0xFFFF_0000u32 as i32), i32v(1), i32v(0x10001)], 0).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_MEMORY_OUT_OF_BOUNDS);
        assert_eq!(*data.add(0xFFFF_0000), 0x5A, "nothing written by the trapping fill");
        let load8 = func(store, instance, "load8");
        assert_eq!(call(store, load8, &[i32v(-1)], 1).unwrap(), [i32v(0x5A)]);

        // Host memories of extreme sizes.
        let mut host = spry_memory { store_id: 0, index: 0 };
        for (min, has_max, max) in
            [(u64::MAX, false, 0), (65537, false, 0), (1 << 32, true, u64::MAX), (u64::MAX, true, u64::MAX)]
        {
            let msg = take_message(spry_memory_new(store, min, has_max, max, &mut host));
            assert!(msg.contains("65536"), "min {min}: {msg}");
        }
        ok(spry_memory_new(store, 0, true, u64::MAX, &mut host));
        assert_eq!(spry_memory_data_size(store, host), 0);
        ok(spry_memory_grow(store, host, 65536, &mut old));
        assert_eq!((old, spry_memory_data_size(store, host)), (0, 1usize << 32));
        ok(spry_memory_new(store, 0, true, 0, &mut host));
        assert!(take_message(spry_memory_grow(store, host, 1, null_mut())).contains("failed to grow"));
        // A forged handle at the extreme of its index.
        let forged = spry_memory { store_id: mem.store_id, index: u32::MAX };
        assert!(spry_memory_data(store, forged).is_null());
        assert_eq!(spry_memory_data_size(store, forged), 0);
        assert!(!take_message(spry_memory_grow(store, forged, 1, null_mut())).is_empty());

        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn table_accessors_at_the_extremes() {
    let engine = engine();
    let m = module(engine, WAT);
    // SAFETY: all objects are live.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let e = export(store, instance, "t");
        let t = spry_table { store_id: e.store_id, index: e.index };
        let null_ref = spry_val { kind: SPRY_FUNCREF, of: 0 };
        let mut out = i32v(0);
        for index in [2, 3, u32::MAX - 1, u32::MAX] {
            let msg = take_message(spry_table_get(store, t, index, &mut out));
            assert!(msg.contains("out of bounds"), "get {index}: {msg}");
            let msg = take_message(spry_table_set(store, t, index, &null_ref));
            assert!(msg.contains("out of bounds"), "set {index}: {msg}");
        }
        ok(spry_table_get(store, t, 1, &mut out));
        let mut old = 9u32;
        for delta in [u32::MAX, u32::MAX - 1, u32::MAX - 2, 10_000_000] {
            let msg = take_message(spry_table_grow(store, t, delta, null(), &mut old));
            assert!(msg.contains("failed to grow"), "delta {delta}: {msg}");
            assert_eq!((old, spry_table_size(store, t)), (9, 2));
        }
        ok(spry_table_grow(store, t, 0, null(), &mut old));
        assert_eq!(old, 2);

        let mut host = spry_table { store_id: 0, index: 0 };
        for (min, has_max, max) in [(u32::MAX, false, 0), (u32::MAX, true, u32::MAX), (10_000_001, false, 0)] {
            let msg = take_message(spry_table_new(store, SPRY_FUNCREF, min, has_max, max, null(), &mut host));
            assert!(msg.contains("exceeds the limit"), "min {min}: {msg}");
        }
        ok(spry_table_new(store, SPRY_EXTERNREF, 0, true, u32::MAX, null(), &mut host));
        assert_eq!(spry_table_size(store, host), 0);
        assert!(!take_message(spry_table_get(store, host, 0, &mut out)).is_empty());
        assert!(!take_message(spry_table_grow(store, host, u32::MAX, null(), null_mut())).is_empty());
        ok(spry_table_grow(store, host, 3, null(), null_mut()));
        assert_eq!(spry_table_size(store, host), 3);
        let forged = spry_table { store_id: t.store_id, index: u32::MAX };
        assert_eq!(spry_table_size(store, forged), 0);
        assert!(!take_message(spry_table_get(store, forged, 0, &mut out)).is_empty());

        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn lengths_no_object_can_have_are_errors() {
    let engine = engine();
    let m = module(engine, WAT);
    // SAFETY: all objects are live; every length below that exceeds its array is rejected before
    // the array is read (the point of the test).
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let f = func(store, instance, "load8");
        let mut slots = [0u64; 2];
        let mut trap = null_mut();
        for n in [usize::MAX, usize::MAX / 8 + 1] {
            let msg = take_message(spry_func_call_unchecked(store, f, slots.as_mut_ptr(), n, &mut trap));
            assert!(msg.contains("impossible length"), "{msg}");
            let args = [i32v(0)];
            let mut results = [i32v(0)];
            let msg = take_message(spry_func_call(store, f, args.as_ptr(), n, results.as_mut_ptr(), 1, &mut trap));
            assert!(msg.contains("impossible length"), "{msg}");
            assert!(trap.is_null());
        }
        let wasm = [0u8; 8];
        let mut module_out = null_mut();
        let msg = take_message(spry_module_new(engine, wasm.as_ptr(), usize::MAX, &mut module_out));
        assert!(msg.contains("impossible length"), "{msg}");
        let mut item = spry_extern { kind: 255, store_id: 0, index: 0 };
        assert!(!spry_instance_export_get(store, instance, c"m".as_ptr(), usize::MAX, &mut item));
        assert_eq!(item.kind, 255);

        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}
