//! Activations and entry into Wasm: [`catch_traps`] runs Wasm under a jump buffer, and traps raised by
//! signals ([`super::signals`]) or by compiled code ([`spry_raise_trap`]) unwind to it.
//!
//! # Why it is built this way
//!
//! Each entry from the host pushes a [`CallThreadState`] ("activation") on the entering thread's stack
//! and links it into a per-thread chain (Go → Wasm → host → Wasm nests; the innermost is current).
//! A trap records its code, PC and a frame-pointer backtrace in the current activation, then
//! `longjmp`s to the activation's jump buffer, set by `spry_setjmp` in `unwind.c`. The jump crosses
//! only compiled Wasm code, trampolines and the two plain Rust frames between `spry_setjmp` and the
//! Wasm code (`call_closure` and the closure passed to [`catch_traps`]), none of which owns anything.
//! The signal handler never jumps itself: it rewrites the signal context so that the thread resumes in
//! `spry_longjmp` after sigreturn, on its own stack (Go's signal stack is small and some kernels track
//! it until sigreturn). Everything the handler touches here is async-signal-safe: the current
//! activation is a const-initialized thread-local `Cell` of a raw pointer (plain TLS, no lazy init, no
//! destructor), and the handler writes only `Cell`s of integers in the activation.

use std::any::Any;
use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use crate::trap::{Trap, TrapCode};
use crate::vm::code_registry;
use crate::vm::vmcontext::{VMContext, VMStoreContext};

/// Most frames a trap's backtrace records.
pub const MAX_BACKTRACE: usize = 64;

/// Headroom kept between the Wasm stack limit and the bottom of the thread's stack, for the host
/// code that Wasm calls and for the signal handler when the thread has no alternate signal stack.
const STACK_HEADROOM: usize = 64 * 1024;

extern "C" {
    /// Calls `body(payload)` with a jump buffer set, its address stored in `*buf_out` first; returns 1
    /// when `body` returns and 0 when something `longjmp`s to the buffer (`unwind.c`).
    fn spry_setjmp(buf_out: *mut *mut c_void, body: unsafe extern "C" fn(*mut c_void), payload: *mut c_void) -> c_int;

    /// Jumps to a buffer set by a running `spry_setjmp`, making it return 0 (`unwind.c`).
    pub(crate) fn spry_longjmp(buf: *mut c_void) -> !;

    /// Raises a trap from compiled Wasm code (System V ABI): `code` is a [`TrapCode`] as `u8`, or 0 when
    /// the reason was recorded by [`record_host_error`] or [`record_panic`]. Never returns: unwinds to
    /// the innermost [`catch_traps`] (`unwind.c`).
    pub(crate) fn spry_raise_trap(vmctx: *mut VMContext, code: u32) -> !;
}

/// Why a call into Wasm did not return normally.
#[derive(Debug)]
pub enum UnwindReason {
    /// Wasm trapped, or a host function returned an error (a [`TrapCode::HostError`] trap).
    Trap(Trap),
    /// A host function panicked (or the entry closure did); resume it with
    /// [`std::panic::resume_unwind`] once out of Wasm.
    Panic(Box<dyn Any + Send>),
}

/// A trap reason recorded by Rust code, not by a signal.
enum Pending {
    /// The error, and whether the trap records a backtrace (not for an exit: see
    /// [`record_host_exit`]).
    HostError(anyhow::Error, bool),
    Panic(Box<dyn Any + Send>),
}

/// One activation: an entry into Wasm from the host, living on the stack of [`catch_traps`].
pub(crate) struct CallThreadState {
    /// The jump buffer of this activation's `spry_setjmp` (set before any Wasm code runs).
    jmp_buf: Cell<*mut c_void>,
    /// The recorded trap code ([`TrapCode::as_u8`]), 0 when none.
    trap_code: Cell<u8>,
    /// The PC that raised the trap (for a trap raised by a call, the call's return address).
    trap_pc: Cell<usize>,
    /// The frame pointer of the frame that raised the trap.
    trap_fp: Cell<usize>,
    /// PCs of the Wasm frames at the trap, innermost first, each inside its function (a caller's
    /// return address minus 1); the first `backtrace_len` are initialized.
    backtrace: [Cell<MaybeUninit<usize>>; MAX_BACKTRACE],
    backtrace_len: Cell<usize>,
    /// A host error or panic recorded by Rust code (never touched by the signal handler).
    pending: Cell<Option<Pending>>,
    /// The enclosing activation on this thread, or null.
    prev: *const CallThreadState,
    /// The store context this activation entered, and whether it was the store's outermost entry
    /// (which set the stack limit): what [`abandon_innermost_activation`] must undo.
    store_ctx: *mut VMStoreContext,
    outermost: bool,
}

