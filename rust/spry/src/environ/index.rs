//! Index types of the module's index spaces. Each space (functions, tables, memories, globals) lists
//! its imports first; a `Defined*Index` counts only the module's own definitions, from 0. Mixing the
//! two is a bug the types rule out where the VMContext is addressed.

macro_rules! index_type {
    ($(#[$doc:meta] $name:ident),* $(,)?) => {$(
        #[$doc]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u32);
    )*};
}

index_type! {
    /// An index in the function index space (imports first).
    FuncIndex,
    /// An index among the module's defined functions.
    DefinedFuncIndex,
    /// An index in the table index space (imports first).
    TableIndex,
    /// An index among the module's defined tables.
    DefinedTableIndex,
    /// An index in the memory index space (imports first).
    MemoryIndex,
    /// An index among the module's defined memories.
    DefinedMemoryIndex,
    /// An index in the global index space (imports first).
    GlobalIndex,
    /// An index among the module's defined globals.
    DefinedGlobalIndex,
}

impl DefinedFuncIndex {
    /// The index, for indexing per-defined-function arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}
