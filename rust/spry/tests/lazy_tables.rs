//! Function tables and function references made on first use (see `vm::table`): what Wasm and the
//! host see must be what eager initialization gives, with both allocators, across slot reuse.

use spry::*;

/// A table of 4 functions (each returns its number) filled by an element segment, exported with
/// ways to read, call, overwrite and copy its elements.
const TABLE: &str = r#"(module
    (type $r (func (result i32)))
    (func $f0 (result i32) (i32.const 100))
    (func $f1 (result i32) (i32.const 101))
    (func $f2 (result i32) (i32.const 102))
    (func $f3 (result i32) (i32.const 103))
    (table $t (export "t") 6 10 funcref)
    (elem (table $t) (i32.const 1) func $f0 $f1 $f2 $f3)
    (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0)))
    (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
    (func (export "clear") (param i32) (table.set $t (local.get 0) (ref.null func)))
    (func (export "copy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
    (func (export "grow") (param i32) (result i32) (table.grow $t (ref.func $f3) (local.get 0)))
    (func (export "f2") (result i32) (call $f2)))"#;

/// Imports a table and calls through it.
const IMPORTER: &str = r#"(module
    (type $r (func (result i32)))
    (import "m" "t" (table 6 funcref))
    (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))"#;

/// Another module with a table of the same size but other functions, to reuse the slots.
const OTHER: &str = r#"(module
    (type $r (func (result i32)))
    (func $g (result i32) (i32.const 7))
    (table $t (export "t") 6 10 funcref)
    (elem (table $t) (i32.const 5) func $g)
    (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))"#;

fn engines() -> Vec<(&'static str, Engine)> {
    let pooling = PoolingConfig { total_instances: 1, total_memories: 1, total_tables: 1, ..PoolingConfig::default() };
    vec![
        ("on demand", Engine::default()),
        (
            "pooling",
            Engine::new(Config::new().allocation_strategy(InstanceAllocationStrategy::Pooling(pooling))).unwrap(),
        ),
    ]
}

fn call(store: &mut Store, instance: Instance, name: &str, args: &[Val]) -> Result<i32, anyhow::Error> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    let n = f.ty(&*store).results().len();
    f.call(&mut *store, args, &mut out[..n])?;
    Ok(out[0].i32().unwrap_or(0))
}

fn trap_code(e: anyhow::Error) -> TrapCode {
    e.downcast::<Trap>().expect("a trap").code()
}

#[test]
fn wasm_sees_the_segments() {
    for (name, engine) in engines() {
        let module = Module::new(&engine, wat::parse_str(TABLE).unwrap()).unwrap();
        let mut store = Store::new(&engine);
        let i = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
        for (elem, want) in [(1, 100), (2, 101), (3, 102), (4, 103)] {
            assert_eq!(call(&mut store, i, "call", &[Val::I32(elem)]).unwrap(), want, "{name}");
        }
        assert_eq!(call(&mut store, i, "is_null", &[Val::I32(0)]).unwrap(), 1, "{name}");
        assert_eq!(call(&mut store, i, "is_null", &[Val::I32(2)]).unwrap(), 0, "{name}");
        let e = call(&mut store, i, "call", &[Val::I32(0)]).unwrap_err();
        assert_eq!(trap_code(e), TrapCode::IndirectCallToNull, "{name}");
        let e = call(&mut store, i, "call", &[Val::I32(6)]).unwrap_err();
        assert_eq!(trap_code(e), TrapCode::TableOutOfBounds, "{name}");
        // An element set to null stays null: the segment does not come back.
        call(&mut store, i, "clear", &[Val::I32(3)]).unwrap();
        assert_eq!(call(&mut store, i, "is_null", &[Val::I32(3)]).unwrap(), 1, "{name}");
        // Copy elements never read (not made yet) over others, overlapping: values move, not "unmade".
        call(&mut store, i, "copy", &[Val::I32(0), Val::I32(1), Val::I32(3)]).unwrap();
        let got: Vec<i32> = (0..3).map(|e| call(&mut store, i, "call", &[Val::I32(e)]).unwrap_or(-1)).collect();
        assert_eq!(got, [100, 101, -1], "{name}");
        assert_eq!(call(&mut store, i, "call", &[Val::I32(4)]).unwrap(), 103, "{name}");
        // Grown elements.
        assert_eq!(call(&mut store, i, "grow", &[Val::I32(2)]).unwrap(), 6, "{name}");
        assert_eq!(call(&mut store, i, "call", &[Val::I32(7)]).unwrap(), 103, "{name}");
    }
}

