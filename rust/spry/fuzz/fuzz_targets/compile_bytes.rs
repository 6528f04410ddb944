//! Arbitrary bytes into `Module::new`: it must never crash (errors are fine). A module that compiles
//! is instantiated with dummy imports and each exported function is called with zero arguments.
//!
//! With `SPRY_FUZZ_EXPECT_VALID` set, a compile error fails the input: to replay `fuzz/regressions/`
//! (valid modules that Spry once mishandled) as a check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use spry::Module;

fuzz_target!(|data: &[u8]| {
    let engine = spry_fuzz::new_engine();
    let module = match Module::new(&engine, data) {
        Ok(m) => m,
        Err(e) => {
            if std::env::var_os("SPRY_FUZZ_EXPECT_VALID").is_some() {
                panic!("Module::new failed on an input expected to be valid: {e:?}");
            }
            if spry_fuzz::verbose() {
                eprintln!("spry-fuzz: Module::new: {e:#}");
            }
            return;
        }
    };
    // Whatever compiles must also pass Spry's own validator.
    if let Err(e) = Module::validate(&engine, data) {
        panic!("Module::new accepted a module that Module::validate rejects: {e:?}");
    }
    spry_fuzz::exercise(&engine, &module, false);
});
