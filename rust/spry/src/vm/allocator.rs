//! Where instances, memories and tables get their memory: the [`InstanceAllocator`] trait, and the
//! on-demand allocator that maps fresh memory for each.
//!
//! Instantiation asks the engine's allocator for an instance block (the `Instance` and its VMContext),
//! one [`LinearMemory`] per defined memory and one [`Table`] per defined table, and gives each back
//! when the instance is dropped. A pooling allocator (fixed slots in reservations made once per
//! engine, reset and reused) implements the same trait.

use super::memory::LinearMemory;
use super::memory_image::MemoryImage;
use super::table::Table;
use crate::environ::Tunables;
use crate::types::{MemoryType, TableType};
use anyhow::Result;
use std::alloc::Layout;
use std::ptr::NonNull;

/// Allocates the memory behind instances.
pub trait InstanceAllocator: Send + Sync {
    /// A zeroed block for an instance and its VMContext.
    fn allocate_instance(&self, layout: Layout) -> Result<NonNull<u8>>;

    /// Returns an instance block, of which only the first `used` bytes may have been written.
    ///
    /// # Safety
    /// `ptr` came from `allocate_instance(layout)` on this allocator and is no longer used; the bytes
    /// past `used` are still zero.
    unsafe fn deallocate_instance(&self, ptr: NonNull<u8>, layout: Layout, used: usize);

    /// A linear memory of type `ty`, accessible up to its minimum size.
    fn allocate_memory(&self, ty: &MemoryType, tunables: &Tunables) -> Result<Box<LinearMemory>>;

    /// A linear memory of type `ty` that is about to get `image` mapped over it (if any): an allocator
    /// that reuses memories may pick one that already holds that image.
    fn allocate_memory_for_image(
        &self,
        ty: &MemoryType,
        tunables: &Tunables,
        image: Option<&MemoryImage>,
    ) -> Result<Box<LinearMemory>> {
        let _ = image;
        self.allocate_memory(ty, tunables)
    }

    /// Returns a linear memory; nothing refers to it any more.
    fn deallocate_memory(&self, memory: Box<LinearMemory>);

    /// Makes `memory` (just allocated, accessible up to its minimum size) start with `image`'s bytes,
    /// mapped copy-on-write. An allocator that reuses memories may skip the mapping when the memory
    /// already holds this image, reset.
    fn map_memory_image(&self, memory: &mut LinearMemory, image: &MemoryImage) -> Result<()> {
        memory.map_image(image)
    }

    /// A table of type `ty` with every element in its initial state (see [`Table::new_initial`]).
    fn allocate_table(&self, ty: &TableType) -> Result<Box<Table>>;

    /// Returns a table; nothing refers to it any more.
    fn deallocate_table(&self, table: Box<Table>);
}

/// Allocates everything on demand: the heap for instance blocks and tables, a fresh reservation
/// (`mmap`) per memory, with the module's memory image mapped over it when it has one.
#[derive(Debug, Default)]
pub struct OnDemandAllocator;

impl InstanceAllocator for OnDemandAllocator {
    fn allocate_instance(&self, layout: Layout) -> Result<NonNull<u8>> {
        assert!(layout.size() > 0, "instance blocks are never empty");
        // SAFETY: the layout has a nonzero size.
        let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
        NonNull::new(ptr).ok_or_else(|| anyhow::anyhow!("out of memory allocating an instance"))
    }

    unsafe fn deallocate_instance(&self, ptr: NonNull<u8>, layout: Layout, _used: usize) {
        // SAFETY: per the contract, `ptr` was allocated by `allocate_instance` with `layout`.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }

    fn allocate_memory(&self, ty: &MemoryType, tunables: &Tunables) -> Result<Box<LinearMemory>> {
        Ok(Box::new(LinearMemory::new(ty, tunables)?))
    }

    fn deallocate_memory(&self, memory: Box<LinearMemory>) {
        drop(memory);
    }

    fn allocate_table(&self, ty: &TableType) -> Result<Box<Table>> {
        Ok(Box::new(Table::new_initial(ty)?))
    }

    fn deallocate_table(&self, table: Box<Table>) {
        drop(table);
    }
}
