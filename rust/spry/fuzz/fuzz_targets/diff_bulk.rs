//! Differential fuzzing of bulk memory and table operations at their boundaries: modules from the
//! template in `src/template.rs` (memories of 1 to 65,536 pages, tables, segments, and operations
//! whose operands are boundary values), run on Spry and on wasmtime, compared with
//! `spry_fuzz::differential`.
#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use spry_fuzz::EngineKnobs;

fuzz_target!(|data: &[u8]| {
    // `SPRY_FUZZ_RAW_WASM=1`: the input is a module binary, run as is (to replay or record regression
    // files, e.g. with `SPRY_FUZZ_WRITE_EXPECTED`).
    if std::env::var_os("SPRY_FUZZ_RAW_WASM").is_some() {
        spry_fuzz::differential(data, EngineKnobs::default());
        return;
    }
    let mut u = Unstructured::new(data);
    let Ok(knobs) = (|| -> arbitrary::Result<EngineKnobs> {
        Ok(EngineKnobs { guard_pages: u.ratio(3, 4)?, optimize: u.ratio(3, 4)? })
    })() else {
        return;
    };
    let Ok(wasm) = spry_fuzz::template::generate(&mut u) else { return };
    spry_fuzz::dump_wasm(&wasm);
    spry_fuzz::differential(&wasm, knobs);
});
