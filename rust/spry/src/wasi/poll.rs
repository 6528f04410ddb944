//! `poll_oneoff`'s sleep: a wait on the store's interrupt flag (a futex on Linux), so that an
//! interrupt (Go's context cancellation) ends it at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The address of the flag's low 32 bits, which a futex waits on (the flag is 0 or `INTERRUPT_FLAG_SET`, whose low 32 bits are not 0).
#[cfg(target_os = "linux")]
fn futex_word(flag: &AtomicU64) -> *const u32 {
    let p = flag.as_ptr().cast::<u32>();
    if cfg!(target_endian = "little") {
        p
    } else {
        p.wrapping_add(1)
    }
}

/// Wakes every thread sleeping in [`sleep_until`] on `flag` (called after the flag is set).
pub(crate) fn wake_interrupted(flag: &AtomicU64) {
    #[cfg(target_os = "linux")]
    // SAFETY: FUTEX_WAKE only reads the address (never dereferenced by Rust as a u32); the flag
    // outlives the call. A wake with no waiter is a no-op.
    unsafe {
        libc::syscall(libc::SYS_futex, futex_word(flag), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, i32::MAX);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = flag;
}

/// Sleeps until `deadline` or until `flag` is set; returns whether it was set.
pub(crate) fn sleep_until(flag: &AtomicU64, deadline: Instant) -> bool {
    loop {
        if flag.load(Ordering::Acquire) != 0 {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let left = deadline - now;
        #[cfg(target_os = "linux")]
        {
            let ts = libc::timespec {
                tv_sec: left.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: left.subsec_nanos() as libc::c_long,
            };
            // SAFETY: FUTEX_WAIT reads the word at the flag's address (atomically, in the kernel)
            // and sleeps only while it is still 0, so a flag set after the load above is not
            // missed; `ts` lives across the call. Spurious wake-ups loop.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    futex_word(flag),
                    libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                    0u32,
                    &ts as *const libc::timespec,
                );
            }
        }
        #[cfg(not(target_os = "linux"))]
        std::thread::sleep(left.min(std::time::Duration::from_millis(1)));
    }
}
