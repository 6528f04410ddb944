//! Fuel and store limits through the C surface: `spry_config_consume_fuel`, `spry_store_set_fuel`,
//! `spry_store_get_fuel` (errors without the setting), the `SPRY_TRAP_OUT_OF_FUEL` trap, and
//! `spry_store_set_limits` (a denied `memory.grow` returns -1, a denied instantiation is an error).

use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};

fn fuel_engine() -> *mut spry_engine_t {
    // SAFETY: the config is live until deleted here; `engine` is a valid out-parameter.
    unsafe {
        let config = spry_config_new();
        spry_config_consume_fuel(config, true);
        let mut engine = null_mut();
        ok(spry_engine_new(config, &mut engine));
        spry_config_delete(config);
        engine
    }
}

fn get_fuel(store: *mut spry_store_t) -> u64 {
    let mut fuel = 0;
    // SAFETY: `store` is live; `fuel` is a valid out-parameter.
    ok(unsafe { spry_store_get_fuel(store, &mut fuel) });
    fuel
}

#[test]
fn fuel_is_set_read_and_runs_out() {
    let engine = fuel_engine();
    let m = module(
        engine,
        r#"(module (func (export "add1") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
                   (func (export "spin") (loop br 0)))"#,
    );
    let store = store(engine);
    let instance = instantiate(engine, null_mut(), store, m);
    let (add1, spin) = (func(store, instance, "add1"), func(store, instance, "spin"));
    assert_eq!(get_fuel(store), 0);
    // SAFETY: `store` is live.
    ok(unsafe { spry_store_set_fuel(store, 100) });
    assert_eq!(call(store, add1, &[i32v(1)], 1).unwrap()[0].of, 2);
    assert_eq!(get_fuel(store), 97);
    let trap = call(store, spin, &[], 0).unwrap_err();
    assert_eq!(trap.code, SPRY_TRAP_OUT_OF_FUEL, "{}", trap.message);
    assert_eq!(get_fuel(store), 0);
    // Misuse: NULL store or out-parameter.
    // SAFETY: deliberately NULL arguments, which must be errors.
    unsafe {
        assert!(take_message(spry_store_set_fuel(null_mut(), 1)).contains("NULL"));
        assert!(take_message(spry_store_get_fuel(store, null_mut())).contains("out"));
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn fuel_needs_the_setting() {
    let engine = engine();
    let store = store(engine);
    let mut fuel = 7;
    // SAFETY: `store` is live; `fuel` is a valid out-parameter.
    unsafe {
        assert!(take_message(spry_store_set_fuel(store, 10)).contains("consume_fuel"));
        assert!(take_message(spry_store_get_fuel(store, &mut fuel)).contains("consume_fuel"));
        spry_store_delete(store);
        spry_engine_delete(engine);
    }
    assert_eq!(fuel, 7, "nothing written on error");
}

#[test]
fn limits_deny_growth_and_instantiation() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (memory 1) (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    );
    let store = store(engine);
    let limits = spry_store_limits { max_memory_bytes: 2 * 65536, max_instances: 1, ..Default::default() };
    // SAFETY: `store` and `limits` are live.
    ok(unsafe { spry_store_set_limits(store, &limits) });
    let instance = instantiate(engine, null_mut(), store, m);
    let grow = func(store, instance, "grow");
    assert_eq!(call(store, grow, &[i32v(2)], 1).unwrap()[0].of as u32, u32::MAX, "-1: over 2 pages");
    assert_eq!(call(store, grow, &[i32v(1)], 1).unwrap()[0].of, 1);
    // SAFETY: all objects are live; `null()` limits must be an error.
    unsafe {
        let linker = spry_linker_new(engine);
        let mut second = spry_instance { store_id: 0, index: 0 };
        let mut trap = null_mut();
        let err = take_message(spry_linker_instantiate(linker, store, m, &mut second, &mut trap));
        assert!(err.contains("max_instances"), "{err}");
        assert!(trap.is_null());
        assert!(take_message(spry_store_set_limits(store, null())).contains("limits"));
        // A zeroed struct lifts every limit.
        ok(spry_store_set_limits(store, &spry_store_limits::default()));
        ok(spry_linker_instantiate(linker, store, m, &mut second, &mut trap));
        spry_linker_delete(linker);
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}
