//! [`spry_trap_t`]: why Wasm execution stopped (a code, a message, a Wasm backtrace), and the guard of
//! the entry points that run Wasm, which reports a trap through `out_trap` rather than as an error.

use crate::args;
use crate::error::{guard, guard_or, spry_error_t};
use crate::types::c_ptr;
use crate::types::size_t;
use anyhow::Result;
use spry::Trap;
use std::ffi::c_char;

/// The stack of Wasm code (bounded by `spry_config_max_wasm_stack` and the thread's stack) ran out.
pub const SPRY_TRAP_STACK_OVERFLOW: u8 = 1;
/// A memory access (or bulk memory operation) was out of bounds.
pub const SPRY_TRAP_MEMORY_OUT_OF_BOUNDS: u8 = 2;
/// A table access (or bulk table operation) was out of bounds.
pub const SPRY_TRAP_TABLE_OUT_OF_BOUNDS: u8 = 3;
/// `call_indirect` found a null table entry.
pub const SPRY_TRAP_INDIRECT_CALL_TO_NULL: u8 = 4;
/// `call_indirect` found a function of another type than expected.
pub const SPRY_TRAP_BAD_SIGNATURE: u8 = 5;
/// Integer overflow (`i32.div_s(INT_MIN, -1)`, or a float-to-int conversion out of range).
pub const SPRY_TRAP_INTEGER_OVERFLOW: u8 = 6;
/// Integer division or remainder by zero.
pub const SPRY_TRAP_INTEGER_DIVISION_BY_ZERO: u8 = 7;
/// A float-to-int conversion of NaN.
pub const SPRY_TRAP_BAD_CONVERSION_TO_INTEGER: u8 = 8;
/// The `unreachable` instruction ran.
pub const SPRY_TRAP_UNREACHABLE: u8 = 9;
/// The store was interrupted (`spry_interrupt_handle_interrupt`).
pub const SPRY_TRAP_INTERRUPT: u8 = 10;
/// A null reference was dereferenced.
pub const SPRY_TRAP_NULL_REFERENCE: u8 = 11;
/// A host function returned a trap (made with `spry_trap_new`); the message is the host's.
pub const SPRY_TRAP_HOST_ERROR: u8 = 12;
/// An invariant of the runtime was violated while it served Wasm code (a bug in Spry, caught and
/// reported as a trap instead of aborting the process); the instance may be left half updated.
pub const SPRY_TRAP_INTERNAL: u8 = 13;
/// The store ran out of fuel (`spry_config_consume_fuel`, `spry_store_set_fuel`).
pub const SPRY_TRAP_OUT_OF_FUEL: u8 = 14;

/// A trap: Wasm execution stopped abnormally. Made by Spry (owned by the caller, who releases it with
/// `spry_trap_delete`) or by the host with `spry_trap_new` (to return from a host callback, which
/// passes its ownership to Spry).
pub struct spry_trap {
    pub(crate) trap: Trap,
}

/// Shorthand for `struct spry_trap`.
pub type spry_trap_t = spry_trap;

impl spry_trap {
    pub(crate) fn boxed(trap: Trap) -> *mut spry_trap_t {
        Box::into_raw(Box::new(spry_trap { trap }))
    }
}

/// One Wasm frame of a trap's backtrace. The names are UTF-8, not NUL-terminated, owned by the trap;
/// NULL with length 0 when the module's name section does not give them.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct spry_frame {
    /// The function's index in its module's function index space.
    pub func_index: u32,
    /// The function's name, or NULL.
    pub func_name: *const c_char,
    /// Its length in bytes.
    pub func_name_len: size_t,
    /// The module's name, or NULL.
    pub module_name: *const c_char,
    /// Its length in bytes.
    pub module_name_len: size_t,
    /// The offset of the instruction in the function's machine code.
    pub code_offset: u32,
}

/// Shorthand for `struct spry_frame`.
pub type spry_frame_t = spry_frame;

/// Runs the body of an entry point that runs Wasm (see `error::guard`): a trap goes to a new
/// `spry_trap_t` in `*out_trap` and the result is NULL; `*out_trap` is NULL otherwise. With a NULL
/// `out_trap`, a trap is reported as an error instead.
///
/// # Safety
///
/// `out_trap` is NULL or valid for a write.
pub(crate) unsafe fn guard_call(
    out_trap: *mut *mut spry_trap_t,
    body: impl FnOnce() -> Result<()>,
) -> *mut spry_error_t {
    // SAFETY: per the contract.
    unsafe { args::write_opt(out_trap, std::ptr::null_mut()) };
    guard(|| match body() {
        Ok(()) => Ok(()),
        Err(err) if out_trap.is_null() => Err(err),
        Err(err) => {
            let trap = err.downcast::<Trap>()?;
            // SAFETY: per the contract; `out_trap` is not NULL here.
            unsafe { out_trap.write(spry_trap::boxed(trap)) };
            Ok(())
        }
    })
}

/// A new trap with code `SPRY_TRAP_HOST_ERROR` and the given message (UTF-8, not NUL-terminated;
/// invalid UTF-8 is replaced with U+FFFD), for a host callback to return.
///
/// The caller owns the result: returning it from a host callback passes it to Spry, which reports it
/// unchanged (same code and message) to the caller of the Wasm call that led to the callback;
/// otherwise release it with `spry_trap_delete`. Never returns NULL: if `message` is NULL with a
/// nonzero `len`, the trap's message says so.
///
/// # Safety
///
/// `message` is NULL or points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn spry_trap_new(message: *const c_char, len: size_t) -> *mut spry_trap_t {
    let text = std::panic::catch_unwind(|| {
        // SAFETY: per the contract.
        match unsafe { args::slice(message.cast::<u8>(), len, "trap message") } {
            Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
            Err(err) => format!("{err:#}"),
        }
    })
    .unwrap_or_else(|_| "internal error: the trap message could not be read".to_string());
    spry_trap::boxed(Trap::host(anyhow::Error::msg(text)))
}

