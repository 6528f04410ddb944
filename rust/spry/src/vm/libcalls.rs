//! The runtime functions compiled code calls (through [`super::builtins::BUILTINS`]), and the math
//! routines Cranelift calls when the CPU lacks an instruction.
//!
//! Each builtin receives the calling instance's VMContext. Those that can trap return 0 or the trap
//! code; the compiled caller then raises it with `spry_raise_trap`, so no Rust frame is ever unwound.
//!
//! # Guest-controlled arguments, and panics
//!
//! Every offset, length and index a builtin receives comes from the guest: ranges are computed with
//! checked arithmetic in `usize` (two `u32`s cannot overflow it, but nothing here relies on that) and
//! bytes and elements are reached through `get`, never by indexing (the lints below enforce both).
//!
//! The builtins are `extern "C"` and called from Wasm frames: a panic cannot unwind out of them (the
//! process would abort). Each body runs under [`catch`], which turns a panic (a broken invariant of
//! the runtime, never a guest error) into [`TrapCode::Internal`]: builtins that return a status
//! return it; those that return a value ([`memory_grow`], [`table_grow`], [`ref_func`],
//! [`table_get_lazy`]) raise it themselves with `spry_raise_trap`, from a frame that owns nothing.
//! `catch_unwind` costs nothing when nothing panics.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

use super::instance::Instance;
use super::table::Table;
use super::traphandlers::spry_raise_trap;
use super::vmcontext::{store_context_of, VMContext};
use crate::trap::TrapCode;
use cranelift_codegen::ir::LibCall;
use std::cell::Cell;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    /// Set by [`panic_in_next_builtin`]: the next builtin this thread runs panics.
    static INJECT_PANIC: Cell<bool> = const { Cell::new(false) };
}

/// Test hook, not a stable API: the next builtin (`memory.fill`, `table.grow`, `ref.func`...) that
/// Wasm code calls on this thread panics inside its body, as a broken runtime invariant would, so
/// that a test can check that the panic becomes a [`TrapCode::Internal`] trap and not an abort.
#[doc(hidden)]
pub fn panic_in_next_builtin() {
    INJECT_PANIC.set(true);
}

/// Runs a builtin's body, turning a panic into [`TrapCode::Internal`]. The payload is dropped under
/// a second `catch_unwind` (a payload whose destructor panics is leaked instead).
fn catch<R>(body: impl FnOnce() -> Result<R, TrapCode>) -> Result<R, TrapCode> {
    let body = || {
        // A plain read on the hot path; the write happens only when a test armed the hook.
        if INJECT_PANIC.get() {
            INJECT_PANIC.set(false);
            panic!("spry: panic injected in a builtin (panic_in_next_builtin)");
        }
        body()
    };
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => {
            if let Err(inner) = panic::catch_unwind(AssertUnwindSafe(|| drop(payload))) {
                std::mem::forget(inner);
            }
            Err(TrapCode::Internal)
        }
    }
}

/// The status a trapping builtin returns: 0, or the trap code.
fn status(r: Result<(), TrapCode>) -> u32 {
    match r {
        Ok(()) => 0,
        Err(code) => u32::from(code.as_u8()),
    }
}

/// The value of a builtin that returns one, or, on a trap, raises it (never returns).
///
/// # Safety
/// Called only by a builtin, directly from compiled code running inside `catch_traps` on this thread,
/// with that code's `vmctx`; the builtin's frame owns nothing that needs dropping at the call (the
/// jump skips it).
unsafe fn value_or_raise<R>(vmctx: *mut VMContext, r: Result<R, TrapCode>) -> R {
    match r {
        Ok(v) => v,
        // SAFETY: per the contract: the jump to the activation crosses only this builtin's frame
        // (plain values) and the Wasm frames above it.
        Err(code) => unsafe { spry_raise_trap(vmctx, u32::from(code.as_u8())) },
    }
}

/// The index range `[start, start + len)` if it lies within `size`.
fn span(start: u32, len: u32, size: usize) -> Option<Range<usize>> {
    let start = start as usize;
    let end = start.checked_add(len as usize)?;
    (end <= size).then_some(start..end)
}

/// `memory.grow`.
///
/// # Safety
/// `vmctx` is the VMContext of a live instance, and the caller is its compiled code; the same for
/// every builtin below.
pub unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, mem: u32, delta: u32) -> u32 {
    let r = catch(|| {
        // SAFETY: per the contract, and compiled code holds no reference into the instance.
        let instance = unsafe { Instance::from_vmctx(vmctx) };
        // SAFETY: the instance's memory pointers are valid while it lives.
        let memory = unsafe { &mut *instance.memory(mem) };
        // SAFETY: per the contract; the store context outlives its instances.
        let limit = unsafe { (*store_context_of(vmctx)).memory_limit() };
        Ok(match memory.grow_within(u64::from(delta), limit) {
            // At most 65,536 pages: always a u32 (and never u32::MAX, the failure value).
            Ok(Some(old)) => u32::try_from(old).map_err(|_| TrapCode::Internal)?,
            _ => u32::MAX,
        })
    });
    // SAFETY: per the contract.
    unsafe { value_or_raise(vmctx, r) }
}

