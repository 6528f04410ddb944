//! Ahead-of-time compilation: `Module::serialize`, `Module::deserialize` and
//! `Module::deserialize_file`. A deserialized module runs exactly like the compiled one; an artifact
//! for other engine settings, truncated, corrupt or not an artifact at all is an error, never a crash.

use spry::*;

const WAT: &str = r#"(module $m
    (memory (export "mem") 1)
    (data (i32.const 16) "\01\02\03\04")
    (table 2 funcref)
    (elem (i32.const 0) $double $floor)
    (global $g (mut i32) (i32.const 5))
    (type $t (func (param i32) (result i32)))
    (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
    (func $floor (param i32) (result i32) (i32.trunc_f64_s (f64.floor (f64.div (f64.convert_i32_s (local.get 0)) (f64.const 2)))))
    (func (export "indirect") (param i32 i32) (result i32) (call_indirect (type $t) (local.get 1) (local.get 0)))
    (func (export "sum") (result i32)
      (i32.add (global.get $g) (i32.add (i32.load8_u (i32.const 16)) (i32.load8_u (i32.const 19)))))
    (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
    (func $r (export "recurse") (param i32) (result i32)
      (if (result i32) (i32.eqz (local.get 0)) (then (unreachable)) (else (call $r (i32.sub (local.get 0) (i32.const 1)))))))"#;

fn call(store: &mut Store, instance: &Instance, name: &str, args: &[Val]) -> Result<i32, anyhow::Error> {
    let f = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    f.call(&mut *store, args, &mut out)?;
    match out[0] {
        Val::I32(v) => Ok(v),
        ref other => panic!("unexpected result {other:?}"),
    }
}

/// Runs the module's exports and returns what they gave, traps included.
fn exercise(engine: &Engine, module: &Module) -> Vec<String> {
    let mut store = Store::new(engine);
    let instance = Linker::new(engine).instantiate(&mut store, module).unwrap();
    let mut results = Vec::new();
    for (name, args) in [
        ("indirect", vec![Val::I32(0), Val::I32(21)]),
        ("indirect", vec![Val::I32(1), Val::I32(-7)]),
        ("indirect", vec![Val::I32(5), Val::I32(1)]),
        ("sum", vec![]),
        ("div", vec![Val::I32(1)]),
        ("div", vec![Val::I32(0)]),
        ("recurse", vec![Val::I32(3)]),
    ] {
        results.push(match call(&mut store, &instance, name, &args) {
            Ok(v) => format!("{v}"),
            Err(e) => {
                let trap = e.downcast_ref::<Trap>().unwrap_or_else(|| panic!("{name}: not a trap: {e:?}"));
                let frames: Vec<String> = trap.backtrace().iter().map(|f| format!("{f:?}")).collect();
                format!("trap {:?} at {}", trap.code(), frames.join(" < "))
            }
        });
    }
    results
}

fn compiled(engine: &Engine) -> Module {
    Module::new(engine, wat::parse_str(WAT).unwrap()).unwrap()
}

fn load(engine: &Engine, bytes: &[u8]) -> anyhow::Result<Module> {
    // SAFETY: the tests only load artifacts of this Spry, or garbage that the checks must reject.
    unsafe { Module::deserialize(engine, bytes) }
}

#[test]
fn round_trip_runs_the_same() {
    let engine = Engine::default();
    let module = compiled(&engine);
    let bytes = module.serialize().unwrap();
    assert_eq!(&bytes[..8], b"SPRYAOT\0");
    let loaded = load(&engine, &bytes).unwrap();
    assert_eq!(loaded.name(), Some("m"));
    assert_eq!(
        loaded.exports().map(|e| e.name).collect::<Vec<_>>(),
        module.exports().map(|e| e.name).collect::<Vec<_>>()
    );
    let expected = exercise(&engine, &module);
    assert_eq!(expected[0], "42");
    assert_eq!(expected[1], "-4");
    assert!(expected[5].starts_with("trap IntegerDivisionByZero"), "{expected:?}");
    drop(module);
    assert_eq!(exercise(&engine, &loaded), expected);
    // Serializing is deterministic, also from a deserialized module.
    assert_eq!(loaded.serialize().unwrap(), bytes);
    // Another engine with the same settings loads it too.
    let other = Engine::default();
    assert_eq!(exercise(&other, &load(&other, &bytes).unwrap()), expected);
}

#[test]
fn round_trip_without_memory_images() {
    let engine = Engine::default();
    let bytes = compiled(&engine).serialize().unwrap();
    let expected = exercise(&engine, &compiled(&engine));
    // Memory images do not shape code: the artifact loads, and the segments are copied instead.
    let no_images = Engine::new(Config::new().memory_images(false)).unwrap();
    assert_eq!(exercise(&no_images, &load(&no_images, &bytes).unwrap()), expected);
}

#[test]
fn settings_that_shape_code_must_match() {
    let bytes = compiled(&Engine::default()).serialize().unwrap();
    for (setting, config) in [
        ("guard_pages", Config::new().guard_pages(false).clone()),
        ("interruptible", Config::new().interruptible(false).clone()),
        ("opt_level", Config::new().cranelift_optimize(false).clone()),
    ] {
        let engine = Engine::new(&config).unwrap();
        let err = load(&engine, &bytes).unwrap_err().to_string();
        assert!(err.contains("incompatible") && err.contains(setting), "{setting}: {err}");
        // And the other way round.
        let theirs = compiled(&engine).serialize().unwrap();
        assert!(load(&Engine::default(), &theirs).is_err());
    }
}

#[test]
fn truncated_artifacts_are_errors() {
    let engine = Engine::default();
    let bytes = compiled(&engine).serialize().unwrap();
    for i in 0..16 {
        let len = bytes.len() * i / 16;
        let err = load(&engine, &bytes[..len]).unwrap_err().to_string();
        assert!(!err.is_empty(), "{len}");
    }
    for len in [1, 7, 8, 11, 12, 19, 20, bytes.len() - 8, bytes.len() - 1] {
        assert!(load(&engine, &bytes[..len]).is_err(), "{len}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(load(&engine, &longer).is_err());
}

#[test]
fn corrupt_artifacts_are_errors() {
    let engine = Engine::default();
    let bytes = compiled(&engine).serialize().unwrap();
    let mut corrupt = bytes.clone();
    corrupt[bytes.len() / 2] ^= 0x10;
    let err = load(&engine, &corrupt).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");
    // Every byte, one bit each.
    for i in 0..bytes.len() {
        let mut corrupt = bytes.clone();
        corrupt[i] ^= 1 << (i % 8);
        assert!(load(&engine, &corrupt).is_err(), "flipped byte {i} loaded");
    }
    let mut version = bytes.clone();
    version[8] = version[8].wrapping_add(1);
    let err = load(&engine, &version).unwrap_err().to_string();
    assert!(err.contains("format version"), "{err}");
}

#[test]
fn garbage_is_an_error() {
    let engine = Engine::default();
    for bytes in [&b""[..], b"\0asm\x01\0\0\0", b"SPRYAOT\0", b"SPRYAOT\0\x01\0\0\0"] {
        assert!(load(&engine, bytes).is_err(), "{bytes:?}");
    }
    // Pseudo-random bytes, with and without the magic.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for n in [1usize, 16, 100, 4096, 65536] {
        let mut bytes: Vec<u8> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(load(&engine, &bytes).is_err());
        if n >= 8 {
            bytes[..8].copy_from_slice(b"SPRYAOT\0");
            assert!(load(&engine, &bytes).is_err());
        }
    }
}

#[test]
fn deserialize_file() {
    let engine = Engine::default();
    let module = compiled(&engine);
    let dir = std::env::temp_dir().join(format!("spry-serialize-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("module.spryaot");
    std::fs::write(&path, module.serialize().unwrap()).unwrap();
    // SAFETY: the file was just written from `Module::serialize`, and nothing modifies it.
    let loaded = unsafe { Module::deserialize_file(&engine, &path) }.unwrap();
    assert_eq!(exercise(&engine, &loaded), exercise(&engine, &module));
    // The memory image is mapped from the file, copy-on-write: an instance's writes reach neither the
    // file nor another instance.
    let bytes = std::fs::read(&path).unwrap();
    let mut store = Store::new(&engine);
    let a = Linker::new(&engine).instantiate(&mut store, &loaded).unwrap();
    let mem = a.get_memory(&mut store, "mem").unwrap();
    assert_eq!(&mem.data(&store)[16..20], &[1, 2, 3, 4]);
    mem.data_mut(&mut store)[16..20].copy_from_slice(&[9, 9, 9, 9]);
    let b = Linker::new(&engine).instantiate(&mut store, &loaded).unwrap();
    let mem_b = b.get_memory(&mut store, "mem").unwrap();
    assert_eq!(&mem_b.data(&store)[16..20], &[1, 2, 3, 4]);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "an instance wrote to the artifact file");
    drop(store);
    // The loaded module's code runs from the file: it must not change while the module lives.
    drop(loaded);
    std::fs::write(&path, b"").unwrap();
    // SAFETY: as above (an empty file must be rejected).
    assert!(unsafe { Module::deserialize_file(&engine, &path) }.is_err());
    // SAFETY: a missing file is an error.
    assert!(unsafe { Module::deserialize_file(&engine, dir.join("missing")) }.is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compile_cache() {
    let dir = std::env::temp_dir().join(format!("spry-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let entries = || -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        v.sort();
        v
    };
    let wasm = wat::parse_str(WAT).unwrap();
    let engine = Engine::new(Config::new().cache_dir(&dir)).unwrap();
    let plain = Engine::default();
    let expected = exercise(&plain, &compiled(&plain));

    // The engine's counters (a test hook) tell a load from the cache from a compilation, which the
    // module's behaviour cannot.
    let stats = |e: &Engine| (e.cache_hits(), e.cache_misses());
    assert_eq!(stats(&engine), (0, 0));

    // A miss compiles and stores one entry; a hit loads it.
    let first = Module::new(&engine, &wasm).unwrap();
    assert_eq!(stats(&engine), (0, 1), "(hits, misses) after the first compilation");
    assert_eq!(exercise(&engine, &first), expected);
    let files = entries();
    assert_eq!(files.len(), 1, "{files:?}");
    let entry = files[0].clone();
    let stored = std::fs::read(&entry).unwrap();
    // SAFETY: the entry was written by this Spry.
    assert!(unsafe { Module::deserialize(&engine, &stored) }.is_ok());
    let second = Module::new(&engine, &wasm).unwrap();
    assert_eq!(stats(&engine), (1, 1), "(hits, misses) after the second Module::new");
    assert_eq!(exercise(&engine, &second), expected);
    assert_eq!(entries(), files);
    // Another engine with the same settings (a later run of the program) loads the same entry.
    let later = Engine::new(Config::new().cache_dir(&dir)).unwrap();
    assert_eq!(exercise(&later, &Module::new(&later, &wasm).unwrap()), expected);
    assert_eq!(stats(&later), (1, 0), "(hits, misses) of a second engine");
    assert_eq!(stats(&plain), (0, 0), "an engine without a cache directory counts nothing");

    // Another module, and other settings, get their own entries.
    Module::new(&engine, wat::parse_str("(module (func (export \"f\")))").unwrap()).unwrap();
    let other = Engine::new(Config::new().cache_dir(&dir).interruptible(false)).unwrap();
    // (Its code differs, so do the code offsets in backtraces; compare the outcomes only.)
    let outcome =
        |v: Vec<String>| v.into_iter().map(|r| r.split(" at ").next().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(outcome(exercise(&other, &Module::new(&other, &wasm).unwrap())), outcome(expected.clone()));
    assert_eq!(entries().len(), 3);
    assert_eq!(stats(&engine), (1, 2));
    assert_eq!(stats(&other), (0, 1), "other settings must not hit the default settings' entry");

    // A corrupt or truncated entry is recompiled and replaced, not an error.
    let mut corrupt = stored.clone();
    corrupt[stored.len() / 2] ^= 0xff;
    std::fs::write(&entry, &corrupt).unwrap();
    assert_eq!(exercise(&engine, &Module::new(&engine, &wasm).unwrap()), expected);
    assert_eq!(std::fs::read(&entry).unwrap(), stored);
    std::fs::write(&entry, &stored[..100]).unwrap();
    assert_eq!(exercise(&engine, &Module::new(&engine, &wasm).unwrap()), expected);
    assert_eq!(std::fs::read(&entry).unwrap(), stored);
    assert_eq!(stats(&engine), (1, 4), "a corrupt and a truncated entry are misses");
    Module::new(&engine, &wasm).unwrap();
    assert_eq!(stats(&engine), (2, 4), "the replaced entry is a hit");

    // Invalid Wasm is still an error, and is not cached.
    assert!(Module::new(&engine, b"\0asm\x01\0\0\0\xff").is_err());
    assert_eq!(entries().len(), 3);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What a compile-cache load checks: the metadata (everything the loader interprets), the length,
/// the header's bulk ranges; not the bytes of the code and the image, which it maps without reading
/// (see `module/cache.rs` for what protects them). `Module::deserialize_file` checks those too.
#[test]
fn cache_loads_check_the_metadata_not_the_bulk() {
    let dir = std::env::temp_dir().join(format!("spry-cache-bulk-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wasm = wat::parse_str(WAT).unwrap();
    let engine = Engine::new(Config::new().cache_dir(&dir)).unwrap();
    Module::new(&engine, &wasm).unwrap();
    let entry = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    let stored = std::fs::read(&entry).unwrap();
    // The bulk sections' places, after the magic and the version: code (offset, length), image.
    let field = |i: usize| u64::from_le_bytes(stored[12 + 8 * i..20 + 8 * i].try_into().unwrap()) as usize;
    let (code, code_len, image, image_len) = (field(0), field(1), field(2), field(3));
    assert!(code_len > 0 && image_len > 0 && code + code_len <= image, "{code} {code_len} {image} {image_len}");
    let stats = |e: &Engine| (e.cache_hits(), e.cache_misses());

    for (what, at) in [("code", code + code_len / 2), ("image", image + image_len - 1)] {
        let mut corrupt = stored.clone();
        corrupt[at] ^= 0x40;
        std::fs::write(&entry, &corrupt).unwrap();
        // SAFETY: a Spry artifact with one flipped byte: it must be rejected, and is not run.
        let err = unsafe { Module::deserialize_file(&engine, &entry) }.unwrap_err();
        assert!(format!("{err:#}").contains("checksum"), "{what}: {err:#}");
        let before = stats(&engine);
        // Loaded, not run (its code is corrupt).
        drop(Module::new(&engine, &wasm).unwrap());
        assert_eq!(stats(&engine), (before.0 + 1, before.1), "{what}: a cache load reads no {what} bytes");
    }
    // Anything else the loader reads is checked: a miss, recompiled and replaced.
    let trailer = image + image_len; // none: the image is the last section
    assert_eq!(trailer + 16, stored.len());
    for at in [12, 13 + 8, 40, code - 1, code + code_len, stored.len() - 12, stored.len() - 1] {
        let mut corrupt = stored.clone();
        corrupt[at] ^= 0x01;
        std::fs::write(&entry, &corrupt).unwrap();
        let before = stats(&engine);
        drop(Module::new(&engine, &wasm).unwrap());
        assert_eq!(stats(&engine), (before.0, before.1 + 1), "flipped byte {at} loaded from the cache");
        assert_eq!(std::fs::read(&entry).unwrap(), stored, "byte {at}: the entry is replaced");
    }
    for len in [stored.len() - 1, stored.len() - 16, image, code + 1, 100] {
        std::fs::write(&entry, &stored[..len]).unwrap();
        let before = stats(&engine);
        drop(Module::new(&engine, &wasm).unwrap());
        assert_eq!(stats(&engine), (before.0, before.1 + 1), "an entry truncated to {len} bytes loaded");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
