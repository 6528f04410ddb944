//! Per-store limits (`Store::set_limits`): a denied `memory.grow`/`table.grow` returns -1 to Wasm and
//! an error to the host, for defined, imported and host-made memories and tables, with both
//! allocators; an instantiation or a host-made memory or table over a limit is an error naming it,
//! takes nothing from the allocator, and leaves the store usable.

use spry::*;

const PAGE: u64 = 65536;

/// Grows its own memory and table, or (as IMPORTER) the ones it imports.
const GROWER: &str = r#"(module
    (memory (export "mem") 1)
    (table (export "tab") 2 funcref)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
    (func (export "size") (param i32) (result i32) (memory.size)))"#;

const IMPORTER: &str = r#"(module
    (import "env" "mem" (memory 1))
    (import "env" "tab" (table 1 funcref))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
    (func (export "grow_table") (param i32) (result i32) (table.grow (ref.null func) (local.get 0))))"#;

fn engines() -> Vec<(&'static str, Engine)> {
    let pool = PoolingConfig { total_instances: 4, total_memories: 4, total_tables: 4, ..PoolingConfig::default() };
    vec![
        ("on demand", Engine::default()),
        ("pooling", Engine::new(Config::new().allocation_strategy(InstanceAllocationStrategy::Pooling(pool))).unwrap()),
    ]
}

fn call_i32(store: &mut Store, instance: Instance, name: &str, arg: i32) -> i32 {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut *store, &[Val::I32(arg)], &mut out).unwrap();
    let Val::I32(v) = out[0] else { panic!("i32 result") };
    v
}

/// A store with an instance of [`GROWER`], and an instance of [`IMPORTER`] that imports a host-made
/// memory and table.
fn setup(engine: &Engine, limits: StoreLimits) -> (Store, Instance, Instance, Memory, Table) {
    let mut store = Store::new(engine);
    store.set_limits(limits);
    let mem = Memory::new(&mut store, MemoryType::new(1, None)).unwrap();
    let tab = Table::new(&mut store, TableType::new(ValType::FuncRef, 1, None), Val::FuncRef(None)).unwrap();
    let mut linker = Linker::new(engine);
    linker.define("env", "mem", mem).unwrap().define("env", "tab", tab).unwrap();
    let grower = Module::new(engine, wat::parse_str(GROWER).unwrap()).unwrap();
    let importer = Module::new(engine, wat::parse_str(IMPORTER).unwrap()).unwrap();
    let own = linker.instantiate(&mut store, &grower).unwrap();
    let imp = linker.instantiate(&mut store, &importer).unwrap();
    (store, own, imp, mem, tab)
}

#[test]
fn denied_growth_returns_minus_one_to_wasm_and_an_error_to_the_host() {
    for (label, engine) in engines() {
        let limits =
            StoreLimits { max_memory_bytes: Some(3 * PAGE), max_table_elements: Some(5), ..StoreLimits::new() };
        let (mut store, own, imp, host_mem, host_tab) = setup(&engine, limits);
        // Defined memory: up to 3 pages, not one more.
        assert_eq!(call_i32(&mut store, own, "grow", 2), 1, "{label}");
        assert_eq!(call_i32(&mut store, own, "grow", 1), -1, "{label}");
        assert_eq!(call_i32(&mut store, own, "grow", 0), 3, "{label}: growing by 0 always works");
        assert_eq!(call_i32(&mut store, own, "size", 0), 3, "{label}");
        let own_mem = own.get_memory(&mut store, "mem").unwrap();
        let err = own_mem.grow(&mut store, 1).unwrap_err().to_string();
        assert!(err.contains("max_memory_bytes"), "{label}: {err}");
        // Imported (host-made) memory, from Wasm and from the host.
        assert_eq!(call_i32(&mut store, imp, "grow", 3), -1, "{label}");
        assert_eq!(call_i32(&mut store, imp, "grow", 1), 1, "{label}");
        let err = host_mem.grow(&mut store, 2).unwrap_err().to_string();
        assert!(err.contains("max_memory_bytes"), "{label}: {err}");
        assert_eq!(host_mem.grow(&mut store, 1).unwrap(), 2, "{label}");
        assert_eq!(host_mem.size(&store), 3);
        // Tables: defined and imported, from Wasm and from the host.
        assert_eq!(call_i32(&mut store, own, "grow_table", 3), 2, "{label}");
        assert_eq!(call_i32(&mut store, own, "grow_table", 1), -1, "{label}");
        assert_eq!(call_i32(&mut store, imp, "grow_table", 5), -1, "{label}");
        assert_eq!(call_i32(&mut store, imp, "grow_table", 4), 1, "{label}");
        let err = host_tab.grow(&mut store, 1, Val::FuncRef(None)).unwrap_err().to_string();
        assert!(err.contains("max_table_elements"), "{label}: {err}");
        let own_t = own.get_table(&mut store, "tab").unwrap();
        assert!(own_t.grow(&mut store, 1, Val::FuncRef(None)).is_err(), "{label}");
        // Lifting the limits lets them grow again.
        store.set_limits(StoreLimits::new());
        assert_eq!(call_i32(&mut store, own, "grow", 1), 3, "{label}");
        assert_eq!(own_t.grow(&mut store, 1, Val::FuncRef(None)).unwrap(), 5, "{label}");
        assert_eq!(call_i32(&mut store, imp, "grow", 1), 3, "{label}");
    }
}

