//! `Linker::instantiate_pre` and `InstancePre::instantiate`: resolve once, instantiate many times.

use spry::*;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A module importing `env::double` and `env::tick`, with a start function that calls `tick` and
/// stores its result in the exported global `started`.
const WAT: &str = r#"(module
    (import "env" "double" (func $d (param i32) (result i32)))
    (import "env" "tick" (func $tick (result i32)))
    (global $started (export "started") (mut i32) (i32.const 0))
    (memory (export "mem") 1)
    (data (i32.const 0) "\07")
    (func $start (global.set $started (call $tick)))
    (start $start)
    (func (export "quad") (param i32) (result i32) (call $d (call $d (local.get 0))))
    (func (export "bump") (result i32)
      (i32.store8 (i32.const 0) (i32.add (i32.load8_u (i32.const 0)) (i32.const 1)))
      (i32.load8_u (i32.const 0))))"#;

fn setup() -> (Engine, Module, Linker, Arc<AtomicU32>) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let ticks = Arc::new(AtomicU32::new(0));
    let mut linker = Linker::new(&engine);
    linker
        .func_new("env", "double", FuncType::new([ValType::I32], [ValType::I32]), |_, args, out| {
            out[0] = Val::I32(args[0].i32().unwrap() * 2);
            Ok(())
        })
        .unwrap();
    let t = ticks.clone();
    linker
        .func_new("env", "tick", FuncType::new([], [ValType::I32]), move |_, _, out| {
            out[0] = Val::I32(t.fetch_add(1, Ordering::SeqCst) as i32 + 1);
            Ok(())
        })
        .unwrap();
    (engine, module, linker, ticks)
}

fn call_i32(store: &mut Store, instance: Instance, name: &str, args: &[Val]) -> i32 {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut *store, args, &mut out).unwrap();
    out[0].i32().unwrap()
}

fn started(store: &mut Store, instance: Instance) -> i32 {
    instance.get_global(&mut *store, "started").unwrap().get(&mut *store).i32().unwrap()
}

#[test]
fn many_instances_in_one_store() {
    let (engine, module, linker, ticks) = setup();
    let pre = linker.instantiate_pre(&module).unwrap();
    let mut store = Store::new(&engine);
    let instances: Vec<Instance> = (0..20).map(|_| pre.instantiate(&mut store).unwrap()).collect();
    assert_eq!(ticks.load(Ordering::SeqCst), 20, "the start function runs once per instance");
    for (i, &instance) in instances.iter().enumerate() {
        assert_eq!(started(&mut store, instance), i as i32 + 1);
        assert_eq!(call_i32(&mut store, instance, "quad", &[Val::I32(i as i32)]), 4 * i as i32);
        // Each instance has its own memory, initialized from the data segment.
        assert_eq!(call_i32(&mut store, instance, "bump", &[]), 8);
    }
    // The imported host functions are the same function of the store for every instance, and the
    // same as the linker's own instantiation uses.
    let direct = linker.instantiate(&mut store, &module).unwrap();
    assert_eq!(call_i32(&mut store, direct, "quad", &[Val::I32(3)]), 12);
    assert!(linker.get(&mut store, "env", "double").unwrap().into_func().is_some());
}

#[test]
fn many_instances_in_many_stores() {
    let (engine, module, linker, ticks) = setup();
    let pre = linker.instantiate_pre(&module).unwrap();
    for s in 0..10 {
        let mut store = Store::new(&engine);
        for _ in 0..3 {
            let instance = pre.instantiate(&mut store).unwrap();
            assert_eq!(call_i32(&mut store, instance, "quad", &[Val::I32(s)]), 4 * s);
            assert_eq!(call_i32(&mut store, instance, "bump", &[]), 8);
        }
    }
    assert_eq!(ticks.load(Ordering::SeqCst), 30);
    // The linker may be dropped: the pre holds what it needs.
    drop(linker);
    let mut store = Store::new(&engine);
    let instance = pre.clone().instantiate(&mut store).unwrap();
    assert_eq!(call_i32(&mut store, instance, "quad", &[Val::I32(1)]), 4);
    assert!(pre.module().imports().len() == 2);
}

