//! Translates one Wasm function body to Cranelift IR, validating it as it goes.
//!
//! Hazard rules (as in every Wasm-to-SSA translator):
//! - The value stack holds SSA values; a control frame records the stack height at its entry (below its
//!   parameters) and is the only thing allowed to truncate the stack, at `else` and `end`.
//! - Branches carry the target's arity as block arguments: a block's or an if's results at its end
//!   block, a loop's parameters at its header.
//! - After `br`, `br_table`, `return` and `unreachable` the code is unreachable: operators are validated
//!   but not translated until the enclosing frame ends; nested frames opened meanwhile are only counted.
//! - A frame's end block is sealed at `end` (every branch to it lies inside the frame); a loop header is
//!   sealed at the loop's `end` (every back edge lies inside it).

use super::environ::{wasm_error, FunctionInput};
use super::func_env::{ir_type, wasm_signature, FuncEnv};
use super::memory::{self, LoadKind};
use super::numeric::translate_numeric;
use super::Tunables;
use crate::environ::builtins::Builtin;
use crate::environ::info::ModuleInfo;
use crate::environ::vmoffsets::{VMCTX_STORE_CTX, VMSTORE_CONTEXT_STACK_LIMIT};
use crate::trap::TrapCode;
use crate::types::ValType;
use anyhow::{bail, Result};
use cranelift_codegen::ir::{
    self, condcodes::IntCC, types::*, Block, BlockArg, Function, GlobalValueData, InstBuilder, JumpTableData,
    MemFlagsData, UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{BlockType, FuncValidatorAllocations, Operator};

/// What kind of construct a control frame is.
enum FrameKind {
    Block,
    Loop { header: Block },
    If { else_block: Block, else_params: Vec<Value>, has_else: bool },
}

struct ControlFrame {
    kind: FrameKind,
    /// The block after `end`; its parameters are the frame's results.
    dest: Block,
    num_params: usize,
    num_results: usize,
    /// Stack height below the frame's parameters.
    height: usize,
    /// Whether anything jumps to `dest`.
    dest_reached: bool,
    /// With fuel accounting, for an `if` without `else` that nothing inside branches out of to
    /// its end: the cost before the `if`, which its arm pays with its first charge and gets back
    /// at its end, and which the code after the `if` pays for every path (so that the false edge
    /// has no code of its own and can jump straight to the end). 0 otherwise.
    fuel_debt: i64,
}

impl ControlFrame {
    /// The block a branch to this frame targets and the number of values it carries.
    fn branch_target(&self) -> (Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.num_params),
            _ => (self.dest, self.num_results),
        }
    }
}

/// Reusable per-thread translation state.
#[derive(Default)]
pub struct FuncTranslator {
    fbc: FunctionBuilderContext,
    allocs: FuncValidatorAllocations,
}

struct State {
    stack: Vec<Value>,
    control: Vec<ControlFrame>,
    reachable: bool,
    /// Frames opened while unreachable, not yet closed.
    unreachable_depth: usize,
    locals: Vec<Variable>,
}

impl State {
    fn pop(&mut self) -> Value {
        self.stack.pop().expect("validated: stack underflow")
    }
    fn popn(&mut self, n: usize) -> Vec<Value> {
        let at = self.stack.len() - n;
        self.stack.split_off(at)
    }
    fn peekn(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }
}

fn block_args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

fn block_type(info: &ModuleInfo, bt: BlockType) -> Result<(Vec<ValType>, Vec<ValType>)> {
    Ok(match bt {
        BlockType::Empty => (vec![], vec![]),
        BlockType::Type(t) => (vec![], vec![ValType::from_wasmparser(t)?]),
        BlockType::FuncType(i) => {
            let ty = &info.types[i as usize];
            (ty.params().to_vec(), ty.results().to_vec())
        }
    })
}

fn block_with_params(b: &mut FunctionBuilder<'_>, types: &[ValType]) -> Block {
    let block = b.create_block();
    for t in types {
        b.append_block_param(block, ir_type(*t));
    }
    block
}

