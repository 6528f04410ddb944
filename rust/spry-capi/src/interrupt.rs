//! [`spry_interrupt_handle_t`]: stops Wasm code running in a store, from any thread.

use crate::args;
use crate::error::guard_or;
use crate::store::{spry_store_t, store_mut, store_ref};
use spry::InterruptHandle;

/// Interrupts Wasm code running in one store. Safe to use from any thread, and to keep after the
/// store is deleted (it then does nothing useful). Owned by the caller.
pub struct spry_interrupt_handle {
    handle: InterruptHandle,
}

/// Shorthand for `struct spry_interrupt_handle`.
pub type spry_interrupt_handle_t = spry_interrupt_handle;

/// A new interrupt handle for `store`, owned by the caller (release it with
/// `spry_interrupt_handle_delete`). Returns NULL if `store` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store.
#[no_mangle]
pub unsafe extern "C" fn spry_store_interrupt_handle(store: *const spry_store_t) -> *mut spry_interrupt_handle_t {
    guard_or(std::ptr::null_mut(), || {
        // SAFETY: per the contract.
        let handle = unsafe { store_ref(store) }?.interrupt_handle();
        Ok(Box::into_raw(Box::new(spry_interrupt_handle { handle })))
    })
}

/// Requests an interrupt: Wasm code running in the handle's store traps with `SPRY_TRAP_INTERRUPT` at
/// its next function entry or loop header (if the engine is `interruptible`, the default). The
/// request holds until the outermost call into the store returns; a request made while no call runs
/// stops the next call. May be called from any thread, including while the store is in use. NULL is
/// ignored.
///
/// # Safety
///
/// `handle` is NULL or a live interrupt handle.
#[no_mangle]
pub unsafe extern "C" fn spry_interrupt_handle_interrupt(handle: *const spry_interrupt_handle_t) {
    guard_or((), || {
        // SAFETY: per the contract.
        if let Some(h) = unsafe { handle.as_ref() } {
            h.handle.interrupt();
        }
        Ok(())
    })
}

/// Withdraws an interrupt request that no call consumed: one made after the call it was meant for
/// returned, which would otherwise stop the store's next call. Call it between calls, never while
/// Wasm code runs in the store (from a host function, for instance). NULL is ignored.
///
/// # Safety
///
/// `store` is NULL or a live store that no call is running in.
#[no_mangle]
pub unsafe extern "C" fn spry_store_interrupt_reset(store: *mut spry_store_t) {
    guard_or((), || {
        // SAFETY: per the contract.
        unsafe { store_mut(store) }?.clear_interrupt();
        Ok(())
    })
}

/// Releases `handle`. NULL is ignored.
///
/// # Safety
///
/// `handle` is NULL or a handle from `spry_store_interrupt_handle`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_interrupt_handle_delete(handle: *mut spry_interrupt_handle_t) {
    // SAFETY: per the contract.
    unsafe { args::release(handle) }
}
