//! The instance pool: one read/write reservation of `total_instances` slots, each large enough for
//! an instance's header and a VMContext of `max_vmctx_size` bytes, zeroed when given back.
//!
//! A small instance block (at most [`SMALL_BLOCK`] bytes, most modules') goes in a second, packed
//! reservation of `total_instances` small slots instead, under the same slot index: a full slot takes
//! at least a page of resident memory once used, which for thousands of live instances of a small
//! module is most of their footprint, while small slots share pages.

use super::index_allocator::IndexAllocator;
use super::{reset_anonymous, PoolingConfig, Reservation};
use crate::vm::instance::instance_header_size;
use anyhow::{anyhow, bail, Result};
use rustix::mm::ProtFlags;
use std::alloc::Layout;
use std::ptr::NonNull;

/// Instance blocks up to this size go in small slots (see the module documentation).
pub const SMALL_BLOCK: usize = 2048;

/// Whether an instance block of `layout` goes in a small slot.
fn is_small(layout: Layout) -> bool {
    layout.size() <= SMALL_BLOCK && layout.align() <= 64
}

/// The instance pool.
pub struct InstancePool {
    mapping: Reservation,
    /// `total` small slots of `SMALL_BLOCK` bytes.
    small: Reservation,
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
        let small = Reservation::new(SMALL_BLOCK * total as usize, ProtFlags::READ | ProtFlags::WRITE, "instance")?;
        Ok(InstancePool {
            mapping,
            small,
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
            .ok_or_else(|| super::exhausted(crate::ResourceKind::InstancePool, "instance", self.total))?;
        if is_small(layout) {
            // SAFETY: `slot < total`, so the small slot lies inside its reservation; it is zeroed.
            let ptr = unsafe { self.small.base().add(slot as usize * SMALL_BLOCK) };
            return Ok(NonNull::new(ptr).expect("reservations are not at address 0"));
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
        if is_small(layout) {
            let slot = ((ptr.as_ptr() as usize - self.small.base() as usize) / SMALL_BLOCK) as u32;
            // SAFETY: per the contract, the block is this small slot's, no longer used, and zero past
            // `used` (at most `SMALL_BLOCK` bytes: the slot).
            unsafe { ptr.as_ptr().write_bytes(0, used.min(SMALL_BLOCK)) };
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
