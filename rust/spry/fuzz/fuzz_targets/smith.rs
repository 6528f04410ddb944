//! Valid modules from wasm-smith, restricted to what Spry supports (WebAssembly 2.0 without SIMD).
//! Every one must compile: a compile error is a Spry bug and fails the input. Each module is then
//! instantiated with dummy imports and every exported function is called with zero arguments; traps
//! are fine. Runaway code is stopped by wasm-smith's fuel (`ensure_termination`, for about half the
//! inputs) and, always, by a watchdog that interrupts the store after 100 ms. The first bytes also
//! pick engine settings: guard pages (else explicit bounds checks) and Cranelift optimization.
#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use spry::Module;
use spry_fuzz::EngineKnobs;

/// wasm-smith's swarm configuration, with the features and limits forced to what Spry supports.
fn config(u: &mut Unstructured<'_>) -> Result<wasm_smith::Config> {
    let mut c = wasm_smith::Config::arbitrary(u)?;
    // WebAssembly 2.0 minus SIMD.
    c.simd_enabled = false;
    c.relaxed_simd_enabled = false;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.tail_call_enabled = false;
    c.exceptions_enabled = false;
    c.gc_enabled = false;
    c.memory64_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.extended_const_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.compact_imports_enabled = false;
    c.custom_descriptors_enabled = false;
    c.acquire_release_atomics_enabled = false;
    c.multibyte_array_access_enabled = false;
    c.reference_types_enabled = true;
    c.bulk_memory_enabled = true;
    // Multi-value, sign extension and saturating conversions are 2.0 too: left to the swarm.
    c.max_memories = c.max_memories.min(1); // no multi-memory
    c.max_tables = c.max_tables.min(8);
    // Small memories, always bounded, so that memory.grow + memory.fill cannot eat the machine.
    c.max_memory32_bytes = c.max_memory32_bytes.min(16 * spry::WASM_PAGE_SIZE);
    c.memory_max_size_required = true;
    c.max_table_elements = c.max_table_elements.min(1000);
    c.table_max_size_required = true;
    // Keep compile time per input reasonable.
    c.max_funcs = c.max_funcs.min(100);
    c.max_instructions = c.max_instructions.min(1000);
    c.max_types = c.max_types.min(100);
    c.max_imports = c.max_imports.min(50);
    c.max_exports = c.max_exports.min(100);
    c.max_globals = c.max_globals.min(100);
    c.max_data_segments = c.max_data_segments.min(100);
    c.max_element_segments = c.max_element_segments.min(100);
    c.max_elements = c.max_elements.min(100);
    // Export everything so that every function gets called (coverage feedback does not see inside
    // JIT code, so calls are the only way generated code gets run).
    c.export_everything = true;
    c.allow_start_export = true;
    // Most swarm configurations otherwise yield modules without a single function.
    if c.max_types > 0 && c.max_funcs > 0 {
        c.min_types = 1;
        c.min_funcs = 1;
    }
    Ok(c)
}

fn generate(data: &[u8]) -> Result<(Vec<u8>, EngineKnobs)> {
    let mut u = Unstructured::new(data);
    // Mostly the default engine; sometimes explicit bounds checks or unoptimized code.
    let knobs = EngineKnobs { guard_pages: u.ratio(3, 4)?, optimize: u.ratio(3, 4)? };
    let config = config(&mut u)?;
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