fn expect_error(r: anyhow::Result<impl std::fmt::Debug>, limit: &str) {
    let err = r.expect_err("over the limit").to_string();
    assert!(err.contains(limit), "expected an error naming {limit}: {err}");
}

#[test]
fn instantiation_over_a_limit_is_an_error_and_the_store_still_works() {
    const ONE_OF_EACH: &str = r#"(module (memory 2) (table 3 funcref)
        (func (export "f") (result i32) (i32.const 7)))"#;
    for (label, engine) in engines() {
        let module = Module::new(&engine, wat::parse_str(ONE_OF_EACH).unwrap()).unwrap();
        let linker = Linker::new(&engine);
        let cases = [
            (StoreLimits { max_instances: Some(1), ..StoreLimits::new() }, "max_instances"),
            (StoreLimits { max_memories: Some(1), ..StoreLimits::new() }, "max_memories"),
            (StoreLimits { max_tables: Some(1), ..StoreLimits::new() }, "max_tables"),
            (StoreLimits { max_memory_bytes: Some(PAGE), ..StoreLimits::new() }, "max_memory_bytes"),
            (StoreLimits { max_table_elements: Some(2), ..StoreLimits::new() }, "max_table_elements"),
        ];
        for (limits, name) in cases {
            // Each time the pool's 4 slots must all still be free: a denied instantiation took none.
            let mut store = Store::new(&engine);
            store.set_limits(limits);
            let count_limited = name.starts_with("max_instances") || name == "max_memories" || name == "max_tables";
            if count_limited {
                let first = linker.instantiate(&mut store, &module).unwrap();
                expect_error(linker.instantiate(&mut store, &module), name);
                // The store still works: its instance runs, and new stores get every slot.
                let f = first.get_func(&mut store, "f").unwrap();
                let mut out = [Val::I32(0)];
                f.call(&mut store, &[], &mut out).unwrap();
                assert!(matches!(out[0], Val::I32(7)), "{label}");
            } else {
                expect_error(linker.instantiate(&mut store, &module), name);
            }
            // The pool has 4 slots of each kind: the store holds one if an instance was allowed.
            let free = if count_limited { 3 } else { 4 };
            let mut stores: Vec<Store> = (0..free).map(|_| Store::new(&engine)).collect();
            for s in &mut stores {
                linker.instantiate(s, &module).unwrap_or_else(|e| panic!("{label}, {name}: {e:#}"));
            }
            drop(stores);
            // Lifting the limit lets the same store instantiate.
            store.set_limits(StoreLimits::new());
            linker.instantiate(&mut store, &module).unwrap();
        }
    }
}

#[test]
fn host_made_memories_and_tables_count_and_are_checked() {
    for (label, engine) in engines() {
        let mut store = Store::new(&engine);
        store.set_limits(StoreLimits {
            max_memories: Some(1),
            max_tables: Some(1),
            max_memory_bytes: Some(2 * PAGE),
            max_table_elements: Some(10),
            ..StoreLimits::new()
        });
        expect_error(Memory::new(&mut store, MemoryType::new(3, None)), "max_memory_bytes");
        expect_error(
            Table::new(&mut store, TableType::new(ValType::FuncRef, 11, None), Val::FuncRef(None)),
            "max_table_elements",
        );
        Memory::new(&mut store, MemoryType::new(2, None)).unwrap();
        Table::new(&mut store, TableType::new(ValType::FuncRef, 10, None), Val::FuncRef(None)).unwrap();
        expect_error(Memory::new(&mut store, MemoryType::new(1, None)), "max_memories");
        expect_error(
            Table::new(&mut store, TableType::new(ValType::FuncRef, 1, None), Val::FuncRef(None)),
            "max_tables",
        );
        // A module defining a memory is now over the count too.
        let module = Module::new(&engine, wat::parse_str("(module (memory 1))").unwrap()).unwrap();
        expect_error(Linker::new(&engine).instantiate(&mut store, &module), "max_memories");
        assert_eq!(store.limits().max_memories, Some(1), "{label}");
    }
}

#[test]
fn instance_pre_is_checked_too() {
    for (label, engine) in engines() {
        let module = Module::new(&engine, wat::parse_str("(module (memory 1))").unwrap()).unwrap();
        let pre = Linker::new(&engine).instantiate_pre(&module).unwrap();
        let mut store = Store::new(&engine);
        store.set_limits(StoreLimits { max_instances: Some(2), ..StoreLimits::new() });
        pre.instantiate(&mut store).unwrap();
        pre.instantiate(&mut store).unwrap();
        let err = pre.instantiate(&mut store).expect_err(label).to_string();
        assert!(err.contains("max_instances"), "{label}: {err}");
    }
}
