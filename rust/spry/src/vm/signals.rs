//! The process-wide handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE: turns faults at Wasm trap sites
//! into traps, and passes every other fault to the handler it replaced, as the kernel would have.
//!
//! # Why it is built this way
//!
//! Spry runs inside Go programs, whose runtime owns the signal handlers it installed first, thread
//! stacks and the alternate signal stack. So the handler is installed once, with
//! `SA_SIGINFO | SA_ONSTACK | SA_NODEFER`, saving the previous disposition of each signal; it never
//! installs or changes a `sigaltstack`. It is async-signal-safe (no allocation, lock or lazily
//! initialized thread-local) and never unwinds from inside the handler: for a fault at a registered
//! trap site while the thread is in Wasm, it records the trap in the thread's activation
//! ([`super::traphandlers`]) and rewrites the signal context so that the thread, after sigreturn,
//! calls `spry_longjmp` on its own stack. Any other fault goes to the previous handler, called with the
//! same arguments, signal mask and one-shot semantics the kernel would have used (see [`chain`]).

#[cfg(not(all(target_arch = "x86_64", target_os = "linux")))]
compile_error!("Spry supports only x86_64 Linux: its trap handling reads x86-64 Linux signal contexts");

use std::cell::UnsafeCell;
use std::ffi::{c_int, c_void};
use std::mem::{self, MaybeUninit};
use std::ptr;
use std::sync::atomic::{self, AtomicBool, Ordering};
use std::sync::Once;

use crate::vm::code_registry;
use crate::vm::traphandlers::{self, spry_longjmp};

/// The signals whose faults can be Wasm traps.
const SIGNALS: [c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

/// Bytes below the stack pointer that the interrupted code may use without moving it (System V).
const RED_ZONE: usize = 128;

/// The dispositions that [`init_signal_handlers`] replaced, indexed like [`SIGNALS`].
struct PreviousHandlers(UnsafeCell<[MaybeUninit<libc::sigaction>; 4]>);

// SAFETY: the array is written only inside `INIT`'s `call_once`, before our handler is installed for
// any signal, and only read afterwards (by the handler), so there is no concurrent write.
unsafe impl Sync for PreviousHandlers {}

static PREVIOUS: PreviousHandlers = PreviousHandlers(UnsafeCell::new([MaybeUninit::uninit(); 4]));

/// For a previous handler installed with `SA_RESETHAND`: whether it has been used up (the kernel
/// would have reset the disposition to `SIG_DFL` when delivering to it).
static RESET_DONE: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];

static INIT: Once = Once::new();

/// Installs Spry's handler for SIGSEGV, SIGBUS, SIGILL and SIGFPE, once per process (later calls do
/// nothing). Call it before running any Wasm code (the Engine does, when it is created).
///
/// The handlers in place at the first call (in a Go program, the Go runtime's) keep receiving every
/// fault that is not a Wasm trap. A handler installed for these signals after this call replaces
/// Spry's, and Wasm traps then reach it instead.
pub fn init_signal_handlers() {
    INIT.call_once(|| {
        // SAFETY: runs once; `install`'s contract holds inside `call_once`.
        unsafe { install() }
    });
}

/// Saves the current dispositions, then installs [`trap_handler`].
///
/// # Safety
///
/// Must run at most once, with no concurrent caller (inside `INIT`).
unsafe fn install() {
    // SAFETY: no one else touches `PREVIOUS` yet (the function's contract; the handler is not
    // installed), and the pointer is valid for the whole array.
    let previous = unsafe { &mut *PREVIOUS.0.get() };
    for (slot, &sig) in previous.iter_mut().zip(&SIGNALS) {
        // SAFETY: `slot` is valid for writes of a `sigaction`; a null new action only queries.
        let rc = unsafe { libc::sigaction(sig, ptr::null(), slot.as_mut_ptr()) };
        assert_eq!(rc, 0, "sigaction({sig}) failed");
    }
    // The saved handlers must be visible to any thread our handler will run on. (If another
    // thread changed a disposition between the query above and the install below, its change would
    // be lost: install before starting threads that fiddle with these signals.)
    atomic::fence(Ordering::SeqCst);

    // SAFETY: an all-zero `sigaction` is a valid value (plain integers and a signal set).
    let mut action: libc::sigaction = unsafe { mem::zeroed() };
    action.sa_sigaction = trap_handler as *const () as usize;
    action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
    // SAFETY: `sa_mask` is a valid signal set to initialize.
    unsafe { libc::sigemptyset(&mut action.sa_mask) };
    for &sig in &SIGNALS {
        // SAFETY: `action` is a fully initialized `sigaction`; the old action is not wanted.
        let rc = unsafe { libc::sigaction(sig, &action, ptr::null_mut()) };
        assert_eq!(rc, 0, "sigaction({sig}) failed");
    }
}

