//! Everything a function's code reads from or writes to its VMContext: globals, memory and table
//! definitions, function references, calls, libcalls and the interrupt check.
//!
//! Loads of values that never change for an instance's lifetime (memory bases, import pointers,
//! type ids) are marked `readonly` + `can_move`, so Cranelift deduplicates and hoists them.

use super::Tunables;
use crate::environ::builtins::{Builtin, BuiltinParam};
use crate::environ::index::{FuncIndex, GlobalIndex, MemoryIndex, TableIndex};
use crate::environ::info::ModuleInfo;
use crate::environ::vmoffsets::*;
use crate::environ::FUNCREF_INIT_BIT;
use crate::trap::TrapCode;
use crate::types::{FuncType, ValType};
use cranelift_codegen::entity::packed_option::ReservedValue;
use cranelift_codegen::ir::{
    self, immediates::Imm64, types::*, AbiParam, ArgumentPurpose, Block, ExtFuncData, ExternalName, FuncRef, Inst,
    InstBuilder, InstructionData, MemFlagsData, Opcode, SigRef, Signature, UserExternalName, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, Variable};
use std::collections::HashMap;

/// The Cranelift type of a Wasm value type (references are pointers).
pub fn ir_type(ty: ValType) -> ir::Type {
    match ty {
        ValType::I32 => I32,
        ValType::I64 => I64,
        ValType::F32 => F32,
        ValType::F64 => F64,
        ValType::FuncRef | ValType::ExternRef => I64,
    }
}

/// The Cranelift signature of a Wasm function: `(callee_vmctx, caller_vmctx, params...) -> results`
/// with the `tail` convention.
pub fn wasm_signature(ty: &FuncType) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::special(I64, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(I64));
    sig.params.extend(ty.params().iter().map(|t| AbiParam::new(ir_type(*t))));
    sig.returns.extend(ty.results().iter().map(|t| AbiParam::new(ir_type(*t))));
    sig
}

/// Flags for loads of VMContext fields that never change while the instance lives.
pub fn readonly() -> MemFlagsData {
    MemFlagsData::trusted().with_readonly().with_can_move()
}

/// Where a global lives: a base pointer and an offset from it.
pub struct GlobalAddr {
    /// The base (the vmctx for a defined global, the import's pointer otherwise).
    pub base: Value,
    /// Offset from `base`.
    pub offset: i32,
}

/// Per-function translation environment.
pub struct FuncEnv<'m> {
    /// The module being compiled.
    pub info: &'m ModuleInfo,
    /// Code-shaping settings.
    pub tunables: &'m Tunables,
    /// The function's own VMContext parameter.
    pub vmctx: Value,
    sigs: HashMap<u32, SigRef>,
    direct: HashMap<u32, FuncRef>,
    builtin_sigs: HashMap<u32, SigRef>,
    /// With fuel accounting: the variable holding the store's fuel left while the function runs.
    fuel_var: Option<Variable>,
    /// The cost of the operators translated since the last charge to `fuel_var`.
    fuel_pending: i64,
    /// Open charges: the constants of the last charge on every path into the current point, when
    /// no split, call, check or return came after them (valid only while `fuel_open_block` is the
    /// current block). A pending cost is added to them instead of being charged on its own, which
    /// folds the code after a join into the charges of its arms (see [`Self::fuel_enter_join`]).
    fuel_open: Vec<Inst>,
    fuel_open_block: Option<Block>,
    /// For each join (a `block`, `if` or function end), the open charges of the jumps into it so
    /// far, or `None` once a jump without one reached it.
    fuel_joins: HashMap<Block, Option<Vec<Inst>>>,
    /// For each `if` of the body, in order, whether it is simple (`func_translator::simple_ifs`),
    /// and how many were seen.
    fuel_simple_ifs: Vec<bool>,
    fuel_ifs_seen: usize,
}

