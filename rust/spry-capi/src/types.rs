//! Value kinds and the types of functions, imports and exports as C sees them: plain structs whose
//! arrays and strings point into storage owned by a module or a store (see [`FuncTypeStorage`]).

use anyhow::{bail, Result};
use spry::{ExternType, FuncType, GlobalType, MemoryType, TableType, ValType};
use std::ffi::c_char;

/// C's `size_t`: lengths and counts. (Spelled out because cbindgen writes `usize` as `uintptr_t`.)
pub type size_t = usize;

/// C's `uintptr_t`: an integer that can hold a pointer (a host function's `env`).
pub type uintptr_t = usize;

/// The kind of a Wasm value: one of the `SPRY_I32` ... `SPRY_EXTERNREF` constants.
pub type spry_valkind_t = u8;

/// A 32-bit integer.
pub const SPRY_I32: spry_valkind_t = 0;
/// A 64-bit integer.
pub const SPRY_I64: spry_valkind_t = 1;
/// A 32-bit float.
pub const SPRY_F32: spry_valkind_t = 2;
/// A 64-bit float.
pub const SPRY_F64: spry_valkind_t = 3;
/// A nullable function reference.
pub const SPRY_FUNCREF: spry_valkind_t = 4;
/// A nullable reference to a host value.
pub const SPRY_EXTERNREF: spry_valkind_t = 5;

/// The kind of an item a module imports or an instance exports: one of the `SPRY_EXTERN_*` constants.
pub type spry_externkind_t = u8;

/// A function.
pub const SPRY_EXTERN_FUNC: spry_externkind_t = 0;
/// A global.
pub const SPRY_EXTERN_GLOBAL: spry_externkind_t = 1;
/// A table.
pub const SPRY_EXTERN_TABLE: spry_externkind_t = 2;
/// A linear memory.
pub const SPRY_EXTERN_MEMORY: spry_externkind_t = 3;

/// The engine's type for a kind, or an error for an unknown kind.
pub(crate) fn val_type(kind: spry_valkind_t) -> Result<ValType> {
    Ok(match kind {
        SPRY_I32 => ValType::I32,
        SPRY_I64 => ValType::I64,
        SPRY_F32 => ValType::F32,
        SPRY_F64 => ValType::F64,
        SPRY_FUNCREF => ValType::FuncRef,
        SPRY_EXTERNREF => ValType::ExternRef,
        other => bail!("invalid value kind {other}"),
    })
}

/// The kind of an engine type.
pub(crate) fn val_kind(ty: ValType) -> spry_valkind_t {
    match ty {
        ValType::I32 => SPRY_I32,
        ValType::I64 => SPRY_I64,
        ValType::F32 => SPRY_F32,
        ValType::F64 => SPRY_F64,
        ValType::FuncRef => SPRY_FUNCREF,
        ValType::ExternRef => SPRY_EXTERNREF,
    }
}

/// The function type with the given parameter and result kinds (checked, as for `args::slice`).
///
/// # Safety
///
/// Non-NULL pointers point to the given number of kinds.
pub(crate) unsafe fn func_type(
    params: *const spry_valkind_t,
    nparams: size_t,
    results: *const spry_valkind_t,
    nresults: size_t,
) -> Result<FuncType> {
    // SAFETY: per the contract.
    let params = unsafe { crate::args::slice(params, nparams, "params") }?;
    // SAFETY: per the contract.
    let results = unsafe { crate::args::slice(results, nresults, "results") }?;
    let params = params.iter().map(|k| val_type(*k)).collect::<Result<Vec<_>>>()?;
    let results = results.iter().map(|k| val_type(*k)).collect::<Result<Vec<_>>>()?;
    Ok(FuncType::new(params, results))
}

/// A function type: its parameter and result kinds.
///
/// The arrays belong to the object the type came from (a module or a store) and stay valid as long
/// as it does. An array with no elements is NULL.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct spry_functype {
    /// The parameter kinds.
    pub params: *const spry_valkind_t,
    /// The number of parameters.
    pub nparams: size_t,
    /// The result kinds.
    pub results: *const spry_valkind_t,
    /// The number of results.
    pub nresults: size_t,
}

/// Shorthand for `struct spry_functype`.
pub type spry_functype_t = spry_functype;

/// The type of an import or an export. `kind` says which group of fields is meaningful; the others
/// are zero.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct spry_externtype {
    /// One of the `SPRY_EXTERN_*` constants.
    pub kind: spry_externkind_t,
    /// `SPRY_EXTERN_FUNC`: the function's type.
    pub func: spry_functype_t,
    /// `SPRY_EXTERN_GLOBAL`: the kind of the global's value.
    pub global_content: spry_valkind_t,
    /// `SPRY_EXTERN_GLOBAL`: whether the global can be set.
    pub global_mutable: bool,
    /// `SPRY_EXTERN_TABLE`: the kind of the elements (`SPRY_FUNCREF` or `SPRY_EXTERNREF`).
    pub table_element: spry_valkind_t,
    /// `SPRY_EXTERN_TABLE`: the minimum (for a table of a store, the current) number of elements.
    pub table_min: u32,
    /// `SPRY_EXTERN_TABLE`: whether `table_max` is set.
    pub table_has_max: bool,
    /// `SPRY_EXTERN_TABLE`: the maximum number of elements, if `table_has_max`.
    pub table_max: u32,
    /// `SPRY_EXTERN_MEMORY`: the minimum (for a memory of a store, the current) size in 64 KiB pages.
    pub memory_min: u64,
    /// `SPRY_EXTERN_MEMORY`: whether `memory_max` is set.
    pub memory_has_max: bool,
    /// `SPRY_EXTERN_MEMORY`: the maximum size in pages, if `memory_has_max`.
    pub memory_max: u64,
}

