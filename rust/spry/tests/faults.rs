//! Failed system calls (injected with `spry::fault`) end in a clear error, or in a working program
//! that never sees dirty state, and the engine works again once the fault is cleared; exhausted
//! pools and address space are recognizable errors ([`ResourceExhausted`]); memories grow within
//! the configured reservation.
//!
//! The fault counters are process-global: everything runs in one test, case after case, in this
//! test binary of its own.

use spry::fault::{self, Site};
use spry::*;

fn module(engine: &Engine, wat: &str) -> Result<Module, anyhow::Error> {
    Module::new(engine, wat::parse_str(wat).unwrap())
}

fn instantiate(store: &mut Store, module: &Module) -> Result<Instance, anyhow::Error> {
    Linker::new(store.engine()).instantiate(store, module)
}

fn pooling(config: PoolingConfig) -> Engine {
    Engine::new(Config::new().allocation_strategy(InstanceAllocationStrategy::Pooling(config))).unwrap()
}

/// A memory with a data segment (so the module has a memory image), a store and a grow function.
const IMAGE: &str = r#"(module (memory (export "m") 1)
    (data (i32.const 16) "image bytes")
    (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

/// A memory without data.
const PLAIN: &str = r#"(module (memory (export "m") 1)
    (global (export "g") (mut i32) (i32.const 7))
    (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;

fn call_i32(store: &mut Store, instance: &Instance, name: &str, args: &[Val]) -> i32 {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut *store, args, &mut out).unwrap();
    out[0].i32().unwrap()
}

fn poke(store: &mut Store, instance: &Instance, at: i32, value: i32) {
    let f = instance.get_func(&mut *store, "poke").unwrap();
    f.call(&mut *store, &[Val::I32(at), Val::I32(value)], &mut []).unwrap();
}

/// Injects `n` failures at `site`, runs `f`, and checks that they all happened; clears the faults.
fn with_fault<T>(site: Site, n: u32, f: impl FnOnce() -> T) -> T {
    let before = fault::injected(site);
    fault::fail_next(site, n);
    let out = f();
    fault::clear();
    assert_eq!(fault::injected(site) - before, u64::from(n), "{site:?}: not every injected failure happened");
    out
}

/// The module works: it instantiates, runs, and its memory holds the image (or zeros).
fn works(engine: &Engine, module: &Module, image: bool) {
    let mut store = Store::new(engine);
    let instance = instantiate(&mut store, module).unwrap();
    let m = instance.get_memory(&mut store, "m").unwrap();
    let data = m.data(&store);
    assert_eq!(&data[16..27], if image { &b"image bytes"[..] } else { &[0u8; 11][..] });
    assert!(data[..16].iter().chain(&data[27..]).all(|&b| b == 0), "memory not fresh");
    poke(&mut store, &instance, 100, 5);
    assert_eq!(call_i32(&mut store, &instance, "grow", &[Val::I32(1)]), 1);
}

fn expect_err<T>(r: Result<T, anyhow::Error>, what: &str) -> anyhow::Error {
    let Err(e) = r else { panic!("expected an error containing {what:?}") };
    assert!(format!("{e:#}").contains(what), "{e:#} does not contain {what:?}");
    e
}

#[test]
fn faults() {
    on_demand_memory();
    memory_images();
    code();
    pool_slots();
    pool_reset_without_madvise();
    pool_exhaustion();
    pool_reservation();
    small_reservation();
}

/// Reserving and growing on-demand memories.
fn on_demand_memory() {
    let engine = Engine::default();
    let plain = module(&engine, PLAIN).unwrap();
    // The reservation fails as when the address space is exhausted: a recognizable error.
    let e = with_fault(Site::MemoryReserve, 1, || {
        expect_err(instantiate(&mut Store::new(&engine), &plain), "failed to reserve address space for a linear memory")
    });
    let r = e.downcast_ref::<ResourceExhausted>().expect("a ResourceExhausted error");
    assert_eq!(r.kind(), ResourceKind::AddressSpace);
    assert!(!r.is_pool());
    works(&engine, &plain, false);
    // Memory::new takes the same path.
    let e = with_fault(Site::MemoryReserve, 1, || {
        expect_err(Memory::new(&mut Store::new(&engine), MemoryType { minimum: 1, maximum: None }), "reserve")
    });
    assert!(e.downcast_ref::<ResourceExhausted>().is_some());

    // The initial pages cannot be made accessible.
    with_fault(Site::MemoryProtect, 1, || {
        expect_err(instantiate(&mut Store::new(&engine), &plain), "failed to allocate the memory's initial 1 pages")
    });
    works(&engine, &plain, false);

    // memory.grow that the kernel refuses returns -1 and changes nothing; the next one works.
    let mut store = Store::new(&engine);
    let instance = instantiate(&mut store, &plain).unwrap();
    poke(&mut store, &instance, 10, 9);
    assert_eq!(with_fault(Site::MemoryProtect, 1, || call_i32(&mut store, &instance, "grow", &[Val::I32(2)])), -1);
    let m = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(m.size(&store), 1);
    assert_eq!(m.data(&store)[10], 9);
    assert_eq!(call_i32(&mut store, &instance, "grow", &[Val::I32(2)]), 1);
    assert_eq!(m.size(&store), 3);
    poke(&mut store, &instance, 3 * 65536 - 1, 1);
}

/// Building and mapping memory images.
fn memory_images() {
    let engine = Engine::default();
    // No memfd: compiling the module fails, clearly.
    with_fault(Site::MemfdCreate, 1, || {
        expect_err(module(&engine, IMAGE), "failed to create a memfd for a memory image")
    });
    let image = module(&engine, IMAGE).unwrap();
    works(&engine, &image, true);
    // The image cannot be mapped over a new memory: instantiation fails.
    with_fault(Site::MemoryRemap, 1, || {
        expect_err(instantiate(&mut Store::new(&engine), &image), "failed to map a memory image")
    });
    works(&engine, &image, true);
}

/// Mapping compiled code.
fn code() {
    let engine = Engine::default();
    // A fresh body so that the engine compiles (and maps) new code.
    let wat = r#"(module (func (export "f") (result i32) (i32.const 41)))"#;
    with_fault(Site::CodeMap, 1, || expect_err(module(&engine, wat), "mmap for code"));
    with_fault(Site::CodeProtect, 1, || expect_err(module(&engine, wat), "mprotect code to read+execute"));
    let m = module(&engine, wat).unwrap();
    let mut store = Store::new(&engine);
    let instance = instantiate(&mut store, &m).unwrap();
    assert_eq!(call_i32(&mut store, &instance, "f", &[]), 41);
    // A module loaded from serialized bytes maps its code too.
    let bytes = m.serialize().unwrap();
    // SAFETY: the bytes were just serialized by this engine.
    with_fault(Site::CodeMap, 1, || expect_err(unsafe { Module::deserialize(&engine, &bytes) }, "mmap"));
    // SAFETY: as above.
    let m = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    let instance = instantiate(&mut store, &m).unwrap();
    assert_eq!(call_i32(&mut store, &instance, "f", &[]), 41);
}

/// Pool slots whose reset (`madvise`) fails are never reused dirty.
fn pool_slots() {
    for (wat, image) in [(PLAIN, false), (IMAGE, true)] {
        // One memory slot, always reset with madvise.
        let config = PoolingConfig { total_memories: 1, keep_resident_bytes: 0, ..PoolingConfig::default() };
        let engine = pooling(config);
        let m = module(&engine, wat).unwrap();
        works(&engine, &m, image);

        // Dirty the slot (in and outside the image's page), give it back, fail its reset: the slot is
        // remapped, and the next instance still sees a fresh memory.
        let dirty = |engine: &Engine| {
            let mut store = Store::new(engine);
            let instance = instantiate(&mut store, &m).unwrap();
            for at in [0, 16, 20, 4096, 65535] {
                poke(&mut store, &instance, at, 0xee);
            }
        };
        dirty(&engine);
        with_fault(Site::Madvise, 1, || works(&engine, &m, image));

        // The reset and the remap both fail: the slot is not reused (the one-slot pool is then
        // exhausted), never handed out dirty.
        dirty(&engine);
        let e = with_fault(Site::Madvise, 1, || {
            with_fault(Site::MemoryRemap, 1, || {
                expect_err(instantiate(&mut Store::new(&engine), &m), "pool exhausted: all 1 memory slots are in use")
            })
        });
        assert_eq!(e.downcast_ref::<ResourceExhausted>().map(ResourceExhausted::kind), Some(ResourceKind::MemoryPool));

        // A slot that cannot be made accessible for a new memory is not lost.
        let engine = pooling(config_one_slot());
        let m = module(&engine, wat).unwrap();
        with_fault(Site::MemoryProtect, 1, || {
            expect_err(instantiate(&mut Store::new(&engine), &m), "failed to make a memory slot accessible")
        });
        works(&engine, &m, image);
        works(&engine, &m, image);
    }
}

fn config_one_slot() -> PoolingConfig {
    PoolingConfig { total_memories: 1, ..PoolingConfig::default() }
}

/// Instance and table slots whose `madvise` fails are zeroed by writing instead.
fn pool_reset_without_madvise() {
    let config =
        PoolingConfig { total_instances: 1, total_tables: 1, keep_resident_bytes: 0, ..PoolingConfig::default() };
    let engine = pooling(config);
    let wat = r#"(module (table (export "t") 70000 funcref) (func $f (export "f"))
        (global (export "g") (mut i32) (i32.const 7))
        (func (export "set") (param i32) (table.set (local.get 0) (ref.func $f)) (global.set 0 (i32.const 8))))"#;
    let m = module(&engine, wat).unwrap();
    let check_fresh = || {
        let mut store = Store::new(&engine);
        let instance = instantiate(&mut store, &m).unwrap();
        let t = instance.get_table(&mut store, "t").unwrap();
        for i in [0, 1000, 69999] {
            assert!(matches!(t.get(&mut store, i), Some(Val::FuncRef(None))), "table element {i} not reset");
        }
        let g = instance.get_global(&mut store, "g").unwrap();
        assert_eq!(g.get(&mut store).i32(), Some(7), "global not reset");
        let set = instance.get_func(&mut store, "set").unwrap();
        for i in [0, 1000, 69999] {
            set.call(&mut store, &[Val::I32(i)], &mut []).unwrap();
        }
    };
    check_fresh();
    let before = fault::injected(Site::Madvise);
    fault::fail_next(Site::Madvise, 10);
    check_fresh();
    check_fresh();
    fault::clear();
    assert!(fault::injected(Site::Madvise) > before, "no madvise was attempted");
    check_fresh();
}

