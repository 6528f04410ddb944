//! The pooling instance allocator: one reservation per resource (instance blocks, linear memories,
//! tables) made when the engine is created, cut into fixed-size slots that instances take and give
//! back.
//!
//! A slot is reset when it is given back, so the next instance finds it as a fresh one would be:
//! zeros, or the memory image it held. Small regions are reset with a plain write of zeros, which
//! keeps their pages resident and costs no syscall (`keep_resident_bytes`); larger ones with
//! `madvise(MADV_DONTNEED)`, which also returns the pages of a copy-on-write image mapping to the
//! image, so a memory slot that held a module's image can serve that module again without a new
//! mapping. Free slots sit in sharded free lists (see [`index_allocator`]) that remember which image
//! a memory slot holds. A full pool is an error (`pool exhausted: ...`), never a crash; it clears as
//! soon as stores are dropped.

pub mod index_allocator;
pub mod instance_pool;
pub mod memory_pool;
pub mod table_pool;

use super::allocator::InstanceAllocator;
use super::fault::{self, Site};
use super::memory::LinearMemory;
use super::memory_image::MemoryImage;
use super::table::Table;
use crate::environ::Tunables;
use crate::types::{MemoryType, TableType};
use anyhow::{Context, Result};
use instance_pool::InstancePool;
use memory_pool::MemoryPool;
use rustix::mm::{self, MapFlags, ProtFlags};
use std::alloc::Layout;
use std::ptr::NonNull;
use table_pool::TablePool;

/// How an engine allocates instances, memories and tables (see [`crate::Config::allocation_strategy`]).
#[derive(Clone, Debug, Default)]
pub enum InstanceAllocationStrategy {
    /// Fresh memory for each instance, memory and table (the default).
    #[default]
    OnDemand,
    /// Fixed slots in reservations made once per engine, with these limits.
    Pooling(PoolingConfig),
}

/// The limits of a pooling allocator. Each memory slot reserves address space (not memory) for the
/// largest memory: 4 GiB plus the guard region (6 GiB by default) with guard pages, or
/// `max_memory_pages` × 64 KiB without.
#[derive(Clone, Debug)]
pub struct PoolingConfig {
    /// How many instances may be live at once (default 1000).
    pub total_instances: u32,
    /// How many defined memories may be live at once (default 1000).
    pub total_memories: u32,
    /// How many defined tables may be live at once (default 1000).
    pub total_tables: u32,
    /// The most pages a memory may have, initially or by growing (default 65536, i.e. 4 GiB).
    pub max_memory_pages: u64,
    /// The most elements a table may have, initially or by growing (default 100,000).
    pub max_table_elements: u32,
    /// The largest VMContext a module may need, in bytes (default 1 MiB).
    pub max_vmctx_size: usize,
    /// Slots whose used part is at most this many bytes are reset by writing zeros, keeping their
    /// pages resident, instead of with `madvise` (default 64 KiB). Memory slots that hold an image are
    /// always reset with `madvise`, which restores the image.
    pub keep_resident_bytes: usize,
}

impl Default for PoolingConfig {
    fn default() -> Self {
        PoolingConfig {
            total_instances: 1000,
            total_memories: 1000,
            total_tables: 1000,
            max_memory_pages: 65536,
            max_table_elements: 100_000,
            max_vmctx_size: 1 << 20,
            keep_resident_bytes: 64 << 10,
        }
    }
}

/// A private, anonymous, `MAP_NORESERVE` reservation, unmapped on drop.
pub(crate) struct Reservation {
    base: *mut u8,
    len: usize,
}

// SAFETY: the reservation is plain address space; its users synchronize access to each slot.
unsafe impl Send for Reservation {}
// SAFETY: as above.
unsafe impl Sync for Reservation {}

impl Reservation {
    /// Reserves `len` bytes (at least one page), accessible with `prot`.
    pub(crate) fn new(len: usize, prot: ProtFlags, what: &str) -> Result<Reservation> {
        let len = len.max(rustix::param::page_size());
        let base = fault::check(Site::PoolReserve)
            // SAFETY: a fresh private anonymous mapping aliases nothing.
            .and_then(|()| unsafe {
                mm::mmap_anonymous(std::ptr::null_mut(), len, prot, MapFlags::PRIVATE | MapFlags::NORESERVE)
            })
            .with_context(|| format!("failed to reserve {len} bytes of address space for the {what} pool"))?;
        Ok(Reservation { base: base.cast(), len })
    }

