//! Builds `src/vm/unwind.c`, the setjmp/longjmp unwind that Wasm traps go through.

use std::env;

fn main() {
    println!("cargo:rerun-if-changed=src/vm/unwind.c");
    println!("cargo:rerun-if-changed=build.rs");
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if arch != "x86_64" || os != "linux" {
        // The crate itself reports the unsupported target with a `compile_error!` (vm/signals.rs);
        // compiling the C file would only add a less clear error.
        println!("cargo:warning=Spry supports only x86_64 Linux; the target is {arch}-{os}");
        return;
    }
    cc::Build::new()
        .file("src/vm/unwind.c")
        .opt_level(2)
        .flag("-fno-omit-frame-pointer")
        .warnings(true)
        .extra_warnings(true)
        .compile("spry_unwind");
}