/// `memory.fill`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn memory_fill(vmctx: *mut VMContext, mem: u32, dst: u32, val: u32, len: u32) -> u32 {
    status(catch(|| {
        // SAFETY: see `memory_grow`.
        let memory = unsafe { &mut *Instance::from_vmctx(vmctx).memory(mem) };
        let range = span(dst, len, memory.byte_size()).ok_or(TrapCode::MemoryOutOfBounds)?;
        let [byte, ..] = val.to_le_bytes();
        memory.data_mut().get_mut(range).ok_or(TrapCode::MemoryOutOfBounds)?.fill(byte);
        Ok(())
    }))
}

/// `memory.copy` (the ranges may overlap, and the memories may be the same).
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn memory_copy(
    vmctx: *mut VMContext,
    dst_mem: u32,
    src_mem: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    status(catch(|| {
        // SAFETY: see `memory_grow`.
        let instance = unsafe { Instance::from_vmctx(vmctx) };
        // SAFETY: memory pointers are valid; only raw pointers are used since the two may alias.
        let (d, s) = unsafe { (&*instance.memory(dst_mem), &*instance.memory(src_mem)) };
        let to = span(dst, len, d.byte_size()).ok_or(TrapCode::MemoryOutOfBounds)?;
        let from = span(src, len, s.byte_size()).ok_or(TrapCode::MemoryOutOfBounds)?;
        // SAFETY: both ranges were checked to lie in their memories' accessible bytes; `copy`
        // handles overlap.
        unsafe { std::ptr::copy(s.base().add(from.start), d.base().add(to.start), to.len()) };
        Ok(())
    }))
}

/// `memory.init`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn memory_init(vmctx: *mut VMContext, mem: u32, data: u32, dst: u32, src: u32, len: u32) -> u32 {
    // SAFETY: see `memory_grow`.
    status(catch(|| unsafe { Instance::from_vmctx(vmctx) }.memory_init(mem, data, dst, src, len)))
}

/// `data.drop`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    let r = catch(|| {
        // SAFETY: see `memory_grow`.
        unsafe { Instance::from_vmctx(vmctx) }.drop_data(data);
        Ok(())
    });
    // SAFETY: see `memory_grow`.
    unsafe { value_or_raise(vmctx, r) }
}

/// `table.grow`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, delta: u32, init: u64) -> u32 {
    let r = catch(|| {
        // SAFETY: see `memory_grow`.
        let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
        // SAFETY: see `memory_grow`.
        let limit = unsafe { (*store_context_of(vmctx)).table_limit() };
        // A reference is a pointer: 64 bits on the only supported target.
        let init = usize::try_from(init).map_err(|_| TrapCode::Internal)?;
        // The old size is at most MAX_TABLE_ELEMENTS, never u32::MAX (the failure value).
        Ok(table.grow_within(delta, init, limit).unwrap_or(u32::MAX))
    });
    // SAFETY: see `memory_grow`.
    unsafe { value_or_raise(vmctx, r) }
}

/// `table.fill`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u32, val: u64, len: u32) -> u32 {
    status(catch(|| {
        // SAFETY: see `memory_grow`.
        let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
        let val = usize::try_from(val).map_err(|_| TrapCode::Internal)?;
        table.fill(dst, val, len).then_some(()).ok_or(TrapCode::TableOutOfBounds)
    }))
}

/// `table.copy` (the tables may be the same and the ranges may overlap).
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_copy(
    vmctx: *mut VMContext,
    dst_t: u32,
    src_t: u32,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    status(catch(|| {
        // SAFETY: see `memory_grow`.
        let instance = unsafe { Instance::from_vmctx(vmctx) };
        let (d, s) = (instance.table(dst_t), instance.table(src_t));
        let src_table = (d != s).then_some(s);
        // SAFETY: table pointers are valid; `src_table` is another table when given.
        let ok = unsafe { Table::copy(&mut *d, src_table, dst, src, len) };
        ok.then_some(()).ok_or(TrapCode::TableOutOfBounds)
    }))
}

/// `table.set`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_set(vmctx: *mut VMContext, table: u32, elem: u32, value: u64) -> u32 {
    status(catch(|| {
        // SAFETY: see `memory_grow`.
        let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
        let value = usize::try_from(value).map_err(|_| TrapCode::Internal)?;
        table.set(elem, value).then_some(()).ok_or(TrapCode::TableOutOfBounds)
    }))
}

/// Makes element `elem` of a `funcref` table, which compiled code found not initialized yet.
///
/// # Safety
/// See [`memory_grow`]; `elem` is in bounds (compiled code checked it).
pub unsafe extern "C" fn table_get_lazy(vmctx: *mut VMContext, table: u32, elem: u32) -> u64 {
    let r = catch(|| {
        // SAFETY: see `memory_grow`.
        let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
        // Compiled code checked the bounds: an element out of them is a broken invariant.
        Ok(table.get(elem).ok_or(TrapCode::Internal)? as u64)
    });
    // SAFETY: see `memory_grow`.
    unsafe { value_or_raise(vmctx, r) }
}