#[test]
fn the_host_sees_the_segments() {
    for (name, engine) in engines() {
        let module = Module::new(&engine, wat::parse_str(TABLE).unwrap()).unwrap();
        let mut store = Store::new(&engine);
        let i = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
        let t = i.get_table(&mut store, "t").unwrap();
        assert!(matches!(t.get(&mut store, 0), Some(Val::FuncRef(None))), "{name}");
        let Some(Val::FuncRef(Some(f))) = t.get(&mut store, 3) else { panic!("{name}: element 3") };
        let mut out = [Val::I32(0)];
        f.call(&mut store, &[], &mut out).unwrap();
        assert_eq!(out[0].i32(), Some(102), "{name}");
        // The same function reached through its table element and through a direct call is one
        // function: Wasm sees the element the host set.
        t.set(&mut store, 0, Val::FuncRef(Some(f))).unwrap();
        assert_eq!(call(&mut store, i, "call", &[Val::I32(0)]).unwrap(), 102, "{name}");
        t.set(&mut store, 1, Val::FuncRef(None)).unwrap();
        assert_eq!(call(&mut store, i, "is_null", &[Val::I32(1)]).unwrap(), 1, "{name}");
    }
}

#[test]
fn an_importer_calls_the_owners_functions() {
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(TABLE).unwrap()).unwrap();
    let importer = Module::new(&engine, wat::parse_str(IMPORTER).unwrap()).unwrap();
    let mut store = Store::new(&engine);
    let owner = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "m", owner).unwrap();
    let user = linker.instantiate(&mut store, &importer).unwrap();
    // Elements first made by the importer (from the owner's segment, for the owner's instance).
    assert_eq!(call(&mut store, user, "call", &[Val::I32(4)]).unwrap(), 103);
    assert_eq!(call(&mut store, owner, "call", &[Val::I32(4)]).unwrap(), 103);
    assert_eq!(call(&mut store, user, "call", &[Val::I32(2)]).unwrap(), 101);
}

/// With one slot of each kind, every instance reuses the previous one's instance block and table:
/// function references and elements made by one must never show through in the next.
#[test]
fn reused_slots_start_fresh() {
    let (_, engine) = engines().pop().unwrap();
    let table = Module::new(&engine, wat::parse_str(TABLE).unwrap()).unwrap();
    let other = Module::new(&engine, wat::parse_str(OTHER).unwrap()).unwrap();
    for round in 0..20 {
        let mut store = Store::new(&engine);
        if round % 2 == 0 {
            let i = Linker::new(&engine).instantiate(&mut store, &table).unwrap();
            for elem in 1..5 {
                assert_eq!(call(&mut store, i, "call", &[Val::I32(elem)]).unwrap(), 99 + elem, "round {round}");
            }
            assert_eq!(call(&mut store, i, "f2", &[]).unwrap(), 102);
            let e = call(&mut store, i, "call", &[Val::I32(5)]).unwrap_err();
            assert_eq!(trap_code(e), TrapCode::IndirectCallToNull, "round {round}");
            call(&mut store, i, "grow", &[Val::I32(4)]).unwrap();
            call(&mut store, i, "clear", &[Val::I32(2)]).unwrap();
        } else {
            let i = Linker::new(&engine).instantiate(&mut store, &other).unwrap();
            for elem in 0..5 {
                let e = call(&mut store, i, "call", &[Val::I32(elem)]).unwrap_err();
                assert_eq!(trap_code(e), TrapCode::IndirectCallToNull, "round {round}, element {elem}");
            }
            assert_eq!(call(&mut store, i, "call", &[Val::I32(5)]).unwrap(), 7, "round {round}");
            let e = call(&mut store, i, "call", &[Val::I32(6)]).unwrap_err();
            assert_eq!(trap_code(e), TrapCode::TableOutOfBounds, "round {round}: the table must not keep its growth");
        }
    }
}

/// A module whose instance block is too large for the heap (over 2 KiB of function references), so it
/// takes a pool slot: function references made by one instance must be gone when the next instance,
/// of another module, takes the slot.
#[test]
fn reused_instance_slots_start_fresh() {
    fn module_wat(base: i32) -> String {
        let funcs: String = (0..120).map(|i| format!("(func $f{i} (result i32) (i32.const {}))\n", base + i)).collect();
        let names: String = (0..120).map(|i| format!("$f{i} ")).collect();
        format!(
            r#"(module (type $r (func (result i32))) {funcs}
            (table 120 funcref) (elem (i32.const 0) func {names})
            (func (export "call") (param i32) (result i32) (call_indirect (type $r) (local.get 0))))"#
        )
    }
    let (_, engine) = engines().pop().unwrap();
    let modules = [1000, 5000].map(|base| Module::new(&engine, wat::parse_str(module_wat(base)).unwrap()).unwrap());
    for round in 0..6 {
        let base = if round % 2 == 0 { 1000 } else { 5000 };
        let mut store = Store::new(&engine);
        let i = Linker::new(&engine).instantiate(&mut store, &modules[round % 2]).unwrap();
        for elem in [0, 1, 59, 119] {
            assert_eq!(call(&mut store, i, "call", &[Val::I32(elem)]).unwrap(), base + elem, "round {round}");
        }
    }
}