impl FuncTranslator {
    /// Validates and translates defined function `defined_index` into a new [`Function`].
    pub fn translate(
        &mut self,
        info: &ModuleInfo,
        tunables: &Tunables,
        defined_index: u32,
        input: FunctionInput<'_>,
    ) -> Result<Function> {
        let func_index = info.num_imported_funcs + defined_index;
        let ty = info.func_type(func_index);
        let mut func = Function::with_name_signature(UserFuncName::user(0, defined_index), wasm_signature(ty));
        let mut validator = input.validator.into_validator(std::mem::take(&mut self.allocs));
        let result = self.translate_body(info, tunables, func_index, &input.body, &mut validator, &mut func);
        self.allocs = validator.into_allocations();
        if result.is_err() {
            // A failed translation leaves the builder context dirty.
            self.fbc = FunctionBuilderContext::new();
        }
        result.map(|_| func)
    }

    fn translate_body(
        &mut self,
        info: &ModuleInfo,
        tunables: &Tunables,
        func_index: u32,
        body: &wasmparser::FunctionBody<'_>,
        validator: &mut wasmparser::FuncValidator<wasmparser::ValidatorResources>,
        func: &mut Function,
    ) -> Result<()> {
        let ty = info.func_type(func_index).clone();
        let mut b = FunctionBuilder::new(func, &mut self.fbc);
        let mut env = FuncEnv::new(info, tunables);

        // Stack limit: vmctx -> store context -> stack_limit, checked by the prologue.
        let vm_gv = b.create_global_value(GlobalValueData::VMContext);
        let ro = b.func.dfg.mem_flags.insert(MemFlagsData::trusted().with_readonly()).expect("few flags");
        let plain = b.func.dfg.mem_flags.insert(MemFlagsData::trusted()).expect("few flags");
        let store_ctx = b.create_global_value(GlobalValueData::Load {
            base: vm_gv,
            offset: (VMCTX_STORE_CTX as i32).into(),
            global_type: I64,
            flags: ro,
        });
        let limit = b.create_global_value(GlobalValueData::Load {
            base: store_ctx,
            offset: (VMSTORE_CONTEXT_STACK_LIMIT as i32).into(),
            global_type: I64,
            flags: plain,
        });
        b.func.stack_limit = Some(limit);

        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        env.vmctx = b.block_params(entry)[0];

        let mut state =
            State { stack: Vec::new(), control: Vec::new(), reachable: true, unreachable_depth: 0, locals: Vec::new() };
        for (i, t) in ty.params().iter().enumerate() {
            let var = b.declare_var(ir_type(*t));
            let param = b.block_params(entry)[i + 2];
            b.def_var(var, param);
            state.locals.push(var);
        }
        let mut locals = body.get_locals_reader().map_err(wasm_error)?;
        for _ in 0..locals.get_count() {
            let pos = locals.original_position();
            let (count, wty) = locals.read().map_err(wasm_error)?;
            validator.define_locals(pos, count, wty).map_err(wasm_error)?;
            let vt = ValType::from_wasmparser(wty)?;
            for _ in 0..count {
                let var = b.declare_var(ir_type(vt));
                let zero = zero_value(&mut b, vt);
                b.def_var(var, zero);
                state.locals.push(var);
            }
        }
        env.fuel_function_entry(&mut b);
        env.header_checks(&mut b);

        // The function body is a block whose end returns.
        let ret = block_with_params(&mut b, ty.results());
        state.control.push(ControlFrame {
            kind: FrameKind::Block,
            dest: ret,
            num_params: 0,
            num_results: ty.results().len(),
            height: 0,
            dest_reached: false,
            fuel_debt: 0,
        });

        let reader = locals.get_binary_reader();
        if tunables.consume_fuel {
            env.fuel_set_simple_ifs(simple_ifs(reader.clone()));
        }
        let mut ops = wasmparser::OperatorsReader::new(reader);
        while !ops.eof() {
            let pos = ops.original_position();
            let op = ops.read().map_err(wasm_error)?;
            validator.op(pos, &op).map_err(wasm_error)?;
            if state.reachable {
                fuel_before_op(&op, &mut b, &mut env, &state);
                translate_op(&op, &mut b, &mut env, &mut state)?;
                if matches!(op, Operator::Call { .. } | Operator::CallIndirect { .. }) {
                    // The callee (or a host function) used the store's counter.
                    env.fuel_load(&mut b);
                }
            } else {
                translate_unreachable_op(&op, &mut b, &mut env, &mut state);
            }
            if state.control.is_empty() {
                // The function's final `end`: `ret` is current and holds the results.
                if state.reachable {
                    env.fuel_save(&mut b);
                    let results = state.stack.clone();
                    b.ins().return_(&results);
                }
            }
        }
        ops.finish().map_err(wasm_error)?;
        b.finalize(tunables.frontend_config);
        Ok(())
    }
}

