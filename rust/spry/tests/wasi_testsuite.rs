//! Runs the official WASI test suite (preview 1, 72 precompiled programs in
//! `testdata/wasi-testsuite`, vendored) through the Rust API, as its
//! `doc/specification.md` says: each test on a copy of its directory with `*.cleanup` removed,
//! args, env and the preopened root from its `.json`, stdout/stderr captured through
//! `MemoryOutput`, exit code and output compared. Prints `wasi-testsuite (rust): P/72 passed` and
//! every failure with its reason; fails if any test fails.

use spry::wasi::{self, DirPerms, MemoryOutput, WasiConfig, WasiCtx, WasiOutput};
use spry::{Engine, Linker, Module, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Tests that cannot pass, with the reason (none so far).
const KNOWN_FAILURES: &[(&str, &str)] = &[];

fn suite_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.join("testdata/wasi-testsuite")
}

/// Copies `from` to `to` recursively, keeping symbolic links as links, making everything writable.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        let ft = e.file_type()?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if ft.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
            let mut p = std::fs::metadata(&dst)?.permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o644);
            std::fs::set_permissions(&dst, p)?;
        }
    }
    let mut p = std::fs::metadata(to)?.permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut p, 0o755);
    std::fs::set_permissions(to, p)
}

fn remove_cleanups(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "cleanup") {
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            } else if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cleanups(&p);
            }
        }
    }
}

struct Spec {
    args: Vec<String>,
    env: Vec<(String, String)>,
    root: Option<String>,
    exit_code: i32,
    stdout: Option<String>,
    stderr: Option<String>,
}

fn spec(wasm: &Path) -> Spec {
    let mut s = Spec { args: vec![], env: vec![], root: None, exit_code: 0, stdout: None, stderr: None };
    let Ok(text) = std::fs::read_to_string(wasm.with_extension("json")) else { return s };
    let v: serde_json::Value = serde_json::from_str(&text).expect("test spec is JSON");
    if let Some(a) = v["args"].as_array() {
        s.args = a.iter().map(|x| x.as_str().unwrap().to_string()).collect();
    }
    if let Some(e) = v["env"].as_object() {
        s.env = e.iter().map(|(k, x)| (k.clone(), x.as_str().unwrap().to_string())).collect();
    }
    s.root = v["root"].as_str().map(String::from);
    if let Some(c) = v["exit_code"].as_i64() {
        s.exit_code = c as i32;
    }
    s.stdout = v["stdout"].as_str().map(String::from);
    s.stderr = v["stderr"].as_str().map(String::from);
    s
}

/// Runs one test; `Err` says why it failed.
fn run(engine: &Engine, linker: &Linker, wasm: &Path, work: &Path) -> Result<(), String> {
    let spec = spec(wasm);
    let src_dir = wasm.parent().unwrap();
    let dir = work.join(wasm.file_stem().unwrap());
    copy_tree(src_dir, &dir).map_err(|e| format!("copying the test directory: {e}"))?;
    remove_cleanups(&dir);
    let module = Module::new(engine, std::fs::read(wasm).unwrap()).map_err(|e| format!("compile: {e:#}"))?;
    let (out, err) = (MemoryOutput::new(), MemoryOutput::new());
    let name = wasm.file_name().unwrap().to_string_lossy().to_string();
    let mut cfg = WasiConfig::new()
        .arg(&name)
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(WasiOutput::Host(Arc::new(out.clone())))
        .stderr(WasiOutput::Host(Arc::new(err.clone())));
    if let Some(root) = &spec.root {
        cfg = cfg.preopen_dir(dir.join(root), "/", DirPerms::ReadWrite).map_err(|e| format!("{e:#}"))?;
    }
    cfg.check().map_err(|e| e.to_string())?;
    let mut store = Store::new(engine);
    store.set_wasi(WasiCtx::new(&cfg));
    let inst = linker.instantiate(&mut store, &module).map_err(|e| format!("instantiate: {e:#}"))?;
    let start = inst.get_func(&mut store, "_start").ok_or("no _start export")?;
    let code = match start.call(&mut store, &[], &mut []) {
        Ok(()) => 0,
        Err(e) => wasi::exit_code(&e).ok_or_else(|| {
            format!(
                "trapped: {e}\n      stdout: {:?}\n      stderr: {:?}",
                String::from_utf8_lossy(&out.contents()),
                String::from_utf8_lossy(&err.contents())
            )
        })?,
    };
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.contents()).to_string(), String::from_utf8_lossy(&err.contents()).to_string());
    if code != spec.exit_code {
        return Err(format!(
            "exit code {code}, expected {}\n      stdout: {stdout:?}\n      stderr: {stderr:?}",
            spec.exit_code
        ));
    }
    if let Some(exp) = &spec.stdout {
        if &stdout != exp {
            return Err(format!("stdout {stdout:?}, expected {exp:?}"));
        }
    }
    if let Some(exp) = &spec.stderr {
        if &stderr != exp {
            return Err(format!("stderr {stderr:?}, expected {exp:?}"));
        }
    }
    Ok(())
}

#[test]
fn wasi_testsuite() {
    let suite = suite_dir();
    assert!(
        suite.join("tests").is_dir(),
        "the WASI test suite is not at {} (testdata/wasi-testsuite, vendored in the repository)",
        suite.display()
    );
    let mut tests = Vec::new();
    for lang in ["assemblyscript", "c", "rust"] {
        let dir = suite.join("tests").join(lang).join("testsuite/wasm32-wasip1");
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "wasm") {
                tests.push(p);
            }
        }
    }
    tests.sort();
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    wasi::add_to_linker(&mut linker).unwrap();
    let work = std::env::temp_dir().join(format!("spry-wasi-testsuite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut failures = Vec::new();
    let mut passed = 0;
    for t in &tests {
        let lang = t.parent().unwrap().parent().unwrap().parent().unwrap().file_name().unwrap().to_string_lossy();
        let name = format!("{lang}/{}", t.file_stem().unwrap().to_string_lossy());
        match run(&engine, &linker, t, &work.join(&*lang)) {
            Ok(()) => passed += 1,
            Err(why) => {
                let known = KNOWN_FAILURES.iter().find(|(n, _)| *n == name);
                failures
                    .push(format!("{name}: {why}{}", known.map(|k| format!(" (known: {})", k.1)).unwrap_or_default()));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    println!("wasi-testsuite (rust): {passed}/{} passed", tests.len());
    for f in &failures {
        println!("  FAIL {f}");
    }
    assert_eq!(tests.len(), 72, "expected the suite's 72 programs");
    assert!(failures.is_empty(), "{} WASI tests failed", failures.len());
}