thread_local! {
    /// The innermost activation of this thread, or null. Const-initialized and without destructor,
    /// so reading it is a plain TLS access, safe in a signal handler.
    static CURRENT: Cell<*const CallThreadState> = const { Cell::new(ptr::null()) };

    /// This thread's stack bounds `(low, high)`, computed on first use by [`catch_traps`].
    static STACK_BOUNDS: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

impl CallThreadState {
    // Inlined so the activation is built in place: it is ~600 bytes and a move would copy it on
    // every call into Wasm.
    #[inline(always)]
    fn new(prev: *const CallThreadState, store_ctx: *mut VMStoreContext, outermost: bool) -> CallThreadState {
        CallThreadState {
            jmp_buf: Cell::new(ptr::null_mut()),
            trap_code: Cell::new(0),
            trap_pc: Cell::new(0),
            trap_fp: Cell::new(0),
            backtrace: [const { Cell::new(MaybeUninit::uninit()) }; MAX_BACKTRACE],
            backtrace_len: Cell::new(0),
            pending: Cell::new(None),
            prev,
            store_ctx,
            outermost,
        }
    }

    /// Records the PC and frame pointer of a trap and walks the Wasm frames from there.
    /// Async-signal-safe.
    ///
    /// `pc_is_return_address` says whether `pc` is a call's return address (a trap raised by a call)
    /// rather than the trapping instruction itself. `stack_low` is an address at or below every frame
    /// to walk (the stack pointer when the trap happened).
    ///
    /// # Safety
    ///
    /// `fp` must be the frame pointer that belongs to `pc`, the frames between `stack_low` and `self`
    /// must be live stack frames of this thread, and Wasm code and trampolines must keep frame
    /// pointers (`[fp]` is the caller's frame pointer and `[fp + 8]` the return address).
    unsafe fn record_trap(&self, pc: usize, fp: usize, pc_is_return_address: bool, stack_low: usize) {
        self.trap_pc.set(pc);
        self.trap_fp.set(fp);
        // The activation lives in `catch_traps`, whose frame is above every frame it called.
        let stack_high = self as *const CallThreadState as usize;
        let (mut pc, mut fp, mut exact) = (pc, fp, !pc_is_return_address);
        let (mut len, mut skipped) = (0, 0);
        loop {
            let lookup = if exact { pc } else { pc.wrapping_sub(1) };
            if code_registry::is_wasm_function_pc(lookup) {
                if len == MAX_BACKTRACE {
                    break;
                }
                self.backtrace[len].set(MaybeUninit::new(lookup));
                len += 1;
            } else if len == 0 && skipped < 2 {
                // A trampoline (or the libcall shim) between the trap and the first Wasm frame.
                skipped += 1;
            } else {
                break;
            }
            // Only dereference frame pointers that lie inside the live part of the stack.
            if fp % 8 != 0 || fp < stack_low || fp.saturating_add(16) > stack_high {
                break;
            }
            let frame = fp as *const usize;
            // SAFETY: `frame` is 8-aligned and `[fp, fp + 16)` lies between the trap's stack pointer and
            // this activation, i.e. in live stack memory of this thread; it holds the saved frame pointer
            // and return address per the frame-pointer convention (the function's contract).
            let (next_fp, next_pc) = unsafe { (frame.read(), frame.add(1).read()) };
            if next_fp <= fp {
                break;
            }
            (pc, fp, exact) = (next_pc, next_fp, false);
        }
        self.backtrace_len.set(len);
    }

    /// The recorded backtrace, resolved to frames.
    fn frames(&self) -> Vec<crate::trap::FrameInfo> {
        self.backtrace[..self.backtrace_len.get()]
            .iter()
            // SAFETY: `record_trap` initialized the first `backtrace_len` entries.
            .filter_map(|pc| code_registry::frame_info(unsafe { pc.get().assume_init() }))
            .collect()
    }

    /// Turns what was recorded into the result of [`catch_traps`]. `returned` is whether the body
    /// returned normally rather than by a trap.
    fn result(&self, returned: bool) -> Result<(), UnwindReason> {
        let pending = self.pending.take();
        if returned {
            return match pending {
                None => Ok(()),
                Some(Pending::Panic(payload)) => Err(UnwindReason::Panic(payload)),
                Some(Pending::HostError(err, _)) => Err(UnwindReason::Trap(Trap::host(err))),
            };
        }
        let frames = self.frames();
        if let Some(code) = TrapCode::from_u8(self.trap_code.get()) {
            return Err(UnwindReason::Trap(Trap::new(code).with_backtrace(frames)));
        }
        Err(match pending {
            Some(Pending::HostError(err, _)) => UnwindReason::Trap(Trap::host(err).with_backtrace(frames)),
            Some(Pending::Panic(payload)) => UnwindReason::Panic(payload),
            None => UnwindReason::Trap(
                Trap::host(anyhow::anyhow!("a trap was raised without a recorded reason")).with_backtrace(frames),
            ),
        })
    }
}

/// Runs `f`, which calls into Wasm, catching the traps raised inside it.
///
/// Pushes an activation for the current thread; if this is the outermost entry for the store (its
/// stack limit is 0), sets the stack limit to `max_wasm_stack` bytes below the current stack pointer
/// (but at least 64 KiB above the bottom of the thread's stack) and resets it to 0 on return. Nested
/// entries keep the outer limit. A panic in `f` is caught and returned as [`UnwindReason::Panic`].
///
/// # Safety
///
/// `store_ctx` must be valid for reads and writes for the whole call. When Wasm code traps, control
/// jumps from the trapping frame straight back here, skipping the frames in between without running
/// their destructors: `f` must reach Wasm code only through frames that own nothing to drop (values
/// captured by `f` are leaked, not dropped, when a trap skips them), and host code that Wasm calls
/// must catch its own errors and panics and report them with [`record_host_error`] or
/// [`record_panic`] rather than unwinding into Wasm frames.
pub unsafe fn catch_traps<F: FnOnce()>(
    store_ctx: *mut VMStoreContext,
    max_wasm_stack: usize,
    f: F,
) -> Result<(), UnwindReason> {
    // SAFETY: the caller guarantees `store_ctx` is valid; the limit is an `UnsafeCell` that only this
    // thread touches while the store is in use.
    let limit = unsafe { (*store_ctx).stack_limit.get() };
    // SAFETY: as above.
    let outermost = unsafe { *limit == 0 };
    if outermost {
        // SAFETY: as above.
        unsafe { *limit = stack_limit(max_wasm_stack) };
    }

    let state = CallThreadState::new(CURRENT.get(), store_ctx, outermost);
    CURRENT.set(&state);
    let mut closure = Some(f);
    // SAFETY: `call_closure::<F>` expects a `*mut Option<F>`, which `closure` is and stays live until
    // `spry_setjmp` returns; `state.jmp_buf` is written before the body runs and used only while this
    // activation is current.
    let returned =
        unsafe { spry_setjmp(state.jmp_buf.as_ptr(), call_closure::<F>, (&raw mut closure).cast::<c_void>()) } != 0;
    CURRENT.set(state.prev);

    if outermost {
        // SAFETY: as above.
        unsafe { *limit = 0 };
    }
    state.result(returned)
}

/// The body that `spry_setjmp` runs: takes the closure out of `payload` and calls it.
///
/// # Safety
///
/// `payload` must point to a live `Option<F>`.
unsafe extern "C" fn call_closure<F: FnOnce()>(payload: *mut c_void) {
    // SAFETY: the function's contract; `catch_traps` passes its `Option<F>`.
    let f = unsafe { (*payload.cast::<Option<F>>()).take() };
    if let Some(f) = f {
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
            record_panic(payload);
        }
    }
}

