//! tests/c/smoke.c, a C program, compiled against include/spry.h and linked with the static library
//! the way the Go side links it (`libspry_capi.a -lm -ldl -lpthread`).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The static library of this build: the newest `libspry_capi-*.a` next to this test binary (cargo
/// builds the library's `staticlib` crate type along with the `rlib` the tests link).
fn static_lib() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    std::fs::read_dir(deps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("libspry_capi") && name.ends_with(".a")
        })
        .max_by_key(|p| p.metadata().unwrap().modified().unwrap())
        .expect("cargo built libspry_capi.a next to the tests")
}

#[test]
fn c_program_links_and_runs() {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    // A C compiler is a prerequisite of the repository (README, and cgo needs one for the Go
    // package): its absence fails the test rather than skipping it, so that a run that did not build
    // tests/c/smoke.c cannot pass.
    match Command::new(&cc).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`{cc} --version` failed ({}): a C compiler is required", out.status),
        Err(e) => panic!("no C compiler (`{cc}`: {e}): one is required to build tests/c/smoke.c (set CC)"),
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spry-capi-smoke");
    std::fs::create_dir_all(&out).unwrap();
    let wasm = wat::parse_str(
        r#"(module (import "env" "double" (func $d (param i32) (result i32)))
            (func (export "run") (param i32) (result i32) (i32.add (call $d (local.get 0)) (i32.const 1))))"#,
    )
    .unwrap();
    let wasm_path = out.join("smoke.wasm");
    std::fs::write(&wasm_path, wasm).unwrap();
    let exe = out.join("smoke");
    let status = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(crate_dir.join("tests/c/smoke.c"))
        .arg("-I")
        .arg(crate_dir.join("../../include"))
        .arg(static_lib())
        .args(["-lm", "-ldl", "-lpthread"])
        .status()
        .unwrap();
    assert!(status.success(), "compiling and linking tests/c/smoke.c failed");
    let run = Command::new(&exe).arg(&wasm_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "smoke failed: {stdout}{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(stdout.trim(), "ok");
}
