//! Conversion of `.wast` arguments to Spry values, and comparison of results with expectations.
//!
//! Floats compare by their bits, except for the `nan:canonical` pattern (any sign, the canonical
//! payload) and `nan:arithmetic` (any sign, the quiet bit set, any payload). `ref.extern N` is the
//! host reference holding `N: u32`; it is created once per `N` per store, so that the same `N`
//! passed twice is the same reference. `ref.func` expects some non-null funcref: which function it
//! is can't be told from outside the instance.

use std::collections::HashMap;

use anyhow::{bail, Result};
use spry::{ExternRef, Store, Val, ValType};
use wast::core::{AbstractHeapType, HeapType, NanPattern, WastArgCore, WastRetCore};
use wast::{WastArg, WastRet};

const F32_SIGN: u32 = 0x8000_0000;
const F32_CANONICAL_NAN: u32 = 0x7fc0_0000;
const F64_SIGN: u64 = 0x8000_0000_0000_0000;
const F64_CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;

/// The host references that `ref.extern N` stands for in one store.
#[derive(Default)]
pub struct ExternRefs(HashMap<u32, ExternRef>);

impl ExternRefs {
    /// The reference for `ref.extern n`, created on first use.
    pub fn get(&mut self, store: &mut Store, n: u32) -> ExternRef {
        *self.0.entry(n).or_insert_with(|| ExternRef::new(store, n))
    }
}

/// The value of an `invoke` argument.
pub fn arg(arg: &WastArg<'_>, store: &mut Store, externrefs: &mut ExternRefs) -> Result<Val> {
    let WastArg::Core(arg) = arg else { bail!("component-model argument {arg:?} is not supported") };
    Ok(match arg {
        WastArgCore::I32(v) => Val::I32(*v),
        WastArgCore::I64(v) => Val::I64(*v),
        WastArgCore::F32(v) => Val::F32(v.bits),
        WastArgCore::F64(v) => Val::F64(v.bits),
        WastArgCore::RefNull(heap) => Val::null(null_type(heap)?),
        WastArgCore::RefExtern(n) => Val::ExternRef(Some(externrefs.get(store, *n))),
        other => bail!("argument {other:?} is not supported"),
    })
}

/// A placeholder of type `ty` for a result slot.
pub fn placeholder(ty: ValType) -> Val {
    match ty {
        ValType::I32 => Val::I32(0),
        ValType::I64 => Val::I64(0),
        ValType::F32 => Val::F32(0),
        ValType::F64 => Val::F64(0),
        ValType::FuncRef | ValType::ExternRef => Val::null(ty),
    }
}

/// Checks that `actual` are the `expected` results.
pub fn check_results(store: &Store, expected: &[WastRet<'_>], actual: &[Val]) -> Result<()> {
    if expected.len() != actual.len() {
        bail!("expected {} results, got {}: [{}]", expected.len(), actual.len(), show_all(store, actual));
    }
    for (i, (expected, actual)) in expected.iter().zip(actual).enumerate() {
        let WastRet::Core(expected) = expected else { bail!("component-model result {expected:?} is not supported") };
        if !matches(store, expected, actual)? {
            bail!("result {i}: expected {}, got {}", show_expected(expected), show(store, actual));
        }
    }
    Ok(())
}

/// Whether `actual` matches the pattern `expected`; an error for patterns outside Wasm 2.0.
fn matches(store: &Store, expected: &WastRetCore<'_>, actual: &Val) -> Result<bool> {
    Ok(match (expected, actual) {
        (WastRetCore::I32(e), Val::I32(a)) => e == a,
        (WastRetCore::I64(e), Val::I64(a)) => e == a,
        (WastRetCore::F32(pattern), Val::F32(bits)) => match pattern {
            NanPattern::Value(e) => e.bits == *bits,
            NanPattern::CanonicalNan => bits & !F32_SIGN == F32_CANONICAL_NAN,
            NanPattern::ArithmeticNan => bits & F32_CANONICAL_NAN == F32_CANONICAL_NAN,
        },
        (WastRetCore::F64(pattern), Val::F64(bits)) => match pattern {
            NanPattern::Value(e) => e.bits == *bits,
            NanPattern::CanonicalNan => bits & !F64_SIGN == F64_CANONICAL_NAN,
            NanPattern::ArithmeticNan => bits & F64_CANONICAL_NAN == F64_CANONICAL_NAN,
        },
        (WastRetCore::RefNull(heap), actual) => {
            let ty = heap.as_ref().map(null_type).transpose()?;
            match actual {
                Val::FuncRef(None) => ty.is_none_or(|ty| ty == ValType::FuncRef),
                Val::ExternRef(None) => ty.is_none_or(|ty| ty == ValType::ExternRef),
                _ => false,
            }
        }
        (WastRetCore::RefExtern(n), Val::ExternRef(Some(r))) => match n {
            None => true,
            Some(n) => extern_ref_number(store, r) == Some(*n),
        },
        (WastRetCore::RefFunc(_), Val::FuncRef(Some(_))) => true,
        (WastRetCore::Either(alternatives), actual) => {
            for alternative in alternatives {
                if matches(store, alternative, actual)? {
                    return Ok(true);
                }
            }
            false
        }
        (
            WastRetCore::I32(_)
            | WastRetCore::I64(_)
            | WastRetCore::F32(_)
            | WastRetCore::F64(_)
            | WastRetCore::RefExtern(_)
            | WastRetCore::RefFunc(_),
            _,
        ) => false,
        (other, _) => bail!("expected result {other:?} is not supported"),
    })
}

/// The type of the null reference of `heap`'s type.
fn null_type(heap: &HeapType<'_>) -> Result<ValType> {
    match heap {
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Func | AbstractHeapType::NoFunc } => {
            Ok(ValType::FuncRef)
        }
        HeapType::Abstract { shared: false, ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern } => {
            Ok(ValType::ExternRef)
        }
        other => bail!("reference type {other:?} is not supported"),
    }
}