/// What an operator costs in fuel (wasmtime's model): 1, except for those that do no work of their
/// own (structure, `nop`, `drop`) and those that leave the function.
fn fuel_cost(op: &Operator<'_>) -> i64 {
    use Operator as O;
    match op {
        O::Nop | O::Drop | O::Block { .. } | O::Loop { .. } | O::Unreachable | O::Return | O::Else | O::End => 0,
        _ => 1,
    }
}

/// Fuel accounting before a reachable operator (a no-op without `consume_fuel`): adds its cost to the
/// current basic block's, charges that to the fuel variable before an operator that ends the block
/// (for `br_if`, on its taken edge, see `translate_op`), and stores the variable to the store before
/// a call or a return. Loop headers and function entries check it. Every path into a loop header, a
/// call or a return has been charged exactly the cost of the operators it ran.
fn fuel_before_op(op: &Operator<'_>, b: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, state: &State) {
    use Operator as O;
    if !env.tunables.consume_fuel {
        return;
    }
    env.fuel_add(fuel_cost(op));
    match op {
        O::Call { .. } | O::CallIndirect { .. } | O::Return => env.fuel_save(b),
        O::End => {
            // The arm of an `if` with a debt ends: it gets the debt back (see `ControlFrame`).
            env.fuel_add(-state.control.last().map_or(0, |f| f.fuel_debt));
            env.fuel_charge(b)
        }
        O::Unreachable | O::Br { .. } | O::BrTable { .. } | O::Loop { .. } | O::Else => env.fuel_charge(b),
        // `translate_op` charges (or defers) the cost before an `if`: `FuncEnv::fuel_if`.
        _ => {}
    }
}

/// For each `if` of a function body, in order: whether it is simple, without an `else` and without
/// a branch to its own end from inside (which `FuncEnv::fuel_if` needs to defer the cost before
/// it). A linear pre-scan of the operators, before validation: a malformed body ends the scan (the
/// translation then reports the error), and a branch depth out of range is ignored.
fn simple_ifs(reader: wasmparser::BinaryReader<'_>) -> Vec<bool> {
    use Operator as O;
    let mut ops = wasmparser::OperatorsReader::new(reader);
    let mut simple = Vec::new();
    // The open frames: `Some(i)` for the `if` numbered `i`; the function body is the first.
    let mut frames: Vec<Option<usize>> = vec![None];
    let branch = |frames: &[Option<usize>], simple: &mut Vec<bool>, depth: u32| {
        let Some(idx) = (frames.len() as u64).checked_sub(u64::from(depth) + 1) else { return };
        if let Some(Some(i)) = frames.get(idx as usize) {
            simple[*i] = false;
        }
    };
    while !ops.eof() && !frames.is_empty() {
        let Ok(op) = ops.read() else { break };
        match op {
            O::Block { .. } | O::Loop { .. } => frames.push(None),
            O::If { .. } => {
                frames.push(Some(simple.len()));
                simple.push(true);
            }
            O::Else => {
                if let Some(Some(i)) = frames.last() {
                    simple[*i] = false;
                }
            }
            O::End => {
                frames.pop();
            }
            O::Br { relative_depth } | O::BrIf { relative_depth } => branch(&frames, &mut simple, relative_depth),
            O::BrTable { ref targets } => {
                for depth in targets.targets().flatten().chain([targets.default()]) {
                    branch(&frames, &mut simple, depth);
                }
            }
            _ => {}
        }
    }
    simple
}

fn zero_value(b: &mut FunctionBuilder<'_>, ty: ValType) -> Value {
    match ty {
        ValType::I32 => b.ins().iconst(I32, 0),
        ValType::I64 | ValType::FuncRef | ValType::ExternRef => b.ins().iconst(I64, 0),
        ValType::F32 => b.ins().f32const(0.0),
        ValType::F64 => b.ins().f64const(0.0),
    }
}