/// The trap's code: one of the `SPRY_TRAP_*` constants (1 to 14). 0 if `trap` is NULL.
///
/// # Safety
///
/// `trap` is NULL or a live trap.
#[no_mangle]
pub unsafe extern "C" fn spry_trap_code(trap: *const spry_trap_t) -> u8 {
    // SAFETY: per the contract.
    guard_or(0, || Ok(unsafe { args::object(trap, "trap") }?.trap.code().as_u8()))
}

/// The trap's message (UTF-8, not NUL-terminated), with its length written to `*out_len`: the
/// standard description of the code (e.g. "integer divide by zero"), or for `SPRY_TRAP_HOST_ERROR`
/// the message given to `spry_trap_new`. Owned by `trap`, valid until `spry_trap_delete(trap)`. If
/// `trap` is NULL, returns NULL and writes 0. `out_len` may be NULL.
///
/// # Safety
///
/// `trap` is NULL or a live trap; `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_trap_message(trap: *const spry_trap_t, out_len: *mut size_t) -> *const c_char {
    guard_or(std::ptr::null(), || {
        // SAFETY: per the contract.
        let (ptr, len) = match unsafe { trap.as_ref() } {
            Some(t) => (c_ptr(t.trap.message().as_bytes()).cast::<c_char>(), t.trap.message().len()),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: per the contract.
        unsafe { args::write_opt(out_len, len) };
        Ok(ptr)
    })
}

/// The number of Wasm frames in the trap's backtrace (innermost first, at most 64). 0 if `trap` is
/// NULL, and for a trap made by `spry_trap_new`.
///
/// # Safety
///
/// `trap` is NULL or a live trap.
#[no_mangle]
pub unsafe extern "C" fn spry_trap_frames_len(trap: *const spry_trap_t) -> size_t {
    // SAFETY: per the contract.
    guard_or(0, || Ok(unsafe { args::object(trap, "trap") }?.trap.backtrace().len()))
}

/// Writes frame `i` of the trap's backtrace (0 is the innermost) to `*out` and returns true; returns
/// false, writing nothing, if `i` is out of range or `trap` or `out` is NULL. The names in `*out` are
/// owned by `trap`, valid until `spry_trap_delete(trap)`.
///
/// # Safety
///
/// `trap` is NULL or a live trap; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_trap_frame(trap: *const spry_trap_t, i: size_t, out: *mut spry_frame_t) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let Some(frame) = unsafe { args::object(trap, "trap") }?.trap.backtrace().get(i) else {
            return Ok(false);
        };
        let name =
            |s: &Option<String>| s.as_deref().map_or((std::ptr::null(), 0), |s| (c_ptr(s.as_bytes()).cast(), s.len()));
        let (func_name, func_name_len) = name(&frame.func_name);
        let (module_name, module_name_len) = name(&frame.module_name);
        let c = spry_frame {
            func_index: frame.func_index,
            func_name,
            func_name_len,
            module_name,
            module_name_len,
            code_offset: frame.code_offset,
        };
        // SAFETY: per the contract.
        unsafe { args::write(out, c, "out") }?;
        Ok(true)
    })
}

/// Releases `trap`. NULL is ignored.
///
/// # Safety
///
/// `trap` is NULL or a trap owned by the caller and not yet deleted (not one already returned from
/// a host callback).
#[no_mangle]
pub unsafe extern "C" fn spry_trap_delete(trap: *mut spry_trap_t) {
    // SAFETY: per the contract.
    unsafe { crate::args::release(trap) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spry::TrapCode;

    #[test]
    fn constants_are_the_engine_codes() {
        let constants = [
            (SPRY_TRAP_STACK_OVERFLOW, TrapCode::StackOverflow),
            (SPRY_TRAP_MEMORY_OUT_OF_BOUNDS, TrapCode::MemoryOutOfBounds),
            (SPRY_TRAP_TABLE_OUT_OF_BOUNDS, TrapCode::TableOutOfBounds),
            (SPRY_TRAP_INDIRECT_CALL_TO_NULL, TrapCode::IndirectCallToNull),
            (SPRY_TRAP_BAD_SIGNATURE, TrapCode::BadSignature),
            (SPRY_TRAP_INTEGER_OVERFLOW, TrapCode::IntegerOverflow),
            (SPRY_TRAP_INTEGER_DIVISION_BY_ZERO, TrapCode::IntegerDivisionByZero),
            (SPRY_TRAP_BAD_CONVERSION_TO_INTEGER, TrapCode::BadConversionToInteger),
            (SPRY_TRAP_UNREACHABLE, TrapCode::UnreachableCodeReached),
            (SPRY_TRAP_INTERRUPT, TrapCode::Interrupt),
            (SPRY_TRAP_NULL_REFERENCE, TrapCode::NullReference),
            (SPRY_TRAP_HOST_ERROR, TrapCode::HostError),
            (SPRY_TRAP_INTERNAL, TrapCode::Internal),
            (SPRY_TRAP_OUT_OF_FUEL, TrapCode::OutOfFuel),
        ];
        assert_eq!(constants.len(), TrapCode::ALL.len());
        for (c, code) in constants {
            assert_eq!(c, code.as_u8(), "{code:?}");
        }
    }
}
