//! Host functions, nested calls, instantiation, and calls that fail: errors and traps.

use crate::helpers::*;
use spry_capi::*;
use std::ptr::{null, null_mut};

/// (i32, i32) -> i32: the sum; traps with "negative" if the sum is negative.
pub unsafe extern "C" fn add_cb(
    env: uintptr_t,
    _caller: *mut spry_caller_t,
    slots: *mut u64,
    nargs: size_t,
    nresults: size_t,
) -> *mut spry_trap_t {
    assert_eq!((env, nargs, nresults), (7, 2, 1));
    // SAFETY: Spry passes max(nargs, nresults) slots.
    let slots = unsafe { std::slice::from_raw_parts_mut(slots, 2) };
    let sum = (slots[0] as u32 as i32).wrapping_add(slots[1] as u32 as i32);
    if sum < 0 {
        let msg = "negative";
        // SAFETY: the message outlives the call.
        return unsafe { spry_trap_new(msg.as_ptr().cast(), msg.len()) };
    }
    slots[0] = sum as u32 as u64;
    null_mut()
}

#[test]
fn host_functions_read_arguments_write_results_and_trap() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (import "env" "add" (func $add (param i32 i32) (result i32)))
            (func (export "twice") (param i32 i32) (result i32)
              (call $add (call $add (local.get 0) (local.get 1)) (local.get 1))))"#,
    );
    // SAFETY: all objects are live; the strings and kind arrays outlive the calls.
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
        let store = store(engine);
        let instance = instantiate(engine, linker, store, m);
        let twice = func(store, instance, "twice");
        assert_eq!(call(store, twice, &[i32v(5), i32v(3)], 1).unwrap(), [i32v(11)]);

        // The callback's trap reaches the caller with its code and message.
        let trap = call(store, twice, &[i32v(-10), i32v(1)], 1).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_HOST_ERROR);
        assert_eq!(trap.message, "negative");

        // The store still works.
        assert_eq!(call(store, twice, &[i32v(1), i32v(1)], 1).unwrap(), [i32v(3)]);

        // The raw path.
        let mut slots = [4u64, 6];
        let mut trap = null_mut();
        ok(spry_func_call_unchecked(store, twice, slots.as_mut_ptr(), 2, &mut trap));
        assert!(trap.is_null());
        assert_eq!(slots[0], 16);
        let mut slots = [(-20i32) as u32 as u64, 1];
        ok(spry_func_call_unchecked(store, twice, slots.as_mut_ptr(), 2, &mut trap));
        assert_eq!(Trap::take(trap).code, SPRY_TRAP_HOST_ERROR);
        let msg = take_message(spry_func_call_unchecked(store, twice, slots.as_mut_ptr(), 1, &mut trap));
        assert!(msg.contains("expected 2 slots"), "{msg}");
        assert!(trap.is_null());

        // A host function made in the store, called directly from the host.
        let mut direct = spry_func { store_id: 0, index: 0 };
        ok(spry_func_new(store, params.as_ptr(), 2, results.as_ptr(), 1, Some(add_cb), 7, None, &mut direct));
        assert_eq!(call(store, direct, &[i32v(2), i32v(2)], 1).unwrap(), [i32v(4)]);
        let mut ty = std::mem::zeroed::<spry_functype_t>();
        ok(spry_func_type(store, direct, &mut ty));
        assert_eq!(kinds(ty.params, ty.nparams), [SPRY_I32, SPRY_I32]);
        assert_eq!(kinds(ty.results, ty.nresults), [SPRY_I32]);

        spry_store_delete(store);
        spry_linker_delete(linker);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

/// What the nested-call callback needs: the store it runs in.
struct NestedEnv {
    store: *mut spry_store_t,
}

/// (i32) -> i32: calls the caller's export "inner" with the argument and returns its result + 1;
/// a trap of "inner" is returned as this function's trap.
unsafe extern "C" fn nested_cb(
    env: uintptr_t,
    caller: *mut spry_caller_t,
    slots: *mut u64,
    _nargs: size_t,
    _nresults: size_t,
) -> *mut spry_trap_t {
    // SAFETY: `env` is the address of a `NestedEnv` that outlives the store; the caller and slots are
    // Spry's, valid during the callback.
    unsafe {
        let env = &*(env as *const NestedEnv);
        let mut item = spry_extern { kind: 255, store_id: 0, index: 0 };
        assert!(spry_caller_export_get(caller, "inner".as_ptr().cast(), 5, &mut item));
        assert!(!spry_caller_export_get(caller, "nope".as_ptr().cast(), 4, &mut item));
        let inner = spry_func { store_id: item.store_id, index: item.index };
        let args = [spry_val { kind: SPRY_I32, of: *slots }];
        let mut results = [spry_val { kind: SPRY_I32, of: 0 }];
        let mut trap = null_mut();
        ok(spry_func_call(env.store, inner, args.as_ptr(), 1, results.as_mut_ptr(), 1, &mut trap));
        if !trap.is_null() {
            return trap;
        }
        // Memory access from the callback, through the store the embedder holds.
        let mem = {
            let mut m = spry_extern { kind: 255, store_id: 0, index: 0 };
            assert!(spry_caller_export_get(caller, "mem".as_ptr().cast(), 3, &mut m));
            spry_memory { store_id: m.store_id, index: m.index }
        };
        *spry_memory_data(env.store, mem) += 1;
        *slots = (results[0].of as u32).wrapping_add(1) as u64;
        null_mut()
    }
}