    /// The first byte.
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; the engine (and so every slot user) is gone.
        unsafe {
            let _ = mm::munmap(self.base.cast(), self.len);
        }
    }
}

/// Zeros `len` bytes at `ptr` (read/write, private anonymous memory): with a write when `len` is at
/// most `keep_resident`, else with `madvise(MADV_DONTNEED)` on the pages covering them.
///
/// # Safety
/// `ptr` is page-aligned, and `[ptr, ptr + len rounded up to a page)` is read/write anonymous memory
/// that nothing else uses.
pub(crate) unsafe fn reset_anonymous(ptr: *mut u8, len: usize, keep_resident: usize) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    if len <= keep_resident {
        // SAFETY: per the contract, the range is ours and writable.
        unsafe { ptr.write_bytes(0, len) };
        return Ok(());
    }
    let len = len.next_multiple_of(rustix::param::page_size());
    fault::check(Site::Madvise)
        // SAFETY: per the contract; DONTNEED on private anonymous pages makes them read as zeros.
        .and_then(|()| unsafe { mm::madvise(ptr.cast(), len, mm::Advice::LinuxDontNeed) })
        .context("failed to reset a pool slot")?;
    Ok(())
}

/// How many released memory slots wait to be reset together (see [`decommit`]).
pub(crate) const DECOMMIT_BATCH: usize = 64;

/// `PIDFD_SELF_THREAD_GROUP` (Linux 6.15+): a pidfd naming the calling process itself, even after a
/// `fork` (a pidfd opened on our pid would name the parent there).
const PIDFD_SELF: libc::c_int = -10001;

/// Whether `process_madvise(PIDFD_SELF, .., MADV_DONTNEED)` works here; cleared at its first failure.
static BATCHED_DECOMMIT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Resets each range in `ranges` (page-aligned, read/write private memory) with `MADV_DONTNEED`:
/// anonymous pages read as zeros again and pages of a private file mapping as the file's. Where the
/// kernel allows (`process_madvise` on ourselves, Linux 6.15+), all of them in one system call, which
/// also flushes the TLBs once instead of once per range: on a machine where other threads of the
/// process run on other cores, each flush interrupts those cores. Otherwise one `madvise` per range.
/// Returns the ranges that could not be reset (normally none).
///
/// # Safety
/// Every range is page-aligned memory of this process that nothing else uses.
pub(crate) unsafe fn decommit(ranges: &[(*mut u8, usize)]) -> Vec<usize> {
    // SAFETY: forwarded contract.
    unsafe { decommit_with(ranges, BATCHED_DECOMMIT.load(std::sync::atomic::Ordering::Relaxed)) }
}

/// [`decommit`], trying the one-call form only if `batched`.
///
/// # Safety
/// As for [`decommit`].
unsafe fn decommit_with(ranges: &[(*mut u8, usize)], batched: bool) -> Vec<usize> {
    use std::sync::atomic::Ordering;
    let ranges_len: usize = ranges.iter().map(|r| r.1).sum();
    // An injected failure skips the one-call form (without disabling it) to fail below, per range.
    if ranges.len() > 1 && ranges_len > 0 && batched && !fault::should_fail(Site::Madvise) {
        let iov: Vec<libc::iovec> =
            ranges.iter().map(|&(base, len)| libc::iovec { iov_base: base.cast(), iov_len: len }).collect();
        // SAFETY: the iovecs describe ranges the caller vouches for; the kernel only reads the array.
        let done = unsafe {
            libc::syscall(libc::SYS_process_madvise, PIDFD_SELF, iov.as_ptr(), iov.len(), libc::MADV_DONTNEED, 0)
        };
        if done >= 0 && done as usize == ranges_len {
            return Vec::new();
        }
        if done < 0 {
            // An older kernel (no PIDFD_SELF, or no MADV_DONTNEED in process_madvise): don't retry.
            BATCHED_DECOMMIT.store(false, Ordering::Relaxed);
        }
        // Partly done: redo each range on its own below (resetting twice is harmless).
    }
    let mut failed = Vec::new();
    for (i, &(base, len)) in ranges.iter().enumerate() {
        if len == 0 {
            continue;
        }
        if fault::check(Site::Madvise)
            // SAFETY: per the contract.
            .and_then(|()| unsafe { mm::madvise(base.cast(), len, mm::Advice::LinuxDontNeed) })
            .is_err()
        {
            failed.push(i);
        }
    }
    failed
}