/// The signal handler. Async-signal-safe.
///
/// # Safety
///
/// Called only by the kernel (or a handler chaining to it) for an `SA_SIGINFO` signal: `info` and
/// `context` are the kernel's `siginfo_t` and `ucontext_t` for it.
unsafe extern "C" fn trap_handler(sig: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    // SAFETY: `__errno_location` returns this thread's errno, valid for the thread's lifetime.
    let errno = unsafe { *libc::__errno_location() };
    // SAFETY: `context` is the kernel's ucontext for this signal (the function's contract).
    if !unsafe { redirect_to_unwind(context.cast()) } {
        // SAFETY: the arguments are the kernel's (the function's contract).
        unsafe { chain(sig, info, context) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// If the fault is at a Wasm trap site while this thread is inside `catch_traps`, records the trap
/// and rewrites `context` to resume in `spry_longjmp(jmp_buf)` as if called from the faulting code,
/// just below its red zone. Returns whether it did.
///
/// # Safety
///
/// `context` must be the kernel's `ucontext_t` for a signal being handled on this thread.
unsafe fn redirect_to_unwind(context: *mut libc::ucontext_t) -> bool {
    let activation = traphandlers::current_activation();
    if activation.is_null() {
        return false;
    }
    // SAFETY: `context` is valid and only this handler uses it (the function's contract).
    let regs = unsafe { &mut (*context).uc_mcontext.gregs };
    let pc = regs[libc::REG_RIP as usize] as usize;
    let Some(code) = code_registry::lookup_trap_code(pc) else {
        return false;
    };
    let fp = regs[libc::REG_RBP as usize] as usize;
    let sp = regs[libc::REG_RSP as usize] as usize;
    // SAFETY: `activation` is this thread's current activation, and the registers are those of the
    // Wasm code it runs, interrupted on this thread.
    let jmp_buf = unsafe { traphandlers::record_signal_trap(activation, code, pc, fp, sp) };
    if jmp_buf.is_null() {
        return false;
    }
    regs[libc::REG_RIP as usize] = spry_longjmp as *const () as usize as i64;
    regs[libc::REG_RDI as usize] = jmp_buf as i64;
    // 16-byte aligned minus 8: the alignment right after a `call`.
    regs[libc::REG_RSP as usize] = (((sp - RED_ZONE) & !15) - 8) as i64;
    true
}

/// Whether the signal was raised by the kernel for a fault (rather than sent by `kill`, `raise`,
/// `sigqueue`...), so that returning re-executes the faulting instruction.
///
/// # Safety
///
/// `info` must be null or the kernel's `siginfo_t` for the signal being handled.
unsafe fn is_fault(info: *const libc::siginfo_t) -> bool {
    // SAFETY: `info` is valid when not null (the function's contract).
    info.is_null() || unsafe { (*info).si_code } > 0
}

/// Delivers the signal to the disposition saved by [`install`], as the kernel would have:
///
/// - a handler with `SA_SIGINFO` is called with `(sig, info, context)`, one without with `(sig)`, with
///   the signals of its `sa_mask` blocked, plus `sig` itself unless it had `SA_NODEFER`; if it had
///   `SA_RESETHAND`, it is called for the first such signal only and later ones get `SIG_DFL`
///   (Spry's handler stays installed, so only the chained disposition is reset);
/// - `SIG_DFL` restores the default disposition and returns, so the faulting instruction runs again
///   and the process dies of the same signal at the same place; a signal sent by a process (not a
///   fault) is raised again instead;
/// - `SIG_IGN` ignores a sent signal; a fault cannot be ignored (the kernel would kill the process,
///   as for `SIG_DFL`), so it is handled as `SIG_DFL`.
///
/// # Safety
///
/// The arguments must be the kernel's for a signal in [`SIGNALS`] being handled on this thread, after
/// [`install`].
unsafe fn chain(sig: c_int, info: *mut libc::siginfo_t, context: *mut c_void) {
    let Some(index) = SIGNALS.iter().position(|&s| s == sig) else {
        return;
    };
    // SAFETY: `install` initialized every slot before installing the handler; they are read-only now.
    let previous = unsafe { (*PREVIOUS.0.get())[index].assume_init_ref() };
    let mut handler = previous.sa_sigaction;
    if previous.sa_flags & libc::SA_RESETHAND != 0 && RESET_DONE[index].swap(true, Ordering::SeqCst) {
        handler = libc::SIG_DFL;
    }
    // SAFETY: `info` is the kernel's (the function's contract).
    let fault = unsafe { is_fault(info) };
    if handler == libc::SIG_DFL || (handler == libc::SIG_IGN && fault) {
        // SAFETY: an all-zero `sigaction` with `SIG_DFL` is a valid default disposition.
        unsafe {
            let mut default: libc::sigaction = mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(sig, &default, ptr::null_mut());
            if !fault {
                libc::raise(sig);
            }
        }
        return;
    }
    if handler == libc::SIG_IGN {
        return;
    }

    let mut mask = previous.sa_mask;
    if previous.sa_flags & libc::SA_NODEFER == 0 {
        // SAFETY: `mask` is an initialized signal set.
        unsafe { libc::sigaddset(&mut mask, sig) };
    }
    let mut old_mask = MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: both sets are valid; `pthread_sigmask` is async-signal-safe and fills `old_mask`.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &mask, old_mask.as_mut_ptr()) };
    if previous.sa_flags & libc::SA_SIGINFO != 0 {
        // SAFETY: a disposition installed with `SA_SIGINFO` is a three-argument handler.
        let handler: unsafe extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) =
            unsafe { mem::transmute(handler) };
        // SAFETY: called as the kernel would, with the kernel's arguments.
        unsafe { handler(sig, info, context) };
    } else {
        // SAFETY: a disposition installed without `SA_SIGINFO` (and not `SIG_DFL`/`SIG_IGN`) is a
        // one-argument handler.
        let handler: unsafe extern "C" fn(c_int) = unsafe { mem::transmute(handler) };
        // SAFETY: as above.
        unsafe { handler(sig) };
    }
    // SAFETY: `old_mask` was filled by the `pthread_sigmask` call above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, old_mask.as_ptr(), ptr::null_mut()) };
}

