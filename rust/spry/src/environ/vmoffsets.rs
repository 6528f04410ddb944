//! The layout of an instance's VMContext, computed once per module.
//!
//! ```text
//! offset  field
//! 0       magic: u32                        VMCONTEXT_MAGIC
//! 8       builtins: *const VMBuiltins       runtime functions (libcalls) compiled code calls
//! 16      store_ctx: *mut VMStoreContext    stack limit, interrupt word and fuel, shared by the store
//! 24      type_ids: *const u32              engine-wide type index of each module type index
//! 32      imported functions                [VMFunctionImport; n]
//!         imported tables                   [*mut VMTableDefinition; n]
//!         imported memories                 [*mut VMMemoryDefinition; n]
//!         imported globals                  [*mut VMGlobalDefinition; n]
//!         defined tables                    [VMTableDefinition; n]
//!         defined memories                  [VMMemoryDefinition; n]
//!         defined globals (16-aligned)      [VMGlobalDefinition; n]
//!         func refs of escaping functions   [VMFuncRef; n]
//! ```
//!
//! The compiler bakes these offsets into code as constants; the runtime writes the block through the
//! same functions, so the two cannot disagree.

use super::index::{
    DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex,
};

/// Size of a `vm::vmcontext::VMFuncRef`.
pub const VMFUNCREF_SIZE: u32 = 32;
/// Offset of `VMFuncRef::wasm_call`.
pub const VMFUNCREF_WASM_CALL: u32 = 0;
/// Offset of `VMFuncRef::vmctx`.
pub const VMFUNCREF_VMCTX: u32 = 8;
/// Offset of `VMFuncRef::type_index`.
pub const VMFUNCREF_TYPE_INDEX: u32 = 16;
/// Offset of `VMFuncRef::array_call` (read by host code, checked by the layout tests).
#[allow(dead_code)]
pub const VMFUNCREF_ARRAY_CALL: u32 = 24;

/// Size of a `vm::vmcontext::VMFunctionImport`.
pub const VMFUNCTION_IMPORT_SIZE: u32 = 24;
/// Offset of `VMFunctionImport::wasm_call`.
pub const VMFUNCTION_IMPORT_WASM_CALL: u32 = 0;
/// Offset of `VMFunctionImport::vmctx`.
pub const VMFUNCTION_IMPORT_VMCTX: u32 = 8;
/// Offset of `VMFunctionImport::func_ref`.
pub const VMFUNCTION_IMPORT_FUNC_REF: u32 = 16;

/// Size of a `vm::vmcontext::VMMemoryDefinition`.
pub const VMMEMORY_DEFINITION_SIZE: u32 = 16;
/// Offset of `VMMemoryDefinition::base`.
pub const VMMEMORY_DEFINITION_BASE: u32 = 0;
/// Offset of `VMMemoryDefinition::current_length`.
pub const VMMEMORY_DEFINITION_LENGTH: u32 = 8;

/// Size of a `vm::vmcontext::VMTableDefinition`.
pub const VMTABLE_DEFINITION_SIZE: u32 = 16;
/// Offset of `VMTableDefinition::base`.
pub const VMTABLE_DEFINITION_BASE: u32 = 0;
/// Offset of `VMTableDefinition::current_elements`.
pub const VMTABLE_DEFINITION_ELEMENTS: u32 = 8;

/// Size of a `vm::vmcontext::VMGlobalDefinition`.
pub const VMGLOBAL_DEFINITION_SIZE: u32 = 16;

/// Offset of `VMStoreContext::stack_limit`.
pub const VMSTORE_CONTEXT_STACK_LIMIT: u32 = 0;
/// Offset of `VMStoreContext::interrupt`.
pub const VMSTORE_CONTEXT_INTERRUPT: u32 = 8;
/// The value an interrupt request stores in `VMStoreContext::interrupt` (0 otherwise): `i64::MAX`,
/// which no fuel count exceeds, so that code with fuel accounting checks both with one compare,
/// `fuel <= flag` (`compile::func_env::FuncEnv::header_checks`).
pub const INTERRUPT_FLAG_SET: u64 = i64::MAX as u64;
/// Offset of `VMStoreContext::fuel` (an `i64`: the fuel left, which compiled code with fuel
/// accounting decrements).
pub const VMSTORE_CONTEXT_FUEL: u32 = 16;

/// Offset of a host function context's `host_call` field.
pub const VMHOST_FUNC_CONTEXT_HOST_CALL: u32 = 8;
/// Offset of a host function context's `func_ref` field (checked by the layout tests).
#[allow(dead_code)]
pub const VMHOST_FUNC_CONTEXT_FUNC_REF: u32 = 16;
/// Offset of a host function context's `raise_trap` field: the address the wasm-to-host trampoline
/// calls on a nonzero status (read from the context, so that trampolines hold no absolute address
/// and can be stored in artifacts).
pub const VMHOST_FUNC_CONTEXT_RAISE_TRAP: u32 = 56;

/// Offset of the magic word in a VMContext.
pub const VMCTX_MAGIC: u32 = 0;
/// Offset of the builtins pointer.
pub const VMCTX_BUILTINS: u32 = 8;
/// Offset of the store context pointer.
pub const VMCTX_STORE_CTX: u32 = 16;
/// Offset of the type-ids pointer.
pub const VMCTX_TYPE_IDS: u32 = 24;
const VMCTX_HEADER_SIZE: u32 = 32;

