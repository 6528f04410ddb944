//! Fault injection for tests: makes the next `n` calls of a system-call site fail as if the kernel
//! had refused them, so that tests can check that every failure ends in a clear error (or a working
//! program), never a crash, a hang or a silently wrong result.
//!
//! Each site checks its countdown with one relaxed atomic load before its system call; the counters
//! are process-global, so tests that use them must not run concurrently with other tests of the
//! same process that make those system calls (put them in a test binary of their own, run serially).
//! Not for production use.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A place where the runtime makes a system call that can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Site {
    /// The `mmap` reserving an on-demand linear memory (fails with `ENOMEM`).
    MemoryReserve,
    /// The `mprotect` making pages of a linear memory accessible: growing an on-demand memory, or
    /// sizing a pool slot for a new memory (fails with `ENOMEM`).
    MemoryProtect,
    /// The `mmap` of a memory image over a linear memory, and the `mmap`s that replace a pool slot's
    /// pages with fresh ones (fails with `ENOMEM`).
    MemoryRemap,
    /// The `memfd_create` of a memory image when a module is compiled (fails with `EMFILE`).
    MemfdCreate,
    /// The `madvise(MADV_DONTNEED)` (or `process_madvise`) resetting released pool slots (fails
    /// with `EINVAL`).
    Madvise,
    /// The `mmap` of the pooling allocator's reservations when an engine is created (fails with
    /// `ENOMEM`).
    PoolReserve,
    /// The `mmap` of executable memory for compiled code (fails with `ENOMEM`).
    CodeMap,
    /// The `mprotect` making compiled code executable (fails with `EACCES`).
    CodeProtect,
}

const SITES: usize = 8;

static COUNTDOWN: [AtomicU32; SITES] = [const { AtomicU32::new(0) }; SITES];
static INJECTED: [AtomicU64; SITES] = [const { AtomicU64::new(0) }; SITES];

/// Makes the next `n` calls at `site` fail (replacing any countdown in progress there).
pub fn fail_next(site: Site, n: u32) {
    COUNTDOWN[site as usize].store(n, Ordering::SeqCst);
}

/// Clears every countdown: system calls succeed or fail on their own again.
pub fn clear() {
    for c in &COUNTDOWN {
        c.store(0, Ordering::SeqCst);
    }
}

/// How many failures have been injected at `site` since the process started: a test reads it to
/// know that the failure it set up really happened.
pub fn injected(site: Site) -> u64 {
    INJECTED[site as usize].load(Ordering::SeqCst)
}

/// Whether the call at `site` about to be made must fail (counting the failure down).
#[inline]
pub(crate) fn should_fail(site: Site) -> bool {
    let c = &COUNTDOWN[site as usize];
    if c.load(Ordering::Relaxed) == 0 {
        return false;
    }
    let taken = c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if taken {
        INJECTED[site as usize].fetch_add(1, Ordering::SeqCst);
    }
    taken
}

/// `Err` with the error the kernel would give at `site` if a failure is injected there, else `Ok`.
#[inline]
pub(crate) fn check(site: Site) -> rustix::io::Result<()> {
    if !should_fail(site) {
        return Ok(());
    }
    Err(match site {
        Site::MemfdCreate => rustix::io::Errno::MFILE,
        Site::Madvise => rustix::io::Errno::INVAL,
        Site::CodeProtect => rustix::io::Errno::ACCESS,
        _ => rustix::io::Errno::NOMEM,
    })
}
