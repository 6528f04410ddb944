//! The memory pool: one `PROT_NONE` reservation of `total_memories` slots, each as large as the
//! biggest memory needs (4 GiB plus the guard region with guard pages, `max_memory_pages` × 64 KiB
//! without).
//!
//! A free slot keeps the accessible (read/write) range its last memory had, with every page reset,
//! and the memory image it held, if any; the next memory only changes protections at the boundary
//! between its size and that range (nothing at all when it has the same size), and maps its image
//! only when the slot holds another one.
//!
//! A released slot that needs `madvise` to be reset waits in its thread's pending list until
//! [`DECOMMIT_BATCH`] have gathered; they are then reset together, with one system call and one TLB
//! flush (see [`decommit`]), and become free. An allocation that finds no free slot resets every
//! pending one first.

use super::index_allocator::{CachePadded, IndexAllocator};
use super::{decommit, reset_anonymous, PoolingConfig, Reservation, DECOMMIT_BATCH};
use crate::environ::Tunables;
use crate::types::MemoryType;
use crate::vm::fault::{self, Site};
use crate::vm::memory::{Backing, LinearMemory, MAX_PAGES};
use crate::vm::memory_image::MemoryImage;
use crate::WASM_PAGE_SIZE;
use anyhow::{anyhow, bail, Context, Result};
use rustix::mm::{self, MapFlags, MprotectFlags, ProtFlags};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

/// A released slot waiting to be reset.
struct Pending {
    slot: u32,
    /// Its read/write bytes.
    accessible: usize,
    /// The image mapped in it.
    held: Option<u64>,
}

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
    /// Released slots waiting to be reset, one list per shard of `free`.
    pending: Box<[CachePadded<PendingShard>]>,
}

/// One shard's released slots waiting to be reset.
#[derive(Default)]
struct PendingShard {
    list: Mutex<Vec<Pending>>,
    /// How many slots released to this shard are pending or being reset (not yet free).
    unreset: AtomicUsize,
}

