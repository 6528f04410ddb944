//! Copy-on-write memory images: data segments read back right with images on and off, instances of
//! one module do not see each other's writes, memory grows past an image, and modules that do not
//! qualify for an image (a `global.get` offset, an out-of-bounds segment) behave as before.
//!
//! Each test also checks which path ran, through the test hooks `Module::memory_image_id` and
//! `Memory::mapped_image_id`: with images on, a qualifying module has an image and its instances'
//! memories map it; with images off (or a module that does not qualify), neither. Without these
//! checks both engines could be copying the segments and every test would still pass.

use spry::*;

/// Engines with memory images on and off, each with whether images are on.
fn engines() -> [(Engine, bool); 2] {
    [
        (Engine::new(Config::new().memory_images(true)).unwrap(), true),
        (Engine::new(Config::new().memory_images(false)).unwrap(), false),
    ]
}

/// Asserts that `module` has a memory image exactly when `image` and that `instance`'s memory `m`
/// starts from it (mapped copy-on-write) exactly then.
fn check_image(store: &mut Store, module: &Module, instance: &Instance, image: bool) {
    let id = module.memory_image_id();
    assert_eq!(id.is_some(), image, "the module's memory image: {id:?}");
    let mem = instance.get_memory(&mut *store, "m").unwrap();
    assert_eq!(mem.mapped_image_id(&*store), id, "the image mapped over the instance's memory");
}

fn module(engine: &Engine, wat: &str) -> Module {
    Module::new(engine, wat::parse_str(wat).unwrap()).unwrap()
}

fn instantiate(store: &mut Store, module: &Module) -> Instance {
    Linker::new(store.engine()).instantiate(store, module).unwrap()
}

/// A 1 MiB segment's bytes: a pattern that differs from page to page.
fn big(i: usize) -> u8 {
    (i * 7 + i / 4096) as u8
}

fn wat_bytes(bytes: impl IntoIterator<Item = u8>) -> String {
    bytes.into_iter().map(|b| format!("\\{b:02x}")).collect()
}

