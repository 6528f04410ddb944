//! Differential fuzzing with wasm-smith: WebAssembly 2.0 modules without SIMD (the `smith` target's
//! configuration, with NaNs canonicalized, fuel always on, and memories up to 65,536 pages for some
//! inputs), run on Spry and on wasmtime, compared with `spry_fuzz::differential`.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use spry_fuzz::EngineKnobs;

fn generate(data: &[u8]) -> Result<(Vec<u8>, EngineKnobs)> {
    let mut u = Unstructured::new(data);
    let knobs = EngineKnobs { guard_pages: u.ratio(3, 4)?, optimize: u.ratio(3, 4)? };
    let big_memory = !u.ratio(7, 8)?; // (false for an exhausted input)
    let mut c = spry_fuzz::smith_config(&mut u)?;
    // Same results on both sides: NaNs canonical, and every run bounded by fuel that runs out the
    // same way on both (an `unreachable` trap) rather than by a timer.
    c.canonicalize_nans = true;
    if big_memory {
        // Up to 65,536 pages (4 GiB): both runtimes commit memory lazily.
        c.max_memory32_bytes = 1 << 32;
    }
    let mut module = wasm_smith::Module::new(c, &mut u)?;
    module.ensure_termination(1000).expect("wasm-smith generated every function body");
    Ok((module.to_bytes(), knobs))
}

fuzz_target!(|data: &[u8]| {
    let Ok((wasm, knobs)) = generate(data) else { return };
    spry_fuzz::dump_wasm(&wasm);
    spry_fuzz::differential(&wasm, knobs);
});
