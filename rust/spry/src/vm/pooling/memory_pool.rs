//! The memory pool: one `PROT_NONE` reservation of `total_memories` slots, each as large as the
//! biggest memory needs (4 GiB plus the guard region with guard pages, `max_memory_pages` × 64 KiB
//! without).
//!
//! A free slot keeps the accessible (read/write) range its last memory had, with every page reset,
//! and the memory image it held, if any; the next memory only changes protections at the boundary
//! between its size and that range (nothing at all when it has the same size), and maps its image
//! only when the slot holds another one.

use super::index_allocator::IndexAllocator;
use super::{reset_anonymous, PoolingConfig, Reservation};
use crate::compile::Tunables;
use crate::types::MemoryType;
use crate::vm::memory::{Backing, LinearMemory, MAX_PAGES};
use crate::vm::memory_image::MemoryImage;
use crate::WASM_PAGE_SIZE;
use anyhow::{anyhow, bail, Context, Result};
use rustix::mm::{self, MapFlags, MprotectFlags, ProtFlags};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// The memory pool.
pub struct MemoryPool {
    mapping: Reservation,
    slot_size: usize,
    max_pages: u64,
    total: u32,
    keep_resident: usize,
    guard_pages: bool,
    free: IndexAllocator,
    /// Per slot: how many bytes from its start are read/write (all reset).
    accessible: Box<[AtomicUsize]>,
    /// Per slot: the id of the memory image mapped in it, or 0.
    image: Box<[AtomicU64]>,
}

impl MemoryPool {
    /// Reserves the pool's address space.
    pub fn new(config: &PoolingConfig, tunables: &Tunables) -> Result<MemoryPool> {
        let max_pages = config.max_memory_pages.min(MAX_PAGES);
        let page = rustix::param::page_size();
        let slot_size = if tunables.guard_pages {
            (MAX_PAGES * WASM_PAGE_SIZE + tunables.guard_size) as usize
        } else {
            ((max_pages * WASM_PAGE_SIZE) as usize).max(page)
        }
        .next_multiple_of(page);
        let total = config.total_memories;
        let len = slot_size
            .checked_mul(total as usize)
            .ok_or_else(|| anyhow!("the memory pool's size overflows: {total} slots of {slot_size} bytes"))?;
        let mapping = Reservation::new(len, ProtFlags::empty(), "memory")?;
        Ok(MemoryPool {
            mapping,
            slot_size,
            max_pages,
            total,
            keep_resident: config.keep_resident_bytes,
            guard_pages: tunables.guard_pages,
            free: IndexAllocator::new(total),
            accessible: (0..total).map(|_| AtomicUsize::new(0)).collect(),
            image: (0..total).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    fn slot_base(&self, slot: u32) -> *mut u8 {
        // SAFETY: `slot < total`, so the offset stays inside the reservation.
        unsafe { self.mapping.base().add(slot as usize * self.slot_size) }
    }

    /// A memory of type `ty` in a free slot, preferring one that holds `image`.
    pub fn allocate(
        &self,
        ty: &MemoryType,
        tunables: &Tunables,
        image: Option<&MemoryImage>,
    ) -> Result<Box<LinearMemory>> {
        anyhow::ensure!(
            tunables.guard_pages == self.guard_pages,
            "memory requested with other guard-page settings than the pool's"
        );
        if ty.minimum > self.max_pages {
            bail!(
                "memory of {} pages exceeds the pooling allocator's limit of {} pages per memory (max_memory_pages)",
                ty.minimum,
                self.max_pages
            );
        }
        let want = image.map(MemoryImage::id);
        let (slot, _) = self
            .free
            .alloc(want)
            .ok_or_else(|| anyhow!("pool exhausted: all {} memory slots are in use", self.total))?;
        let base = self.slot_base(slot);
        let mut accessible = self.accessible[slot as usize].load(Ordering::Relaxed);
        let mut held = Some(self.image[slot as usize].load(Ordering::Relaxed)).filter(|&id| id != 0);
        let result = (|| -> Result<()> {
            if held.is_some() && held != want {
                // Another module's image: replace the whole used range with fresh, inaccessible pages.
                // SAFETY: the range is inside our slot, which nothing else uses while we hold it.
                unsafe {
                    mm::mmap_anonymous(
                        base.cast(),
                        accessible,
                        ProtFlags::empty(),
                        MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
                    )
                }
                .context("failed to reset a memory slot")?;
                accessible = 0;
                held = None;
            }
            let size = (ty.minimum * WASM_PAGE_SIZE) as usize;
            if accessible > size {
                // SAFETY: `[size, accessible)` is inside our slot.
                unsafe { mm::mprotect(base.add(size).cast(), accessible - size, MprotectFlags::empty()) }
                    .context("failed to protect a memory slot")?;
            } else if accessible < size {
                let prot = MprotectFlags::READ | MprotectFlags::WRITE;
                // SAFETY: as above, `[accessible, size)` is inside our slot (`size` <= its size).
                unsafe { mm::mprotect(base.add(accessible).cast(), size - accessible, prot) }
                    .context("failed to make a memory slot accessible")?;
            }
            accessible = size;
            Ok(())
        })();
        if let Err(e) = result {
            self.accessible[slot as usize].store(accessible, Ordering::Relaxed);
            self.image[slot as usize].store(held.unwrap_or(0), Ordering::Relaxed);
            self.free.free(slot, held);
            return Err(e);
        }
        // SAFETY: the slot is ours until `deallocate`; its first `ty.minimum` pages are read/write and
        // reset, the rest inaccessible, and `held` is the image its pages hold.
        let memory = unsafe { LinearMemory::in_pool_slot(base, self.slot_size, slot, ty, self.max_pages, held) };
        Ok(Box::new(memory))
    }

    /// Resets a memory's slot and frees it.
    pub fn deallocate(&self, memory: Box<LinearMemory>) {
        let Backing::PoolSlot(slot) = memory.backing() else {
            drop(memory);
            return;
        };
        let base = self.slot_base(slot);
        debug_assert_eq!(base, memory.base());
        let mut accessible = memory.byte_size();
        let mut held = memory.mapped_image();
        // Dropping a pool memory leaves the slot's mapping alone.
        drop(memory);
        let reset = if held.is_none() {
            // SAFETY: the accessible range of the slot is read/write anonymous memory, ours alone.
            unsafe { reset_anonymous(base, accessible, self.keep_resident) }
        } else {
            // SAFETY: as above; on the image's private file mapping, DONTNEED brings back the file's
            // pages, elsewhere zeros.
            unsafe { mm::madvise(base.cast(), accessible, mm::Advice::LinuxDontNeed) }.map_err(Into::into)
        };
        if reset.is_err() {
            // Fall back to a fresh mapping, which cannot fail short of address-space exhaustion; if it
            // does, the slot is leaked rather than reused dirty.
            // SAFETY: the slot is ours.
            let remap = unsafe {
                mm::mmap_anonymous(
                    base.cast(),
                    self.slot_size,
                    ProtFlags::empty(),
                    MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
                )
            };
            if remap.is_err() {
                return;
            }
            accessible = 0;
            held = None;
        }
        self.accessible[slot as usize].store(accessible, Ordering::Relaxed);
        self.image[slot as usize].store(held.unwrap_or(0), Ordering::Relaxed);
        self.free.free(slot, held);
    }
}
