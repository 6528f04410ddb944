//! The table of runtime functions (libcalls) that compiled code calls through `VMContext::builtins`.
//!
//! [`Builtin`] names each entry and gives its signature for the compiler; [`VMBuiltins`] is the table
//! itself, one static shared by every instance. Every entry takes the caller's VMContext first and
//! uses the SystemV convention. Entries that can trap return a status: 0, or the `TrapCode` to raise.

use super::libcalls;
use super::traphandlers::spry_raise_trap;
use super::vmcontext::VMContext;

/// Names the entries of [`VMBuiltins`], in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Builtin {
    /// `(mem: i32, delta: i32) -> i32`: old size in pages, or -1.
    MemoryGrow,
    /// `(mem: i32, dst: i32, val: i32, len: i32) -> status`
    MemoryFill,
    /// `(dst_mem: i32, src_mem: i32, dst: i32, src: i32, len: i32) -> status`
    MemoryCopy,
    /// `(mem: i32, data: i32, dst: i32, src: i32, len: i32) -> status`
    MemoryInit,
    /// `(data: i32)`
    DataDrop,
    /// `(table: i32, delta: i32, init: i64) -> i32`: old size, or -1.
    TableGrow,
    /// `(table: i32, dst: i32, val: i64, len: i32) -> status`
    TableFill,
    /// `(dst_table: i32, src_table: i32, dst: i32, src: i32, len: i32) -> status`
    TableCopy,
    /// `(table: i32, elem: i32, dst: i32, src: i32, len: i32) -> status`
    TableInit,
    /// `(elem: i32)`
    ElemDrop,
    /// `(code: i32) -> !`: raises the trap `code` (0: the one already recorded).
    RaiseTrap,
    /// `(func: i32) -> i64`: the function reference of function `func` (`ref.func`), made on first use.
    RefFunc,
    /// `(table: i32, elem: i32) -> i64`: element `elem` (in bounds) of `funcref` table `table`, which
    /// compiled code found not initialized yet: makes it and returns it (a `VMFuncRef` pointer or 0).
    TableGetLazy,
    /// `(table: i32, elem: i32, value: i64) -> status`: `table.set`.
    TableSet,
}

/// Parameter and result types of builtins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinParam {
    /// A 32-bit integer.
    I32,
    /// A 64-bit integer (a reference).
    I64,
}

impl Builtin {
    /// Byte offset of this entry in [`VMBuiltins`].
    pub fn offset(self) -> u32 {
        self as u32 * 8
    }

    /// The parameters after the VMContext, and the result, if any.
    pub fn signature(self) -> (&'static [BuiltinParam], Option<BuiltinParam>) {
        use BuiltinParam::{I32, I64};
        match self {
            Builtin::MemoryGrow => (&[I32, I32], Some(I32)),
            Builtin::MemoryFill => (&[I32, I32, I32, I32], Some(I32)),
            Builtin::MemoryCopy | Builtin::MemoryInit | Builtin::TableCopy | Builtin::TableInit => {
                (&[I32, I32, I32, I32, I32], Some(I32))
            }
            Builtin::DataDrop | Builtin::ElemDrop => (&[I32], None),
            Builtin::TableGrow => (&[I32, I32, I64], Some(I32)),
            Builtin::TableFill => (&[I32, I32, I64, I32], Some(I32)),
            Builtin::RaiseTrap => (&[I32], None),
            Builtin::RefFunc => (&[I32], Some(I64)),
            Builtin::TableGetLazy => (&[I32, I32], Some(I64)),
            Builtin::TableSet => (&[I32, I32, I64], Some(I32)),
        }
    }
}

type Vm = *mut VMContext;

/// The builtins table. Field order must match [`Builtin`].
#[repr(C)]
pub struct VMBuiltins {
    memory_grow: unsafe extern "C" fn(Vm, u32, u32) -> u32,
    memory_fill: unsafe extern "C" fn(Vm, u32, u32, u32, u32) -> u32,
    memory_copy: unsafe extern "C" fn(Vm, u32, u32, u32, u32, u32) -> u32,
    memory_init: unsafe extern "C" fn(Vm, u32, u32, u32, u32, u32) -> u32,
    data_drop: unsafe extern "C" fn(Vm, u32),
    table_grow: unsafe extern "C" fn(Vm, u32, u32, u64) -> u32,
    table_fill: unsafe extern "C" fn(Vm, u32, u32, u64, u32) -> u32,
    table_copy: unsafe extern "C" fn(Vm, u32, u32, u32, u32, u32) -> u32,
    table_init: unsafe extern "C" fn(Vm, u32, u32, u32, u32, u32) -> u32,
    elem_drop: unsafe extern "C" fn(Vm, u32),
    raise_trap: unsafe extern "C" fn(Vm, u32) -> !,
    ref_func: unsafe extern "C" fn(Vm, u32) -> u64,
    table_get_lazy: unsafe extern "C" fn(Vm, u32, u32) -> u64,
    table_set: unsafe extern "C" fn(Vm, u32, u32, u64) -> u32,
}

/// The one builtins table every VMContext points to.
pub static BUILTINS: VMBuiltins = VMBuiltins {
    memory_grow: libcalls::memory_grow,
    memory_fill: libcalls::memory_fill,
    memory_copy: libcalls::memory_copy,
    memory_init: libcalls::memory_init,
    data_drop: libcalls::data_drop,
    table_grow: libcalls::table_grow,
    table_fill: libcalls::table_fill,
    table_copy: libcalls::table_copy,
    table_init: libcalls::table_init,
    elem_drop: libcalls::elem_drop,
    raise_trap: spry_raise_trap,
    ref_func: libcalls::ref_func,
    table_get_lazy: libcalls::table_get_lazy,
    table_set: libcalls::table_set,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_enum() {
        assert_eq!(std::mem::size_of::<VMBuiltins>() as u32, Builtin::TableSet.offset() + 8);
        assert_eq!(std::mem::offset_of!(VMBuiltins, ref_func) as u32, Builtin::RefFunc.offset());
        assert_eq!(std::mem::offset_of!(VMBuiltins, table_get_lazy) as u32, Builtin::TableGetLazy.offset());
        assert_eq!(std::mem::offset_of!(VMBuiltins, raise_trap) as u32, Builtin::RaiseTrap.offset());
        assert_eq!(std::mem::offset_of!(VMBuiltins, table_grow) as u32, Builtin::TableGrow.offset());
        assert_eq!(std::mem::offset_of!(VMBuiltins, elem_drop) as u32, Builtin::ElemDrop.offset());
    }
}
