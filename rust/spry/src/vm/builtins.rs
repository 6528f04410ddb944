//! The table of runtime functions (libcalls) that compiled code calls through `VMContext::builtins`.
//!
//! [`Builtin`](crate::environ::builtins::Builtin) names each entry and gives its signature for the compiler; [`VMBuiltins`]
//! is the table itself, one static shared by every instance. Every entry takes the caller's VMContext first and
//! uses the SystemV convention. Entries that can trap return a status: 0, or the `TrapCode` to raise.

use super::libcalls;
use super::traphandlers::spry_raise_trap;
use super::vmcontext::VMContext;

type Vm = *mut VMContext;

/// The builtins table. Field order must match [`Builtin`](crate::environ::builtins::Builtin).
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
    use crate::environ::builtins::Builtin;

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
