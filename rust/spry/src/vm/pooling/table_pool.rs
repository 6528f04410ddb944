//! The table pool: one read/write reservation of `total_tables` slots of `max_table_elements`
//! pointer-sized elements, zeroed when given back.

use super::index_allocator::IndexAllocator;
use super::{reset_anonymous, PoolingConfig, Reservation};
use crate::types::TableType;
use crate::vm::table::Table;
use anyhow::{anyhow, bail, Result};
use rustix::mm::ProtFlags;

/// The table pool.
pub struct TablePool {
    mapping: Reservation,
    slot_size: usize,
    max_elements: usize,
    total: u32,
    keep_resident: usize,
    free: IndexAllocator,
}

impl TablePool {
    /// Reserves the pool's address space.
    pub fn new(config: &PoolingConfig) -> Result<TablePool> {
        let max_elements = config.max_table_elements as usize;
        let slot_size = (max_elements * size_of::<usize>()).next_multiple_of(rustix::param::page_size());
        let total = config.total_tables;
        let len = slot_size
            .checked_mul(total as usize)
            .ok_or_else(|| anyhow!("the table pool's size overflows: {total} slots of {slot_size} bytes"))?;
        let mapping = Reservation::new(len, ProtFlags::READ | ProtFlags::WRITE, "table")?;
        Ok(TablePool {
            mapping,
            slot_size,
            max_elements,
            total,
            keep_resident: config.keep_resident_bytes,
            free: IndexAllocator::new(total),
        })
    }

    fn slot_base(&self, slot: u32) -> *mut u8 {
        // SAFETY: `slot < total`, so the offset stays inside the reservation.
        unsafe { self.mapping.base().add(slot as usize * self.slot_size) }
    }

    /// A table of type `ty`, every element null, in a free slot.
    pub fn allocate(&self, ty: &TableType) -> Result<Box<Table>> {
        if ty.minimum as usize > self.max_elements {
            bail!(
                "table of {} elements exceeds the pooling allocator's limit of {} elements per table (max_table_elements)",
                ty.minimum,
                self.max_elements
            );
        }
        let (slot, _) = self
            .free
            .alloc(None)
            .ok_or_else(|| super::exhausted(crate::ResourceKind::TablePool, "table", self.total))?;
        // SAFETY: the slot is zeroed (fresh or reset), ours until `deallocate`, and holds
        // `max_elements` elements; `ty.minimum` fits (checked above).
        let table = unsafe { Table::in_pool_slot(ty, self.slot_base(slot).cast(), self.max_elements, slot) };
        Ok(Box::new(table))
    }

    /// Zeros a table's slot and frees it.
    pub fn deallocate(&self, table: Box<Table>) {
        let Some(slot) = table.pool_slot() else {
            drop(table);
            return;
        };
        // Only the elements written since the table was made (lazily made ones included) are nonzero.
        let dirty = table.dirty();
        drop(table);
        let page_elements = rustix::param::page_size() / size_of::<usize>();
        let start = dirty.start / page_elements * page_elements;
        let len = (dirty.end - start) * size_of::<usize>();
        // SAFETY: `start` is page-aligned in the slot, whose elements are read/write anonymous memory,
        // ours alone.
        let base = unsafe { self.slot_base(slot).add(start * size_of::<usize>()) };
        // SAFETY: as above.
        if !dirty.is_empty() && unsafe { reset_anonymous(base, len, self.keep_resident) }.is_err() {
            // SAFETY: as above; a plain write cannot fail.
            unsafe { reset_anonymous(base, len, usize::MAX) }.expect("zeroing cannot fail");
        }
        self.free.free(slot, None);
    }
}
