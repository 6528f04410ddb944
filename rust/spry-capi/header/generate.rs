//! Generates `include/spry.h` from the crate's sources with cbindgen (shared by the `spry-header`
//! tool and `tests/header.rs`).

use std::path::{Path, PathBuf};

/// The crate's directory (rust/spry-capi).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the header lives: include/spry.h at the repository root.
pub fn header_path() -> PathBuf {
    let root = crate_dir().parent().and_then(Path::parent).expect("the crate is rust/spry-capi").to_path_buf();
    root.join("include/spry.h")
}

/// The header, generated from the sources in `crate_dir` with its cbindgen.toml.
pub fn generate(crate_dir: &Path) -> String {
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml is valid");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(crate_dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}