/// `ref.func`.
///
/// # Safety
/// See [`memory_grow`]; `func` is a function of the instance that may be referenced (validation).
pub unsafe extern "C" fn ref_func(vmctx: *mut VMContext, func: u32) -> u64 {
    // SAFETY: see `memory_grow`.
    let r = catch(|| Ok(unsafe { Instance::from_vmctx(vmctx) }.func_ref(func) as u64));
    // SAFETY: see `memory_grow`.
    unsafe { value_or_raise(vmctx, r) }
}

/// `table.init`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_init(vmctx: *mut VMContext, table: u32, elem: u32, dst: u32, src: u32, len: u32) -> u32 {
    // SAFETY: see `memory_grow`.
    status(catch(|| unsafe { Instance::from_vmctx(vmctx) }.table_init(table, elem, dst, src, len)))
}

/// `elem.drop`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    let r = catch(|| {
        // SAFETY: see `memory_grow`.
        unsafe { Instance::from_vmctx(vmctx) }.drop_element(elem);
        Ok(())
    });
    // SAFETY: see `memory_grow`.
    unsafe { value_or_raise(vmctx, r) }
}

/// Address of `spry_raise_trap`, which host-call trampolines call on a nonzero status.
pub fn raise_trap_address() -> usize {
    spry_raise_trap as *const () as usize
}

extern "C" fn floor_f32(x: f32) -> f32 {
    x.floor()
}
extern "C" fn floor_f64(x: f64) -> f64 {
    x.floor()
}
extern "C" fn ceil_f32(x: f32) -> f32 {
    x.ceil()
}
extern "C" fn ceil_f64(x: f64) -> f64 {
    x.ceil()
}
extern "C" fn trunc_f32(x: f32) -> f32 {
    x.trunc()
}
extern "C" fn trunc_f64(x: f64) -> f64 {
    x.trunc()
}
extern "C" fn nearest_f32(x: f32) -> f32 {
    x.round_ties_even()
}
extern "C" fn nearest_f64(x: f64) -> f64 {
    x.round_ties_even()
}
extern "C" fn fma_f32(a: f32, b: f32, c: f32) -> f32 {
    a.mul_add(b, c)
}
extern "C" fn fma_f64(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

/// The address of the routine for a Cranelift libcall, if Spry provides it.
pub fn libcall_address(lc: LibCall) -> Option<usize> {
    Some(match lc {
        LibCall::FloorF32 => floor_f32 as *const () as usize,
        LibCall::FloorF64 => floor_f64 as *const () as usize,
        LibCall::CeilF32 => ceil_f32 as *const () as usize,
        LibCall::CeilF64 => ceil_f64 as *const () as usize,
        LibCall::TruncF32 => trunc_f32 as *const () as usize,
        LibCall::TruncF64 => trunc_f64 as *const () as usize,
        LibCall::NearestF32 => nearest_f32 as *const () as usize,
        LibCall::NearestF64 => nearest_f64 as *const () as usize,
        LibCall::FmaF32 => fma_f32 as *const () as usize,
        LibCall::FmaF64 => fma_f64 as *const () as usize,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_body_becomes_an_internal_trap() {
        assert_eq!(catch(|| Ok(7)), Ok(7));
        assert_eq!(catch::<()>(|| Err(TrapCode::MemoryOutOfBounds)), Err(TrapCode::MemoryOutOfBounds));
        assert_eq!(catch::<u32>(|| panic!("broken invariant")), Err(TrapCode::Internal));
        // A payload whose destructor panics too is leaked, not dropped into an abort.
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("payload destructor");
            }
        }
        assert_eq!(catch::<u32>(|| std::panic::panic_any(PanicsOnDrop)), Err(TrapCode::Internal));
        // The test hook panics in the next body, once.
        panic_in_next_builtin();
        assert_eq!(catch(|| Ok(1)), Err(TrapCode::Internal));
        assert_eq!(catch(|| Ok(1)), Ok(1));
        assert_eq!(status(catch(|| -> Result<(), TrapCode> { panic!("x") })), u32::from(TrapCode::Internal.as_u8()));
    }

    #[test]
    fn spans_never_wrap() {
        const MAX: usize = 1 << 32;
        assert_eq!(span(0xFFFF_0000, 0x1_0000, MAX), Some(0xFFFF_0000..MAX));
        assert_eq!(span(0xFFFF_0000, 0x1_0001, MAX), None);
        assert_eq!(span(u32::MAX, u32::MAX, MAX), None);
        assert_eq!(span(u32::MAX, 1, MAX), Some(0xFFFF_FFFF..MAX));
        assert_eq!(span(0, 0, 0), Some(0..0));
        assert_eq!(span(1, 0, 0), None);
        assert_eq!(span(65536, 0, 65536), Some(65536..65536));
    }
}