/// Every kind of pool slot running out is a recognizable error, and clears when a store is dropped.
fn pool_exhaustion() {
    let cases = [
        (PoolingConfig { total_instances: 1, ..PoolingConfig::default() }, "(module)", ResourceKind::InstancePool),
        (
            PoolingConfig { total_memories: 1, ..PoolingConfig::default() },
            "(module (memory 1))",
            ResourceKind::MemoryPool,
        ),
        (
            PoolingConfig { total_tables: 1, ..PoolingConfig::default() },
            "(module (table 1 funcref))",
            ResourceKind::TablePool,
        ),
    ];
    for (config, wat, kind) in cases {
        let engine = pooling(config);
        let m = module(&engine, wat).unwrap();
        let mut first = Store::new(&engine);
        instantiate(&mut first, &m).unwrap();
        let e = expect_err(instantiate(&mut Store::new(&engine), &m), "pool exhausted: all 1 ");
        let r = e.downcast_ref::<ResourceExhausted>().expect("a ResourceExhausted error");
        assert_eq!(r.kind(), kind);
        assert!(r.is_pool());
        drop(first);
        instantiate(&mut Store::new(&engine), &m).unwrap();
    }
}

/// The pool's reservations fail: the engine is not created.
fn pool_reservation() {
    let strategy = InstanceAllocationStrategy::Pooling(PoolingConfig::default());
    with_fault(Site::PoolReserve, 1, || {
        expect_err(Engine::new(Config::new().allocation_strategy(strategy.clone())), "failed to reserve")
    });
    let engine = Engine::new(Config::new().allocation_strategy(strategy)).unwrap();
    works(&engine, &module(&engine, PLAIN).unwrap(), false);
}