/// The Wasm stack limit for an outermost entry from the current stack pointer.
fn stack_limit(max_wasm_stack: usize) -> usize {
    let marker = 0u8;
    let sp = std::hint::black_box(&marker) as *const u8 as usize;
    let (low, _high) = thread_stack_bounds();
    sp.saturating_sub(max_wasm_stack).max(low.saturating_add(STACK_HEADROOM))
}

/// This thread's stack bounds `(low, high)`, cached per thread; `(0, usize::MAX)` when unknown.
fn thread_stack_bounds() -> (usize, usize) {
    if let Some(bounds) = STACK_BOUNDS.get() {
        return bounds;
    }
    let bounds = query_stack_bounds().unwrap_or((0, usize::MAX));
    STACK_BOUNDS.set(Some(bounds));
    bounds
}

fn query_stack_bounds() -> Option<(usize, usize)> {
    let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: `pthread_getattr_np` initializes `attr` when it returns 0.
    if unsafe { libc::pthread_getattr_np(libc::pthread_self(), attr.as_mut_ptr()) } != 0 {
        return None;
    }
    let (mut addr, mut size) = (ptr::null_mut::<c_void>(), 0usize);
    // SAFETY: `attr` was initialized above and is destroyed once, after its last use.
    let ok = unsafe {
        let ok = libc::pthread_attr_getstack(attr.as_ptr(), &mut addr, &mut size) == 0;
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        ok
    };
    ok.then(|| (addr as usize, (addr as usize).saturating_add(size)))
}

