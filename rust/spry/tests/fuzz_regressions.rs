//! Replays the modules the fuzzers found bugs with (`fuzz/regressions/*.wasm`, all valid Wasm 2.0):
//! each must compile and instantiate with dummy imports.

use spry::*;

#[test]
fn fuzz_regressions_compile() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let engine = Engine::default();
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        let wasm = std::fs::read(&path).unwrap();
        let module = Module::new(&engine, &wasm).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
        let mut store = Store::new(&engine);
        let mut imports = Vec::new();
        for import in module.imports() {
            let item: Extern = match import.ty {
                ExternType::Func(ty) => Func::new(&mut store, ty.clone(), move |_, _, out| {
                    for (r, t) in out.iter_mut().zip(ty.results()) {
                        *r = Val::null(*t);
                    }
                    Ok(())
                })
                .unwrap()
                .into(),
                ExternType::Memory(m) => Memory::new(&mut store, m).unwrap().into(),
                ExternType::Table(t) => Table::new(&mut store, t, Val::null(t.element)).unwrap().into(),
                ExternType::Global(g) => Global::new(&mut store, g, Val::null(g.content)).unwrap().into(),
            };
            imports.push(item);
        }
        let instance = Instance::new(&mut store, &module, &imports);
        assert!(instance.is_ok() || instance.as_ref().unwrap_err().is::<Trap>(), "{}", path.display());
        count += 1;
    }
    assert!(count > 0, "no regression modules in {}", dir.display());
}

#[path = "common/diff.rs"]
mod diff;

/// Replays the differential regressions (`fuzz/regressions/diff/*.wasm`, found by the `diff_smith` and
/// `diff_bulk` fuzz targets): each runs on Spry as the fuzz targets run it (`common/diff.rs`), and its
/// summary must match `<name>.expected`, recorded from wasmtime when the finding was saved. Each
/// module runs with guard pages and with explicit bounds checks, optimized and not. A `.wasm` without
/// its `.expected` (or the other way round) fails the test.
#[test]
fn fuzz_regressions_differential() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/diff");
    let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let engines: Vec<(String, Engine)> = [(true, true), (false, true), (true, false), (false, false)]
        .into_iter()
        .map(|(guard_pages, optimize)| {
            let mut config = Config::new();
            config.max_wasm_stack(512 * 1024).guard_pages(guard_pages).cranelift_optimize(optimize);
            (format!("guard_pages={guard_pages} optimize={optimize}"), Engine::new(&config).unwrap())
        })
        .collect();
    let mut count = 0;
    for path in &names {
        match path.extension().and_then(|e| e.to_str()) {
            Some("wasm") => {}
            Some("expected") => {
                assert!(path.with_extension("wasm").exists(), "{} has no .wasm", path.display());
                continue;
            }
            _ => continue,
        }
        let wasm = std::fs::read(path).unwrap();
        let expected_path = path.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: no expected outcome: {e}", expected_path.display()));
        assert!(expected.starts_with(diff::HEADER), "{}: not a summary", expected_path.display());
        for (label, engine) in &engines {
            let actual = diff::run_spry(engine, &wasm).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Err(msg) = diff::compare(&expected, &actual.render()) {
                panic!("{} ({label}): {msg}\n--- expected\n{expected}--- spry\n{}", path.display(), actual.render());
            }
        }
        count += 1;
    }
    assert!(count > 0, "no differential regressions in {}", dir.display());
}