impl MemoryPool {
    /// Reserves the pool's address space.
    pub fn new(config: &PoolingConfig, tunables: &Tunables) -> Result<MemoryPool> {
        let mut max_pages = config.max_memory_pages.min(MAX_PAGES);
        let page = rustix::param::page_size();
        let slot_size = if tunables.guard_pages {
            // A memory grows in place within its slot's reservation, never into the guard region.
            max_pages = max_pages.min(tunables.memory_reservation / WASM_PAGE_SIZE);
            // Both at most 2^40 (checked by the engine): no overflow.
            usize::try_from(tunables.memory_reservation + tunables.guard_size)?
        } else {
            usize::try_from(max_pages * WASM_PAGE_SIZE)?
        }
        .max(page)
        .next_multiple_of(page);
        let total = config.total_memories;
        let len = slot_size
            .checked_mul(total as usize)
            .ok_or_else(|| anyhow!("the memory pool's size overflows: {total} slots of {slot_size} bytes"))?;
        let mapping = Reservation::new(len, ProtFlags::empty(), "memory")?;
        let free = IndexAllocator::new(total);
        Ok(MemoryPool {
            mapping,
            slot_size,
            max_pages,
            total,
            keep_resident: config.keep_resident_bytes,
            guard_pages: tunables.guard_pages,
            pending: (0..free.shard_count()).map(|_| CachePadded(PendingShard::default())).collect(),
            free,
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
        let slot = loop {
            if let Some((slot, _)) = self.free.alloc(want) {
                break slot;
            }
            if self.pending.iter().all(|p| p.unreset.load(Ordering::Acquire) == 0) {
                // Nothing waits to be reset. A reset that finished after our first attempt freed its
                // slots before it counted them down, so one more attempt sees them.
                if let Some((slot, _)) = self.free.alloc(want) {
                    break slot;
                }
                return Err(super::exhausted(crate::ResourceKind::MemoryPool, "memory", self.total));
            }
            // Released slots wait to be reset: reset them now (or let the thread resetting them finish).
            self.reset_all_pending();
            std::thread::yield_now();
        };
        let base = self.slot_base(slot);
        let mut accessible = self.accessible[slot as usize].load(Ordering::Relaxed);
        let mut held = Some(self.image[slot as usize].load(Ordering::Relaxed)).filter(|&id| id != 0);
        let result = (|| -> Result<()> {
            if held.is_some() && held != want {
                // Another module's image: replace the whole used range with fresh, inaccessible pages.
                fault::check(Site::MemoryRemap)
                    // SAFETY: the range is inside our slot, which nothing else uses while we hold it.
                    .and_then(|()| unsafe {
                        mm::mmap_anonymous(
                            base.cast(),
                            accessible,
                            ProtFlags::empty(),
                            MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
                        )
                    })
                    .context("failed to reset a memory slot")?;
                accessible = 0;
                held = None;
            }
            let size = (ty.minimum * WASM_PAGE_SIZE) as usize;
            if accessible > size {
                fault::check(Site::MemoryProtect)
                    // SAFETY: `[size, accessible)` is inside our slot.
                    .and_then(|()| unsafe {
                        mm::mprotect(base.add(size).cast(), accessible - size, MprotectFlags::empty())
                    })
                    .context("failed to protect a memory slot")?;
            } else if accessible < size {
                let prot = MprotectFlags::READ | MprotectFlags::WRITE;
                fault::check(Site::MemoryProtect)
                    // SAFETY: as above, `[accessible, size)` is inside our slot (`size` <= its size).
                    .and_then(|()| unsafe { mm::mprotect(base.add(accessible).cast(), size - accessible, prot) })
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
        let accessible = memory.byte_size();
        let held = memory.mapped_image();
        // Dropping a pool memory leaves the slot's mapping alone.
        drop(memory);
        if held.is_none() && accessible <= self.keep_resident {
            // SAFETY: the accessible range of the slot is read/write anonymous memory, ours alone.
            match unsafe { reset_anonymous(base, accessible, self.keep_resident) } {
                Ok(()) => self.release(slot, accessible, held),
                Err(_) => self.remap_and_release(slot),
            }
            return;
        }
        let shard = &self.pending[self.free.home()];
        shard.unreset.fetch_add(1, Ordering::AcqRel);
        let batch = {
            let mut pending = shard.list.lock().unwrap();
            pending.push(Pending { slot, accessible, held });
            if pending.len() < DECOMMIT_BATCH {
                return;
            }
            std::mem::take(&mut *pending)
        };
        self.reset(batch, &shard.unreset);
    }

    /// Resets every pending slot and frees it.
    fn reset_all_pending(&self) {
        for shard in self.pending.iter() {
            let batch = std::mem::take(&mut *shard.list.lock().unwrap());
            self.reset(batch, &shard.unreset);
        }
    }

    /// Resets released slots with `madvise` and frees them, counting them down in `unreset`.
    fn reset(&self, batch: Vec<Pending>, unreset: &AtomicUsize) {
        if batch.is_empty() {
            return;
        }
        let ranges: Vec<(*mut u8, usize)> = batch.iter().map(|p| (self.slot_base(p.slot), p.accessible)).collect();
        // SAFETY: each range is the read/write part of a released slot, which nothing uses until it is
        // freed below. On the image's private file mapping, DONTNEED brings back the file's pages,
        // elsewhere zeros.
        let failed = unsafe { decommit(&ranges) };
        for (i, p) in batch.into_iter().enumerate() {
            if failed.contains(&i) {
                self.remap_and_release(p.slot);
            } else {
                self.release(p.slot, p.accessible, p.held);
            }
            unreset.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Frees a reset slot whose first `accessible` bytes are read/write and which holds `held`.
    fn release(&self, slot: u32, accessible: usize, held: Option<u64>) {
        self.accessible[slot as usize].store(accessible, Ordering::Relaxed);
        self.image[slot as usize].store(held.unwrap_or(0), Ordering::Relaxed);
        self.free.free(slot, held);
    }

    /// Frees a slot that could not be reset, after replacing its mapping with a fresh one (which cannot
    /// fail short of address-space exhaustion; if it does, the slot is leaked rather than reused dirty).
    fn remap_and_release(&self, slot: u32) {
        // SAFETY: the slot is ours until freed.
        let remap = fault::check(Site::MemoryRemap).and_then(|()| unsafe {
            mm::mmap_anonymous(
                self.slot_base(slot).cast(),
                self.slot_size,
                ProtFlags::empty(),
                MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
            )
        });
        if remap.is_ok() {
            self.release(slot, 0, None);
        }
    }
}