impl<'m> FuncEnv<'m> {
    /// A new environment; `vmctx` is filled in once the entry block exists.
    pub fn new(info: &'m ModuleInfo, tunables: &'m Tunables) -> Self {
        FuncEnv {
            info,
            tunables,
            vmctx: Value::reserved_value(),
            sigs: HashMap::new(),
            direct: HashMap::new(),
            builtin_sigs: HashMap::new(),
            fuel_var: None,
            fuel_pending: 0,
            fuel_open: Vec::new(),
            fuel_open_block: None,
            fuel_joins: HashMap::new(),
            fuel_simple_ifs: Vec::new(),
            fuel_ifs_seen: 0,
        }
    }

    fn offsets(&self) -> &VMOffsets {
        &self.info.offsets
    }

    /// Loads a pointer-sized VMContext field that never changes.
    fn load_vmctx_ptr(&self, b: &mut FunctionBuilder<'_>, offset: u32) -> Value {
        b.ins().load(I64, readonly(), self.vmctx, offset as i32)
    }

    /// The address of global `index`.
    pub fn global_addr(&self, b: &mut FunctionBuilder<'_>, index: u32) -> GlobalAddr {
        let index = GlobalIndex(index);
        match self.info.defined_global(index) {
            None => {
                let base = self.load_vmctx_ptr(b, self.offsets().imported_global(index));
                GlobalAddr { base, offset: 0 }
            }
            Some(defined) => GlobalAddr { base: self.vmctx, offset: self.offsets().defined_global(defined) as i32 },
        }
    }

    /// `global.get`.
    pub fn global_get(&self, b: &mut FunctionBuilder<'_>, index: u32) -> Value {
        let g = &self.info.globals[index as usize];
        let addr = self.global_addr(b, index);
        let flags = if g.ty.mutable { MemFlagsData::trusted() } else { readonly() };
        b.ins().load(ir_type(g.ty.content), flags, addr.base, addr.offset)
    }

    /// `global.set`.
    pub fn global_set(&self, b: &mut FunctionBuilder<'_>, index: u32, value: Value) {
        let addr = self.global_addr(b, index);
        b.ins().store(MemFlagsData::trusted(), value, addr.base, addr.offset);
    }

    /// A pointer to memory `index`'s `VMMemoryDefinition` and the offset of the
    /// definition from it.
    pub fn memory_definition(&self, b: &mut FunctionBuilder<'_>, index: u32) -> (Value, i32) {
        let index = MemoryIndex(index);
        match self.info.defined_memory(index) {
            None => (self.load_vmctx_ptr(b, self.offsets().imported_memory(index)), 0),
            Some(defined) => (self.vmctx, self.offsets().defined_memory(defined) as i32),
        }
    }

    /// The base address of memory `index` (it never moves).
    pub fn memory_base(&self, b: &mut FunctionBuilder<'_>, index: u32) -> Value {
        let (def, off) = self.memory_definition(b, index);
        b.ins().load(I64, readonly(), def, off + VMMEMORY_DEFINITION_BASE as i32)
    }

    /// The current length of memory `index` in bytes.
    pub fn memory_length(&self, b: &mut FunctionBuilder<'_>, index: u32) -> Value {
        let (def, off) = self.memory_definition(b, index);
        b.ins().load(I64, MemFlagsData::trusted(), def, off + VMMEMORY_DEFINITION_LENGTH as i32)
    }

    /// A pointer to table `index`'s `VMTableDefinition` and the offset of the
    /// definition from it.
    pub fn table_definition(&self, b: &mut FunctionBuilder<'_>, index: u32) -> (Value, i32) {
        let index = TableIndex(index);
        match self.info.defined_table(index) {
            None => (self.load_vmctx_ptr(b, self.offsets().imported_table(index)), 0),
            Some(defined) => (self.vmctx, self.offsets().defined_table(defined) as i32),
        }
    }