/// Shorthand for `struct spry_externtype`.
pub type spry_externtype_t = spry_externtype;

/// An import of a module: the two names it is looked up by, and the type it must have. The strings
/// (UTF-8, not NUL-terminated) and arrays belong to the module and stay valid as long as it does.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct spry_importtype {
    /// The module name.
    pub module: *const c_char,
    /// Its length in bytes.
    pub module_len: size_t,
    /// The item name.
    pub name: *const c_char,
    /// Its length in bytes.
    pub name_len: size_t,
    /// The required type.
    pub r#type: spry_externtype_t,
}

/// Shorthand for `struct spry_importtype`.
pub type spry_importtype_t = spry_importtype;

/// An export of a module: its name and type. The string (UTF-8, not NUL-terminated) and arrays
/// belong to the module and stay valid as long as it does.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct spry_exporttype {
    /// The export's name.
    pub name: *const c_char,
    /// Its length in bytes.
    pub name_len: size_t,
    /// Its type.
    pub r#type: spry_externtype_t,
}

/// Shorthand for `struct spry_exporttype`.
pub type spry_exporttype_t = spry_exporttype;

/// The arrays behind a [`spry_functype_t`], owned by a module or a store.
pub(crate) struct FuncTypeStorage {
    params: Box<[spry_valkind_t]>,
    results: Box<[spry_valkind_t]>,
}

/// The start of `items` for C, or NULL if there are none (an empty slice's pointer is dangling).
pub(crate) fn c_ptr<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        std::ptr::null()
    } else {
        items.as_ptr()
    }
}

impl FuncTypeStorage {
    pub(crate) fn new(ty: &FuncType) -> FuncTypeStorage {
        FuncTypeStorage {
            params: ty.params().iter().map(|t| val_kind(*t)).collect(),
            results: ty.results().iter().map(|t| val_kind(*t)).collect(),
        }
    }

    /// The C view. Its arrays are boxed: it stays valid as long as `self` lives, even if `self` moves.
    pub(crate) fn to_c(&self) -> spry_functype_t {
        spry_functype {
            params: c_ptr(&self.params),
            nparams: self.params.len(),
            results: c_ptr(&self.results),
            nresults: self.results.len(),
        }
    }
}

/// An [`ExternType`] and, for a function, the arrays its C view points to.
pub(crate) struct ExternTypeStorage {
    ty: ExternType,
    func: Option<FuncTypeStorage>,
}

impl ExternTypeStorage {
    pub(crate) fn new(ty: ExternType) -> ExternTypeStorage {
        let func = match &ty {
            ExternType::Func(f) => Some(FuncTypeStorage::new(f)),
            _ => None,
        };
        ExternTypeStorage { ty, func }
    }

    /// The C view, pointing into `self`'s arrays.
    pub(crate) fn to_c(&self) -> spry_externtype_t {
        let mut c = extern_type(&self.ty);
        if let Some(f) = &self.func {
            c.func = f.to_c();
        }
        c
    }
}

const EMPTY_FUNC_TYPE: spry_functype_t =
    spry_functype { params: std::ptr::null(), nparams: 0, results: std::ptr::null(), nresults: 0 };

const EMPTY_EXTERN_TYPE: spry_externtype_t = spry_externtype {
    kind: SPRY_EXTERN_FUNC,
    func: EMPTY_FUNC_TYPE,
    global_content: 0,
    global_mutable: false,
    table_element: 0,
    table_min: 0,
    table_has_max: false,
    table_max: 0,
    memory_min: 0,
    memory_has_max: false,
    memory_max: 0,
};

/// The C view of `ty`; for a function type, with empty arrays (see [`ExternTypeStorage`]).
pub(crate) fn extern_type(ty: &ExternType) -> spry_externtype_t {
    match ty {
        ExternType::Func(_) => EMPTY_EXTERN_TYPE,
        ExternType::Global(g) => global_type(g),
        ExternType::Table(t) => table_type(t),
        ExternType::Memory(m) => memory_type(m),
    }
}

/// The C view of a global type.
pub(crate) fn global_type(ty: &GlobalType) -> spry_externtype_t {
    spry_externtype {
        kind: SPRY_EXTERN_GLOBAL,
        global_content: val_kind(ty.content),
        global_mutable: ty.mutable,
        ..EMPTY_EXTERN_TYPE
    }
}

/// The C view of a table type.
pub(crate) fn table_type(ty: &TableType) -> spry_externtype_t {
    spry_externtype {
        kind: SPRY_EXTERN_TABLE,
        table_element: val_kind(ty.element),
        table_min: ty.minimum,
        table_has_max: ty.maximum.is_some(),
        table_max: ty.maximum.unwrap_or(0),
        ..EMPTY_EXTERN_TYPE
    }
}

/// The C view of a memory type.
pub(crate) fn memory_type(ty: &MemoryType) -> spry_externtype_t {
    spry_externtype {
        kind: SPRY_EXTERN_MEMORY,
        memory_min: ty.minimum,
        memory_has_max: ty.maximum.is_some(),
        memory_max: ty.maximum.unwrap_or(0),
        ..EMPTY_EXTERN_TYPE
    }
}
