//! The pooling allocator: slots are reset between instances (zeros, or the module's image), limits
//! are enforced with clear errors, a full pool recovers once stores are dropped, and threads
//! instantiate concurrently.

use spry::*;

fn pooling(config: PoolingConfig) -> Engine {
    Engine::new(Config::new().allocation_strategy(InstanceAllocationStrategy::Pooling(config))).unwrap()
}

fn small_pool(slots: u32) -> PoolingConfig {
    PoolingConfig { total_instances: slots, total_memories: slots, total_tables: slots, ..PoolingConfig::default() }
}

fn module(engine: &Engine, wat: &str) -> Module {
    Module::new(engine, wat::parse_str(wat).unwrap()).unwrap()
}

fn instantiate(store: &mut Store, module: &Module) -> Result<Instance, anyhow::Error> {
    Linker::new(store.engine()).instantiate(store, module)
}

const PLAIN: &str = r#"(module (memory (export "m") 2) (table (export "t") 4 funcref)
    (func $f (export "f"))
    (func (export "set") (table.set (i32.const 1) (ref.func $f)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

const IMAGE: &str = r#"(module (memory (export "m") 2)
    (data (i32.const 10) "image bytes")
    (data (i32.const 70000) "second page"))"#;

fn expected_image() -> Vec<u8> {
    let mut v = vec![0u8; 2 << 16];
    v[10..21].copy_from_slice(b"image bytes");
    v[70000..70011].copy_from_slice(b"second page");
    v
}

/// Dirties every page of memory `m` (and the table, if any), then drops the store.
fn dirty(engine: &Engine, module: &Module) {
    let mut store = Store::new(engine);
    let instance = instantiate(&mut store, module).unwrap();
    if let Some(set) = instance.get_func(&mut store, "set") {
        set.call(&mut store, &[], &mut []).unwrap();
        let t = instance.get_table(&mut store, "t").unwrap();
        assert!(matches!(t.get(&mut store, 1), Some(Val::FuncRef(Some(_)))));
    }
    if let Some(grow) = instance.get_func(&mut store, "grow") {
        let mut out = [Val::I32(0)];
        grow.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
        assert_eq!(out[0].i32().unwrap(), 2);
    }
    let m = instance.get_memory(&mut store, "m").unwrap();
    m.data_mut(&mut store).iter_mut().enumerate().for_each(|(i, b)| *b = (i % 251) as u8 + 1);
}

fn check(engine: &Engine, module: &Module, expected: &[u8]) {
    let mut store = Store::new(engine);
    let instance = instantiate(&mut store, module).unwrap();
    let m = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(m.data(&store).len(), expected.len());
    assert!(m.data(&store) == expected, "memory not reset");
    if let Some(t) = instance.get_table(&mut store, "t") {
        assert!((0..4).all(|i| matches!(t.get(&mut store, i), Some(Val::FuncRef(None)))), "table not reset");
    }
}

#[test]
fn slots_are_reset_between_instances() {
    for keep_resident in [0, 64 << 10, 1 << 20] {
        // One slot of each kind: every instance reuses the same slots.
        let engine = pooling(PoolingConfig { keep_resident_bytes: keep_resident, ..small_pool(1) });
        let plain = module(&engine, PLAIN);
        let image = module(&engine, IMAGE);
        let zeros = vec![0u8; 2 << 16];
        for _ in 0..3 {
            dirty(&engine, &plain);
            check(&engine, &plain, &zeros);
            dirty(&engine, &plain);
            check(&engine, &image, &expected_image());
            dirty(&engine, &image);
            // The same module again: the slot still holds its image, reset.
            check(&engine, &image, &expected_image());
            dirty(&engine, &image);
            check(&engine, &plain, &zeros);
        }
        // A host memory in a slot that held an image.
        check(&engine, &image, &expected_image());
        let mut store = Store::new(&engine);
        let m = Memory::new(&mut store, MemoryType { minimum: 2, maximum: None }).unwrap();
        assert!(m.data(&store).iter().all(|&b| b == 0));
    }
}

#[test]
fn memory_grows_up_to_the_limit() {
    let engine = pooling(PoolingConfig { max_memory_pages: 10, ..small_pool(2) });
    let plain = module(&engine, PLAIN);
    let mut store = Store::new(&engine);
    let instance = instantiate(&mut store, &plain).unwrap();
    let grow = instance.get_func(&mut store, "grow").unwrap();
    let mut out = [Val::I32(0)];
    grow.call(&mut store, &[Val::I32(8)], &mut out).unwrap();
    assert_eq!(out[0].i32().unwrap(), 2);
    grow.call(&mut store, &[Val::I32(1)], &mut out).unwrap();
    assert_eq!(out[0].i32().unwrap(), -1);
    let m = instance.get_memory(&mut store, "m").unwrap();
    assert!(m.grow(&mut store, 1).is_err());
    assert_eq!(m.size(&store), 10);
    m.data_mut(&mut store)[(10 << 16) - 1] = 1;
    drop(store);

    let big = module(&engine, "(module (memory 11))");
    let err = instantiate(&mut Store::new(&engine), &big).unwrap_err();
    assert!(format!("{err:#}").contains("max_memory_pages"), "{err:#}");
}

#[test]
fn module_limits_are_clear_errors() {
    let engine = pooling(PoolingConfig { max_table_elements: 5, ..small_pool(2) });
    let err = instantiate(&mut Store::new(&engine), &module(&engine, "(module (table 6 funcref))")).unwrap_err();
    assert!(format!("{err:#}").contains("max_table_elements"), "{err:#}");
    let engine = pooling(PoolingConfig { max_vmctx_size: 64, ..small_pool(2) });
    let globals: String = (0..100).map(|_| "(global (mut i64) (i64.const 0))").collect();
    let err = instantiate(&mut Store::new(&engine), &module(&engine, &format!("(module {globals})"))).unwrap_err();
    assert!(format!("{err:#}").contains("max_vmctx_size"), "{err:#}");
    // Nothing leaked: the pool still serves instances.
    instantiate(&mut Store::new(&engine), &module(&engine, "(module (memory 1) (table 5 funcref))")).unwrap();
}

#[test]
fn exhaustion_then_recovery() {
    // Two instances, memories and tables.
    let engine = pooling(small_pool(2));
    let plain = module(&engine, PLAIN);
    let mut stores: Vec<Store> = (0..2).map(|_| Store::new(&engine)).collect();
    for store in &mut stores {
        instantiate(store, &plain).unwrap();
    }
    let err = instantiate(&mut Store::new(&engine), &plain).unwrap_err();
    assert!(format!("{err:#}").contains("pool exhausted: all 2 memory slots are in use"), "{err:#}");
    stores.pop();
    instantiate(&mut Store::new(&engine), &plain).unwrap();

    // Instances run out before memories.
    let engine = pooling(PoolingConfig { total_instances: 1, ..small_pool(4) });
    let plain = module(&engine, PLAIN);
    let mut store = Store::new(&engine);
    instantiate(&mut store, &plain).unwrap();
    let err = instantiate(&mut Store::new(&engine), &plain).unwrap_err();
    assert!(format!("{err:#}").contains("pool exhausted: all 1 instance slots are in use"), "{err:#}");
    // The failed instantiation gave its memory and table back.
    drop(store);
    for _ in 0..10 {
        instantiate(&mut Store::new(&engine), &plain).unwrap();
    }
}

#[test]
fn threads_instantiate_concurrently() {
    let engine = pooling(small_pool(16));
    let plain = module(&engine, PLAIN);
    let image = module(&engine, IMAGE);
    std::thread::scope(|s| {
        for (t, module) in [&plain, &image].into_iter().enumerate() {
            let engine = &engine;
            s.spawn(move || {
                for i in 0..10_000 {
                    let mut store = Store::new(engine);
                    let instance = instantiate(&mut store, module).unwrap();
                    let m = instance.get_memory(&mut store, "m").unwrap();
                    let data = m.data_mut(&mut store);
                    if t == 1 {
                        assert_eq!(&data[10..21], b"image bytes");
                    } else {
                        assert!(data[..64].iter().all(|&b| b == 0));
                    }
                    data[(i % 2) << 16] = 0xff;
                }
            });
        }
    });
}

/// Released slots wait to be reset in batches; a pool with as many slots as live instances must still
/// never report exhaustion, however the threads' releases and resets interleave (each thread holds one
/// instance at a time, two threads, two slots). Slots of 2 pages exceed `keep_resident_bytes` here, so
/// every release goes through the batched reset.
#[test]
fn pending_resets_never_exhaust_a_pool_with_room() {
    let engine = pooling(PoolingConfig { keep_resident_bytes: 0, ..small_pool(2) });
    let plain = module(&engine, PLAIN);
    let image = module(&engine, IMAGE);
    let expected = expected_image();
    std::thread::scope(|s| {
        for t in 0..2 {
            let (engine, plain, image, expected) = (&engine, &plain, &image, &expected);
            s.spawn(move || {
                for i in 0..20_000 {
                    let mut store = Store::new(engine);
                    let module = if (i + t) % 3 == 0 { plain } else { image };
                    let instance = instantiate(&mut store, module).unwrap_or_else(|e| panic!("cycle {i}: {e:#}"));
                    let m = instance.get_memory(&mut store, "m").unwrap();
                    let data = m.data_mut(&mut store);
                    if std::ptr::eq(module, image) {
                        assert_eq!(&data[..expected.len()], &expected[..], "cycle {i}");
                    } else {
                        assert!(data[..64].iter().all(|&b| b == 0), "cycle {i}");
                    }
                    data[(i % 2) << 16] = 0xff;
                }
            });
        }
    });
}
