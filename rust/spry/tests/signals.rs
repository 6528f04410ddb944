//! Signal handlers chain both ways around Spry's: a SIGSEGV handler installed by another library
//! *after* the engine (chaining to the one it replaced, as well-behaved libraries do) still lets Wasm
//! traps work, and a fault that is not Spry's still reaches the handler installed *before* Spry's.
//!
//! Handlers are process-wide and Spry installs its own once, at the first `Engine::new`: this test
//! binary has one test, which installs the "before" handler first.

use std::ffi::{c_int, c_void};
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use spry::*;

/// The page the probe reads; the "before" handler makes it readable and lets the read run again.
static PROBE_PAGE: AtomicPtr<c_void> = AtomicPtr::new(ptr::null_mut());
static BEFORE_RAN: AtomicUsize = AtomicUsize::new(0);
static AFTER_RAN: AtomicUsize = AtomicUsize::new(0);
/// The disposition the "after" handler replaced (Spry's), to chain to.
static mut AFTER_PREVIOUS: MaybeUninit<libc::sigaction> = MaybeUninit::uninit();

/// Installed before Spry's: handles faults on the probe page by making it readable; anything else
/// is a real crash, so it restores the default action and returns (the fault then kills the process).
extern "C" fn before_handler(_sig: c_int, info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    // SAFETY: `info` is the kernel's siginfo for a fault.
    let addr = unsafe { (*info).si_addr() };
    let page = PROBE_PAGE.load(Ordering::SeqCst);
    if !page.is_null() && addr == page {
        BEFORE_RAN.fetch_add(1, Ordering::SeqCst);
        // SAFETY: the probe page is a mapping of ours; mprotect is async-signal-safe.
        unsafe { libc::mprotect(page, 4096, libc::PROT_READ) };
        return;
    }
    // SAFETY: restoring the default action is async-signal-safe.
    unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
}

/// Installed after Spry's, like a library that chains: counts, then calls the previous handler.
extern "C" fn after_handler(sig: c_int, info: *mut libc::siginfo_t, ctx: *mut c_void) {
    AFTER_RAN.fetch_add(1, Ordering::SeqCst);
    // SAFETY: written before this handler was installed, read-only since.
    let previous = unsafe { (*ptr::addr_of!(AFTER_PREVIOUS)).assume_init_ref() };
    assert!(previous.sa_flags & libc::SA_SIGINFO != 0, "Spry's handler takes siginfo");
    // SAFETY: the previous disposition is a three-argument handler (checked above); called as the
    // kernel would.
    unsafe {
        let f: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void) = std::mem::transmute(previous.sa_sigaction);
        f(sig, info, ctx);
    }
}

fn install(handler: extern "C" fn(c_int, *mut libc::siginfo_t, *mut c_void), old: *mut libc::sigaction) {
    // SAFETY: an all-zero sigaction is valid; the handler takes siginfo; `old` is null or writable.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGSEGV, &action, old), 0);
    }
}

/// Reads a fresh `PROT_NONE` page: faults once, outside Wasm; returns what it read (0).
fn probe() -> u8 {
    // SAFETY: a fresh private anonymous mapping.
    let page =
        unsafe { libc::mmap(ptr::null_mut(), 4096, libc::PROT_NONE, libc::MAP_PRIVATE | libc::MAP_ANONYMOUS, -1, 0) };
    assert_ne!(page, libc::MAP_FAILED);
    PROBE_PAGE.store(page, Ordering::SeqCst);
    // SAFETY: the page is mapped; the read faults until the "before" handler makes it readable.
    let byte = unsafe { ptr::read_volatile(page.cast::<u8>()) };
    PROBE_PAGE.store(ptr::null_mut(), Ordering::SeqCst);
    // SAFETY: our mapping, no longer used.
    unsafe { libc::munmap(page, 4096) };
    byte
}

fn oob_trap(engine: &Engine) {
    let wasm = wat::parse_str(r#"(module (memory 1) (func (export "f") (result i32) (i32.load (i32.const 0x20000))))"#)
        .unwrap();
    let module = Module::new(engine, wasm).unwrap();
    let mut store = Store::new(engine);
    let instance = Linker::new(engine).instantiate(&mut store, &module).unwrap();
    let f = instance.get_func(&mut store, "f").unwrap();
    let err = f.call(&mut store, &[], &mut [Val::I32(0)]).unwrap_err();
    assert_eq!(err.downcast_ref::<Trap>().map(Trap::code), Some(TrapCode::MemoryOutOfBounds), "{err:#}");
}

#[test]
fn handlers_chain_both_ways() {
    // Another library's handler, installed before Spry's.
    install(before_handler, ptr::null_mut());
    assert_eq!(probe(), 0);
    assert_eq!(BEFORE_RAN.load(Ordering::SeqCst), 1);

    // Spry's handler (with guard pages, the out-of-bounds load faults and becomes a trap).
    let engine = Engine::default();
    oob_trap(&engine);
    // A fault that is not Spry's reaches the handler installed before it.
    assert_eq!(probe(), 0);
    assert_eq!(BEFORE_RAN.load(Ordering::SeqCst), 2);

    // A handler installed after Spry's, chaining to it.
    // SAFETY: written before the handler that reads it is installed.
    install(after_handler, unsafe { (*ptr::addr_of_mut!(AFTER_PREVIOUS)).as_mut_ptr() });
    oob_trap(&engine);
    assert_eq!(AFTER_RAN.load(Ordering::SeqCst), 1, "the Wasm fault did not go through the later handler");
    assert_eq!(probe(), 0);
    assert_eq!(AFTER_RAN.load(Ordering::SeqCst), 2);
    assert_eq!(BEFORE_RAN.load(Ordering::SeqCst), 3, "a fault outside Wasm did not reach the earlier handler");
    // Engines made later keep working (Spry does not reinstall over the later handler).
    oob_trap(&Engine::default());
    assert_eq!(AFTER_RAN.load(Ordering::SeqCst), 3);
}
