/*
 * Spry's trap unwind: the setjmp/longjmp pair that Wasm traps unwind through, and the entry point
 * that compiled Wasm code calls to raise a trap. See src/vm/traphandlers.rs.
 *
 * Built by build.rs with the cc crate, with frame pointers (the backtrace walk relies on them).
 */

#if !defined(__x86_64__) || !defined(__linux__)
#error "Spry's trap unwind supports only x86_64 Linux"
#endif

#include <setjmp.h>
#include <stdint.h>

/* Exported by src/vm/traphandlers.rs: records the trap and its backtrace in the current activation
 * and returns the activation's jump buffer. */
extern void *spry_trap_raised(uint32_t code, uintptr_t pc, uintptr_t fp);

void spry_longjmp(void *buf) __attribute__((noreturn));

/*
 * Calls body(payload) with a jump buffer set: returns 1 when body returns, 0 when something
 * longjmps to the buffer (whose address is stored in *buf_out before body runs). _setjmp does not
 * save the signal mask, so neither side makes a syscall.
 */
int spry_setjmp(void **buf_out, void (*body)(void *), void *payload) {
    jmp_buf buf;
    if (_setjmp(buf) != 0) {
        return 0;
    }
    *buf_out = &buf;
    body(payload);
    return 1;
}

/* Resumes in the spry_setjmp that set buf, making it return 0. Also the target of the signal
 * handler's context rewrite: it is entered with buf in RDI and a stack aligned as after a call. */
void spry_longjmp(void *buf) {
    jmp_buf *jb = (jmp_buf *)buf;
    _longjmp(*jb, 1);
}

/*
 * Called by compiled Wasm code (System V ABI) to raise a trap: code is a TrapCode, or 0 when the
 * reason (a host error or panic) is already recorded in the current activation. The backtrace
 * starts at our caller: its return address and its frame pointer (saved by our own prologue).
 */
__attribute__((noreturn, noinline)) void spry_raise_trap(void *vmctx, uint32_t code) {
    (void)vmctx;
    uintptr_t fp = (uintptr_t)(*(void **)__builtin_frame_address(0));
    uintptr_t pc = (uintptr_t)__builtin_return_address(0);
    spry_longjmp(spry_trap_raised(code, pc, fp));
}