    /// The address of element `elem` (an i32) of table `table`, after a bounds check that traps with
    /// [`TrapCode::TableOutOfBounds`].
    pub fn table_element_addr(&self, b: &mut FunctionBuilder<'_>, table: u32, elem: Value) -> Value {
        let (def, off) = self.table_definition(b, table);
        let len = b.ins().load(I64, MemFlagsData::trusted(), def, off + VMTABLE_DEFINITION_ELEMENTS as i32);
        let elem = b.ins().uextend(I64, elem);
        let oob = b.ins().icmp(ir::condcodes::IntCC::UnsignedGreaterThanOrEqual, elem, len);
        b.ins().trapnz(oob, TrapCode::TableOutOfBounds.to_clif());
        let base = b.ins().load(I64, MemFlagsData::trusted(), def, off + VMTABLE_DEFINITION_BASE as i32);
        let scaled = b.ins().ishl_imm_u(elem, 3);
        b.ins().iadd(base, scaled)
    }

    /// `table.size`.
    pub fn table_size(&self, b: &mut FunctionBuilder<'_>, table: u32) -> Value {
        let (def, off) = self.table_definition(b, table);
        let len = b.ins().load(I64, MemFlagsData::trusted(), def, off + VMTABLE_DEFINITION_ELEMENTS as i32);
        b.ins().ireduce(I32, len)
    }

    /// The function reference of function `func` (`ref.func`). A defined function's reference is made
    /// on first use (by the runtime, see `Instance::func_ref`).
    pub fn func_ref(&mut self, b: &mut FunctionBuilder<'_>, func: u32) -> Value {
        if self.info.is_imported_func(func) {
            let off = self.offsets().imported_function(FuncIndex(func)) + VMFUNCTION_IMPORT_FUNC_REF;
            self.load_vmctx_ptr(b, off)
        } else {
            let f = b.ins().iconst(I32, func as i64);
            self.call_builtin(b, Builtin::RefFunc, &[f]).expect("returns")
        }
    }

    /// Element `elem` of `funcref` table `table` (bounds-checked, trapping with
    /// [`TrapCode::TableOutOfBounds`]): a `VMFuncRef` pointer or 0. An element not initialized yet
    /// (stored as 0) is made by the runtime; others are stored with bit 0 set (see `vm::table`).
    pub fn funcref_table_get(&mut self, b: &mut FunctionBuilder<'_>, table: u32, elem: Value) -> Value {
        let addr = self.table_element_addr(b, table, elem);
        let raw = b.ins().load(I64, MemFlagsData::trusted(), addr, 0);
        let lazy = b.create_block();
        let done = b.create_block();
        b.append_block_param(done, I64);
        b.set_cold_block(lazy);
        let decoded = b.ins().band_imm_s(raw, !(FUNCREF_INIT_BIT as i64));
        b.ins().brif(raw, done, &[decoded.into()], lazy, &[]);
        b.seal_block(lazy);
        b.switch_to_block(lazy);
        let t = b.ins().iconst(I32, table as i64);
        let made = self.call_builtin(b, Builtin::TableGetLazy, &[t, elem]).expect("returns");
        b.ins().jump(done, &[made.into()]);
        b.seal_block(done);
        b.switch_to_block(done);
        b.block_params(done)[0]
    }

    fn signature_ref(&mut self, b: &mut FunctionBuilder<'_>, type_index: u32) -> SigRef {
        if let Some(s) = self.sigs.get(&type_index) {
            return *s;
        }
        let sig = b.import_signature(wasm_signature(&self.info.types[type_index as usize]));
        self.sigs.insert(type_index, sig);
        sig
    }

