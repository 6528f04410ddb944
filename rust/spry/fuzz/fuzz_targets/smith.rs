//! Valid modules from wasm-smith, restricted to what Spry supports (WebAssembly 2.0 without SIMD).
//! Every one must compile: a compile error is a Spry bug and fails the input. Each module is then
//! instantiated with dummy imports and every exported function is called with zero arguments; traps
//! are fine. Runaway code is stopped by wasm-smith's fuel (`ensure_termination`, for about half the
//! inputs) and, always, by a watchdog that interrupts the store after 100 ms. The first bytes also
//! pick engine settings: guard pages (else explicit bounds checks) and Cranelift optimization.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use spry::Module;
use spry_fuzz::EngineKnobs;

fn generate(data: &[u8]) -> Result<(Vec<u8>, EngineKnobs)> {
    let mut u = Unstructured::new(data);
    // Mostly the default engine; sometimes explicit bounds checks or unoptimized code.
    let knobs = EngineKnobs { guard_pages: u.ratio(3, 4)?, optimize: u.ratio(3, 4)? };
    let config = spry_fuzz::smith_config(&mut u)?;
    let fuel: bool = u.arbitrary()?;
    let mut module = wasm_smith::Module::new(config, &mut u)?;
    if fuel {
        module.ensure_termination(1000).expect("wasm-smith generated every function body");
    }
    Ok((module.to_bytes(), knobs))
}

fuzz_target!(|data: &[u8]| {
    let Ok((wasm, knobs)) = generate(data) else { return };
    spry_fuzz::dump_wasm(&wasm);
    if spry_fuzz::verbose() {
        eprintln!("spry-fuzz: {knobs:?}");
    }
    let engine = spry_fuzz::new_engine_with(knobs);
    // If Spry's validator rejects the module, the configuration above let through a feature Spry does
    // not claim: a harness bug, reported as such.
    if let Err(e) = Module::validate(&engine, &wasm) {
        panic!("wasm-smith generated a module outside Spry's feature set (fix the fuzz config): {e:?}");
    }
    let module = match Module::new(&engine, &wasm) {
        Ok(m) => m,
        Err(e) if spry_fuzz::ignored_known_issue(&e) => return,
        Err(e) => panic!("Spry failed to compile a valid wasm-smith module: {e:?}"),
    };
    spry_fuzz::exercise(&engine, &module, true);
});
