//! The `#[repr(C)]` structures that compiled code reads and writes.
//!
//! Their offsets are computed in [`crate::environ::vmoffsets`], the single source of layout truth for the compiler
//! and the runtime; the tests under each struct check that the two agree.

use std::cell::UnsafeCell;
use std::sync::atomic::AtomicU64;

/// The VMContext of an instance: an opaque marker type. The real layout is variable-sized and is
/// described by [`crate::environ::vmoffsets::VMOffsets`]; the block lives at the end of an
/// [`super::instance::Instance`].
#[repr(C, align(16))]
pub struct VMContext {
    pub(crate) _marker: [u8; 0],
}

/// The magic word at offset 0 of every instance VMContext.
pub const VMCONTEXT_MAGIC: u32 = u32::from_le_bytes(*b"spry");
/// The magic word at offset 0 of every host function context.
pub const VMHOST_MAGIC: u32 = u32::from_le_bytes(*b"host");
/// The first word of a [`VMStoreCaller`].
pub const VMSTORE_CALLER_MAGIC: u32 = u32::from_le_bytes(*b"stor");

/// A function reference: what `ref.func`, tables and exports hold, and what `call_indirect` calls.
#[repr(C)]
#[derive(Debug)]
pub struct VMFuncRef {
    /// Code that runs the function with the Wasm (`tail`) calling convention:
    /// `(callee_vmctx, caller_vmctx, params...) -> results`.
    pub wasm_call: *const u8,
    /// The callee VMContext passed as the first argument (an instance's or a host function's).
    pub vmctx: *mut VMContext,
    /// The engine-wide canonical index of the function's type, compared by `call_indirect`.
    pub type_index: u32,
    /// Host-to-wasm entry trampoline for this function's type, see [`VMArrayCallFn`].
    pub array_call: VMArrayCallFn,
}

/// The host-to-wasm entry trampoline compiled per signature.
///
/// Arguments: the callee's VMContext, the caller's VMContext (the callee's own for a call from the host),
/// the callee's `wasm_call` code pointer, and a pointer to `max(params, results)` 64-bit slots that hold
/// the arguments on entry and the results on return.
pub type VMArrayCallFn = unsafe extern "C" fn(*mut VMContext, *mut VMContext, *const u8, *mut u64);

/// The host function signature called by a wasm-to-host trampoline.
///
/// Arguments: the host function's context, the caller's VMContext, a pointer to the 64-bit slots (the
/// arguments on entry, the results on return) and their count. Returns 0 on success; otherwise the
/// trap to raise has been recorded in the current activation and the trampoline raises it.
pub type VMHostCallFn = unsafe extern "C" fn(*mut VMContext, *mut VMContext, *mut u64, usize) -> u32;

/// An imported function as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMFunctionImport {
    /// The imported function's Wasm-convention code.
    pub wasm_call: *const u8,
    /// Its VMContext.
    pub vmctx: *mut VMContext,
    /// Its function reference (used by `ref.func`, tables and re-exports).
    pub func_ref: *const VMFuncRef,
}

/// A linear memory as compiled code sees it.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory. It never moves for the lifetime of the memory.
    pub base: *mut u8,
    /// Current size in bytes.
    pub current_length: usize,
}

/// A table as compiled code sees it. Elements are pointer-sized: a `*const VMFuncRef` for funcref
/// tables, an externref's raw value for externref tables; 0 is null in both.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// Start of the elements. It moves when the table grows.
    pub base: *mut usize,
    /// Current number of elements.
    pub current_elements: usize,
}

/// A global's storage: 16 bytes, enough for every value type (and v128 later).
#[repr(C, align(16))]
#[derive(Debug, Default)]
pub struct VMGlobalDefinition {
    /// The value's bytes, little-endian, in the low bytes.
    pub storage: UnsafeCell<[u8; 16]>,
}

impl VMGlobalDefinition {
    /// Reads the low 64 bits.
    pub fn get_u64(&self) -> u64 {
        // SAFETY: the storage is plain bytes; a store is single-threaded so there is no concurrent writer.
        let bytes = unsafe { *self.storage.get() };
        u64::from_le_bytes(bytes[..8].try_into().unwrap())
    }