    /// `call`: a direct call to a defined function, or an indirect one through an import.
    pub fn call(&mut self, b: &mut FunctionBuilder<'_>, func: u32, args: &[Value]) -> ir::Inst {
        let vmctx = self.vmctx;
        let mut full = Vec::with_capacity(args.len() + 2);
        if self.info.is_imported_func(func) {
            let off = self.offsets().imported_function(FuncIndex(func));
            let code = self.load_vmctx_ptr(b, off + VMFUNCTION_IMPORT_WASM_CALL);
            let callee_vmctx = self.load_vmctx_ptr(b, off + VMFUNCTION_IMPORT_VMCTX);
            full.extend([callee_vmctx, vmctx]);
            full.extend_from_slice(args);
            let sig = self.signature_ref(b, self.info.functions[func as usize]);
            b.ins().call_indirect(sig, code, &full)
        } else {
            let fref = match self.direct.get(&func) {
                Some(f) => *f,
                None => {
                    let name = b.func.declare_imported_user_function(UserExternalName::new(0, func));
                    let signature = self.signature_ref(b, self.info.functions[func as usize]);
                    let f = b.import_function(ExtFuncData {
                        name: ExternalName::user(name),
                        signature,
                        colocated: true,
                        patchable: false,
                    });
                    self.direct.insert(func, f);
                    f
                }
            };
            full.extend([vmctx, vmctx]);
            full.extend_from_slice(args);
            b.ins().call(fref, &full)
        }
    }

    /// `call_indirect`: bounds, null and signature checks, then a call through the function reference.
    pub fn call_indirect(
        &mut self,
        b: &mut FunctionBuilder<'_>,
        type_index: u32,
        table: u32,
        elem: Value,
        args: &[Value],
    ) -> ir::Inst {
        let func_ref = self.funcref_table_get(b, table, elem);
        b.ins().trapz(func_ref, TrapCode::IndirectCallToNull.to_clif());
        let actual = b.ins().load(I32, MemFlagsData::trusted(), func_ref, VMFUNCREF_TYPE_INDEX as i32);
        let type_ids = self.load_vmctx_ptr(b, VMCTX_TYPE_IDS);
        let expected = b.ins().load(I32, readonly(), type_ids, (type_index * 4) as i32);
        let mismatch = b.ins().icmp(ir::condcodes::IntCC::NotEqual, actual, expected);
        b.ins().trapnz(mismatch, TrapCode::BadSignature.to_clif());
        let code = b.ins().load(I64, MemFlagsData::trusted(), func_ref, VMFUNCREF_WASM_CALL as i32);
        let callee_vmctx = b.ins().load(I64, MemFlagsData::trusted(), func_ref, VMFUNCREF_VMCTX as i32);
        let mut full = Vec::with_capacity(args.len() + 2);
        full.extend([callee_vmctx, self.vmctx]);
        full.extend_from_slice(args);
        let sig = self.signature_ref(b, type_index);
        b.ins().call_indirect(sig, code, &full)
    }

    /// Calls a builtin; returns its result if it has one.
    pub fn call_builtin(&mut self, b: &mut FunctionBuilder<'_>, builtin: Builtin, args: &[Value]) -> Option<Value> {
        let (params, returns) = builtin.signature();
        debug_assert_eq!(params.len(), args.len());
        let sig = match self.builtin_sigs.get(&(builtin as u32)) {
            Some(s) => *s,
            None => {
                let mut sig = Signature::new(CallConv::SystemV);
                sig.params.push(AbiParam::new(I64));
                for p in params {
                    sig.params.push(AbiParam::new(match p {
                        BuiltinParam::I32 => I32,
                        BuiltinParam::I64 => I64,
                    }));
                }
                if let Some(r) = returns {
                    sig.returns.push(AbiParam::new(match r {
                        BuiltinParam::I32 => I32,
                        BuiltinParam::I64 => I64,
                    }));
                }
                let s = b.import_signature(sig);
                self.builtin_sigs.insert(builtin as u32, s);
                s
            }
        };
        let table = self.load_vmctx_ptr(b, VMCTX_BUILTINS);
        let fptr = b.ins().load(I64, readonly(), table, builtin.offset() as i32);
        let mut full = Vec::with_capacity(args.len() + 1);
        full.push(self.vmctx);
        full.extend_from_slice(args);
        let call = b.ins().call_indirect(sig, fptr, &full);
        b.inst_results(call).first().copied()
    }