/// Ends the current block by jumping to `frame`'s destination with the top values.
fn jump_to_frame(b: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, state: &mut State, depth: u32) {
    let idx = state.control.len() - 1 - depth as usize;
    let (target, arity) = state.control[idx].branch_target();
    let args = block_args(state.peekn(arity));
    if !matches!(state.control[idx].kind, FrameKind::Loop { .. }) {
        state.control[idx].dest_reached = true;
        env.fuel_note_jump(b, target);
    }
    b.ins().jump(target, &args);
}

fn translate_unreachable_op(op: &Operator<'_>, b: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, state: &mut State) {
    match op {
        Operator::Block { .. } | Operator::Loop { .. } => state.unreachable_depth += 1,
        Operator::If { .. } => {
            env.fuel_skip_if();
            state.unreachable_depth += 1;
        }
        Operator::Else if state.unreachable_depth == 0 => {
            // The `then` arm ended unreachable; the `else` arm starts reachable.
            let frame = state.control.last_mut().expect("validated");
            if let FrameKind::If { else_block, else_params, has_else } = &mut frame.kind {
                *has_else = true;
                state.stack.truncate(frame.height);
                state.stack.extend_from_slice(else_params);
                b.switch_to_block(*else_block);
                state.reachable = true;
            }
        }
        Operator::End if state.unreachable_depth > 0 => state.unreachable_depth -= 1,
        Operator::End => end_frame(b, env, state),
        _ => {}
    }
}

/// Closes the innermost frame at its `end`.
fn end_frame(b: &mut FunctionBuilder<'_>, env: &mut FuncEnv<'_>, state: &mut State) {
    let mut frame = state.control.pop().expect("validated");
    if frame.fuel_debt != 0 {
        // Every path reaches `dest` with the debt unpaid (the arm's was paid back at `end`): no
        // charges to note, and the code after it pays.
        env.fuel_note_uncharged(frame.dest);
    }
    if state.reachable {
        let args = block_args(state.peekn(frame.num_results));
        env.fuel_note_jump(b, frame.dest);
        b.ins().jump(frame.dest, &args);
        frame.dest_reached = true;
    }
    if let FrameKind::If { else_block, else_params, has_else: false } = &frame.kind {
        // No else arm: the false edge passes the parameters through as results.
        b.switch_to_block(*else_block);
        let args = block_args(else_params);
        env.fuel_note_jump(b, frame.dest);
        b.ins().jump(frame.dest, &args);
        frame.dest_reached = true;
    }
    if let FrameKind::Loop { header } = frame.kind {
        b.seal_block(header);
    }
    state.stack.truncate(frame.height);
    b.switch_to_block(frame.dest);
    b.seal_block(frame.dest);
    env.fuel_enter_join(b, frame.dest);
    env.fuel_add(frame.fuel_debt);
    state.reachable = frame.dest_reached;
    if frame.dest_reached {
        state.stack.extend_from_slice(b.block_params(frame.dest));
    }
}