    /// Writes the low 64 bits (zeroing the high ones).
    pub fn set_u64(&self, v: u64) {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&v.to_le_bytes());
        // SAFETY: as in `get_u64`.
        unsafe { *self.storage.get() = bytes };
    }
}

/// State shared by every VMContext of a store: the stack limit, the interrupt flag, the fuel left
/// and the growth limits.
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    /// Lowest stack address Wasm code may use; checked by each function's prologue.
    pub stack_limit: UnsafeCell<usize>,
    /// Nonzero asks running Wasm code to trap with [`crate::TrapCode::Interrupt`] at its next function
    /// entry or loop back-edge. Set from any thread, to `INTERRUPT_FLAG_SET` (`i64::MAX`: code with
    /// fuel accounting compares the fuel against it).
    pub interrupt: AtomicU64,
    /// The fuel left, read and decremented by code compiled with fuel accounting (which keeps it in
    /// a local variable and stores it back before calls and at returns); a check at a function
    /// entry or loop header traps with [`crate::TrapCode::OutOfFuel`] when it is 0 or less. Never
    /// above `i64::MAX`.
    pub fuel: UnsafeCell<i64>,
    /// The most bytes `memory.grow` (from Wasm or the host) may take any memory of the store to;
    /// `u64::MAX` when unlimited. Not read by compiled code.
    pub max_memory_bytes: UnsafeCell<u64>,
    /// The most elements `table.grow` may take any table of the store to; `u64::MAX` when
    /// unlimited. Not read by compiled code.
    pub max_table_elements: UnsafeCell<u64>,
    /// The activation (`traphandlers::CallThreadState`'s address) running a WASI function of the
    /// store, 0 when none: a WASI call made while one is running (a host callback of that call, such
    /// as a stdout writer, calling into the store it serves) is refused. Cleared when the WASI call
    /// returns, and when its activation is abandoned. Not read by compiled code.
    pub wasi_call: UnsafeCell<usize>,
}

impl Default for VMStoreContext {
    fn default() -> Self {
        VMStoreContext {
            stack_limit: UnsafeCell::new(0),
            interrupt: AtomicU64::new(0),
            fuel: UnsafeCell::new(0),
            max_memory_bytes: UnsafeCell::new(u64::MAX),
            max_table_elements: UnsafeCell::new(u64::MAX),
            wasi_call: UnsafeCell::new(0),
        }
    }
}

// SAFETY: `stack_limit`, `fuel`, the limits and `wasi_call` are only touched by the thread currently
// using the store (the store is not `Sync`); `interrupt` is atomic and is what other threads use.
unsafe impl Sync for VMStoreContext {}

/// The store context of the instance whose VMContext is `vmctx`.
///
/// # Safety
/// `vmctx` is the VMContext of a live instance (its store context pointer was written at
/// instantiation and outlives it).
pub unsafe fn store_context_of(vmctx: *mut VMContext) -> *const VMStoreContext {
    // SAFETY: per the contract, the field at `VMCTX_STORE_CTX` holds the store context pointer.
    unsafe { *vmctx.byte_add(crate::environ::vmoffsets::VMCTX_STORE_CTX as usize).cast::<*const VMStoreContext>() }
}

impl VMStoreContext {
    /// The memory growth limit in bytes (`u64::MAX` when unlimited).
    pub fn memory_limit(&self) -> u64 {
        // SAFETY: only the thread using the store touches the field (see the `Sync` impl).
        unsafe { *self.max_memory_bytes.get() }
    }

    /// The table growth limit in elements (`u64::MAX` when unlimited).
    pub fn table_limit(&self) -> u64 {
        // SAFETY: as in `memory_limit`.
        unsafe { *self.max_table_elements.get() }
    }
}