/// How many of each item a module's VMContext holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VMCounts {
    /// Imported functions.
    pub imported_functions: u32,
    /// Imported tables.
    pub imported_tables: u32,
    /// Imported memories.
    pub imported_memories: u32,
    /// Imported globals.
    pub imported_globals: u32,
    /// Defined tables.
    pub defined_tables: u32,
    /// Defined memories.
    pub defined_memories: u32,
    /// Defined globals.
    pub defined_globals: u32,
    /// Defined functions that escape (exported, in an element segment, or named by `ref.func`).
    pub escaped_funcs: u32,
}

/// The offsets of each region of a module's VMContext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VMOffsets {
    /// The counts the layout was computed from.
    pub counts: VMCounts,
    imported_functions: u32,
    imported_tables: u32,
    imported_memories: u32,
    imported_globals: u32,
    defined_tables: u32,
    defined_memories: u32,
    defined_globals: u32,
    func_refs: u32,
    size: u32,
}

impl VMOffsets {
    /// Computes the layout for `counts`.
    pub fn new(counts: VMCounts) -> VMOffsets {
        let mut at = VMCTX_HEADER_SIZE;
        let mut region = |count: u32, size: u32, align: u32| {
            at = at.next_multiple_of(align);
            let start = at;
            at += count * size;
            start
        };
        let imported_functions = region(counts.imported_functions, VMFUNCTION_IMPORT_SIZE, 8);
        let imported_tables = region(counts.imported_tables, 8, 8);
        let imported_memories = region(counts.imported_memories, 8, 8);
        let imported_globals = region(counts.imported_globals, 8, 8);
        let defined_tables = region(counts.defined_tables, VMTABLE_DEFINITION_SIZE, 8);
        let defined_memories = region(counts.defined_memories, VMMEMORY_DEFINITION_SIZE, 8);
        let defined_globals = region(counts.defined_globals, VMGLOBAL_DEFINITION_SIZE, 16);
        let func_refs = region(counts.escaped_funcs, VMFUNCREF_SIZE, 8);
        let size = at.next_multiple_of(16);
        VMOffsets {
            counts,
            imported_functions,
            imported_tables,
            imported_memories,
            imported_globals,
            defined_tables,
            defined_memories,
            defined_globals,
            func_refs,
            size,
        }
    }

    /// Total size of the VMContext in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of imported function `i` (an import, so below the count of imported functions)'s `vm::vmcontext::VMFunctionImport`.
    pub fn imported_function(&self, i: FuncIndex) -> u32 {
        let i = i.0;
        debug_assert!(i < self.counts.imported_functions);
        self.imported_functions + i * VMFUNCTION_IMPORT_SIZE
    }

    /// Offset of the pointer to imported table `i`'s definition.
    pub fn imported_table(&self, i: TableIndex) -> u32 {
        let i = i.0;
        debug_assert!(i < self.counts.imported_tables);
        self.imported_tables + i * 8
    }

    /// Offset of the pointer to imported memory `i`'s definition.
    pub fn imported_memory(&self, i: MemoryIndex) -> u32 {
        let i = i.0;
        debug_assert!(i < self.counts.imported_memories);
        self.imported_memories + i * 8
    }

    /// Offset of the pointer to imported global `i`'s definition.
    pub fn imported_global(&self, i: GlobalIndex) -> u32 {
        let i = i.0;
        debug_assert!(i < self.counts.imported_globals);
        self.imported_globals + i * 8
    }

    /// Offset of defined table `i`'s `vm::vmcontext::VMTableDefinition`.
    pub fn defined_table(&self, i: DefinedTableIndex) -> u32 {
        let i = i.0;
        debug_assert!(i < self.counts.defined_tables);
        self.defined_tables + i * VMTABLE_DEFINITION_SIZE
    }

    /// Offset of defined memory `i`'s `vm::vmcontext::VMMemoryDefinition`.
    pub fn defined_memory(&self, i: DefinedMemoryIndex) -> u32 {
        let i = i.0;
        debug_assert!(i < self.counts.defined_memories);
        self.defined_memories + i * VMMEMORY_DEFINITION_SIZE
    }

    /// Offset of defined global `i`'s `vm::vmcontext::VMGlobalDefinition`.
    pub fn defined_global(&self, i: DefinedGlobalIndex) -> u32 {
        let i = i.0;
        debug_assert!(i < self.counts.defined_globals);
        self.defined_globals + i * VMGLOBAL_DEFINITION_SIZE
    }

    /// Offset of escaped function `i`'s `vm::vmcontext::VMFuncRef`.
    pub fn func_ref(&self, i: u32) -> u32 {
        debug_assert!(i < self.counts.escaped_funcs);
        self.func_refs + i * VMFUNCREF_SIZE
    }

    /// Offset of the end of the first `n` escaped functions' references (`n` may be their count).
    pub fn func_refs_end(&self, n: u32) -> u32 {
        debug_assert!(n <= self.counts.escaped_funcs);
        self.func_refs + n * VMFUNCREF_SIZE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_do_not_overlap_and_are_aligned() {
        let counts = VMCounts {
            imported_functions: 3,
            imported_tables: 1,
            imported_memories: 1,
            imported_globals: 2,
            defined_tables: 2,
            defined_memories: 1,
            defined_globals: 3,
            escaped_funcs: 4,
        };
        let o = VMOffsets::new(counts);
        assert_eq!(o.imported_function(FuncIndex(0)), 32);
        assert_eq!(o.imported_table(TableIndex(0)), 32 + 3 * 24);
        assert!(o.defined_global(DefinedGlobalIndex(0)).is_multiple_of(16));
        assert!(o.func_ref(0) >= o.defined_global(DefinedGlobalIndex(2)) + 16);
        assert_eq!(o.size() % 16, 0);
        assert!(o.size() >= o.func_ref(3) + VMFUNCREF_SIZE);
        assert_eq!(VMOffsets::new(VMCounts::default()).size(), 32);
    }
}