#[test]
fn module_without_imports() {
    let engine = Engine::default();
    let module =
        Module::new(&engine, wat::parse_str(r#"(module (func (export "f") (result i32) i32.const 5))"#).unwrap())
            .unwrap();
    let pre = Linker::new(&engine).instantiate_pre(&module).unwrap();
    let mut store = Store::new(&engine);
    for _ in 0..3 {
        let instance = pre.instantiate(&mut store).unwrap();
        assert_eq!(call_i32(&mut store, instance, "f", &[]), 5);
    }
}

#[test]
fn unknown_and_incompatible_imports_fail_at_pre_time() {
    let (engine, module, _, _) = setup();
    let mut linker = Linker::new(&engine);
    linker.func_new("env", "double", FuncType::new([ValType::I32], [ValType::I32]), |_, _, _| Ok(())).unwrap();
    let err = linker.instantiate_pre(&module).err().unwrap().to_string();
    assert!(err.contains("unknown import") && err.contains("env::tick"), "{err}");

    linker.func_new("env", "tick", FuncType::new([ValType::I64], []), |_, _, _| Ok(())).unwrap();
    let err = linker.instantiate_pre(&module).err().unwrap().to_string();
    assert!(err.contains("incompatible import type") && err.contains("env::tick"), "{err}");

    // A function where a memory is expected.
    let mem_module =
        Module::new(&engine, wat::parse_str(r#"(module (import "env" "double" (memory 1)))"#).unwrap()).unwrap();
    let err = linker.instantiate_pre(&mem_module).err().unwrap().to_string();
    assert!(err.contains("incompatible import type") && err.contains("env::double"), "{err}");
}

#[test]
fn store_items_are_rejected() {
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(r#"(module (import "env" "m" (memory 1)))"#).unwrap()).unwrap();
    let mut store = Store::new(&engine);
    let memory = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define("env", "m", memory).unwrap();
    let err = linker.instantiate_pre(&module).err().unwrap().to_string();
    assert!(err.contains("requires imports defined as host functions") && err.contains("env::m"), "{err}");
    // The linker itself still instantiates it in that store.
    linker.instantiate(&mut store, &module).unwrap();
}

#[test]
fn other_engines_are_errors() {
    let (_, module, linker, _) = setup();
    let pre = linker.instantiate_pre(&module).unwrap();
    let other = Engine::default();
    let err = pre.instantiate(&mut Store::new(&other)).err().unwrap().to_string();
    assert!(err.contains("different engines"), "{err}");
    let err = Linker::new(&other).instantiate_pre(&module).err().unwrap().to_string();
    assert!(err.contains("different engines"), "{err}");
}

#[test]
fn a_trap_in_the_start_function_is_reported_per_instance() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wat::parse_str(r#"(module (import "env" "f" (func $f)) (func $s (call $f) unreachable) (start $s))"#).unwrap(),
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.func_new("env", "f", FuncType::new([], []), |_, _, _| Ok(())).unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    let mut store = Store::new(&engine);
    for _ in 0..2 {
        let err = pre.instantiate(&mut store).err().unwrap();
        let trap = err.downcast_ref::<Trap>().unwrap_or_else(|| panic!("not a trap: {err:?}"));
        assert_eq!(trap.code(), TrapCode::UnreachableCodeReached);
    }
}

#[test]
fn a_pre_is_send_sync_and_shared_by_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<InstancePre>();
    let (engine, module, linker, ticks) = setup();
    let pre = linker.instantiate_pre(&module).unwrap();
    std::thread::scope(|scope| {
        for t in 0..2 {
            let (pre, engine) = (&pre, &engine);
            scope.spawn(move || {
                for i in 0..50 {
                    let mut store = Store::new(engine);
                    let instance = pre.instantiate(&mut store).unwrap();
                    assert_eq!(call_i32(&mut store, instance, "quad", &[Val::I32(t * 100 + i)]), 4 * (t * 100 + i));
                }
            });
        }
    });
    assert_eq!(ticks.load(Ordering::SeqCst), 100);
}

/// A host function belongs to no store: one definition serves every store, and each call sees the
/// store it runs in — called from Wasm through an `InstancePre`, through `Linker::instantiate`, through
/// a table, or by the host directly — even after the linker and the pre are gone.
#[test]
fn one_host_function_sees_the_store_of_each_call() {
    const WAT: &str = r#"(module
        (import "env" "whoami" (func $who (result i32)))
        (table (export "t") 1 funcref)
        (elem (i32.const 0) $who)
        (type $t (func (result i32)))
        (func (export "direct") (result i32) (call $who))
        (func (export "indirect") (result i32) (call_indirect (type $t) (i32.const 0)))
        (export "who" (func $who)))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_new("env", "whoami", FuncType::new([], [ValType::I32]), |caller, _, out| {
            out[0] = Val::I32(*caller.data::<i32>().expect("store data"));
            Ok(())
        })
        .unwrap();
    let pre = linker.instantiate_pre(&module).unwrap();
    let mut stores: Vec<(Store, Instance, i32)> = Vec::new();
    for id in 1..=4 {
        let mut store = Store::new(&engine);
        store.set_data(id);
        let instance = if id % 2 == 0 {
            pre.instantiate(&mut store).unwrap()
        } else {
            linker.instantiate(&mut store, &module).unwrap()
        };
        stores.push((store, instance, id));
    }
    drop((linker, pre));
    for (store, instance, id) in &mut stores {
        for name in ["direct", "indirect", "who"] {
            assert_eq!(call_i32(store, *instance, name, &[]), *id, "{name} in store {id}");
        }
        // The table's element, taken out and called by the host.
        let table = instance.get_table(&mut *store, "t").unwrap();
        let Some(Val::FuncRef(Some(f))) = table.get(&mut *store, 0) else { panic!("element 0") };
        let mut out = [Val::I32(0)];
        f.call(&mut *store, &[], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(*id));
    }
}
