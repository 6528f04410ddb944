//! Trampolines compiled per function signature: the host-to-wasm entry that reads arguments from an
//! array of 64-bit slots, and the wasm-to-host stub that spills arguments into such an array and calls
//! a host function.
//!
//! Slots hold each value in its low bytes, zero-extended: i32 and f32 in the low 4 bytes, i64, f64 and
//! references in all 8.

use super::func_env::{ir_type, wasm_signature};
use crate::environ::vmoffsets::{VMHOST_FUNC_CONTEXT_HOST_CALL, VMHOST_FUNC_CONTEXT_RAISE_TRAP};
use crate::types::FuncType;
use cranelift_codegen::ir::{
    types::*, AbiParam, Function, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind, UserFuncName,
    Value,
};
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

fn store_slot(b: &mut FunctionBuilder<'_>, value: Value, base: Value, index: usize) {
    let ty = b.func.dfg.value_type(value);
    let wide = match ty {
        I32 => b.ins().uextend(I64, value),
        F32 => {
            let bits = b.ins().bitcast(I32, MemFlagsData::new(), value);
            b.ins().uextend(I64, bits)
        }
        _ => value,
    };
    b.ins().store(MemFlagsData::trusted(), wide, base, (index * 8) as i32);
}

/// The host-to-wasm entry trampoline for `ty`:
/// `extern "C" fn(callee_vmctx, caller_vmctx, wasm_call, values: *mut u64)`.
pub fn entry_trampoline(ty: &FuncType, fc: TargetFrontendConfig) -> Function {
    let mut sig = Signature::new(CallConv::SystemV);
    sig.params.extend([AbiParam::new(I64); 4]);
    let mut func = Function::with_name_signature(UserFuncName::user(1, 0), sig);
    let mut fbc = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fbc);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let p = b.block_params(entry).to_vec();
    let (callee_vmctx, caller_vmctx, code, values) = (p[0], p[1], p[2], p[3]);
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, t) in ty.params().iter().enumerate() {
        args.push(b.ins().load(ir_type(*t), MemFlagsData::trusted(), values, (i * 8) as i32));
    }
    let wasm_sig = b.import_signature(wasm_signature(ty));
    let call = b.ins().call_indirect(wasm_sig, code, &args);
    let results = b.inst_results(call).to_vec();
    for (i, r) in results.into_iter().enumerate() {
        store_slot(&mut b, r, values, i);
    }
    b.ins().return_(&[]);
    b.finalize(fc);
    func
}

/// The wasm-to-host trampoline for `ty`, called with the Wasm convention; its callee VMContext is a
/// `VMHostFuncContext` whose `host_call` it calls with the arguments in an array of slots. A nonzero
/// status from the host raises the trap recorded in the current activation through the context's
/// `raise_trap`. The code holds no absolute address (it is position-independent and has no
/// relocations), so that it can be stored in an artifact and loaded in another process.
pub fn host_trampoline(ty: &FuncType, fc: TargetFrontendConfig) -> Function {
    let mut func = Function::with_name_signature(UserFuncName::user(1, 1), wasm_signature(ty));
    let mut fbc = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut fbc);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    b.seal_block(entry);
    let p = b.block_params(entry).to_vec();
    let (vmctx, caller_vmctx) = (p[0], p[1]);
    let slots = ty.slots().max(1);
    let ss = b.create_sized_stack_slot(StackSlotData::new(StackSlotKind::ExplicitSlot, (slots * 8) as u32, 3));
    let values = b.ins().stack_addr(I64, ss, 0);
    for (i, v) in p[2..].iter().enumerate() {
        store_slot(&mut b, *v, values, i);
    }
    let mut host_sig = Signature::new(CallConv::SystemV);
    host_sig.params.extend([AbiParam::new(I64); 4]);
    host_sig.returns.push(AbiParam::new(I32));
    let host_sig = b.import_signature(host_sig);
    let host_call = b.ins().load(I64, MemFlagsData::trusted(), vmctx, VMHOST_FUNC_CONTEXT_HOST_CALL as i32);
    let n = b.ins().iconst(I64, ty.slots() as i64);
    let call = b.ins().call_indirect(host_sig, host_call, &[vmctx, caller_vmctx, values, n]);
    let status = b.inst_results(call)[0];
    let raise = b.create_block();
    let done = b.create_block();
    b.set_cold_block(raise);
    b.ins().brif(status, raise, &[], done, &[]);
    b.seal_block(raise);
    b.seal_block(done);

    b.switch_to_block(raise);
    let mut raise_sig = Signature::new(CallConv::SystemV);
    raise_sig.params.extend([AbiParam::new(I64), AbiParam::new(I32)]);
    let raise_sig = b.import_signature(raise_sig);
    let raise_fn = b.ins().load(I64, MemFlagsData::trusted(), vmctx, VMHOST_FUNC_CONTEXT_RAISE_TRAP as i32);
    let zero = b.ins().iconst(I32, 0);
    b.ins().call_indirect(raise_sig, raise_fn, &[caller_vmctx, zero]);
    b.ins().trap(crate::TrapCode::UnreachableCodeReached.to_clif());

    b.switch_to_block(done);
    let mut results = Vec::with_capacity(ty.results().len());
    for (i, t) in ty.results().iter().enumerate() {
        results.push(b.ins().load(ir_type(*t), MemFlagsData::trusted(), values, (i * 8) as i32));
    }
    b.ins().return_(&results);
    b.finalize(fc);
    func
}
