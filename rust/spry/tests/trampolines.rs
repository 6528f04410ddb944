//! Trampolines come from artifacts: a module loaded from an artifact (or the compile cache), and the
//! host functions it imports (WASI's included), compile nothing; a host function compiles its
//! trampolines lazily, on first use, only when no module gave the engine those of its type.

use spry::*;

const WAT: &str = r#"(module
    (import "env" "twice" (func $twice (param i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (table 1 funcref)
    (elem (i32.const 0) $twice)
    (type $t (func (param i32) (result i32)))
    (func (export "direct") (param i32) (result i32) (call $twice (local.get 0)))
    (func (export "indirect") (param i32) (result i32) (call_indirect (type $t) (local.get 0) (i32.const 0)))
    (func (export "pair") (param i64 f64) (result f64) (f64.add (local.get 1) (f64.convert_i64_s (local.get 0))))
    (func (export "exit") (call $exit (i32.const 3))))"#;

fn linker(engine: &Engine) -> Linker {
    let mut linker = Linker::new(engine);
    linker
        .func_new("env", "twice", FuncType::new([ValType::I32], [ValType::I32]), |_, args, results| {
            results[0] = Val::I32(args[0].i32().unwrap() * 2);
            Ok(())
        })
        .unwrap();
    wasi::add_to_linker(&mut linker).unwrap();
    linker
}

/// Instantiates `module` (through an `InstancePre` when `pre`) and calls every export.
fn run(engine: &Engine, module: &Module, pre: bool) {
    let linker = linker(engine);
    let mut store = Store::new(engine);
    store.set_wasi(wasi::WasiCtx::new(&wasi::WasiConfig::new()));
    let instance = if pre {
        linker.instantiate_pre(module).unwrap().instantiate(&mut store).unwrap()
    } else {
        linker.instantiate(&mut store, module).unwrap()
    };
    for name in ["direct", "indirect"] {
        let f = instance.get_func(&mut store, name).unwrap();
        let mut out = [Val::I32(0)];
        f.call(&mut store, &[Val::I32(21)], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(42), "{name}");
    }
    let f = instance.get_func(&mut store, "pair").unwrap();
    let mut out = [Val::F64(0)];
    f.call(&mut store, &[Val::I64(2), Val::F64(0.5f64.to_bits())], &mut out).unwrap();
    assert_eq!(out[0].f64(), Some(2.5));
    let f = instance.get_func(&mut store, "exit").unwrap();
    let err = f.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(wasi::exit_code(&err), Some(3), "{err:?}");
    // The host function called from the host: through its entry trampoline.
    let twice = linker.get(&mut store, "env", "twice").unwrap().into_func().unwrap();
    let mut out = [Val::I32(0)];
    twice.call(&mut store, &[Val::I32(4)], &mut out).unwrap();
    assert_eq!(out[0].i32(), Some(8));
}

#[test]
fn a_loaded_module_and_its_imports_compile_no_trampolines() {
    let bytes = {
        let engine = Engine::default();
        let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
        assert!(engine.trampolines_compiled() > 0, "a compiled module compiles its trampolines");
        run(&engine, &module, false);
        module.serialize().unwrap()
    };
    for pre in [false, true] {
        let engine = Engine::default();
        let _linker = linker(&engine);
        assert_eq!(engine.trampolines_compiled(), 0, "defining host functions compiles nothing");
        // SAFETY: the artifact was just written by `Module::serialize`.
        let module = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
        run(&engine, &module, pre);
        assert_eq!(engine.trampolines_compiled(), 0, "the artifact held every trampoline (pre: {pre})");
    }
    // The same through the compile cache, from a file.
    let dir = std::env::temp_dir().join(format!("spry-trampolines-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wasm = wat::parse_str(WAT).unwrap();
    Module::new(&Engine::new(Config::new().cache_dir(&dir)).unwrap(), &wasm).unwrap();
    let engine = Engine::new(Config::new().cache_dir(&dir)).unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    assert_eq!(engine.cache_hits(), 1);
    run(&engine, &module, true);
    assert_eq!(engine.trampolines_compiled(), 0, "a cache hit compiles no trampolines");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn host_functions_compile_their_trampolines_lazily() {
    let engine = Engine::default();
    let linker = linker(&engine);
    assert_eq!(engine.trampolines_compiled(), 0);
    let mut store = Store::new(&engine);
    // First use, with no module of that type: compiled now, once per signature.
    let twice = linker.get(&mut store, "env", "twice").unwrap().into_func().unwrap();
    assert_eq!(engine.trampolines_compiled(), 1);
    let mut out = [Val::I32(0)];
    twice.call(&mut store, &[Val::I32(5)], &mut out).unwrap();
    assert_eq!(out[0].i32(), Some(10));
    let same_type = Func::new(&mut store, FuncType::new([ValType::I32], [ValType::I32]), |_, _, r| {
        r[0] = Val::I32(7);
        Ok(())
    })
    .unwrap();
    same_type.call(&mut store, &[Val::I32(0)], &mut out).unwrap();
    assert_eq!(out[0].i32(), Some(7));
    assert_eq!(engine.trampolines_compiled(), 1, "cached per engine by signature");
}
