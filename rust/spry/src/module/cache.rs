//! The compile cache ([`crate::Config::cache_dir`]): compiled modules stored as artifacts of
//! [`crate::Module::serialize`], one file per module, named by a hash of the Wasm bytes and of the
//! engine's fingerprint (see `serialize.rs`), so that engines with other settings never share entries.
//!
//! An entry is written to a temporary file and renamed into place, so that a reader never sees a
//! partial entry (not synced: after a crash an entry may be empty or torn, which the checksum
//! catches like any corrupt entry). An entry that does not load (corrupt, truncated, of another Spry version) is
//! recompiled and replaced; failing to write an entry is not an error, since the module compiled.

use super::serialize::{checksum_seeded, fingerprint};
use super::Module;
use crate::engine::Engine;
use anyhow::Result;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The path of the entry for `wasm` in `dir`: 128 bits of hash (two independently seeded 64-bit
/// hashes) of the fingerprint and the Wasm bytes, then the Wasm length.
fn entry_path(engine: &Engine, dir: &Path, wasm: &[u8]) -> PathBuf {
    let mut key = Vec::with_capacity(wasm.len() + 512);
    for (k, v) in fingerprint(engine) {
        for s in [k, v.as_str()] {
            key.extend_from_slice(&(s.len() as u64).to_le_bytes());
            key.extend_from_slice(s.as_bytes());
        }
    }
    key.extend_from_slice(wasm);
    let (a, b) = (checksum_seeded(1, &key), checksum_seeded(2, &key));
    dir.join(format!("{a:016x}{b:016x}-{:x}.spryaot", wasm.len()))
}

/// Loads `wasm`'s module from the cache in `dir`, or compiles it and stores it there.
pub fn load_or_compile(engine: &Engine, dir: &Path, wasm: &[u8]) -> Result<Module> {
    let path = entry_path(engine, dir, wasm);
    if path.is_file() {
        // SAFETY: the cache directory holds only artifacts Spry wrote (the embedder's promise in
        // `Config::cache_dir`); entries are renamed into place complete and never modified.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
            engine.inner.cache_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(module);
        }
    }
    engine.inner.cache_misses.fetch_add(1, Ordering::Relaxed);
    let module = Module::compile(engine, wasm)?;
    if let Ok(bytes) = module.serialize() {
        let _ = store(dir, &path, &bytes);
    }
    Ok(module)
}

/// Writes `bytes` to `path` atomically: to a temporary file in `dir`, then renamed over `path`.
fn store(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    std::fs::create_dir_all(dir)?;
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
