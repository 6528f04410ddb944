//! The types of Wasm values and of the things a module imports and exports. In `environ/`: the
//! compiler, the runtime and the module metadata use them; the public API re-exports them
//! (`spry::ValType` ...).

use std::fmt;

/// The type of a Wasm value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// A nullable reference to a function.
    FuncRef,
    /// A nullable reference to a host value.
    ExternRef,
}

impl ValType {
    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }

    pub(crate) fn from_wasmparser(ty: wasmparser::ValType) -> anyhow::Result<ValType> {
        use wasmparser::ValType as W;
        Ok(match ty {
            W::I32 => ValType::I32,
            W::I64 => ValType::I64,
            W::F32 => ValType::F32,
            W::F64 => ValType::F64,
            W::Ref(r) => ValType::from_ref_type(r)?,
            W::V128 => anyhow::bail!("SIMD (v128) is not supported"),
        })
    }

    pub(crate) fn from_ref_type(r: wasmparser::RefType) -> anyhow::Result<ValType> {
        if r.is_func_ref() {
            Ok(ValType::FuncRef)
        } else if r.is_extern_ref() {
            Ok(ValType::ExternRef)
        } else {
            anyhow::bail!("unsupported reference type {r}")
        }
    }
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// The type of a function: its parameters and results.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[ValType]>,
    results: Box<[ValType]>,
}

impl FuncType {
    /// A function type with the given parameters and results.
    pub fn new(params: impl IntoIterator<Item = ValType>, results: impl IntoIterator<Item = ValType>) -> FuncType {
        FuncType { params: params.into_iter().collect(), results: results.into_iter().collect() }
    }

    /// The parameter types.
    pub fn params(&self) -> &[ValType] {
        &self.params
    }

    /// The result types.
    pub fn results(&self) -> &[ValType] {
        &self.results
    }

    /// The number of 64-bit slots a raw call with this type needs: max(params, results).
    pub fn slots(&self) -> usize {
        self.params.len().max(self.results.len())
    }

    pub(crate) fn from_wasmparser(ty: &wasmparser::FuncType) -> anyhow::Result<FuncType> {
        Ok(FuncType {
            params: ty.params().iter().map(|t| ValType::from_wasmparser(*t)).collect::<anyhow::Result<_>>()?,
            results: ty.results().iter().map(|t| ValType::from_wasmparser(*t)).collect::<anyhow::Result<_>>()?,
        })
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[ValType]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
        write!(f, "(func (param {}) (result {}))", list(&self.params), list(&self.results))
    }
}

/// Limits of a linear memory, in 64 KiB pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Initial size in pages.
    pub minimum: u64,
    /// Maximum size in pages, if bounded.
    pub maximum: Option<u64>,
}

impl MemoryType {
    /// A memory type with the given limits.
    pub fn new(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType { minimum, maximum }
    }
}

/// A table's element type and limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// The element type: [`ValType::FuncRef`] or [`ValType::ExternRef`].
    pub element: ValType,
    /// Initial number of elements.
    pub minimum: u32,
    /// Maximum number of elements, if bounded.
    pub maximum: Option<u32>,
}

impl TableType {
    /// A table type with the given element type and limits.
    pub fn new(element: ValType, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType { element, minimum, maximum }
    }
}

/// A global's value type and mutability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// The type of the value.
    pub content: ValType,
    /// Whether the global can be set.
    pub mutable: bool,
}

impl GlobalType {
    /// A global type.
    pub fn new(content: ValType, mutable: bool) -> GlobalType {
        GlobalType { content, mutable }
    }
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternType {
    /// A function.
    Func(FuncType),
    /// A global.
    Global(GlobalType),
    /// A table.
    Table(TableType),
    /// A linear memory.
    Memory(MemoryType),
}

impl ExternType {
    /// A short name of the kind: "func", "global", "table" or "memory".
    pub fn kind(&self) -> &'static str {
        match self {
            ExternType::Func(_) => "func",
            ExternType::Global(_) => "global",
            ExternType::Table(_) => "table",
            ExternType::Memory(_) => "memory",
        }
    }
}

/// An import of a module: the names it is looked up by and the type it must have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportType {
    /// The module name.
    pub module: String,
    /// The field name.
    pub name: String,
    /// The required type.
    pub ty: ExternType,
}

/// An export of a module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportType {
    /// The export's name.
    pub name: String,
    /// Its type.
    pub ty: ExternType,
}