fn translate_op(
    op: &Operator<'_>,
    b: &mut FunctionBuilder<'_>,
    env: &mut FuncEnv<'_>,
    state: &mut State,
) -> Result<()> {
    use Operator as O;
    match *op {
        O::Nop => {}
        O::Unreachable => {
            b.ins().trap(TrapCode::UnreachableCodeReached.to_clif());
            state.reachable = false;
        }
        O::Block { blockty } => {
            let (params, results) = block_type(env.info, blockty)?;
            let dest = block_with_params(b, &results);
            state.control.push(ControlFrame {
                kind: FrameKind::Block,
                dest,
                num_params: params.len(),
                num_results: results.len(),
                height: state.stack.len() - params.len(),
                dest_reached: false,
                fuel_debt: 0,
            });
        }
        O::Loop { blockty } => {
            let (params, results) = block_type(env.info, blockty)?;
            let header = block_with_params(b, &params);
            let dest = block_with_params(b, &results);
            let args = block_args(&state.popn(params.len()));
            b.ins().jump(header, &args);
            b.switch_to_block(header);
            let height = state.stack.len();
            state.stack.extend_from_slice(b.block_params(header));
            env.header_checks(b);
            state.control.push(ControlFrame {
                kind: FrameKind::Loop { header },
                dest,
                num_params: params.len(),
                num_results: results.len(),
                height,
                dest_reached: false,
                fuel_debt: 0,
            });
        }
        O::If { blockty } => {
            let cond = state.pop();
            let fuel_debt = env.fuel_if(b);
            let (params, results) = block_type(env.info, blockty)?;
            let then_block = b.create_block();
            let else_block = b.create_block();
            let dest = block_with_params(b, &results);
            b.ins().brif(cond, then_block, &[], else_block, &[]);
            b.seal_block(then_block);
            b.seal_block(else_block);
            b.switch_to_block(then_block);
            state.control.push(ControlFrame {
                kind: FrameKind::If { else_block, else_params: state.peekn(params.len()).to_vec(), has_else: false },
                dest,
                num_params: params.len(),
                num_results: results.len(),
                height: state.stack.len() - params.len(),
                dest_reached: false,
                fuel_debt,
            });
        }
        O::Else => {
            let frame = state.control.last_mut().expect("validated");
            let args = block_args(&state.stack[state.stack.len() - frame.num_results..]);
            env.fuel_note_jump(b, frame.dest);
            b.ins().jump(frame.dest, &args);
            frame.dest_reached = true;
            if let FrameKind::If { else_block, else_params, has_else } = &mut frame.kind {
                *has_else = true;
                state.stack.truncate(frame.height);
                state.stack.extend_from_slice(else_params);
                b.switch_to_block(*else_block);
            }
        }
        O::End => end_frame(b, env, state),
        O::Br { relative_depth } => {
            jump_to_frame(b, env, state, relative_depth);
            state.reachable = false;
        }
        O::BrIf { relative_depth } => {
            let cond = state.pop();
            let idx = state.control.len() - 1 - relative_depth as usize;
            let (target, arity) = state.control[idx].branch_target();
            let join = !matches!(state.control[idx].kind, FrameKind::Loop { .. });
            if join {
                state.control[idx].dest_reached = true;
            }
            let args = block_args(state.peekn(arity));
            let next = b.create_block();
            env.fuel_charge_open(b);
            if env.fuel_pending() {
                // The cost so far is charged on the taken edge only; the fall-through carries it on
                // to the block's next charge (one charge per iteration of a loop that exits with
                // `br_if` and continues with `br`, instead of two).
                let edge = b.create_block();
                b.ins().brif(cond, edge, &[], next, &[]);
                b.seal_block(edge);
                b.switch_to_block(edge);
                env.fuel_charge_edge(b);
                if join {
                    env.fuel_note_jump(b, target);
                }
                b.ins().jump(target, &args);
            } else {
                if join {
                    env.fuel_note_uncharged(target);
                }
                b.ins().brif(cond, target, &args, next, &[]);
            }
            b.seal_block(next);
            b.switch_to_block(next);
        }
        O::BrTable { ref targets } => {
            let index = state.pop();
            let mut calls = Vec::with_capacity(targets.len() as usize);
            let mut call_for = |depth: u32, b: &mut FunctionBuilder<'_>, state: &mut State| {
                let idx = state.control.len() - 1 - depth as usize;
                let (target, arity) = state.control[idx].branch_target();
                if !matches!(state.control[idx].kind, FrameKind::Loop { .. }) {
                    state.control[idx].dest_reached = true;
                    env.fuel_note_uncharged(target);
                }
                let args = block_args(state.peekn(arity));
                b.func.dfg.block_call(target, &args)
            };
            for depth in targets.targets() {
                let depth = depth.map_err(wasm_error)?;
                calls.push(call_for(depth, b, state));
            }
            let default = call_for(targets.default(), b, state);
            let jt = b.create_jump_table(JumpTableData::new(default, &calls));
            b.ins().br_table(index, jt);
            state.reachable = false;
        }
        O::Return => {
            let n = state.control[0].num_results;
            let results = state.peekn(n).to_vec();
            b.ins().return_(&results);
            state.reachable = false;
        }
        O::Call { function_index } => {
            let n = env.info.func_type(function_index).params().len();
            let args = state.popn(n);
            let call = env.call(b, function_index, &args);
            state.stack.extend_from_slice(b.inst_results(call));
        }
        O::CallIndirect { type_index, table_index } => {
            let elem = state.pop();
            let n = env.info.types[type_index as usize].params().len();
            let args = state.popn(n);
            let call = env.call_indirect(b, type_index, table_index, elem, &args);
            state.stack.extend_from_slice(b.inst_results(call));
        }
        O::Drop => {
            state.pop();
        }
        O::Select | O::TypedSelect { .. } => {
            let cond = state.pop();
            let f = state.pop();
            let t = state.pop();
            state.stack.push(b.ins().select(cond, t, f));
        }
        O::LocalGet { local_index } => state.stack.push(b.use_var(state.locals[local_index as usize])),
        O::LocalSet { local_index } => {
            let v = state.pop();
            b.def_var(state.locals[local_index as usize], v);
        }
        O::LocalTee { local_index } => {
            let v = *state.stack.last().expect("validated");
            b.def_var(state.locals[local_index as usize], v);
        }
        O::GlobalGet { global_index } => state.stack.push(env.global_get(b, global_index)),
        O::GlobalSet { global_index } => {
            let v = state.pop();
            env.global_set(b, global_index, v);
        }

        // Memory.
        O::I32Load { ref memarg } => load(env, b, state, memarg, I32, LoadKind::Plain),
        O::I64Load { ref memarg } => load(env, b, state, memarg, I64, LoadKind::Plain),
        O::F32Load { ref memarg } => load(env, b, state, memarg, F32, LoadKind::Plain),
        O::F64Load { ref memarg } => load(env, b, state, memarg, F64, LoadKind::Plain),
        O::I32Load8S { ref memarg } => load(env, b, state, memarg, I32, LoadKind::Signed(1)),
        O::I32Load8U { ref memarg } => load(env, b, state, memarg, I32, LoadKind::Unsigned(1)),
        O::I32Load16S { ref memarg } => load(env, b, state, memarg, I32, LoadKind::Signed(2)),
        O::I32Load16U { ref memarg } => load(env, b, state, memarg, I32, LoadKind::Unsigned(2)),
        O::I64Load8S { ref memarg } => load(env, b, state, memarg, I64, LoadKind::Signed(1)),
        O::I64Load8U { ref memarg } => load(env, b, state, memarg, I64, LoadKind::Unsigned(1)),
        O::I64Load16S { ref memarg } => load(env, b, state, memarg, I64, LoadKind::Signed(2)),
        O::I64Load16U { ref memarg } => load(env, b, state, memarg, I64, LoadKind::Unsigned(2)),
        O::I64Load32S { ref memarg } => load(env, b, state, memarg, I64, LoadKind::Signed(4)),
        O::I64Load32U { ref memarg } => load(env, b, state, memarg, I64, LoadKind::Unsigned(4)),
        O::I32Store { ref memarg } | O::F32Store { ref memarg } | O::I64Store32 { ref memarg } => {
            store(env, b, state, memarg, 4)
        }
        O::I64Store { ref memarg } | O::F64Store { ref memarg } => store(env, b, state, memarg, 8),
        O::I32Store8 { ref memarg } | O::I64Store8 { ref memarg } => store(env, b, state, memarg, 1),
        O::I32Store16 { ref memarg } | O::I64Store16 { ref memarg } => store(env, b, state, memarg, 2),
        O::MemorySize { mem } => state.stack.push(memory::memory_size(env, b, mem)),
        O::MemoryGrow { mem } => {
            let delta = state.pop();
            let mem = b.ins().iconst(I32, mem as i64);
            let r = env.call_builtin(b, Builtin::MemoryGrow, &[mem, delta]).expect("returns");
            state.stack.push(r);
        }
        O::MemoryFill { mem } => {
            let [dst, val, len] = pop3(state);
            let mem = b.ins().iconst(I32, mem as i64);
            env.call_builtin_checked(b, Builtin::MemoryFill, &[mem, dst, val, len]);
        }
        O::MemoryCopy { dst_mem, src_mem } => {
            let [dst, src, len] = pop3(state);
            let d = b.ins().iconst(I32, dst_mem as i64);
            let s = b.ins().iconst(I32, src_mem as i64);
            env.call_builtin_checked(b, Builtin::MemoryCopy, &[d, s, dst, src, len]);
        }
        O::MemoryInit { data_index, mem } => {
            let [dst, src, len] = pop3(state);
            let m = b.ins().iconst(I32, mem as i64);
            let d = b.ins().iconst(I32, data_index as i64);
            env.call_builtin_checked(b, Builtin::MemoryInit, &[m, d, dst, src, len]);
        }
        O::DataDrop { data_index } => {
            let d = b.ins().iconst(I32, data_index as i64);
            env.call_builtin(b, Builtin::DataDrop, &[d]);
        }

        // Tables and references.
        O::TableGet { table } => {
            let elem = state.pop();
            let value = if env.info.tables[table as usize].element == ValType::FuncRef {
                env.funcref_table_get(b, table, elem)
            } else {
                let addr = env.table_element_addr(b, table, elem);
                b.ins().load(I64, MemFlagsData::trusted(), addr, 0)
            };
            state.stack.push(value);
        }
        O::TableSet { table } => {
            // Through the runtime, which encodes the element and tracks what was written.
            let value = state.pop();
            let elem = state.pop();
            let t = b.ins().iconst(I32, table as i64);
            env.call_builtin_checked(b, Builtin::TableSet, &[t, elem, value]);
        }
        O::TableSize { table } => state.stack.push(env.table_size(b, table)),
        O::TableGrow { table } => {
            let delta = state.pop();
            let init = state.pop();
            let t = b.ins().iconst(I32, table as i64);
            let r = env.call_builtin(b, Builtin::TableGrow, &[t, delta, init]).expect("returns");
            state.stack.push(r);
        }
        O::TableFill { table } => {
            let [dst, val, len] = pop3(state);
            let t = b.ins().iconst(I32, table as i64);
            env.call_builtin_checked(b, Builtin::TableFill, &[t, dst, val, len]);
        }
        O::TableCopy { dst_table, src_table } => {
            let [dst, src, len] = pop3(state);
            let d = b.ins().iconst(I32, dst_table as i64);
            let s = b.ins().iconst(I32, src_table as i64);
            env.call_builtin_checked(b, Builtin::TableCopy, &[d, s, dst, src, len]);
        }
        O::TableInit { elem_index, table } => {
            let [dst, src, len] = pop3(state);
            let t = b.ins().iconst(I32, table as i64);
            let e = b.ins().iconst(I32, elem_index as i64);
            env.call_builtin_checked(b, Builtin::TableInit, &[t, e, dst, src, len]);
        }
        O::ElemDrop { elem_index } => {
            let e = b.ins().iconst(I32, elem_index as i64);
            env.call_builtin(b, Builtin::ElemDrop, &[e]);
        }
        O::RefNull { .. } => state.stack.push(b.ins().iconst(I64, 0)),
        O::RefIsNull => {
            let v = state.pop();
            let is_null = b.ins().icmp_imm_s(IntCC::Equal, v, 0);
            state.stack.push(b.ins().uextend(I32, is_null));
        }
        O::RefFunc { function_index } => state.stack.push(env.func_ref(b, function_index)),

        ref other => {
            if !translate_numeric(other, b, &mut state.stack) {
                bail!("unsupported operator {other:?}");
            }
        }
    }
    Ok(())
}

fn pop3(state: &mut State) -> [Value; 3] {
    let c = state.pop();
    let bb = state.pop();
    let a = state.pop();
    [a, bb, c]
}

fn load(
    env: &FuncEnv<'_>,
    b: &mut FunctionBuilder<'_>,
    state: &mut State,
    memarg: &wasmparser::MemArg,
    ty: ir::Type,
    kind: LoadKind,
) {
    let index = state.pop();
    let v = memory::load(env, b, memarg, ty, kind, index);
    state.stack.push(v);
}

fn store(env: &FuncEnv<'_>, b: &mut FunctionBuilder<'_>, state: &mut State, memarg: &wasmparser::MemArg, size: u32) {
    let value = state.pop();
    let index = state.pop();
    memory::store(env, b, memarg, size, index, value);
}