/// The error of a pool whose `total` slots of `what` are all in use.
pub(crate) fn exhausted(kind: crate::ResourceKind, what: &str, total: u32) -> anyhow::Error {
    anyhow::Error::new(crate::ResourceExhausted::new(
        kind,
        format!("pool exhausted: all {total} {what} slots are in use"),
        None,
    ))
}

/// The pooling allocator.
pub struct PoolingAllocator {
    instances: InstancePool,
    memories: MemoryPool,
    tables: TablePool,
}

impl PoolingAllocator {
    /// Makes the reservations for `config`'s limits, with memories laid out per `tunables`.
    pub fn new(config: &PoolingConfig, tunables: &Tunables) -> Result<PoolingAllocator> {
        Ok(PoolingAllocator {
            instances: InstancePool::new(config)?,
            memories: MemoryPool::new(config, tunables)?,
            tables: TablePool::new(config)?,
        })
    }
}

impl std::fmt::Debug for PoolingAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolingAllocator").finish_non_exhaustive()
    }
}

impl InstanceAllocator for PoolingAllocator {
    fn allocate_instance(&self, layout: Layout) -> Result<NonNull<u8>> {
        self.instances.allocate(layout)
    }

    unsafe fn deallocate_instance(&self, ptr: NonNull<u8>, layout: Layout, used: usize) {
        // SAFETY: forwarded contract.
        unsafe { self.instances.deallocate(ptr, layout, layout.size().min(used)) }
    }

    fn allocate_memory(&self, ty: &MemoryType, tunables: &Tunables) -> Result<Box<LinearMemory>> {
        self.memories.allocate(ty, tunables, None)
    }

    fn allocate_memory_for_image(
        &self,
        ty: &MemoryType,
        tunables: &Tunables,
        image: Option<&MemoryImage>,
    ) -> Result<Box<LinearMemory>> {
        self.memories.allocate(ty, tunables, image)
    }

    fn deallocate_memory(&self, memory: Box<LinearMemory>) {
        self.memories.deallocate(memory)
    }

    fn map_memory_image(&self, memory: &mut LinearMemory, image: &MemoryImage) -> Result<()> {
        if memory.mapped_image() == Some(image.id()) {
            // The slot held this image and was reset with `madvise`: its pages are the image's.
            return Ok(());
        }
        memory.map_image(image)
    }

    fn allocate_table(&self, ty: &TableType) -> Result<Box<Table>> {
        self.tables.allocate(ty)
    }

    fn deallocate_table(&self, table: Box<Table>) {
        self.tables.deallocate(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both forms of `decommit` (one call for all ranges, one call per range) reset every range and
    /// only those: anonymous pages read as zeros again, the pages between the ranges keep their data.
    #[test]
    fn decommit_resets_exactly_the_ranges() {
        let page = rustix::param::page_size();
        for batched in [true, false] {
            let r = Reservation::new(16 * page, ProtFlags::READ | ProtFlags::WRITE, "test").unwrap();
            // SAFETY: the reservation is read/write and ours.
            let all = unsafe { std::slice::from_raw_parts_mut(r.base(), 16 * page) };
            all.fill(0xab);
            // Ranges at pages 0, 4-5 and 9; pages in between must keep their bytes.
            // SAFETY: the offsets are inside the reservation.
            let ranges: Vec<(*mut u8, usize)> =
                [(0, 1), (4, 2), (9, 1)].iter().map(|&(p, n)| (unsafe { r.base().add(p * page) }, n * page)).collect();
            // SAFETY: page-aligned ranges of our own reservation, used by nothing else.
            let failed = unsafe { decommit_with(&ranges, batched) };
            assert!(failed.is_empty());
            // SAFETY: as above.
            let all = unsafe { std::slice::from_raw_parts(r.base(), 16 * page) };
            for p in 0..16 {
                let expect = if [0, 4, 5, 9].contains(&p) { 0 } else { 0xab };
                assert!(all[p * page..(p + 1) * page].iter().all(|&b| b == expect), "page {p} (batched: {batched})");
            }
        }
    }
}