/// What the host passes as the caller VMContext when it calls a function itself (not from Wasm): it
/// names the store, which a host function called this way finds here (called from Wasm, it finds its
/// store through the calling instance). Every store holds one.
#[repr(C)]
pub struct VMStoreCaller {
    /// [`VMSTORE_CALLER_MAGIC`].
    pub magic: u32,
    /// The store (opaque here).
    pub store: *mut (),
}

/// A host function's context: what a host function's `VMFuncRef::vmctx` points to. It belongs to
/// the host function, not to a store: one context serves every store the function is used in.
#[repr(C)]
pub struct VMHostFuncContext {
    /// [`VMHOST_MAGIC`].
    pub magic: u32,
    /// The Rust function the wasm-to-host trampoline calls.
    pub host_call: VMHostCallFn,
    /// The function's reference, whose `vmctx` points back here.
    pub func_ref: VMFuncRef,
    /// The host closure, opaque to compiled code.
    pub host: *const (),
    /// `spry_raise_trap` (`crate::vm::libcalls::raise_trap_address`), which the wasm-to-host
    /// trampoline calls on a nonzero status.
    pub raise_trap: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environ::vmoffsets::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn func_ref_layout() {
        assert_eq!(size_of::<VMFuncRef>(), VMFUNCREF_SIZE as usize);
        assert_eq!(offset_of!(VMFuncRef, wasm_call), VMFUNCREF_WASM_CALL as usize);
        assert_eq!(offset_of!(VMFuncRef, vmctx), VMFUNCREF_VMCTX as usize);
        assert_eq!(offset_of!(VMFuncRef, type_index), VMFUNCREF_TYPE_INDEX as usize);
        assert_eq!(offset_of!(VMFuncRef, array_call), VMFUNCREF_ARRAY_CALL as usize);
    }

    #[test]
    fn host_func_context_layout() {
        assert_eq!(offset_of!(VMHostFuncContext, host_call), VMHOST_FUNC_CONTEXT_HOST_CALL as usize);
        assert_eq!(offset_of!(VMHostFuncContext, func_ref), VMHOST_FUNC_CONTEXT_FUNC_REF as usize);
        assert_eq!(offset_of!(VMHostFuncContext, raise_trap), VMHOST_FUNC_CONTEXT_RAISE_TRAP as usize);
    }

    #[test]
    fn import_and_definition_layouts() {
        assert_eq!(size_of::<VMFunctionImport>(), VMFUNCTION_IMPORT_SIZE as usize);
        assert_eq!(offset_of!(VMFunctionImport, wasm_call), VMFUNCTION_IMPORT_WASM_CALL as usize);
        assert_eq!(offset_of!(VMFunctionImport, vmctx), VMFUNCTION_IMPORT_VMCTX as usize);
        assert_eq!(offset_of!(VMFunctionImport, func_ref), VMFUNCTION_IMPORT_FUNC_REF as usize);
        assert_eq!(size_of::<VMMemoryDefinition>(), VMMEMORY_DEFINITION_SIZE as usize);
        assert_eq!(offset_of!(VMMemoryDefinition, base), VMMEMORY_DEFINITION_BASE as usize);
        assert_eq!(offset_of!(VMMemoryDefinition, current_length), VMMEMORY_DEFINITION_LENGTH as usize);
        assert_eq!(size_of::<VMTableDefinition>(), VMTABLE_DEFINITION_SIZE as usize);
        assert_eq!(offset_of!(VMTableDefinition, base), VMTABLE_DEFINITION_BASE as usize);
        assert_eq!(offset_of!(VMTableDefinition, current_elements), VMTABLE_DEFINITION_ELEMENTS as usize);
        assert_eq!(size_of::<VMGlobalDefinition>(), VMGLOBAL_DEFINITION_SIZE as usize);
        assert_eq!(offset_of!(VMStoreContext, stack_limit), VMSTORE_CONTEXT_STACK_LIMIT as usize);
        assert_eq!(offset_of!(VMStoreContext, interrupt), VMSTORE_CONTEXT_INTERRUPT as usize);
        assert_eq!(offset_of!(VMStoreContext, fuel), VMSTORE_CONTEXT_FUEL as usize);
    }
}
