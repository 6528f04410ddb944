//! The runtime functions compiled code calls (through [`super::builtins::BUILTINS`]), and the math
//! routines Cranelift calls when the CPU lacks an instruction.
//!
//! Each builtin receives the calling instance's VMContext. Those that can trap return 0 or the trap
//! code; the compiled caller then raises it with `spry_raise_trap`, so no Rust frame is ever unwound.

use super::instance::Instance;
use super::table::Table;
use super::traphandlers::spry_raise_trap;
use super::vmcontext::VMContext;
use crate::trap::TrapCode;
use cranelift_codegen::ir::LibCall;

fn status(r: Result<(), TrapCode>) -> u32 {
    match r {
        Ok(()) => 0,
        Err(code) => code.as_u8() as u32,
    }
}

fn in_bounds(start: u32, len: u32, size: usize) -> bool {
    (start as u64 + len as u64) <= size as u64
}

/// `memory.grow`.
///
/// # Safety
/// `vmctx` is the VMContext of a live instance; the same for every builtin below.
pub unsafe extern "C" fn memory_grow(vmctx: *mut VMContext, mem: u32, delta: u32) -> u32 {
    // SAFETY: per the contract, and compiled code holds no reference into the instance.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    // SAFETY: the instance's memory pointers are valid while it lives.
    let memory = unsafe { &mut *instance.memory(mem) };
    match memory.grow(delta as u64) {
        Ok(Some(old)) => old as u32,
        _ => u32::MAX,
    }
}

/// `memory.fill`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn memory_fill(vmctx: *mut VMContext, mem: u32, dst: u32, val: u32, len: u32) -> u32 {
    // SAFETY: see `memory_grow`.
    let memory = unsafe { &mut *Instance::from_vmctx(vmctx).memory(mem) };
    if !in_bounds(dst, len, memory.byte_size()) {
        return TrapCode::MemoryOutOfBounds.as_u8() as u32;
    }
    memory.data_mut()[dst as usize..(dst + len) as usize].fill(val as u8);
    0
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
    // SAFETY: see `memory_grow`.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    // SAFETY: memory pointers are valid; only raw pointers are used since the two may alias.
    let (d, s) = unsafe { (&*instance.memory(dst_mem), &*instance.memory(src_mem)) };
    if !in_bounds(dst, len, d.byte_size()) || !in_bounds(src, len, s.byte_size()) {
        return TrapCode::MemoryOutOfBounds.as_u8() as u32;
    }
    // SAFETY: both ranges were checked to lie in their memories; `copy` handles overlap.
    unsafe { std::ptr::copy(s.base().add(src as usize), d.base().add(dst as usize), len as usize) };
    0
}

/// `memory.init`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn memory_init(vmctx: *mut VMContext, mem: u32, data: u32, dst: u32, src: u32, len: u32) -> u32 {
    // SAFETY: see `memory_grow`.
    status(unsafe { Instance::from_vmctx(vmctx) }.memory_init(mem, data, dst, src, len))
}

/// `data.drop`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn data_drop(vmctx: *mut VMContext, data: u32) {
    // SAFETY: see `memory_grow`.
    unsafe { Instance::from_vmctx(vmctx) }.drop_data(data)
}

/// `table.grow`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_grow(vmctx: *mut VMContext, table: u32, delta: u32, init: u64) -> u32 {
    // SAFETY: see `memory_grow`.
    let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
    table.grow(delta, init as usize).unwrap_or(u32::MAX)
}

/// `table.fill`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_fill(vmctx: *mut VMContext, table: u32, dst: u32, val: u64, len: u32) -> u32 {
    // SAFETY: see `memory_grow`.
    let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
    if table.fill(dst, val as usize, len) {
        0
    } else {
        TrapCode::TableOutOfBounds.as_u8() as u32
    }
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
    // SAFETY: see `memory_grow`.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    let (d, s) = (instance.table(dst_t), instance.table(src_t));
    let src_table = (d != s).then_some(s);
    // SAFETY: table pointers are valid; `src_table` is another table when given.
    if unsafe { Table::copy(&mut *d, src_table, dst, src, len) } {
        0
    } else {
        TrapCode::TableOutOfBounds.as_u8() as u32
    }
}

/// `table.set`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_set(vmctx: *mut VMContext, table: u32, elem: u32, value: u64) -> u32 {
    // SAFETY: see `memory_grow`.
    let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
    if table.set(elem, value as usize) {
        0
    } else {
        TrapCode::TableOutOfBounds.as_u8() as u32
    }
}

/// Makes element `elem` of a `funcref` table, which compiled code found not initialized yet.
///
/// # Safety
/// See [`memory_grow`]; `elem` is in bounds (compiled code checked it).
pub unsafe extern "C" fn table_get_lazy(vmctx: *mut VMContext, table: u32, elem: u32) -> u64 {
    // SAFETY: see `memory_grow`.
    let table = unsafe { &mut *Instance::from_vmctx(vmctx).table(table) };
    table.get(elem).unwrap_or(0) as u64
}

/// `ref.func`.
///
/// # Safety
/// See [`memory_grow`]; `func` is a function of the instance that may be referenced (validation).
pub unsafe extern "C" fn ref_func(vmctx: *mut VMContext, func: u32) -> u64 {
    // SAFETY: see `memory_grow`.
    unsafe { Instance::from_vmctx(vmctx) }.func_ref(func) as u64
}

/// `table.init`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn table_init(vmctx: *mut VMContext, table: u32, elem: u32, dst: u32, src: u32, len: u32) -> u32 {
    // SAFETY: see `memory_grow`.
    status(unsafe { Instance::from_vmctx(vmctx) }.table_init(table, elem, dst, src, len))
}

/// `elem.drop`.
///
/// # Safety
/// See [`memory_grow`].
pub unsafe extern "C" fn elem_drop(vmctx: *mut VMContext, elem: u32) {
    // SAFETY: see `memory_grow`.
    unsafe { Instance::from_vmctx(vmctx) }.drop_element(elem)
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