#[test]
fn nested_calls_from_a_callback() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (import "env" "host" (func $h (param i32) (result i32)))
            (memory (export "mem") 1)
            (func (export "inner") (param i32) (result i32)
              (if (i32.eqz (local.get 0)) (then unreachable))
              (i32.mul (local.get 0) (i32.const 10)))
            (func (export "outer") (param i32) (result i32) (call $h (local.get 0))))"#,
    );
    // SAFETY: all objects are live; `env` outlives the store.
    unsafe {
        let store = store(engine);
        let env = Box::new(NestedEnv { store });
        let linker = spry_linker_new(engine);
        let (params, results) = ([SPRY_I32], [SPRY_I32]);
        ok(spry_linker_define_func(
            linker,
            "env".as_ptr().cast(),
            3,
            "host".as_ptr().cast(),
            4,
            params.as_ptr(),
            1,
            results.as_ptr(),
            1,
            Some(nested_cb),
            &*env as *const NestedEnv as uintptr_t,
            None,
        ));
        let instance = instantiate(engine, linker, store, m);
        let outer = func(store, instance, "outer");
        assert_eq!(call(store, outer, &[i32v(4)], 1).unwrap(), [i32v(41)]);
        assert_eq!(call(store, outer, &[i32v(5)], 1).unwrap(), [i32v(51)]);
        let mem = export(store, instance, "mem");
        let mem = spry_memory { store_id: mem.store_id, index: mem.index };
        assert_eq!(*spry_memory_data(store, mem), 2);

        // The inner trap comes back through the callback unchanged, with the inner frames.
        let trap = call(store, outer, &[i32v(0)], 1).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_UNREACHABLE);
        assert!(!trap.frames.is_empty());

        assert_eq!(call(store, outer, &[i32v(1)], 1).unwrap(), [i32v(11)]);
        spry_store_delete(store);
        spry_linker_delete(linker);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

// ---- instantiation and calls: errors and traps ---------------------------------------------------