/// Segments: not page-aligned, two in one page, one spanning host pages, a large one at 1 MiB.
fn segments_module() -> String {
    let big: String = wat_bytes((0..1 << 20).map(big));
    format!(
        r#"(module (memory (export "m") 32)
             (data (i32.const 3) "abc")
             (data (i32.const 100) "first")
             (data (i32.const 200) "second")
             (data (i32.const 65530) "spanning pages")
             (data (i32.const 0x100000) "{big}")
             (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
             (func (export "store8") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#
    )
}

fn expected_segments() -> Vec<(usize, Vec<u8>)> {
    vec![
        (3, b"abc".to_vec()),
        (100, b"first".to_vec()),
        (200, b"second".to_vec()),
        (65530, b"spanning pages".to_vec()),
        (0x100000, (0..1 << 20).map(big).collect()),
    ]
}

fn check_segments(store: &mut Store, instance: &Instance) {
    let mem = instance.get_memory(&mut *store, "m").unwrap();
    let data = mem.data(&*store);
    assert_eq!(data.len(), 32 << 16);
    let mut expected = vec![0u8; data.len()];
    for (at, bytes) in expected_segments() {
        expected[at..at + bytes.len()].copy_from_slice(&bytes);
    }
    assert!(data == &expected[..], "memory contents differ from the data segments");
    let load8 = instance.get_func(&mut *store, "load8").unwrap();
    let mut out = [Val::I32(0)];
    for (at, want) in [(3, b'a'), (65535, b'i'), (65536, b'n'), (0x100000 + 5000, big(5000)), (0x1fffff, big(0xfffff))]
    {
        load8.call(&mut *store, &[Val::I32(at)], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(i32::from(want)), "byte at {at}");
    }
}

fn store8(store: &mut Store, instance: &Instance, at: i32, value: i32) {
    let f = instance.get_func(&mut *store, "store8").unwrap();
    f.call(&mut *store, &[Val::I32(at), Val::I32(value)], &mut []).unwrap();
}

fn load8(store: &mut Store, instance: &Instance, at: i32) -> i32 {
    let f = instance.get_func(&mut *store, "load8").unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut *store, &[Val::I32(at)], &mut out).unwrap();
    out[0].i32().unwrap()
}

#[test]
fn segments_read_back() {
    let wat = segments_module();
    for (engine, images) in engines() {
        let module = module(&engine, &wat);
        let mut store = Store::new(&engine);
        let instance = instantiate(&mut store, &module);
        check_image(&mut store, &module, &instance, images);
        check_segments(&mut store, &instance);
    }
}

#[test]
fn instances_do_not_share_writes() {
    let wat = segments_module();
    for (engine, images) in engines() {
        let module = module(&engine, &wat);
        let mut store = Store::new(&engine);
        let a = instantiate(&mut store, &module);
        let b = instantiate(&mut store, &module);
        check_image(&mut store, &module, &a, images);
        check_image(&mut store, &module, &b, images);
        // Writes from Wasm and from the host, into image pages and next to them.
        store8(&mut store, &a, 3, 0x7a);
        store8(&mut store, &a, 0x100000 + 10, 0x55);
        store8(&mut store, &a, 20 << 16, 0x66);
        let mem = a.get_memory(&mut store, "m").unwrap();
        mem.data_mut(&mut store)[65536] = 0x11;
        assert_eq!(load8(&mut store, &a, 3), 0x7a);
        assert_eq!(load8(&mut store, &a, 0x100000 + 10), 0x55);
        assert_eq!(load8(&mut store, &a, 65536), 0x11);
        check_segments(&mut store, &b);
        // A new instance, in another store, after the first is gone.
        drop(store);
        let mut store = Store::new(&engine);
        let c = instantiate(&mut store, &module);
        check_image(&mut store, &module, &c, images);
        check_segments(&mut store, &c);
        // And in another thread, while this instance lives.
        let module2 = module.clone();
        std::thread::spawn(move || {
            let mut store = Store::new(module2.engine());
            let d = instantiate(&mut store, &module2);
            check_image(&mut store, &module2, &d, images);
            store8(&mut store, &d, 100, 0);
            assert_eq!(load8(&mut store, &d, 100), 0);
        })
        .join()
        .unwrap();
        check_segments(&mut store, &c);
    }
}

#[test]
fn grow_after_image() {
    let wat = segments_module();
    for (engine, images) in engines() {
        let module = module(&engine, &wat);
        let mut store = Store::new(&engine);
        let instance = instantiate(&mut store, &module);
        check_image(&mut store, &module, &instance, images);
        let grow = instance.get_func(&mut store, "grow").unwrap();
        let mut out = [Val::I32(0)];
        grow.call(&mut store, &[Val::I32(2)], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(32));
        assert_eq!(load8(&mut store, &instance, (33 << 16) + 100), 0);
        store8(&mut store, &instance, (33 << 16) + 100, 9);
        assert_eq!(load8(&mut store, &instance, (33 << 16) + 100), 9);
        assert_eq!(load8(&mut store, &instance, 3), i32::from(b'a'));
        let mem = instance.get_memory(&mut store, "m").unwrap();
        mem.grow(&mut store, 1).unwrap();
        assert_eq!(mem.data(&store).len(), 35 << 16);
        assert_eq!(&mem.data(&store)[0x100000..0x100004], &[big(0), big(1), big(2), big(3)]);
        check_image(&mut store, &module, &instance, images);
    }
}

#[test]
fn global_offset_falls_back() {
    for (engine, _) in engines() {
        let wasm = wat::parse_str(
            r#"(module (import "env" "g" (global i32)) (memory (export "m") 1)
                 (data (i32.const 1) "const")
                 (data (global.get 0) "from global"))"#,
        )
        .unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        let mut store = Store::new(&engine);
        let g = Global::new(&mut store, GlobalType::new(ValType::I32, false), Val::I32(300)).unwrap();
        let mut linker = Linker::new(&engine);
        linker.define("env", "g", g).unwrap();
        let instance = linker.instantiate(&mut store, &module).unwrap();
        let mem = instance.get_memory(&mut store, "m").unwrap();
        assert_eq!(&mem.data(&store)[1..6], b"const");
        assert_eq!(&mem.data(&store)[300..311], b"from global");
        check_image(&mut store, &module, &instance, false);
    }
}

