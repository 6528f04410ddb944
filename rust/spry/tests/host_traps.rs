//! The Wasm backtrace of a trap raised by a host function's error: recorded where the host function
//! returned it, also when the error is itself a trap without frames (what a C or Go host callback
//! returns); and not walked for a WASI exit, which is not a trap the user sees.

use spry::*;

const WAT: &str = r#"(module $m
    (import "env" "fail" (func $fail))
    (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
    (memory (export "memory") 1)
    (func $inner (call $fail))
    (func $outer (export "outer") (call $inner))
    (func $exit_inner (call $exit (i32.const 7)))
    (func (export "exit") (call $exit_inner)))"#;

fn run(engine: &Engine, fail: impl Fn() -> anyhow::Error + Send + Sync + 'static, export: &str) -> anyhow::Error {
    let module = Module::new(engine, wat::parse_str(WAT).unwrap()).unwrap();
    let mut linker = Linker::new(engine);
    linker.func_new("env", "fail", FuncType::new([], []), move |_, _, _| Err(fail())).unwrap();
    wasi::add_to_linker(&mut linker).unwrap();
    let mut store = Store::new(engine);
    store.set_wasi(wasi::WasiCtx::new(&wasi::WasiConfig::new()));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_func(&mut store, export).unwrap();
    f.call(&mut store, &[], &mut []).unwrap_err()
}

fn names(trap: &Trap) -> Vec<String> {
    trap.backtrace().iter().map(|f| f.func_name.clone().unwrap_or_else(|| format!("#{}", f.func_index))).collect()
}

#[test]
fn a_host_error_has_the_wasm_frames() {
    let engine = Engine::default();
    let err = run(&engine, || anyhow::anyhow!("plain"), "outer");
    let trap = err.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.code(), TrapCode::HostError);
    assert_eq!(names(trap), ["inner", "outer"]);
}

#[test]
fn a_frameless_trap_from_a_host_callback_gets_the_wasm_frames() {
    // What the C surface's host callbacks (and so Go's host functions) return: a trap of their own,
    // made without frames, which the engine re-raises unchanged but for the frames.
    let engine = Engine::default();
    let err = run(&engine, || Trap::host(anyhow::anyhow!("from a callback")).into(), "outer");
    let trap = err.downcast_ref::<Trap>().expect("a trap");
    assert!(trap.message().contains("from a callback"), "{trap}");
    assert!(trap.host_error().is_some_and(|e| !e.is::<Trap>()), "not a trap wrapping a trap: {trap:?}");
    assert_eq!(names(trap), ["inner", "outer"]);
}

#[test]
fn an_exit_walks_no_stack() {
    let engine = Engine::default();
    let err = run(&engine, || anyhow::anyhow!("unused"), "exit");
    assert_eq!(wasi::exit_code(&err), Some(7));
    let trap = err.downcast_ref::<Trap>().expect("a trap");
    assert!(trap.backtrace().is_empty(), "an exit recorded a backtrace: {:?}", trap.backtrace());
}