    /// Calls a builtin that returns a status, raising the trap it reports if the status is nonzero.
    pub fn call_builtin_checked(&mut self, b: &mut FunctionBuilder<'_>, builtin: Builtin, args: &[Value]) {
        let status = self.call_builtin(b, builtin, args).expect("checked builtins return a status");
        let trap_block = b.create_block();
        let cont = b.create_block();
        b.set_cold_block(trap_block);
        b.ins().brif(status, trap_block, &[], cont, &[]);
        b.switch_to_block(trap_block);
        b.seal_block(trap_block);
        self.call_builtin(b, Builtin::RaiseTrap, &[status]);
        b.ins().trap(TrapCode::UnreachableCodeReached.to_clif());
        b.switch_to_block(cont);
        b.seal_block(cont);
    }

    /// At function entry (with fuel accounting on): loads the store's fuel into a local variable,
    /// which the function decrements ([`Self::header_checks`] then checks it).
    pub fn fuel_function_entry(&mut self, b: &mut FunctionBuilder<'_>) {
        if !self.tunables.consume_fuel {
            return;
        }
        let var = b.declare_var(I64);
        self.fuel_var = Some(var);
        self.fuel_load(b);
    }

    /// Adds the cost of one operator to the charge pending for the current basic block.
    pub fn fuel_add(&mut self, cost: i64) {
        self.fuel_pending = self.fuel_pending.saturating_add(cost);
    }

    /// Charges the pending cost to the fuel variable (before the current basic block ends): adds it
    /// to the open charges if there are any, or charges it here.
    pub fn fuel_charge(&mut self, b: &mut FunctionBuilder<'_>) {
        if self.fuel_var.is_none() || self.fuel_pending == 0 {
            return;
        }
        if self.fuel_open_here(b) {
            for &inst in &self.fuel_open {
                let InstructionData::UnaryImm { opcode: Opcode::Iconst, imm } = &mut b.func.dfg.insts[inst] else {
                    unreachable!("an open charge is an iconst");
                };
                *imm = Imm64::new(imm.bits().saturating_sub(self.fuel_pending));
            }
        } else {
            self.fuel_emit_charge(b, self.fuel_pending);
        }
        self.fuel_pending = 0;
    }

    /// Before a split (`br_if`): adds the pending cost to the open charges, if there are any (it is
    /// then charged on both edges at no cost).
    pub fn fuel_charge_open(&mut self, b: &mut FunctionBuilder<'_>) {
        if self.fuel_open_here(b) {
            self.fuel_charge(b);
        }
    }

    /// Sets which `if`s of the body are simple (with fuel accounting).
    pub fn fuel_set_simple_ifs(&mut self, simple: Vec<bool>) {
        self.fuel_simple_ifs = simple;
        self.fuel_ifs_seen = 0;
    }

    /// Before an `if` (with fuel accounting): a simple one (without `else`, nothing inside branching
    /// to its end) keeps the pending cost, which its arm pays with its first charge; returns it as
    /// the debt that the arm gets back at its end and the code after the `if` pays, for both paths.
    /// The false edge then has no code: laid out as a jump straight past the arm, as without fuel
    /// (a charge on it cost tight loops a taken branch per iteration). Other `if`s charge it here.
    pub fn fuel_if(&mut self, b: &mut FunctionBuilder<'_>) -> i64 {
        if self.fuel_var.is_none() {
            return 0;
        }
        let simple = self.fuel_simple_ifs.get(self.fuel_ifs_seen).copied().unwrap_or(false);
        self.fuel_ifs_seen += 1;
        if simple && self.fuel_pending != 0 {
            return self.fuel_pending;
        }
        self.fuel_charge(b);
        0
    }

