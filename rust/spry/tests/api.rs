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