#[cfg(test)]
mod tests {
    //! Faults that are not Wasm traps must reach the previous handler. Each case runs in a child
    //! process: the test binary itself, re-run with only `child_process` and `SPRY_SIGNALS_CHILD` set.

    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Output};

    use super::*;
    use crate::trap::TrapCode;
    use crate::vm::code_registry::{FunctionRange, TrapSite};
    use crate::vm::traphandlers::test_code::TestCode;

    const CHILD_VAR: &str = "SPRY_SIGNALS_CHILD";

    fn run_child(mode: &str) -> Output {
        let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &format!("{module}::child_process"), "--nocapture", "--test-threads=1"])
            .env(CHILD_VAR, mode)
            .output()
            .unwrap();
        eprintln!("child {mode}: {:?}\n{}", output.status, String::from_utf8_lossy(&output.stderr));
        output
    }

    fn stderr(output: &Output) -> String {
        String::from_utf8_lossy(&output.stderr).into_owned()
    }

    // --- What the child does. ---

    fn write_stderr(msg: &[u8]) {
        // SAFETY: writes `msg`'s bytes to fd 2; async-signal-safe.
        unsafe { libc::write(2, msg.as_ptr().cast(), msg.len()) };
    }

    extern "C" fn exiting_handler(_sig: c_int, _info: *mut libc::siginfo_t, _ctx: *mut c_void) {
        write_stderr(b"custom handler ran\n");
        // SAFETY: `_exit` is async-signal-safe and ends the process.
        unsafe { libc::_exit(42) };
    }

    extern "C" fn one_shot_handler(_sig: c_int) {
        write_stderr(b"one-shot handler ran\n");
    }

    fn set_handler(sig: c_int, handler: usize, flags: c_int) {
        // SAFETY: an all-zero `sigaction` is valid; the handler matches `flags` (callers' duty).
        unsafe {
            let mut action: libc::sigaction = mem::zeroed();
            action.sa_sigaction = handler;
            action.sa_flags = flags;
            assert_eq!(libc::sigaction(sig, &action, ptr::null_mut()), 0);
        }
    }

    /// Reads from an inaccessible page: a SIGSEGV outside any registered code.
    fn fault() {
        // SAFETY: a fresh `PROT_NONE` anonymous mapping, never unmapped.
        let page = unsafe {
            rustix::mm::mmap_anonymous(
                ptr::null_mut(),
                4096,
                rustix::mm::ProtFlags::empty(),
                rustix::mm::MapFlags::PRIVATE,
            )
        }
        .unwrap();
        // SAFETY: `page` is valid, aligned and non-null; reading it faults, which is the point.
        let byte = unsafe { ptr::read_volatile(page.cast::<u8>()) };
        write_stderr(format!("read {byte} without faulting\n").as_bytes());
    }

    /// Executes `ud2` in registered code, listed as a trap site or not.
    fn ud2(registered_trap_site: bool) {
        let traps = if registered_trap_site {
            vec![TrapSite { offset: 4, code: TrapCode::UnreachableCodeReached }]
        } else {
            vec![]
        };
        let code = TestCode::new(
            &[0x55, 0x48, 0x89, 0xe5, 0x0f, 0x0b, 0x5d, 0xc3],
            traps,
            vec![FunctionRange { start: 0, end: 8, func_index: 0 }],
        );
        // SAFETY: the code is a System V function without arguments (that traps).
        let f = unsafe { mem::transmute::<usize, extern "C" fn()>(code.addr(0)) };
        f();
    }

    #[test]
    fn child_process() {
        let Ok(mode) = std::env::var(CHILD_VAR) else {
            return; // Only runs as a child.
        };
        let no_core = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: sets this process's core-dump size limit from a valid `rlimit`: the deaths below
        // are expected and need no core files.
        unsafe { libc::setrlimit(libc::RLIMIT_CORE, &no_core) };
        let exiting = exiting_handler as *const () as usize;
        match mode.as_str() {
            "custom" => {
                set_handler(libc::SIGSEGV, exiting, libc::SA_SIGINFO);
                init_signal_handlers();
                fault();
            }
            "trap-site-outside-wasm" => {
                set_handler(libc::SIGILL, exiting, libc::SA_SIGINFO);
                init_signal_handlers();
                ud2(true);
            }
            "default-segv" => {
                set_handler(libc::SIGSEGV, libc::SIG_DFL, 0);
                init_signal_handlers();
                fault();
            }
            "default-ill" => {
                set_handler(libc::SIGILL, libc::SIG_DFL, 0);
                init_signal_handlers();
                ud2(false);
            }
            "one-shot" => {
                set_handler(libc::SIGSEGV, one_shot_handler as *const () as usize, libc::SA_RESETHAND);
                init_signal_handlers();
                fault();
            }
            "ignored-sent" => {
                set_handler(libc::SIGBUS, libc::SIG_IGN, 0);
                init_signal_handlers();
                // SAFETY: sends SIGBUS to this thread; ignored.
                unsafe { libc::raise(libc::SIGBUS) };
                write_stderr(b"survived\n");
                // SAFETY: ends the process with a recognizable status.
                unsafe { libc::_exit(43) };
            }
            "default-sent" => {
                set_handler(libc::SIGFPE, libc::SIG_DFL, 0);
                init_signal_handlers();
                // SAFETY: sends SIGFPE to this thread, which kills the process.
                unsafe { libc::raise(libc::SIGFPE) };
            }
            other => panic!("unknown child mode {other}"),
        }
        write_stderr(b"child did not die\n");
        // SAFETY: ends the process with a recognizable status.
        unsafe { libc::_exit(3) };
    }

    // --- What the parent checks. ---

    #[test]
    fn fault_outside_wasm_reaches_previous_handler() {
        let output = run_child("custom");
        assert_eq!(output.status.code(), Some(42));
        assert!(stderr(&output).contains("custom handler ran"));
    }

    #[test]
    fn trap_site_outside_catch_traps_reaches_previous_handler() {
        let output = run_child("trap-site-outside-wasm");
        assert_eq!(output.status.code(), Some(42));
        assert!(stderr(&output).contains("custom handler ran"));
    }

    #[test]
    fn fault_with_default_handler_kills_with_the_signal() {
        assert_eq!(run_child("default-segv").status.signal(), Some(libc::SIGSEGV));
        assert_eq!(run_child("default-ill").status.signal(), Some(libc::SIGILL));
        assert_eq!(run_child("default-sent").status.signal(), Some(libc::SIGFPE));
    }

    #[test]
    fn one_shot_handler_runs_once() {
        let output = run_child("one-shot");
        assert_eq!(output.status.signal(), Some(libc::SIGSEGV));
        assert_eq!(stderr(&output).matches("one-shot handler ran").count(), 1);
    }

    #[test]
    fn ignored_sent_signal_is_ignored() {
        let output = run_child("ignored-sent");
        assert_eq!(output.status.code(), Some(43));
        assert!(stderr(&output).contains("survived"));
    }
}