    /// Counts an `if` in unreachable code (see [`Self::fuel_if`]).
    pub fn fuel_skip_if(&mut self) {
        self.fuel_ifs_seen += 1;
    }

    /// Whether a cost is pending (with fuel accounting on).
    pub fn fuel_pending(&self) -> bool {
        self.fuel_var.is_some() && self.fuel_pending != 0
    }

    /// Charges the pending cost to the fuel variable in the current block, an edge leaving the
    /// basic block (`br_if` taken), and keeps it pending for the path that stays in it.
    pub fn fuel_charge_edge(&mut self, b: &mut FunctionBuilder<'_>) {
        if self.fuel_pending() {
            self.fuel_emit_charge(b, self.fuel_pending);
        }
    }

    /// Subtracts `cost` from the fuel variable here; the charge is then the only open one.
    fn fuel_emit_charge(&mut self, b: &mut FunctionBuilder<'_>, cost: i64) {
        let Some(var) = self.fuel_var else { return };
        let fuel = b.use_var(var);
        let delta = b.ins().iconst(I64, cost.wrapping_neg());
        let inst = b.func.dfg.value_def(delta).unwrap_inst();
        let fuel = b.ins().iadd(fuel, delta);
        b.def_var(var, fuel);
        self.fuel_open.clear();
        self.fuel_open.push(inst);
        self.fuel_open_block = b.current_block();
    }

    /// Whether the open charges hold at the current point.
    fn fuel_open_here(&self, b: &FunctionBuilder<'_>) -> bool {
        !self.fuel_open.is_empty() && self.fuel_open_block.is_some() && self.fuel_open_block == b.current_block()
    }

    /// Forgets the open charges (at a point that reads the fuel variable, or one that defines it).
    fn fuel_close(&mut self) {
        self.fuel_open.clear();
        self.fuel_open_block = None;
    }

    /// Before the current block ends with a jump to the join `target` (its only successor): notes
    /// the open charges (making a zero charge if there are none) as that edge's.
    pub fn fuel_note_jump(&mut self, b: &mut FunctionBuilder<'_>, target: Block) {
        if self.fuel_var.is_none() {
            return;
        }
        // Everything before the jump is charged, or on the edge block's own charge (`br_if`).
        debug_assert!(self.fuel_pending == 0 || self.fuel_open_here(b));
        if matches!(self.fuel_joins.get(&target), Some(None)) {
            return;
        }
        if !self.fuel_open_here(b) {
            self.fuel_emit_charge(b, 0);
        }
        // `None` (a jump without charges reached it already) stays.
        if let Some(charges) = self.fuel_joins.entry(target).or_insert_with(|| Some(Vec::new())) {
            charges.extend_from_slice(&self.fuel_open);
        }
    }

    /// Notes that a branch reaches the join `target` without charges of its own (`br_if` without
    /// a pending cost, `br_table`): the code after it is charged on its own.
    pub fn fuel_note_uncharged(&mut self, target: Block) {
        if self.fuel_var.is_some() {
            self.fuel_joins.insert(target, None);
        }
    }

    /// After switching to the join `block`, once every jump into it was noted: when each came with
    /// charges, they are the open ones, and the cost of the code that follows up to its next
    /// charge is added to them (each path is charged once where it would have been charged twice).
    /// Nothing reads the fuel variable in between, and a trap there does not store it, so the count
    /// at every call, return and check is the same.
    pub fn fuel_enter_join(&mut self, b: &FunctionBuilder<'_>, block: Block) {
        if self.fuel_var.is_none() {
            return;
        }
        debug_assert_eq!(b.current_block(), Some(block));
        self.fuel_close();
        if let Some(Some(charges)) = self.fuel_joins.remove(&block) {
            self.fuel_open = charges;
            self.fuel_open_block = Some(block);
        }
    }