/// Forgets the current thread's innermost activation, whose frames the host is abandoning without
/// returning through them: a Go host function that called `runtime.Goexit` unwinds its goroutine
/// past the C, Rust and Wasm frames of the call that ran it, which Go's runtime discards without
/// running them. Undoes what that activation's [`catch_traps`] would have undone on return: the
/// thread's current activation goes back to the enclosing one and, if it was the store's outermost
/// entry, the store's stack limit goes back to 0 and a pending interrupt request is withdrawn (as
/// `func.rs`'s `invoke` does), so the store and the thread can run Wasm again. A recorded host
/// error or panic payload is dropped. Returns whether there was an activation.
///
/// # Safety
///
/// Must be called on the thread of the activation, from a host function that the innermost
/// activation's Wasm code called, before that host function's frames are discarded: the
/// activation's frame (in `catch_traps`, further up this thread's stack) is then still intact. The
/// abandoned frames must never be resumed.
pub unsafe fn abandon_innermost_activation() -> bool {
    let state = CURRENT.get();
    if state.is_null() {
        return false;
    }
    // SAFETY: a non-null current activation lives in a `catch_traps` frame of this thread, which the
    // contract says has not been discarded yet.
    let state = unsafe { &*state };
    CURRENT.set(state.prev);
    // SAFETY: the activation's store context is valid and used by this thread only (as below).
    unsafe {
        let wasi_call = (*state.store_ctx).wasi_call.get();
        if *wasi_call == state as *const CallThreadState as usize {
            // The abandoned frames include a WASI call's, which will not return to clear this.
            *wasi_call = 0;
        }
    }
    if state.outermost {
        // SAFETY: the activation's store context was valid for its whole call (`catch_traps`'s
        // contract) and the store is still alive: its call is running (being abandoned) on this
        // thread, so nothing else uses it.
        unsafe {
            *(*state.store_ctx).stack_limit.get() = 0;
            (*state.store_ctx).interrupt.store(0, std::sync::atomic::Ordering::Relaxed);
        }
    }
    drop(state.pending.take());
    true
}

/// The current thread's innermost activation, or null. Async-signal-safe.
pub(crate) fn current_activation() -> *const CallThreadState {
    CURRENT.get()
}

/// Whether the current thread is running inside [`catch_traps`].
pub(crate) fn current_activation_exists() -> bool {
    !CURRENT.get().is_null()
}

/// Records a trap that a signal raised at `pc` (with frame pointer `fp` and stack pointer `sp`) in
/// `state`, and returns the jump buffer to resume at. Async-signal-safe: called by the signal handler.
///
/// # Safety
///
/// `state` must be the current thread's current activation, and `pc`, `fp` and `sp` the registers of
/// the interrupted Wasm code on this thread.
pub(crate) unsafe fn record_signal_trap(
    state: *const CallThreadState,
    code: TrapCode,
    pc: usize,
    fp: usize,
    sp: usize,
) -> *mut c_void {
    // SAFETY: the function's contract: `state` is live (its `catch_traps` is on this thread's stack).
    let state = unsafe { &*state };
    state.trap_code.set(code.as_u8());
    // SAFETY: `fp` belongs to `pc` and the stack between `sp` and the activation is live.
    unsafe { state.record_trap(pc, fp, false, sp) };
    state.jmp_buf.get()
}

