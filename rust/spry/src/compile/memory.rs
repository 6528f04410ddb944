//! Linear-memory access: address computation with guard-page or explicit bounds checks, loads and
//! stores, and `memory.size` / `memory.grow`.
//!
//! With guard pages a memory's reservation is [`super::Tunables::memory_reservation`] (4 GiB by
//! default) plus [`super::Tunables::guard_size`], so an access whose every possible address falls in
//! it (see [`super::Tunables::elide_bounds_check`]) needs no check: an out-of-bounds index faults in
//! the inaccessible part and the signal handler turns the fault into a trap. Other accesses, and every
//! access when guard pages are off or the reservation is smaller, compare `index + offset + size` with
//! the memory's current length.

use super::func_env::FuncEnv;
use crate::trap::TrapCode;
use cranelift_codegen::ir::{self, condcodes::IntCC, types::*, InstBuilder, MemFlagsData, Value};
use cranelift_frontend::FunctionBuilder;
use wasmparser::MemArg;

/// The memory index a `MemArg` addresses.
pub fn memarg_memory(m: &MemArg) -> u32 {
    match m.target {
        wasmparser::MemArgTarget::Memory(i) => i,
        // Multi-memory array targets don't exist in Wasm 2.0; validation rejects them.
        _ => 0,
    }
}

/// Computes the address of an access of `size` bytes at `index + memarg.offset`, after whatever bounds
/// check is needed. Returns the address and the flags for the access.
pub fn heap_address(
    env: &FuncEnv<'_>,
    b: &mut FunctionBuilder<'_>,
    memarg: &MemArg,
    index: Value,
    size: u32,
) -> (Value, MemFlagsData) {
    let mem = memarg_memory(memarg);
    let index = b.ins().uextend(I64, index);
    let offset = memarg.offset;
    let end = offset.saturating_add(u64::from(size));
    if !env.tunables.elide_bounds_check(end) {
        let length = env.memory_length(b, mem);
        let last = b.ins().iadd_imm_u(index, end as i64);
        let oob = b.ins().icmp(IntCC::UnsignedGreaterThan, last, length);
        b.ins().trapnz(oob, TrapCode::MemoryOutOfBounds.to_clif());
    }
    let base = env.memory_base(b, mem);
    let mut addr = b.ins().iadd(base, index);
    if offset != 0 {
        addr = b.ins().iadd_imm_u(addr, offset as i64);
    }
    let flags = MemFlagsData::new().with_trap_code(Some(TrapCode::MemoryOutOfBounds.to_clif()));
    (addr, flags)
}

/// How a load widens its result.
#[derive(Clone, Copy)]
pub enum LoadKind {
    /// A full-width load of the type.
    Plain,
    /// Load `n` bytes and sign-extend.
    Signed(u8),
    /// Load `n` bytes and zero-extend.
    Unsigned(u8),
}

/// Translates a load of `ty`.
pub fn load(
    env: &FuncEnv<'_>,
    b: &mut FunctionBuilder<'_>,
    memarg: &MemArg,
    ty: ir::Type,
    kind: LoadKind,
    index: Value,
) -> Value {
    let size = match kind {
        LoadKind::Plain => ty.bytes(),
        LoadKind::Signed(n) | LoadKind::Unsigned(n) => n as u32,
    };
    let (addr, flags) = heap_address(env, b, memarg, index, size);
    match kind {
        LoadKind::Plain => b.ins().load(ty, flags, addr, 0),
        LoadKind::Signed(1) => b.ins().sload8(ty, flags, addr, 0),
        LoadKind::Signed(2) => b.ins().sload16(ty, flags, addr, 0),
        LoadKind::Signed(_) => b.ins().sload32(flags, addr, 0),
        LoadKind::Unsigned(1) => b.ins().uload8(ty, flags, addr, 0),
        LoadKind::Unsigned(2) => b.ins().uload16(ty, flags, addr, 0),
        LoadKind::Unsigned(_) => b.ins().uload32(flags, addr, 0),
    }
}

/// Translates a store of `value`, truncated to `size` bytes.
pub fn store(env: &FuncEnv<'_>, b: &mut FunctionBuilder<'_>, memarg: &MemArg, size: u32, index: Value, value: Value) {
    let (addr, flags) = heap_address(env, b, memarg, index, size);
    let full = b.func.dfg.value_type(value).bytes();
    match (size, full) {
        (1, _) => b.ins().istore8(flags, value, addr, 0),
        (2, _) => b.ins().istore16(flags, value, addr, 0),
        (4, 8) => b.ins().istore32(flags, value, addr, 0),
        _ => b.ins().store(flags, value, addr, 0),
    };
}

/// `memory.size`: the current length in pages.
pub fn memory_size(env: &FuncEnv<'_>, b: &mut FunctionBuilder<'_>, mem: u32) -> Value {
    let length = env.memory_length(b, mem);
    let pages = b.ins().ushr_imm_u(length, 16);
    b.ins().ireduce(I32, pages)
}
