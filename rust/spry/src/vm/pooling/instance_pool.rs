//! The instance pool: one read/write reservation of `total_instances` slots, each large enough for
//! an instance's header and a VMContext of `max_vmctx_size` bytes, zeroed when given back.
//!
//! A small instance block (at most [`SMALL_BLOCK`] bytes, most modules') comes from the heap instead,
//! still counted against `total_instances` through a slot index: a pool slot takes at least a page
//! of resident memory once used, which for thousands of live instances of a small module is most of
//! their footprint.

use super::index_allocator::IndexAllocator;
use super::{reset_anonymous, PoolingConfig, Reservation};
use crate::vm::instance::instance_header_size;
use anyhow::{anyhow, bail, Result};
use rustix::mm::ProtFlags;
use std::alloc::Layout;
use std::ptr::NonNull;

/// Instance blocks up to this size come from the heap (see the module documentation).
pub const SMALL_BLOCK: usize = 2048;

/// The heap layout of an instance block of `layout`, if it is small enough to live on the heap: room
/// for the instance and, in the last 8 bytes, its slot index.
fn heap_block(layout: Layout) -> Option<Layout> {
    (layout.size() + 8 <= SMALL_BLOCK && layout.align() <= 64)
        .then(|| Layout::from_size_align(SMALL_BLOCK, layout.align().max(8)).expect("a valid layout"))
}

/// The instance pool.
pub struct InstancePool {
    mapping: Reservation,
    slot_size: usize,
    max_vmctx_size: usize,
    total: u32,
    keep_resident: usize,
    free: IndexAllocator,
}

impl InstancePool {
    /// Reserves the pool's address space.
    pub fn new(config: &PoolingConfig) -> Result<InstancePool> {
        let slot_size = (instance_header_size() + config.max_vmctx_size).next_multiple_of(rustix::param::page_size());
        let total = config.total_instances;
        let len = slot_size
            .checked_mul(total as usize)
            .ok_or_else(|| anyhow!("the instance pool's size overflows: {total} slots of {slot_size} bytes"))?;
        let mapping = Reservation::new(len, ProtFlags::READ | ProtFlags::WRITE, "instance")?;
        Ok(InstancePool {
            mapping,
            slot_size,
            max_vmctx_size: config.max_vmctx_size,
            total,
            keep_resident: config.keep_resident_bytes,
            free: IndexAllocator::new(total),
        })
    }

    /// A zeroed instance block of `layout` in a free slot.
    pub fn allocate(&self, layout: Layout) -> Result<NonNull<u8>> {
        let vmctx = layout.size().saturating_sub(instance_header_size());
        if layout.size() > self.slot_size || vmctx > self.max_vmctx_size {
            bail!(
                "module's VMContext of {vmctx} bytes exceeds the pooling allocator's limit of {} bytes (max_vmctx_size)",
                self.max_vmctx_size
            );
        }
        anyhow::ensure!(layout.align() <= rustix::param::page_size(), "instance alignment too large for the pool");
        let (slot, _) = self
            .free
            .alloc(None)
            .ok_or_else(|| anyhow!("pool exhausted: all {} instance slots are in use", self.total))?;
        if let Some(block) = heap_block(layout) {
            // The slot only counts the instance (see the module documentation); its index is kept in
            // the block's last 4 bytes, past the instance.
            // SAFETY: the layout has a nonzero size.
            if let Some(ptr) = NonNull::new(unsafe { std::alloc::alloc_zeroed(block) }) {
                // SAFETY: the block is `SMALL_BLOCK` bytes, at least 8-aligned, the last 8 past the
                // instance.
                unsafe { ptr.as_ptr().add(SMALL_BLOCK - 4).cast::<u32>().write(slot) };
                return Ok(ptr);
            }
            self.free.free(slot, None);
            bail!("out of memory allocating an instance");
        }
        // SAFETY: `slot < total`, so the slot lies inside the reservation; it is zeroed (fresh or reset).
        let ptr = unsafe { self.mapping.base().add(slot as usize * self.slot_size) };
        Ok(NonNull::new(ptr).expect("reservations are not at address 0"))
    }

    /// Zeros an instance block's slot, of which only the first `used` bytes may have been written, and
    /// frees it.
    ///
    /// # Safety
    /// `ptr` came from `allocate` on this pool and is no longer used; its bytes past `used` are zero.
    pub unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout, used: usize) {
        if let Some(block) = heap_block(layout) {
            // SAFETY: per the contract, `ptr` came from `allocate(layout)`, which took it from the heap
            // with `block` and wrote its slot index at the end.
            let slot = unsafe { ptr.as_ptr().add(SMALL_BLOCK - 4).cast::<u32>().read() };
            // SAFETY: as above.
            unsafe { std::alloc::dealloc(ptr.as_ptr(), block) };
            self.free.free(slot, None);
            return;
        }
        let offset = ptr.as_ptr() as usize - self.mapping.base() as usize;
        debug_assert_eq!(offset % self.slot_size, 0);
        let slot = (offset / self.slot_size) as u32;
        // SAFETY: the slot is page-aligned read/write anonymous memory, ours alone (per the contract).
        if unsafe { reset_anonymous(ptr.as_ptr(), used, self.keep_resident) }.is_err() {
            // SAFETY: as above; a plain write cannot fail.
            unsafe { reset_anonymous(ptr.as_ptr(), used, usize::MAX) }.expect("zeroing cannot fail");
        }
        self.free.free(slot, None);
    }
}
