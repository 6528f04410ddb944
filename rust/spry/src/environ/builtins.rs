//! The builtins (runtime functions that compiled code calls through `VMContext::builtins`): their ids,
//! table offsets and signatures, which the compiler needs. The table of function pointers itself is
//! `vm::builtins::VMBuiltins`. Every entry takes the caller's VMContext first and uses the SystemV
//! convention. Entries that can trap return a status: 0, or the `TrapCode` to raise.

/// Names the entries of the builtins table (`vm::builtins::VMBuiltins`), in order.
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
    /// Byte offset of this entry in the builtins table.
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