/// With a small reservation, memories grow in place up to it and no further; out-of-bounds accesses
/// are caught by explicit checks.
fn small_reservation() {
    for pooled in [false, true] {
        let mut config = Config::new();
        config.memory_reservation(4 * 65536).memory_guard_size(0);
        if pooled {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig {
                total_memories: 2,
                ..PoolingConfig::default()
            }));
        }
        let engine = Engine::new(&config).unwrap();
        let m = module(&engine, PLAIN).unwrap();
        let mut store = Store::new(&engine);
        let instance = instantiate(&mut store, &m).unwrap();
        assert_eq!(call_i32(&mut store, &instance, "grow", &[Val::I32(3)]), 1);
        assert_eq!(call_i32(&mut store, &instance, "grow", &[Val::I32(1)]), -1, "grew past the reservation");
        poke(&mut store, &instance, 4 * 65536 - 1, 1);
        let f = instance.get_func(&mut store, "poke").unwrap();
        for at in [4 * 65536, -1, i32::MAX] {
            let e = f.call(&mut store, &[Val::I32(at), Val::I32(1)], &mut []).unwrap_err();
            assert_eq!(e.downcast_ref::<Trap>().map(Trap::code), Some(TrapCode::MemoryOutOfBounds), "{e:#}");
        }
        let big = module(&engine, "(module (memory 5))").unwrap();
        expect_err(instantiate(&mut Store::new(&engine), &big), "memory");
    }
    let e = Engine::new(Config::new().memory_reservation(65536 + 1)).unwrap_err();
    assert!(format!("{e:#}").contains("multiple of 64 KiB"), "{e:#}");
    assert!(Engine::new(Config::new().memory_reservation(8 << 30)).is_err());
}