#[test]
fn out_of_bounds_segment_traps() {
    for (engine, _) in engines() {
        let mut store = Store::new(&engine);
        // The second segment ends one byte past the memory; the first is written before the trap.
        let table = Table::new(&mut store, TableType::new(ValType::FuncRef, 1, None), Val::FuncRef(None)).unwrap();
        let wasm = wat::parse_str(
            r#"(module (import "env" "t" (table 1 funcref)) (memory 1)
                 (func $read (result i32) (i32.load8_u (i32.const 0)))
                 (elem (i32.const 0) $read)
                 (data (i32.const 0) "x")
                 (data (i32.const 65535) "ab"))"#,
        )
        .unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        assert_eq!(module.memory_image_id(), None, "a segment out of bounds makes no image");
        let mut linker = Linker::new(&engine);
        linker.define("env", "t", table).unwrap();
        let err = linker.instantiate(&mut store, &module).unwrap_err();
        assert!(format!("{err:#}").contains("out of bounds"), "{err:#}");
        let read = table.get(&mut store, 0).unwrap();
        let Val::FuncRef(Some(read)) = read else { panic!("the element segment was applied") };
        let mut out = [Val::I32(0)];
        read.call(&mut store, &[], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(i32::from(b'x')), "segments before the trap are written");
    }
}

#[test]
fn element_trap_leaves_memory_unwritten() {
    for (engine, images) in engines() {
        let mut store = Store::new(&engine);
        let table = Table::new(&mut store, TableType::new(ValType::FuncRef, 1, None), Val::FuncRef(None)).unwrap();
        // The second element segment traps: no data segment may be visible.
        let wasm = wat::parse_str(
            r#"(module (import "env" "t" (table 1 funcref)) (memory 1)
                 (func $read (result i32) (i32.load8_u (i32.const 0)))
                 (elem (i32.const 0) $read)
                 (elem (i32.const 1) $read)
                 (data (i32.const 0) "x"))"#,
        )
        .unwrap();
        let module = Module::new(&engine, wasm).unwrap();
        assert_eq!(module.memory_image_id().is_some(), images, "an in-bounds data segment makes an image");
        let mut linker = Linker::new(&engine);
        linker.define("env", "t", table).unwrap();
        assert!(linker.instantiate(&mut store, &module).is_err());
        let Val::FuncRef(Some(read)) = table.get(&mut store, 0).unwrap() else { panic!("no element") };
        let mut out = [Val::I32(-1)];
        read.call(&mut store, &[], &mut out).unwrap();
        assert_eq!(out[0], Val::I32(0));
    }
}

#[test]
fn passive_segments_stay_available() {
    for (engine, images) in engines() {
        let module = module(
            &engine,
            r#"(module (memory (export "m") 1)
                 (data (i32.const 8) "active")
                 (data $p "passive")
                 (func (export "init") (memory.init $p (i32.const 100) (i32.const 0) (i32.const 7)))
                 (func (export "init_active") (memory.init 0 (i32.const 200) (i32.const 0) (i32.const 1))))"#,
        );
        let mut store = Store::new(&engine);
        let instance = instantiate(&mut store, &module);
        check_image(&mut store, &module, &instance, images);
        instance.get_func(&mut store, "init").unwrap().call(&mut store, &[], &mut []).unwrap();
        let mem = instance.get_memory(&mut store, "m").unwrap();
        assert_eq!(&mem.data(&store)[8..14], b"active");
        assert_eq!(&mem.data(&store)[100..107], b"passive");
        // Active segments are dropped at instantiation: initializing one byte from them traps.
        let init_active = instance.get_func(&mut store, "init_active").unwrap();
        assert!(init_active.call(&mut store, &[], &mut []).is_err());
    }
}