    /// Stores the fuel variable to the store (before a call, which may read or change it, and at
    /// returns).
    pub fn fuel_save(&mut self, b: &mut FunctionBuilder<'_>) {
        let Some(var) = self.fuel_var else { return };
        self.fuel_charge(b);
        let store_ctx = self.load_vmctx_ptr(b, VMCTX_STORE_CTX);
        let fuel = b.use_var(var);
        b.ins().store(MemFlagsData::trusted(), fuel, store_ctx, VMSTORE_CONTEXT_FUEL as i32);
        self.fuel_close();
    }

    /// Reloads the fuel variable from the store (after a call).
    pub fn fuel_load(&mut self, b: &mut FunctionBuilder<'_>) {
        let Some(var) = self.fuel_var else { return };
        let store_ctx = self.load_vmctx_ptr(b, VMCTX_STORE_CTX);
        let fuel = b.ins().load(I64, MemFlagsData::trusted(), store_ctx, VMSTORE_CONTEXT_FUEL as i32);
        b.def_var(var, fuel);
        self.fuel_close();
    }

    /// The checks at a function entry or loop header: traps with [`TrapCode::Interrupt`] if the
    /// store's interrupt flag is set (when `interruptible`), then with [`TrapCode::OutOfFuel`] if no
    /// fuel is left, 0 or less (with fuel accounting; the fuel variable is first stored back so that
    /// the store reads what was consumed).
    ///
    /// With both on, one compare and branch serves both: an interrupt sets the flag to
    /// [`INTERRUPT_FLAG_SET`] (`i64::MAX`), which no fuel count exceeds, so `fuel <= flag` holds
    /// exactly when fuel ran out (flag 0) or an interrupt is requested, and the cold path tells which.
    /// Tight loops are bound by branch throughput: a second branch per iteration cost them 20 to
    /// 35 %, as much as the rest of the accounting.
    pub fn header_checks(&mut self, b: &mut FunctionBuilder<'_>) {
        let Some(var) = self.fuel_var else {
            self.interrupt_check(b);
            return;
        };
        self.fuel_charge(b);
        self.fuel_close();
        let fuel = b.use_var(var);
        let flag = self.tunables.interruptible.then(|| self.load_interrupt_flag(b));
        let stop = match flag {
            Some(flag) => b.ins().icmp(ir::condcodes::IntCC::SignedLessThanOrEqual, fuel, flag),
            None => b.ins().icmp_imm_s(ir::condcodes::IntCC::SignedLessThanOrEqual, fuel, 0),
        };
        let out = b.create_block();
        let cont = b.create_block();
        b.set_cold_block(out);
        b.ins().brif(stop, out, &[], cont, &[]);
        b.seal_block(out);
        b.switch_to_block(out);
        self.fuel_save(b);
        if let Some(flag) = flag {
            b.ins().trapnz(flag, TrapCode::Interrupt.to_clif());
        }
        b.ins().trap(TrapCode::OutOfFuel.to_clif());
        b.switch_to_block(cont);
        b.seal_block(cont);
    }

    /// Loads the store's interrupt flag (0, or [`INTERRUPT_FLAG_SET`] once an interrupt is
    /// requested).
    fn load_interrupt_flag(&self, b: &mut FunctionBuilder<'_>) -> Value {
        let store_ctx = self.load_vmctx_ptr(b, VMCTX_STORE_CTX);
        let addr = b.ins().iadd_imm_u(store_ctx, VMSTORE_CONTEXT_INTERRUPT as i64);
        // An atomic load: another thread sets the word, and a plain load would be merged with the
        // previous check by redundant-load elimination (a loop would never see the change).
        b.ins().atomic_load(I64, MemFlagsData::trusted(), addr)
    }

    /// Traps with [`TrapCode::Interrupt`] if the store's interrupt flag is set (when enabled).
    fn interrupt_check(&self, b: &mut FunctionBuilder<'_>) {
        if !self.tunables.interruptible {
            return;
        }
        let flag = self.load_interrupt_flag(b);
        b.ins().trapnz(flag, TrapCode::Interrupt.to_clif());
    }
}