#[test]
fn missing_import_is_an_error() {
    let engine = engine();
    let m = module(engine, r#"(module (import "env" "missing" (func)))"#);
    // SAFETY: all objects are live.
    unsafe {
        let linker = spry_linker_new(engine);
        let store = store(engine);
        let mut instance = spry_instance { store_id: 0, index: 0 };
        let mut trap = null_mut();
        let msg = take_message(spry_linker_instantiate(linker, store, m, &mut instance, &mut trap));
        assert!(msg.contains("unknown import") && msg.contains("env::missing"), "{msg}");
        assert!(trap.is_null());
        // Without a linker: the wrong number of imports.
        let msg = take_message(spry_instance_new(store, m, null(), 0, &mut instance, &mut trap));
        assert!(msg.contains("expected 1 imports"), "{msg}");
        spry_store_delete(store);
        spry_linker_delete(linker);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn instance_new_with_imports_and_start_traps() {
    let engine = engine();
    // SAFETY: all objects are live.
    unsafe {
        let store = store(engine);
        let provider =
            module(engine, r#"(module (func (export "seven") (result i32) (i32.const 7)) (memory (export "m") 1))"#);
        let p = instantiate(engine, null_mut(), store, provider);
        assert_eq!(spry_instance_exports_len(store, p), 2);
        let mut names = Vec::new();
        for i in 0..2 {
            let (mut name, mut len, mut item) = (null(), 0, spry_extern { kind: 255, store_id: 0, index: 0 });
            assert!(spry_instance_export_nth(store, p, i, &mut name, &mut len, &mut item));
            names.push((string(name, len).unwrap(), item.kind));
        }
        assert_eq!(names, [("seven".to_string(), SPRY_EXTERN_FUNC), ("m".to_string(), SPRY_EXTERN_MEMORY)]);
        let (mut name, mut len, mut item) = (null(), 0, spry_extern { kind: 255, store_id: 0, index: 0 });
        assert!(!spry_instance_export_nth(store, p, 2, &mut name, &mut len, &mut item));

        let user = module(
            engine,
            r#"(module (import "p" "seven" (func $s (result i32))) (import "p" "m" (memory 1))
                (func (export "get") (result i32) (i32.add (call $s) (i32.load (i32.const 0)))))"#,
        );
        let imports = [export(store, p, "seven"), export(store, p, "m")];
        let mut instance = spry_instance { store_id: 0, index: 0 };
        let mut trap = null_mut();
        ok(spry_instance_new(store, user, imports.as_ptr(), 2, &mut instance, &mut trap));
        assert!(trap.is_null());
        assert_eq!(call(store, func(store, instance, "get"), &[], 1).unwrap(), [i32v(7)]);

        // Imports in the wrong order: an incompatible type.
        let swapped = [imports[1], imports[0]];
        let msg = take_message(spry_instance_new(store, user, swapped.as_ptr(), 2, &mut instance, &mut trap));
        assert!(msg.contains("incompatible import type"), "{msg}");
        // An invalid kind.
        let bad = [spry_extern { kind: 9, ..imports[0] }, imports[1]];
        let msg = take_message(spry_instance_new(store, user, bad.as_ptr(), 2, &mut instance, &mut trap));
        assert!(msg.contains("invalid extern kind 9"), "{msg}");
        // NULL with a length.
        let msg = take_message(spry_instance_new(store, user, null(), 2, &mut instance, &mut trap));
        assert!(msg.contains("imports is NULL"), "{msg}");

        // A start function that traps: a trap, not an error.
        let start = module(engine, r#"(module (func $s unreachable) (start $s))"#);
        ok(spry_instance_new(store, start, null(), 0, &mut instance, &mut trap));
        assert_eq!(Trap::take(trap).code, SPRY_TRAP_UNREACHABLE);
        // With a NULL out_trap, the trap is an error.
        let msg = take_message(spry_instance_new(store, start, null(), 0, &mut instance, null_mut()));
        assert!(msg.contains("unreachable"), "{msg}");

        // Linker definitions from an instance and from items.
        let linker = spry_linker_new(engine);
        ok(spry_linker_define_instance(linker, store, "p".as_ptr().cast(), 1, p));
        let i2 = instantiate(engine, linker, store, user);
        assert_eq!(call(store, func(store, i2, "get"), &[], 1).unwrap(), [i32v(7)]);
        let msg = take_message(spry_linker_define(linker, "p".as_ptr().cast(), 1, "m".as_ptr().cast(), 1, imports[1]));
        assert!(msg.contains("already defined"), "{msg}");
        spry_linker_allow_shadowing(linker, true);
        ok(spry_linker_define(linker, "p".as_ptr().cast(), 1, "m".as_ptr().cast(), 1, imports[1]));
        let msg = take_message(spry_linker_define(
            linker,
            "p".as_ptr().cast(),
            1,
            "x".as_ptr().cast(),
            1,
            spry_extern { kind: 4, ..imports[0] },
        ));
        assert!(msg.contains("invalid extern kind"), "{msg}");

        for m in [provider, user, start] {
            spry_module_delete(m);
        }
        spry_linker_delete(linker);
        spry_store_delete(store);
        spry_engine_delete(engine);
    }
}

#[test]
fn wrong_calls_are_errors() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module (func (export "f") (param i32) (result i32) local.get 0) (func (export "trap") unreachable))"#,
    );
    // SAFETY: all objects are live; misuse is deliberate and checked.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let f = func(store, instance, "f");
        assert_eq!(call(store, f, &[i32v(-3)], 1).unwrap(), [i32v(-3)]);
        let msg = call_err(store, f, &[], 1);
        assert!(msg.contains("expected 1 arguments, got 0"), "{msg}");
        let msg = call_err(store, f, &[i64v(1)], 1);
        assert!(msg.contains("argument 0 has type i64, expected i32"), "{msg}");
        let msg = call_err(store, f, &[i32v(1)], 0);
        assert!(msg.contains("expected room for 1 results"), "{msg}");
        let msg = call_err(store, f, &[spry_val { kind: 42, of: 0 }], 1);
        assert!(msg.contains("invalid value kind 42"), "{msg}");
        let msg = call_err(null_mut(), f, &[i32v(1)], 1);
        assert!(msg.contains("store is NULL"), "{msg}");

        let mut trap = null_mut();
        let mut results = [i32v(0)];
        let msg = take_message(spry_func_call(store, f, null(), 1, results.as_mut_ptr(), 1, &mut trap));
        assert!(msg.contains("args is NULL"), "{msg}");
        let args = [i32v(1)];
        let msg = take_message(spry_func_call(store, f, args.as_ptr(), 1, null_mut(), 1, &mut trap));
        assert!(msg.contains("results is NULL"), "{msg}");
        // The same array for arguments and results.
        let mut inout = [i32v(9)];
        ok(spry_func_call(store, f, inout.as_ptr(), 1, inout.as_mut_ptr(), 1, &mut trap));
        assert_eq!(inout, [i32v(9)]);

        // A trap with a NULL out_trap is an error.
        let t = func(store, instance, "trap");
        let msg = take_message(spry_func_call(store, t, null(), 0, null_mut(), 0, null_mut()));
        assert!(msg.contains("unreachable"), "{msg}");
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn traps_have_code_message_and_frames() {
    let engine = engine();
    let m = module(
        engine,
        r#"(module $m
            (func $outer (export "run") (call $inner))
            (func $inner unreachable)
            (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
            (memory 1)
            (func (export "oob") (result i32) (i32.load (i32.const 70000))))"#,
    );
    // SAFETY: all objects are live.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let trap = call(store, func(store, instance, "run"), &[], 0).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_UNREACHABLE);
        assert_eq!(trap.message, "unreachable");
        let names: Vec<_> = trap.frames.iter().map(|f| (f.0, f.1.clone().unwrap(), f.2.clone().unwrap())).collect();
        assert_eq!(names, [(1, "inner".to_string(), "m".to_string()), (0, "outer".to_string(), "m".to_string())]);

        let trap = call(store, func(store, instance, "div"), &[i32v(0)], 1).unwrap_err();
        assert_eq!((trap.code, trap.message.as_str()), (SPRY_TRAP_INTEGER_DIVISION_BY_ZERO, "integer divide by zero"));
        let trap = call(store, func(store, instance, "oob"), &[], 1).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_MEMORY_OUT_OF_BOUNDS);

        // NULL traps: neutral answers.
        let mut len = 5;
        assert!(spry_trap_message(null(), &mut len).is_null());
        assert_eq!(len, 0);
        assert_eq!(spry_trap_code(null()), 0);
        assert_eq!(spry_trap_frames_len(null()), 0);
        spry_trap_delete(null_mut());
        // A host trap.
        let t = spry_trap_new("bye".as_ptr().cast(), 3);
        let t = Trap::take(t);
        assert_eq!((t.code, t.message.as_str(), t.frames.len()), (SPRY_TRAP_HOST_ERROR, "bye", 0));
        let t = Trap::take(spry_trap_new(null(), 3));
        assert!(t.message.contains("NULL"), "{}", t.message);
        let t = Trap::take(spry_trap_new(b"\xff".as_ptr().cast(), 1));
        assert_eq!(t.message, "\u{fffd}");
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}

#[test]
fn interrupt_stops_a_loop() {
    let engine = engine();
    let m = module(engine, r#"(module (func (export "spin") (loop $l (br $l))))"#);
    // SAFETY: all objects are live; the handle is used from another thread, as documented.
    unsafe {
        let store = store(engine);
        let instance = instantiate(engine, null_mut(), store, m);
        let handle = spry_store_interrupt_handle(store) as usize;
        let t = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            spry_interrupt_handle_interrupt(handle as *const spry_interrupt_handle_t);
        });
        let trap = call(store, func(store, instance, "spin"), &[], 0).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_INTERRUPT);
        t.join().unwrap();
        // A request made between calls stops the next call, unless it is withdrawn.
        spry_interrupt_handle_interrupt(handle as *const spry_interrupt_handle_t);
        spry_store_interrupt_reset(store);
        spry_store_interrupt_reset(null_mut());
        let stop = module(engine, r#"(module (func (export "f")))"#);
        let quick = instantiate(engine, null_mut(), store, stop);
        assert!(call(store, func(store, quick, "f"), &[], 0).is_ok());
        spry_interrupt_handle_interrupt(handle as *const spry_interrupt_handle_t);
        let trap = call(store, func(store, quick, "f"), &[], 0).unwrap_err();
        assert_eq!(trap.code, SPRY_TRAP_INTERRUPT);
        spry_module_delete(stop);
        spry_interrupt_handle_delete(handle as *mut spry_interrupt_handle_t);
        spry_interrupt_handle_interrupt(null());
        spry_store_delete(store);
        spry_module_delete(m);
        spry_engine_delete(engine);
    }
}
