//! What a module declares, in the form the compiler and the instantiator use: types, index spaces
//! (imports first), exports, segments and the VMContext layout.

use crate::environ::index::{
    DefinedFuncIndex, DefinedGlobalIndex, DefinedMemoryIndex, DefinedTableIndex, GlobalIndex, MemoryIndex, TableIndex,
};
use crate::environ::types::{FuncType, GlobalType, MemoryType, TableType};
use crate::environ::vmoffsets::VMOffsets;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// A constant expression of WebAssembly 2.0 (a single instruction).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstExpr {
    /// `i32.const`
    I32(i32),
    /// `i64.const`
    I64(i64),
    /// `f32.const`, as bits
    F32(u32),
    /// `f64.const`, as bits
    F64(u64),
    /// `ref.null`
    RefNull,
    /// `ref.func`
    RefFunc(u32),
    /// `global.get` of an (imported) global
    GlobalGet(u32),
}

/// What an import provides, with its index in its index space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityIndex {
    /// A function index.
    Func(u32),
    /// A table index.
    Table(u32),
    /// A memory index.
    Memory(u32),
    /// A global index.
    Global(u32),
}

/// An import.
#[derive(Clone, Debug)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// The index the import takes in its index space.
    pub index: EntityIndex,
}

/// A global: its type and, for a defined one, its initializer.
#[derive(Clone, Debug)]
pub struct GlobalInfo {
    /// The global's type.
    pub ty: GlobalType,
    /// The initializer (None for imports).
    pub init: Option<ConstExpr>,
}

/// Where an element segment goes.
#[derive(Clone, Debug)]
pub enum ElementMode {
    /// Kept for `table.init`.
    Passive,
    /// Copied into a table at instantiation, then dropped.
    Active {
        /// The table.
        table: u32,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// An element segment.
#[derive(Clone, Debug)]
pub struct ElementSegment {
    /// Where it goes.
    pub mode: ElementMode,
    /// The elements, as constant expressions (function indices become `RefFunc`).
    pub items: Box<[ConstExpr]>,
}

/// Where a data segment goes.
#[derive(Clone, Debug)]
pub enum DataMode {
    /// Kept for `memory.init`.
    Passive,
    /// Copied into a memory at instantiation, then dropped.
    Active {
        /// The memory.
        memory: u32,
        /// Offset expression.
        offset: ConstExpr,
    },
}

/// A data segment; its bytes live in [`ModuleInfo::data_bytes`].
#[derive(Clone, Debug)]
pub struct DataSegment {
    /// Where it goes.
    pub mode: DataMode,
    /// The range of its bytes in `data_bytes`.
    pub bytes: Range<usize>,
}

/// Everything a module declares.
#[derive(Clone, Debug, Default)]
pub struct ModuleInfo {
    /// The module's name from the name section.
    pub name: Option<String>,
    /// Function types by type index.
    pub types: Vec<FuncType>,
    /// Type index of each function (imports first).
    pub functions: Vec<u32>,
    /// Tables (imports first).
    pub tables: Vec<TableType>,
    /// Memories (imports first).
    pub memories: Vec<MemoryType>,
    /// Globals (imports first).
    pub globals: Vec<GlobalInfo>,
    /// Imports in order.
    pub imports: Vec<Import>,
    /// Exports in order.
    pub exports: Vec<(String, EntityIndex)>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// The bytes of every data segment, back to back.
    pub data_bytes: Vec<u8>,
    /// Function names from the name section.
    pub func_names: Arc<HashMap<u32, String>>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// For each defined function, its index among escaping functions (`u32::MAX` if it does not escape).
    pub escape_index: Vec<u32>,
    /// The VMContext layout.
    pub offsets: VMOffsets,
}

impl ModuleInfo {
    /// The type of function `func`.
    pub fn func_type(&self, func: u32) -> &FuncType {
        &self.types[self.functions[func as usize] as usize]
    }

    /// Whether function `func` is imported.
    pub fn is_imported_func(&self, func: u32) -> bool {
        func < self.num_imported_funcs
    }

    /// The defined-function index of `func`, if it is defined.
    pub fn defined_func(&self, func: u32) -> Option<DefinedFuncIndex> {
        func.checked_sub(self.num_imported_funcs).map(DefinedFuncIndex)
    }

    /// The defined-memory index of memory `index`, if it is defined.
    pub fn defined_memory(&self, index: MemoryIndex) -> Option<DefinedMemoryIndex> {
        index.0.checked_sub(self.num_imported_memories).map(DefinedMemoryIndex)
    }

    /// The defined-table index of table `index`, if it is defined.
    pub fn defined_table(&self, index: TableIndex) -> Option<DefinedTableIndex> {
        index.0.checked_sub(self.num_imported_tables).map(DefinedTableIndex)
    }

    /// The defined-global index of global `index`, if it is defined.
    pub fn defined_global(&self, index: GlobalIndex) -> Option<DefinedGlobalIndex> {
        index.0.checked_sub(self.num_imported_globals).map(DefinedGlobalIndex)
    }

    /// Number of defined functions.
    pub fn num_defined_funcs(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_funcs
    }
}

impl Default for VMOffsets {
    fn default() -> Self {
        VMOffsets::new(Default::default())
    }
}
