//! End-to-end tests of the embedding API: compile, link, instantiate, call, traps.

use spry::*;

fn instantiate(wat: &str) -> (Store, Instance) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(wat).unwrap()).unwrap();
    let mut store = Store::new(&engine);
    let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn add() {
    let (mut store, instance) =
        instantiate(r#"(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"#);
    let add = instance.get_func(&mut store, "add").unwrap();
    let mut out = [Val::I32(0)];
    add.call(&mut store, &[Val::I32(40), Val::I32(2)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(42));
}

#[test]
fn memory_and_loops() {
    let (mut store, instance) = instantiate(
        r#"(module (memory (export "m") 1)
            (data (i32.const 16) "\01\02\03\04")
            (func (export "sum") (param $n i32) (result i32) (local $i i32) (local $s i32)
              (block $done (loop $l
                (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
                (local.set $s (i32.add (local.get $s) (i32.load8_u offset=16 (local.get $i))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l)))
              (local.get $s)))"#,
    );
    let sum = instance.get_func(&mut store, "sum").unwrap();
    let mut out = [Val::I32(0)];
    sum.call(&mut store, &[Val::I32(4)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(10));
    let mem = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(&mem.data(&store)[16..20], &[1, 2, 3, 4]);
}

#[test]
fn traps_are_errors() {
    let (mut store, instance) = instantiate(
        r#"(module (memory 1)
            (func (export "unreachable") unreachable)
            (func (export "oob") (result i32) (i32.load (i32.const 70000)))
            (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
            (func $r (export "recurse") (call $r)))"#,
    );
    let cases = [
        ("unreachable", vec![], 0, TrapCode::UnreachableCodeReached),
        ("oob", vec![], 1, TrapCode::MemoryOutOfBounds),
        ("div", vec![Val::I32(0)], 1, TrapCode::IntegerDivisionByZero),
        ("recurse", vec![], 0, TrapCode::StackOverflow),
    ];
    for _ in 0..3 {
        for (name, args, nres, code) in &cases {
            let f = instance.get_func(&mut store, name).unwrap();
            let mut out = vec![Val::I32(0); *nres];
            let err = f.call(&mut store, args, &mut out).unwrap_err();
            let trap = err.downcast_ref::<Trap>().unwrap_or_else(|| panic!("{name}: not a trap: {err:?}"));
            assert_eq!(trap.code(), *code, "{name}");
        }
    }
}

#[test]
fn host_functions() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wat::parse_str(
            r#"(module (import "env" "double" (func $d (param i32) (result i32)))
                (func (export "quad") (param i32) (result i32) (call $d (call $d (local.get 0)))))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_new("env", "double", FuncType::new([ValType::I32], [ValType::I32]), |_, args, out| {
            out[0] = Val::I32(args[0].i32().unwrap() * 2);
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let quad = instance.get_func(&mut store, "quad").unwrap();
    let mut out = [Val::I32(0)];
    quad.call(&mut store, &[Val::I32(5)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(20));
}

fn trap_code(err: &anyhow::Error) -> TrapCode {
    err.downcast_ref::<Trap>().unwrap_or_else(|| panic!("not a trap: {err:?}")).code()
}

#[test]
fn deep_recursion_on_a_small_thread_is_a_trap() {
    let (store, instance) = instantiate(
        r#"(module (func $r (export "recurse") (param i64) (result i64)
              (i64.add (call $r (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
            (func (export "ok") (result i32) (i32.const 7)))"#,
    );
    // 128 KiB of thread stack: far less than the 512 KiB Wasm stack the engine allows by default.
    let handle = std::thread::Builder::new()
        .stack_size(128 * 1024)
        .spawn(move || {
            let mut store = store;
            let recurse = instance.get_func(&mut store, "recurse").unwrap();
            for _ in 0..10 {
                let mut out = [Val::I64(0)];
                let err = recurse.call(&mut store, &[Val::I64(0)], &mut out).unwrap_err();
                assert_eq!(trap_code(&err), TrapCode::StackOverflow);
            }
            let ok = instance.get_func(&mut store, "ok").unwrap();
            let mut out = [Val::I32(0)];
            ok.call(&mut store, &[], &mut out).unwrap();
            assert_eq!(out[0], Val::I32(7));
        })
        .unwrap();
    handle.join().unwrap();
}

#[test]
fn ten_thousand_traps_in_a_row() {
    let (mut store, instance) = instantiate(
        r#"(module (memory 1)
            (func (export "oob") (param i32) (result i32) (i32.load (local.get 0)))
            (func (export "unreachable") unreachable))"#,
    );
    let oob = instance.get_func(&mut store, "oob").unwrap();
    let unreachable = instance.get_func(&mut store, "unreachable").unwrap();
    for i in 0..10_000 {
        let mut out = [Val::I32(0)];
        let err = if i % 2 == 0 {
            oob.call(&mut store, &[Val::I32(-4)], &mut out).unwrap_err()
        } else {
            unreachable.call(&mut store, &[], &mut []).unwrap_err()
        };
        let expected = if i % 2 == 0 { TrapCode::MemoryOutOfBounds } else { TrapCode::UnreachableCodeReached };
        assert_eq!(trap_code(&err), expected);
    }
    let mut out = [Val::I32(1)];
    oob.call(&mut store, &[Val::I32(0)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(0));
}

#[test]
fn host_errors_panics_and_nested_traps() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        wat::parse_str(
            r#"(module (import "env" "host" (func $h (param i32)))
                (func (export "call_host") (param i32) (call $h (local.get 0)))
                (func (export "inner") unreachable))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_new("env", "host", FuncType::new([ValType::I32], []), |mut caller, args, _| {
            match args[0].i32().unwrap() {
                0 => Ok(()),
                1 => anyhow::bail!("host says no"),
                2 => panic!("host panicked"),
                _ => {
                    // Wasm -> host -> Wasm: the inner trap reaches this caller.
                    let inner = caller.get_export("inner").unwrap().into_func().unwrap();
                    let err = inner.call(&mut caller, &[], &mut []).unwrap_err();
                    assert_eq!(trap_code(&err), TrapCode::UnreachableCodeReached);
                    Err(err)
                }
            }
        })
        .unwrap();
    let mut store = Store::new(&engine);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let f = instance.get_func(&mut store, "call_host").unwrap();
    f.call(&mut store, &[Val::I32(0)], &mut []).unwrap();

    let err = f.call(&mut store, &[Val::I32(1)], &mut []).unwrap_err();
    assert_eq!(trap_code(&err), TrapCode::HostError);
    assert!(err.to_string().contains("host says no"), "{err}");

    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = f.call(&mut store, &[Val::I32(2)], &mut []);
    }))
    .unwrap_err();
    assert_eq!(panic.downcast_ref::<&str>(), Some(&"host panicked"));

    // The trap of the nested call comes back as itself, not wrapped.
    let err = f.call(&mut store, &[Val::I32(3)], &mut []).unwrap_err();
    assert_eq!(trap_code(&err), TrapCode::UnreachableCodeReached);

    // The store still works after all that.
    f.call(&mut store, &[Val::I32(0)], &mut []).unwrap();
}

#[test]
fn backtrace_names_functions() {
    let (mut store, instance) =
        instantiate(r#"(module $m (func $outer (export "run") (call $inner)) (func $inner unreachable))"#);
    let run = instance.get_func(&mut store, "run").unwrap();
    let err = run.call(&mut store, &[], &mut []).unwrap_err();
    let trap = err.downcast_ref::<Trap>().unwrap();
    let names: Vec<_> = trap.backtrace().iter().map(|f| f.func_name.clone().unwrap_or_default()).collect();
    assert_eq!(names, ["inner", "outer"]);
}

#[test]
fn invalid_modules_name_the_problem_and_offset() {
    let engine = Engine::default();
    let err = Module::new(&engine, b"\0asm\x01\0\0\0\x01").unwrap_err().to_string();
    assert!(err.contains("offset"), "{err}");
    let bad_type = wat::parse_str(r#"(module (func (result i32) i64.const 1))"#).unwrap();
    let err = Module::new(&engine, &bad_type).unwrap_err().to_string();
    assert!(err.contains("type mismatch") && err.contains("offset 0x"), "{err}");
    let simd = wat::parse_str(r#"(module (func (result v128) v128.const i64x2 0 0))"#).unwrap();
    assert!(Module::new(&engine, &simd).is_err());
    assert!(Module::validate(&engine, &bad_type).is_err());
    assert!(Module::new(&engine, b"garbage").is_err());
}

#[test]
fn wrong_arguments_are_errors() {
    let (mut store, instance) = instantiate(r#"(module (func (export "f") (param i32) (result i32) local.get 0))"#);
    let f = instance.get_func(&mut store, "f").unwrap();
    let mut out = [Val::I32(0)];
    assert!(f.call(&mut store, &[], &mut out).is_err());
    assert!(f.call(&mut store, &[Val::I64(1)], &mut out).is_err());
    assert!(f.call(&mut store, &[Val::I32(1)], &mut []).is_err());
    let mut other = Store::new(store.engine());
    assert!(f.call(&mut other, &[Val::I32(1)], &mut out).is_err());
}

#[test]
fn interrupt_stops_an_infinite_loop() {
    let (mut store, instance) = instantiate(r#"(module (func (export "spin") (loop $l (br $l))))"#);
    let spin = instance.get_func(&mut store, "spin").unwrap();
    let handle = store.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        handle.interrupt();
    });
    let err = spin.call(&mut store, &[], &mut []).unwrap_err();
    assert_eq!(trap_code(&err), TrapCode::Interrupt);
    t.join().unwrap();
}

#[test]
fn a_request_made_between_calls_stops_the_next_call_unless_cleared() {
    let (mut store, instance) = instantiate(r#"(module (func (export "f")))"#);
    let f = instance.get_func(&mut store, "f").unwrap();
    let handle = store.interrupt_handle();
    handle.interrupt();
    assert_eq!(trap_code(&f.call(&mut store, &[], &mut []).unwrap_err()), TrapCode::Interrupt);
    // The trapped call consumed it.
    f.call(&mut store, &[], &mut []).unwrap();
    handle.interrupt();
    store.clear_interrupt();
    f.call(&mut store, &[], &mut []).unwrap();
}

#[test]
fn memory_grow_keeps_views_in_place() {
    let (mut store, instance) = instantiate(
        r#"(module (memory (export "m") 1 3)
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    );
    let mem = instance.get_memory(&mut store, "m").unwrap();
    let base = mem.data(&store).as_ptr();
    let grow = instance.get_func(&mut store, "grow").unwrap();
    let mut out = [Val::I32(0)];
    grow.call(&mut store, &[Val::I32(2)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(1));
    assert_eq!(mem.size(&store), 3);
    assert_eq!(mem.data(&store).as_ptr(), base);
    grow.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
    assert_eq!(out[0], Val::I32(-1));
    assert!(mem.grow(&mut store, 1).is_err());
}

/// Regression (fuzz): functions with more results than fit in registers, called from the host, from
/// Wasm, and implemented by the host.
#[test]
fn many_results() {
    let engine = Engine::default();
    let results9 = "(result i32 i32 i32 i32 i32 i32 i32 i32 i32)";
    let wasm = wat::parse_str(format!(
        r#"(module
             (import "env" "nine" (func $nine (param i32) {results9}))
             (func $own (export "own") (param i32) {results9}
               (local.get 0) (i32.const 1) (i32.const 2) (i32.const 3) (i32.const 4)
               (i32.const 5) (i32.const 6) (i32.const 7) (i32.const 8))
             (func (export "sum_own") (result i32)
               (call $own (i32.const 100))
               i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add)
             (func (export "sum_host") (result i32)
               (call $nine (i32.const 10))
               i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add)
             (func (export "f64s") (result f64 f64 f64 f64 f64 f64 f64 f64 f64 f64)
               (f64.const 0) (f64.const 1) (f64.const 2) (f64.const 3) (f64.const 4)
               (f64.const 5) (f64.const 6) (f64.const 7) (f64.const 8) (f64.const 9)))"#
    ))
    .unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .func_new("env", "nine", FuncType::new([ValType::I32], [ValType::I32; 9]), |_, args, out| {
            let base = args[0].i32().unwrap();
            for (i, r) in out.iter_mut().enumerate() {
                *r = Val::I32(base + i as i32);
            }
            Ok(())
        })
        .unwrap();
    let mut store = Store::new(&engine);
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let own = instance.get_func(&mut store, "own").unwrap();
    let mut out = [Val::I32(0); 9];
    own.call(&mut store, &[Val::I32(100)], &mut out).unwrap();
    assert_eq!(out.map(|v| v.i32().unwrap()), [100, 1, 2, 3, 4, 5, 6, 7, 8]);
    let mut one = [Val::I32(0)];
    instance.get_func(&mut store, "sum_own").unwrap().call(&mut store, &[], &mut one).unwrap();
    assert_eq!(one[0], Val::I32(136));
    instance.get_func(&mut store, "sum_host").unwrap().call(&mut store, &[], &mut one).unwrap();
    assert_eq!(one[0], Val::I32(9 * 10 + 36));
    let mut floats = [Val::F64(0); 10];
    instance.get_func(&mut store, "f64s").unwrap().call(&mut store, &[], &mut floats).unwrap();
    assert_eq!(floats.map(|v| v.f64().unwrap()), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
}