/// Called by `spry_raise_trap` (`unwind.c`): records the trap `code` (0: already recorded by
/// [`record_host_error`] or [`record_panic`]) and the backtrace from the raising call's return
/// address `pc` and frame pointer `fp` in the current activation, and returns its jump buffer.
///
/// # Safety
///
/// Must be called only by `spry_raise_trap`, on behalf of Wasm code running inside [`catch_traps`]
/// on this thread; `fp` must be the frame pointer of the frame that `pc` returns into.
#[no_mangle]
pub unsafe extern "C" fn spry_trap_raised(code: u32, pc: usize, fp: usize) -> *mut c_void {
    let state = CURRENT.get();
    if state.is_null() {
        eprintln!("spry: a Wasm trap was raised outside of any call into Wasm");
        std::process::abort();
    }
    // SAFETY: a non-null current activation lives in a `catch_traps` frame of this thread.
    let state = unsafe { &*state };
    if code != 0 {
        match u8::try_from(code).ok().and_then(TrapCode::from_u8) {
            Some(code) => state.trap_code.set(code.as_u8()),
            None => state.pending.set(Some(Pending::HostError(anyhow::anyhow!("invalid trap code {code}"), true))),
        }
    }
    // A host error's Wasm frames are all still on the stack here, below the activation: walked now,
    // unless the error is an exit (which is not a trap the user sees).
    let pending = state.pending.take();
    let walk = !matches!(pending, Some(Pending::HostError(_, false)));
    state.pending.set(pending);
    if walk {
        let marker = 0u8;
        let stack_low = std::hint::black_box(&marker) as *const u8 as usize;
        // SAFETY: our frame is below the raising frames, which lie below the activation; `fp` belongs
        // to `pc` (the function's contract).
        unsafe { state.record_trap(pc, fp, true, stack_low) };
    } else {
        state.trap_pc.set(pc);
        state.trap_fp.set(fp);
        state.backtrace_len.set(0);
    }
    state.jmp_buf.get()
}

/// Records a host function's error in the current activation. The caller (a host-call shim) then
/// returns a nonzero status, and the wasm-to-host trampoline raises the trap with
/// `spry_raise_trap(vmctx, 0)`. Outside any activation the error is dropped.
pub fn record_host_error(err: anyhow::Error) {
    record_pending(Pending::HostError(err, true));
}

/// [`record_host_error`] for an error that ends the program rather than reports a fault (WASI's
/// `proc_exit`): the trap records no backtrace, so exiting does not walk the stack.
pub fn record_host_exit(err: anyhow::Error) {
    record_pending(Pending::HostError(err, false));
}

/// Records a host function's panic in the current activation, to be resumed once out of Wasm (see
/// [`record_host_error`] for what the caller does next). Outside any activation the payload is dropped.
pub fn record_panic(payload: Box<dyn Any + Send>) {
    record_pending(Pending::Panic(payload));
}

fn record_pending(pending: Pending) {
    debug_assert!(current_activation_exists(), "a host error or panic was recorded outside of any call into Wasm");
    let state = CURRENT.get();
    if !state.is_null() {
        // SAFETY: a non-null current activation lives in a `catch_traps` frame of this thread.
        unsafe { (*state).pending.set(Some(pending)) };
    }
}

/// Executable test code, for the tests of this module and of [`super::signals`].
#[cfg(test)]
pub(crate) mod test_code {
    use std::ffi::c_void;
    use std::sync::Arc;

    use rustix::mm::{self, MapFlags, MprotectFlags, ProtFlags};

    use crate::vm::code_registry::{self, CodeInfo, CodeRegistration, FunctionRange, TrapSite};

    /// Hand-assembled x86-64 code in its own mapping, registered while it lives.
    pub(crate) struct TestCode {
        base: *mut c_void,
        len: usize,
        registration: Option<CodeRegistration>,
    }

