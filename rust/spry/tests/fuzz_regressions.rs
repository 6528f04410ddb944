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
