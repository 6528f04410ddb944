//! Serialized modules, the compile cache, memory images and the pooling allocator through the C
//! surface.

use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};

const COUNTER: &str = r#"(module
    (memory (export "memory") 1 4)
    (data (i32.const 16) "\2a")
    (func (export "get") (result i32) i32.const 16 i32.load)
    (func (export "bump") (result i32)
        i32.const 16 i32.const 16 i32.load i32.const 1 i32.add i32.store
        i32.const 16 i32.load)
    (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#;

fn engine_with(set: impl FnOnce(*mut spry_config_t)) -> *mut spry_engine_t {
    // SAFETY: the configuration is live until deleted here; `engine` is a valid out-parameter.
    unsafe {
        let config = spry_config_new();
        set(config);
        let mut engine = null_mut();
        ok(spry_engine_new(config, &mut engine));
        spry_config_delete(config);
        engine
    }
}

fn serialize(module: *const spry_module_t) -> Vec<u8> {
    let (mut ptr, mut len) = (null_mut(), 0);
    // SAFETY: `module` is live; the bytes are copied, then released once with their length.
    unsafe {
        ok(spry_module_serialize(module, &mut ptr, &mut len));
        let bytes = std::slice::from_raw_parts(ptr, len).to_vec();
        spry_bytes_delete(ptr, len);
        bytes
    }
}

fn deserialize(engine: *mut spry_engine_t, bytes: &[u8]) -> Result<*mut spry_module_t, String> {
    let mut module = null_mut();
    // SAFETY: `engine` is live; `bytes` come from `spry_module_serialize` in this test (or are a
    // corrupted copy, which the checks must reject).
    let err = unsafe { spry_module_deserialize(engine, bytes.as_ptr(), bytes.len(), &mut module) };
    if err.is_null() {
        Ok(module)
    } else {
        assert!(module.is_null(), "out written on failure");
        Err(take_message(err))
    }
}

/// Instantiates `module` in a new store and returns what "get" gives.
fn run_get(engine: *mut spry_engine_t, module: *mut spry_module_t) -> i32 {
    let store = store(engine);
    let inst = instantiate(engine, null_mut(), store, module);
    let v = call(store, func(store, inst, "get"), &[], 1).unwrap()[0].of as i32;
    // SAFETY: `store` is live and deleted once.
    unsafe { spry_store_delete(store) };
    v
}

#[test]
fn serialize_round_trip_and_errors() {
    let engine = engine();
    let m = module(engine, COUNTER);
    let bytes = serialize(m);
    assert!(!bytes.is_empty());
    let loaded = deserialize(engine, &bytes).unwrap();
    assert_eq!(run_get(engine, loaded), 42);
    // SAFETY: the objects are live; misuse is deliberate and checked.
    unsafe {
        assert_eq!(spry_module_exports_len(loaded), spry_module_exports_len(m));

        // Truncated, corrupt, empty: errors, never crashes.
        assert!(deserialize(engine, &bytes[..bytes.len() / 2]).is_err());
        let mut corrupt = bytes.clone();
        let mid = corrupt.len() / 2;
        corrupt[mid] ^= 0x55;
        assert!(deserialize(engine, &corrupt).is_err());
        assert!(deserialize(engine, &[]).is_err());
        assert!(deserialize(engine, b"\0asm\x01\0\0\0").is_err());

        // An engine whose settings shape code differently.
        let other = engine_with(|c| spry_config_guard_pages(c, false));
        assert!(deserialize(other, &bytes).is_err());
        spry_engine_delete(other);

        // Misuse.
        let (mut ptr, mut len) = (null_mut(), 0);
        assert!(take_message(spry_module_serialize(null(), &mut ptr, &mut len)).contains("module is NULL"));
        assert!(take_message(spry_module_serialize(m, null_mut(), &mut len)).contains("out_bytes is NULL"));
        assert!(take_message(spry_module_serialize(m, &mut ptr, null_mut())).contains("out_len is NULL"));
        let mut out = null_mut();
        let msg = take_message(spry_module_deserialize(null(), bytes.as_ptr(), bytes.len(), &mut out));
        assert!(msg.contains("engine is NULL"), "{msg}");
        let msg = take_message(spry_module_deserialize(engine, null(), 3, &mut out));
        assert!(msg.contains("bytes is NULL"), "{msg}");
        let msg = take_message(spry_module_deserialize(engine, bytes.as_ptr(), bytes.len(), null_mut()));
        assert!(msg.contains("out is NULL"), "{msg}");
        assert!(out.is_null());
        spry_bytes_delete(null_mut(), 0);

        spry_module_delete(loaded);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn deserialize_file_and_cache_dir() {
    let dir = std::env::temp_dir().join(format!("spry-capi-serialize-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let engine = engine();
    let m = module(engine, COUNTER);
    let path = dir.join("counter.spry");
    std::fs::write(&path, serialize(m)).unwrap();
    let path = path.to_str().unwrap();
    // SAFETY: the objects are live; the file was written by this test.
    unsafe {
        let mut loaded = null_mut();
        ok(spry_module_deserialize_file(engine, path.as_ptr().cast(), path.len(), &mut loaded));
        assert_eq!(run_get(engine, loaded), 42);
        spry_module_delete(loaded);
        let missing = dir.join("missing").to_str().unwrap().to_owned();
        let mut out = null_mut();
        assert!(!spry_module_deserialize_file(engine, missing.as_ptr().cast(), missing.len(), &mut out).is_null());
        let bad = [0xffu8, 0xfe];
        let msg = take_message(spry_module_deserialize_file(engine, bad.as_ptr().cast(), bad.len(), &mut out));
        assert!(msg.contains("UTF-8"), "{msg}");
        assert!(out.is_null());

        // The compile cache: a second engine with the same directory loads what the first stored.
        let cache = dir.join("cache").to_str().unwrap().to_owned();
        let config = spry_config_new();
        ok(spry_config_cache_dir(config, cache.as_ptr().cast(), cache.len()));
        assert!(take_message(spry_config_cache_dir(config, null(), 0)).contains("path is empty"));
        assert!(take_message(spry_config_cache_dir(null_mut(), cache.as_ptr().cast(), cache.len()))
            .contains("config is NULL"));
        for _ in 0..2 {
            let mut cached = null_mut();
            ok(spry_engine_new(config, &mut cached));
            let cm = module(cached, COUNTER);
            assert_eq!(run_get(cached, cm), 42);
            spry_module_delete(cm);
            spry_engine_delete(cached);
        }
        assert!(std::fs::read_dir(&cache).unwrap().count() > 0, "nothing was cached");
        spry_config_delete(config);
    }
    // SAFETY: the objects are live and deleted once.
    unsafe {
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn memory_images_off_keeps_semantics() {
    // SAFETY: a live configuration; NULL is ignored.
    let engine = engine_with(|c| unsafe {
        spry_config_memory_images(c, false);
        spry_config_memory_images(null_mut(), false);
    });
    let m = module(engine, COUNTER);
    assert_eq!(run_get(engine, m), 42);
    // SAFETY: the objects are live and deleted once.
    unsafe {
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn pooling_isolates_limits_and_recovers() {
    let mut pooling = spry_pooling_config {
        total_instances: 0,
        total_memories: 0,
        total_tables: 0,
        max_memory_pages: 0,
        max_table_elements: 0,
        max_vmctx_size: 0,
        keep_resident_bytes: 0,
    };
    // SAFETY: `pooling` is valid for a write; NULL is ignored.
    unsafe {
        spry_pooling_config_default(&mut pooling);
        spry_pooling_config_default(null_mut());
    }
    assert_eq!(pooling.total_instances, 1000);
    assert_eq!(pooling.max_memory_pages, 65536);
    pooling.total_instances = 2;
    pooling.total_memories = 2;
    pooling.total_tables = 2;
    pooling.max_memory_pages = 3;
    // SAFETY: live configuration and pooling limits.
    let engine = engine_with(|c| unsafe { spry_config_pooling(c, &pooling) });
    let m = module(engine, COUNTER);
    // SAFETY: all objects are live; each is deleted once.
    unsafe {
        // A slot is reset between stores: the bump of one store is not seen by the next.
        for _ in 0..3 {
            let store = store(engine);
            let inst = instantiate(engine, null_mut(), store, m);
            assert_eq!(call(store, func(store, inst, "bump"), &[], 1).unwrap()[0].of as i32, 43);
            let grow = func(store, inst, "grow");
            assert_eq!(call(store, grow, &[i32v(2)], 1).unwrap()[0].of as i32, 1);
            assert_eq!(call(store, grow, &[i32v(1)], 1).unwrap()[0].of as i32, -1, "grew past the pool");
            spry_store_delete(store);
        }
        // Exhaustion is an error, which clears once a store is deleted.
        let (a, b, c) = (store(engine), store(engine), store(engine));
        instantiate(engine, null_mut(), a, m);
        instantiate(engine, null_mut(), b, m);
        let linker = spry_linker_new(engine);
        let mut inst = spry_instance { store_id: 0, index: 0 };
        let mut trap = null_mut();
        let msg = take_message(spry_linker_instantiate(linker, c, m, &mut inst, &mut trap));
        assert!(msg.contains("pool exhausted"), "{msg}");
        spry_store_delete(a);
        let inst = instantiate(engine, linker, c, m);
        assert_eq!(call(c, func(c, inst, "get"), &[], 1).unwrap()[0].of as i32, 42);
        spry_store_delete(b);
        spry_store_delete(c);
        spry_linker_delete(linker);

        // NULL limits select on-demand allocation again.
        let on_demand = engine_with(|c| {
            spry_config_pooling(c, &pooling);
            spry_config_pooling(c, null());
            spry_config_pooling(null_mut(), &pooling);
        });
        let m2 = module(on_demand, COUNTER);
        assert_eq!(run_get(on_demand, m2), 42);
        spry_module_delete(m2);
        spry_engine_delete(on_demand);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}
