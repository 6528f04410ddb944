//! [`Memory`]: the embedding API's handle to a linear memory (`vm::memory::LinearMemory`) of a store.

use crate::store::{AsContext, AsContextMut, StoreContext, StoreContextMut, StoreInner};
use crate::types::MemoryType;
use crate::vm::memory::LinearMemory;
use anyhow::{anyhow, Result};

/// A linear memory. Its bytes never move: a view stays valid across growth (but does not grow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Memory {
    /// A new memory of type `ty` owned by `store`.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = store.as_context_mut().inner();
        store.limits.check_new_memory(&ty)?;
        let engine = &store.engine.inner;
        let mem = engine.allocator.allocate_memory(&ty, &engine.tunables)?;
        let index = store.push_host_memory(mem);
        Ok(Memory { store: store.id, index })
    }

    pub(crate) fn vm(&self, store: &StoreInner) -> Result<*mut LinearMemory> {
        store.item(&store.memories, self.store, self.index, "memory").copied()
    }

    fn get<'a>(&self, store: &'a StoreInner) -> Option<&'a LinearMemory> {
        // SAFETY: memories live as long as their store.
        self.vm(store).ok().map(|m| unsafe { &*m })
    }

    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        self.get(store.as_context().0).map(|m| m.ty()).unwrap_or(MemoryType::new(0, None))
    }

    /// Current size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.get(store.as_context().0).map_or(0, |m| m.pages())
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.get(store.as_context().0).map_or(0, |m| m.byte_size())
    }

    /// The memory's bytes (empty if `store` is not the memory's store).
    pub fn data<'a>(&self, store: impl Into<StoreContext<'a>>) -> &'a [u8] {
        self.get(store.into().0).map_or(&[], |m| m.data())
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a>(&self, store: impl Into<StoreContextMut<'a>>) -> &'a mut [u8] {
        let store = store.into().inner();
        match self.vm(store) {
            // SAFETY: memories live as long as their store, which is borrowed mutably for 'a.
            Ok(m) => unsafe { (*m).data_mut() },
            Err(_) => &mut [],
        }
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`: an error (and nothing read) if the range is
    /// not within the memory's current size (any `offset`, up to `usize::MAX`, is checked, never
    /// wrapped) or `store` is not the memory's store.
    pub fn read(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<()> {
        let store = store.as_context().0;
        let m = self.get(store).ok_or_else(|| anyhow!("memory is not a memory of this store"))?;
        let end = offset.checked_add(buf.len());
        let src = end.and_then(|end| m.data().get(offset..end));
        buf.copy_from_slice(src.ok_or_else(|| anyhow!("out of bounds memory access"))?);
        Ok(())
    }

    /// Copies `buf` to the memory at `offset`: an error (and nothing written) if the range is not
    /// within the memory's current size or `store` is not the memory's store.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buf: &[u8]) -> Result<()> {
        let store = store.as_context_mut().inner();
        let m = self.vm(store)?;
        // SAFETY: memories live as long as their store, borrowed mutably here.
        let data = unsafe { (*m).data_mut() };
        let end = offset.checked_add(buf.len());
        let dst = end.and_then(|end| data.get_mut(offset..end));
        dst.ok_or_else(|| anyhow!("out of bounds memory access"))?.copy_from_slice(buf);
        Ok(())
    }

    /// Test and diagnostic hook, not a stable API: the id of the copy-on-write memory image mapped
    /// over this memory (see [`crate::Module::memory_image_id`]), `None` when its pages are plain
    /// anonymous memory (or `store` is not the memory's store).
    #[doc(hidden)]
    pub fn mapped_image_id(&self, store: impl AsContext) -> Option<u64> {
        self.get(store.as_context().0).and_then(|m| m.mapped_image())
    }

    /// Grows by `delta` pages; returns the old size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let store = store.as_context_mut().inner();
        let m = self.vm(store)?;
        store.grow_memory(m, delta)
    }
}