/// The `N` of a `ref.extern N` reference, if `r` is one.
fn extern_ref_number(store: &Store, r: &ExternRef) -> Option<u32> {
    r.data(store)?.downcast_ref::<u32>().copied()
}

fn show_all(store: &Store, vals: &[Val]) -> String {
    vals.iter().map(|v| show(store, v)).collect::<Vec<_>>().join(", ")
}

/// `val` in `.wast` syntax, with the bits of floats.
pub fn show(store: &Store, val: &Val) -> String {
    match val {
        Val::I32(v) => format!("i32.const {v}"),
        Val::I64(v) => format!("i64.const {v}"),
        Val::F32(bits) => format!("f32.const {} (0x{bits:08x})", f32::from_bits(*bits)),
        Val::F64(bits) => format!("f64.const {} (0x{bits:016x})", f64::from_bits(*bits)),
        Val::FuncRef(None) => "ref.null func".to_string(),
        Val::FuncRef(Some(_)) => "ref.func".to_string(),
        Val::ExternRef(None) => "ref.null extern".to_string(),
        Val::ExternRef(Some(r)) => match extern_ref_number(store, r) {
            Some(n) => format!("ref.extern {n}"),
            None => "ref.extern (not a test reference)".to_string(),
        },
    }
}

/// The pattern `expected` in `.wast` syntax.
fn show_expected(expected: &WastRetCore<'_>) -> String {
    fn nan_or<T>(pattern: &NanPattern<T>, ty: &str, value: impl Fn(&T) -> String) -> String {
        match pattern {
            NanPattern::CanonicalNan => format!("{ty}.const nan:canonical"),
            NanPattern::ArithmeticNan => format!("{ty}.const nan:arithmetic"),
            NanPattern::Value(v) => format!("{ty}.const {}", value(v)),
        }
    }
    match expected {
        WastRetCore::I32(v) => format!("i32.const {v}"),
        WastRetCore::I64(v) => format!("i64.const {v}"),
        WastRetCore::F32(p) => nan_or(p, "f32", |v| format!("{} (0x{:08x})", f32::from_bits(v.bits), v.bits)),
        WastRetCore::F64(p) => nan_or(p, "f64", |v| format!("{} (0x{:016x})", f64::from_bits(v.bits), v.bits)),
        WastRetCore::RefNull(None) => "ref.null".to_string(),
        WastRetCore::RefNull(Some(heap)) => match null_type(heap) {
            Ok(ValType::FuncRef) => "ref.null func".to_string(),
            Ok(_) => "ref.null extern".to_string(),
            Err(_) => format!("ref.null {heap:?}"),
        },
        WastRetCore::RefExtern(None) => "ref.extern".to_string(),
        WastRetCore::RefExtern(Some(n)) => format!("ref.extern {n}"),
        WastRetCore::RefFunc(_) => "ref.func".to_string(),
        WastRetCore::Either(alternatives) => {
            let alternatives: Vec<_> = alternatives.iter().map(show_expected).collect();
            format!("either({})", alternatives.join(", "))
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_patterns() {
        let canonical = |bits| bits & !F32_SIGN == F32_CANONICAL_NAN;
        let arithmetic = |bits| bits & F32_CANONICAL_NAN == F32_CANONICAL_NAN;
        assert!(canonical(0x7fc0_0000) && canonical(0xffc0_0000));
        assert!(!canonical(0x7fc0_0001) && !canonical(0x7fa0_0000));
        assert!(arithmetic(0x7fc0_0001) && arithmetic(0xffe0_0000));
        assert!(!arithmetic(0x7fa0_0000) && !arithmetic(0x7f80_0000));
    }
}
