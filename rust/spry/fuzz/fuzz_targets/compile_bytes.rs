//! Arbitrary bytes into `Module::new`: it must never crash (errors are fine). A module that compiles
//! is instantiated with dummy imports and each exported function is called with zero arguments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spry::Module;

fuzz_target!(|data: &[u8]| {
    let engine = spry_fuzz::new_engine();
    let Ok(module) = Module::new(&engine, data) else { return };
    // Whatever compiles must also pass Spry's own validator.
    if let Err(e) = Module::validate(&engine, data) {
        panic!("Module::new accepted a module that Module::validate rejects: {e:?}");
    }
    spry_fuzz::exercise(&engine, &module, false);
});
