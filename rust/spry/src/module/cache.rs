//! The compile cache ([`crate::Config::cache_dir`]): compiled modules stored as artifacts of
//! [`crate::Module::serialize`], one file per module, named by a hash of the Wasm bytes and of the
//! engine's fingerprint (see `serialize.rs`), so that engines with other settings never share entries.
//!
//! The key is one streaming pass of XXH3-128 over the fingerprint and the Wasm bytes (no copy): for
//! ruby.wasm (17 MB) about a millisecond.
//!
//! An entry is written to a temporary file, synced, and renamed into place, so that a reader never
//! sees a partial entry, even after a crash or a power loss. Loading an entry checks its metadata
//! checksum (everything the loader interprets: offsets, counts, ranges, relocations, trap sites,
//! trampolines, data segments), its format version and fingerprint, and that every section lies in
//! the file (a truncated entry fails); it does not read the code and the memory image, most of a
//! large entry's bytes (ruby.wasm: 40 of 46 MB), which are mapped from the file instead. What
//! protects those is how entries are made: written only by Spry, complete (synced before the
//! rename), never modified afterwards (replaced by rename), in a directory only trusted users may
//! write (`Config::cache_dir`'s contract). So what the bulk checksum would still catch is damage to a
//! file after it was written (a disk or memory fault the file system does not report), which no
//! load-time check prevents in the pages read later either. An entry that does not load (corrupt,
//! truncated, of another Spry version) is recompiled and replaced; failing to write an entry is not
//! an error, since the module compiled.

use super::serialize::fingerprint;
use super::Module;
use crate::engine::Engine;
use anyhow::Result;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The path of the entry for `wasm` in `dir`: 128 bits of XXH3 of the fingerprint and the Wasm
/// bytes, then the Wasm length.
fn entry_path(engine: &Engine, dir: &Path, wasm: &[u8]) -> PathBuf {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for (k, v) in fingerprint(engine) {
        for s in [k, v.as_str()] {
            h.update(&(s.len() as u64).to_le_bytes());
            h.update(s.as_bytes());
        }
    }
    h.update(wasm);
    dir.join(format!("{:032x}-{:x}.spryaot", h.digest128(), wasm.len()))
}

/// Loads `wasm`'s module from the cache in `dir`, or compiles it and stores it there.
pub fn load_or_compile(engine: &Engine, dir: &Path, wasm: &[u8]) -> Result<Module> {
    let path = entry_path(engine, dir, wasm);
    if path.is_file() {
        // SAFETY: the cache directory holds only artifacts Spry wrote (the embedder's promise in
        // `Config::cache_dir`); entries are renamed into place complete and never modified.
        if let Ok(module) = unsafe { Module::load_file(engine, &path, false) } {
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
        // Complete on disk before it has its name: a crash never leaves a torn entry to load.
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
