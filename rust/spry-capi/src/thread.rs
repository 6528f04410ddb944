//! What a host callback does when its language's runtime leaves it without returning.

/// Forgets the calling thread's innermost call into Wasm, whose frames the host's runtime is about
/// to discard without returning through them (a Go host function that called `runtime.Goexit`). The
/// thread and the store of that call can then run Wasm again; the store is left as after a trap.
/// Returns whether there was a call to forget.
///
/// # Safety
///
/// Call it only from a host callback (a `spry_host_callback_t` running on the thread that called
/// into Wasm), only when that callback will not return, and never return into the frames of the
/// abandoned call afterwards. Memory the abandoned frames owned (a few small allocations at most) is
/// leaked.
#[no_mangle]
pub unsafe extern "C" fn spry_thread_abandon_call() -> bool {
    // SAFETY: per the contract.
    unsafe { spry::abandon_innermost_call() }
}