    impl TestCode {
        /// Maps `code` read+execute (written through a read+write mapping first, never RWX) and
        /// registers it with `traps` and `functions`.
        pub(crate) fn new(code: &[u8], traps: Vec<TrapSite>, functions: Vec<FunctionRange>) -> TestCode {
            let len = code.len().next_multiple_of(4096);
            // SAFETY: a fresh anonymous mapping; we own it until `drop`.
            let base = unsafe {
                mm::mmap_anonymous(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::PRIVATE)
            }
            .expect("mmap");
            // SAFETY: `base` is a writable mapping of `len >= code.len()` bytes.
            unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), base.cast::<u8>(), code.len()) };
            // SAFETY: the mapping is ours; no reference into it exists.
            unsafe { mm::mprotect(base, len, MprotectFlags::READ | MprotectFlags::EXEC) }.expect("mprotect");
            let info = CodeInfo { traps, functions, ..CodeInfo::default() };
            let registration = code_registry::register(base as usize, len, Arc::new(info));
            TestCode { base, len, registration: Some(registration) }
        }

        /// The address of the byte at `offset`.
        pub(crate) fn addr(&self, offset: usize) -> usize {
            self.base as usize + offset
        }
    }

    impl Drop for TestCode {
        fn drop(&mut self) {
            // Unregistered before it is unmapped: once unmapped, another thread may map (and register)
            // code at the same address.
            drop(self.registration.take());
            // SAFETY: the mapping is ours and no code runs in it any more (the tests join first).
            unsafe { mm::munmap(self.base, self.len) }.expect("munmap");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_code::TestCode;
    use super::*;
    use crate::vm::code_registry::{FunctionRange, TrapSite};
    use crate::vm::signals::init_signal_handlers;

    // The test module's code, offsets in brackets:
    //   f0 [0, 8):    push rbp; mov rbp, rsp; ud2 [4]; pop rbp; ret
    //   f1 [8, 16):   push rbp; mov rbp, rsp; mov eax, [rdi] [12]; pop rbp; ret
    //   f2 [16, 27):  push rbp; mov rbp, rsp; call f0 (returns to 25); pop rbp; ret
    //   f3 [32, 50):  push rbp; mov rbp, rsp; movabs rax, spry_raise_trap; call rax (returns to 48); pop rbp; ret
    //   trampoline [64, 82): the same as f3, but not a Wasm function
    //   f4 [96, 107): push rbp; mov rbp, rsp; call trampoline (returns to 105); pop rbp; ret
    //   f5 [112, 130): push rbp; mov rbp, rsp; cmp rsp, [rdi]; jae +2; ud2 [121]; call f5; pop rbp; ret
    //                 (recurses until the stack limit at [rdi] is reached, like a Wasm prologue check)
    const F0: usize = 0;
    const F1: usize = 8;
    const F2: usize = 16;
    const F3: usize = 32;
    const TRAMPOLINE: usize = 64;
    const F4: usize = 96;
    const F5: usize = 112;

    fn call_rel32(from: usize, to: usize) -> [u8; 5] {
        let rel = (to as i64 - (from as i64 + 5)) as i32;
        let b = rel.to_le_bytes();
        [0xe8, b[0], b[1], b[2], b[3]]
    }

    fn raise_stub() -> Vec<u8> {
        let mut v = vec![0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8];
        v.extend_from_slice(&(spry_raise_trap as *const () as usize as u64).to_le_bytes());
        v.extend_from_slice(&[0xff, 0xd0, 0x5d, 0xc3]);
        v
    }

    fn test_code() -> TestCode {
        let mut code = vec![0xcc; 160];
        let mut put = |at: usize, bytes: &[u8]| code[at..at + bytes.len()].copy_from_slice(bytes);
        put(F0, &[0x55, 0x48, 0x89, 0xe5, 0x0f, 0x0b, 0x5d, 0xc3]);
        put(F1, &[0x55, 0x48, 0x89, 0xe5, 0x8b, 0x07, 0x5d, 0xc3]);
        put(F2, &[0x55, 0x48, 0x89, 0xe5]);
        put(F2 + 4, &call_rel32(F2 + 4, F0));
        put(F2 + 9, &[0x5d, 0xc3]);
        put(F3, &raise_stub());
        put(TRAMPOLINE, &raise_stub());
        put(F4, &[0x55, 0x48, 0x89, 0xe5]);
        put(F4 + 4, &call_rel32(F4 + 4, TRAMPOLINE));
        put(F4 + 9, &[0x5d, 0xc3]);
        put(F5, &[0x55, 0x48, 0x89, 0xe5, 0x48, 0x3b, 0x27, 0x73, 0x02, 0x0f, 0x0b]);
        put(F5 + 11, &call_rel32(F5 + 11, F5));
        put(F5 + 16, &[0x5d, 0xc3]);
        let traps = vec![
            TrapSite { offset: (F0 + 4) as u32, code: TrapCode::UnreachableCodeReached },
            TrapSite { offset: (F1 + 4) as u32, code: TrapCode::MemoryOutOfBounds },
            TrapSite { offset: (F5 + 9) as u32, code: TrapCode::StackOverflow },
        ];
        let functions = [(F0, 8, 0), (F1, 8, 1), (F2, 11, 2), (F3, 18, 3), (F4, 11, 4), (F5, 18, 5)]
            .map(|(start, len, func_index)| FunctionRange {
                start: start as u32,
                end: (start + len) as u32,
                func_index,
            })
            .to_vec();
        TestCode::new(&code, traps, functions)
    }

    type Fn1 = unsafe extern "C" fn(usize, u32) -> u32;

    fn func(code: &TestCode, offset: usize) -> Fn1 {
        // SAFETY: `offset` is the start of a function in `code`'s executable mapping; the functions
        // follow the System V ABI and take at most two integer arguments.
        unsafe { std::mem::transmute::<usize, Fn1>(code.addr(offset)) }
    }

    /// Calls `f(arg0, arg1)` under `catch_traps` with a fresh store context.
    fn run(f: Fn1, arg0: usize, arg1: u32) -> Result<(), UnwindReason> {
        let store = VMStoreContext::default();
        // SAFETY: `store` outlives the call; the closure owns nothing but copies of plain values.
        unsafe {
            catch_traps((&raw const store).cast_mut(), 512 * 1024, || {
                f(arg0, arg1);
            })
        }
    }

    fn expect_trap(result: Result<(), UnwindReason>) -> Trap {
        match result {
            Err(UnwindReason::Trap(trap)) => trap,
            other => panic!("expected a trap, got {other:?}"),
        }
    }

    fn frames(trap: &Trap) -> Vec<(u32, u32)> {
        trap.backtrace().iter().map(|f| (f.func_index, f.code_offset)).collect()
    }

    #[test]
    fn unreachable_traps() {
        init_signal_handlers();
        let code = test_code();
        let trap = expect_trap(run(func(&code, F0), 0, 0));
        assert_eq!(trap.code(), TrapCode::UnreachableCodeReached);
        assert_eq!(frames(&trap), [(0, 4)]);
        assert!(!current_activation_exists());
    }

    #[test]
    fn out_of_bounds_load_traps() {
        init_signal_handlers();
        let code = test_code();
        let trap = expect_trap(run(func(&code, F1), 0, 0));
        assert_eq!(trap.code(), TrapCode::MemoryOutOfBounds);
        assert_eq!(frames(&trap), [(1, 4)]);
    }

    #[test]
    fn backtrace_has_callers() {
        init_signal_handlers();
        let code = test_code();
        let trap = expect_trap(run(func(&code, F2), 0, 0));
        assert_eq!(trap.code(), TrapCode::UnreachableCodeReached);
        // f2's frame is at its call's return address minus 1: offset 9 - 1 in f2.
        assert_eq!(frames(&trap), [(0, 4), (2, 8)]);
    }

    #[test]
    fn raise_trap_from_code() {
        let code = test_code();
        let trap = expect_trap(run(func(&code, F3), 0, TrapCode::IntegerDivisionByZero.as_u8().into()));
        assert_eq!(trap.code(), TrapCode::IntegerDivisionByZero);
        assert_eq!(frames(&trap), [(3, 15)]);
        // Through a trampoline that is not a Wasm function: its frame is skipped.
        let trap = expect_trap(run(func(&code, F4), 0, TrapCode::TableOutOfBounds.as_u8().into()));
        assert_eq!(trap.code(), TrapCode::TableOutOfBounds);
        assert_eq!(frames(&trap), [(4, 8)]);
    }

    #[test]
    fn host_error_and_panic_come_back() {
        let code = test_code();
        let raise = func(&code, F4);
        let store = VMStoreContext::default();
        // SAFETY: `store` outlives the call; the closure owns nothing across the call into code.
        let result = unsafe {
            catch_traps((&raw const store).cast_mut(), 512 * 1024, || {
                record_host_error(anyhow::anyhow!("boom"));
                raise(0, 0);
            })
        };
        let trap = expect_trap(result);
        assert_eq!(trap.code(), TrapCode::HostError);
        assert_eq!(trap.host_error().map(|e| e.to_string()), Some("boom".to_string()));
        assert_eq!(frames(&trap), [(4, 8)]);

        // SAFETY: as above.
        let result = unsafe {
            catch_traps((&raw const store).cast_mut(), 512 * 1024, || {
                record_panic(Box::new("host panicked"));
                raise(0, 0);
            })
        };
        match result {
            Err(UnwindReason::Panic(payload)) => assert_eq!(payload.downcast_ref::<&str>(), Some(&"host panicked")),
            other => panic!("expected a panic, got {other:?}"),
        }

        // A panic in the entry closure itself is caught too.
        // SAFETY: as above.
        let result = unsafe { catch_traps((&raw const store).cast_mut(), 512 * 1024, || panic!("in the closure")) };
        assert!(matches!(result, Err(UnwindReason::Panic(_))));
        // SAFETY: as above.
        let result = unsafe { catch_traps((&raw const store).cast_mut(), 512 * 1024, || {}) };
        assert!(result.is_ok());
    }

    #[test]
    fn ten_thousand_traps() {
        init_signal_handlers();
        let code = test_code();
        let codes = [TrapCode::UnreachableCodeReached, TrapCode::MemoryOutOfBounds, TrapCode::BadSignature];
        for i in 0..10_000 {
            let trap = match i % 3 {
                0 => expect_trap(run(func(&code, F0), 0, 0)),
                1 => expect_trap(run(func(&code, F1), 0, 0)),
                _ => expect_trap(run(func(&code, F3), 0, TrapCode::BadSignature.as_u8().into())),
            };
            assert_eq!(trap.code(), codes[i % 3]);
            assert!(!current_activation_exists());
        }
        // Still fine afterwards: a normal call, and another trap.
        let word = 7u32;
        assert!(run(func(&code, F1), (&raw const word) as usize, 0).is_ok());
        assert_eq!(expect_trap(run(func(&code, F2), 0, 0)).code(), TrapCode::UnreachableCodeReached);
    }

    #[test]
    fn traps_on_many_threads() {
        init_signal_handlers();
        let code = test_code();
        let (f0, f3) = (func(&code, F0), func(&code, F3));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1_000 {
                        assert_eq!(expect_trap(run(f0, 0, 0)).code(), TrapCode::UnreachableCodeReached);
                        assert_eq!(
                            expect_trap(run(f3, 0, TrapCode::Interrupt.as_u8().into())).code(),
                            TrapCode::Interrupt
                        );
                    }
                });
            }
            // Meanwhile, other code comes and goes.
            s.spawn(|| {
                for _ in 0..500 {
                    drop(test_code());
                }
            });
        });
    }

    #[test]
    fn stack_limit_is_set_by_the_outermost_entry() {
        let store = VMStoreContext::default();
        let ctx = (&raw const store).cast_mut();
        // SAFETY: `store` outlives the calls; only this thread uses it.
        let limit = || unsafe { *store.stack_limit.get() };
        let max = 256 * 1024;
        let mut seen = (0, 0);
        // SAFETY: as above; the closures own nothing and call no Wasm code.
        let result = unsafe {
            catch_traps(ctx, max, || {
                let marker = 0u8;
                let sp = &marker as *const u8 as usize;
                let outer = limit();
                assert!(outer < sp && outer > sp - max - 64 * 1024, "limit {outer:#x}, sp {sp:#x}");
                // A nested entry (Wasm → host → Wasm) keeps the outer limit.
                let nested = catch_traps(ctx, 16, || seen = (outer, limit()));
                assert!(nested.is_ok());
                assert_eq!(limit(), outer);
            })
        };
        assert!(result.is_ok());
        assert_eq!(seen.0, seen.1);
        assert_eq!(limit(), 0, "the outermost entry resets the limit");
    }

    #[test]
    fn stack_overflow_traps() {
        init_signal_handlers();
        let code = test_code();
        let store = VMStoreContext::default();
        let ctx = (&raw const store).cast_mut();
        let f5 = func(&code, F5);
        // SAFETY: `store` outlives the call; the closure owns nothing.
        let result = unsafe { catch_traps(ctx, 128 * 1024, || _ = f5(ctx as usize, 0)) };
        let trap = expect_trap(result);
        assert_eq!(trap.code(), TrapCode::StackOverflow);
        let frames = frames(&trap);
        assert_eq!(frames.len(), MAX_BACKTRACE);
        assert_eq!(frames[0], (5, 9));
        assert!(frames[1..].iter().all(|&f| f == (5, 15)));
        // SAFETY: as above.
        assert_eq!(unsafe { *store.stack_limit.get() }, 0);
    }
}
