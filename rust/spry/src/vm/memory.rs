//! Linear memories: a reservation that never moves, made accessible page by page as the memory grows.
//!
//! With guard pages the reservation is the engine's `memory_reservation` (4 GiB by default) plus the
//! guard region, so compiled code needs no bounds checks for most accesses when it covers 4 GiB; a
//! memory grows in place within it and never past it. Without guard pages, it is the memory's maximum
//! size and code checks every access.
//!
//! Sizes and deltas come from the guest (`memory.grow`) or the embedder (any `u64`): byte counts are
//! computed with checked arithmetic, and a memory never exceeds 65,536 pages (the lints below
//! enforce the arithmetic).
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

use super::fault::{self, Site};
use super::memory_image::MemoryImage;
use super::vmcontext::VMMemoryDefinition;
use crate::environ::Tunables;
use crate::types::MemoryType;
use crate::WASM_PAGE_SIZE;
use anyhow::{bail, Context, Result};
use rustix::mm::{self, MapFlags, MprotectFlags, ProtFlags};

/// The most pages a 32-bit memory can have.
pub const MAX_PAGES: u64 = 1 << 16;

/// What a linear memory's address range belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backing {
    /// A reservation of its own, unmapped when the memory is dropped.
    Owned,
    /// Slot `n` of a pooling allocator's memory pool, which resets and reuses it: dropping the memory
    /// leaves the mapping alone.
    PoolSlot(u32),
}

/// A linear memory.
pub struct LinearMemory {
    base: *mut u8,
    reservation: usize,
    pages: u64,
    maximum: u64,
    ty: MemoryType,
    vmdef: *mut VMMemoryDefinition,
    backing: Backing,
    /// The id of the memory image mapped over part of the memory, if any.
    mapped_image: Option<u64>,
}

// SAFETY: the memory is owned by one store, which is used by one thread at a time.
unsafe impl Send for LinearMemory {}

impl LinearMemory {
    /// Reserves and maps a memory of type `ty`.
    pub fn new(ty: &MemoryType, tunables: &Tunables) -> Result<LinearMemory> {
        if ty.minimum > MAX_PAGES {
            bail!("memory size must be at most 65536 pages (4GiB)");
        }
        let mut maximum = ty.maximum.unwrap_or(MAX_PAGES).min(MAX_PAGES);
        let reservation = if tunables.guard_pages {
            // The memory grows in place within the reservation, never past it.
            maximum = maximum.min(tunables.memory_reservation / WASM_PAGE_SIZE);
            if ty.minimum > maximum {
                bail!(
                    "memory of {} pages exceeds the engine's memory reservation of {} bytes (memory_reservation)",
                    ty.minimum,
                    tunables.memory_reservation
                );
            }
            let bytes = tunables.memory_reservation.checked_add(tunables.guard_size);
            usize::try_from(bytes.context("memory reservation too large")?)?
        } else {
            // At most 2^16 pages of 2^16 bytes: no overflow.
            usize::try_from(maximum.checked_mul(WASM_PAGE_SIZE).context("memory too large")?)?
        }
        .max(rustix::param::page_size());
        // SAFETY: a fresh private mapping with no access aliases nothing.
        let base = fault::check(Site::MemoryReserve)
            .and_then(|()| unsafe {
                mm::mmap_anonymous(
                    std::ptr::null_mut(),
                    reservation,
                    ProtFlags::empty(),
                    MapFlags::PRIVATE | MapFlags::NORESERVE,
                )
            })
            .map_err(|e| {
                const WHAT: &str = "failed to reserve address space for a linear memory";
                if e == rustix::io::Errno::NOMEM {
                    anyhow::Error::new(crate::ResourceExhausted::new(crate::ResourceKind::AddressSpace, WHAT, Some(e)))
                } else {
                    anyhow::Error::new(e).context(WHAT)
                }
            })?;
        let mut mem = LinearMemory {
            base: base.cast(),
            reservation,
            pages: 0,
            maximum,
            ty: *ty,
            vmdef: std::ptr::null_mut(),
            backing: Backing::Owned,
            mapped_image: None,
        };
        if mem.grow(ty.minimum)?.is_none() {
            bail!("failed to allocate the memory's initial {} pages", ty.minimum);
        }
        Ok(mem)
    }

    /// A memory over a pool slot of `reservation` bytes at `base`, whose first `ty.minimum` pages are
    /// already accessible (and no more), holding zeros or, if `mapped_image` is set, that image's
    /// bytes. The memory never grows past `maximum` pages.
    ///
    /// # Safety
    /// The slot must stay reserved, and be used by nothing else, until the memory is given back.
    pub unsafe fn in_pool_slot(
        base: *mut u8,
        reservation: usize,
        slot: u32,
        ty: &MemoryType,
        maximum: u64,
        mapped_image: Option<u64>,
    ) -> LinearMemory {
        LinearMemory {
            base,
            reservation,
            pages: ty.minimum,
            maximum: ty.maximum.unwrap_or(MAX_PAGES).min(maximum),
            ty: *ty,
            vmdef: std::ptr::null_mut(),
            backing: Backing::PoolSlot(slot),
            mapped_image,
        }
    }

    /// What the memory's address range belongs to.
    pub fn backing(&self) -> Backing {
        self.backing
    }

    /// The id of the memory image mapped over the memory, if any.
    pub fn mapped_image(&self) -> Option<u64> {
        self.mapped_image
    }

    /// Points the memory at the definition compiled code reads, and fills it in.
    ///
    /// # Safety
    /// `vmdef` must stay valid for as long as the memory is used.
    pub unsafe fn set_vmdef(&mut self, vmdef: *mut VMMemoryDefinition) {
        self.vmdef = vmdef;
        self.update_vmdef();
    }

    fn update_vmdef(&self) {
        if !self.vmdef.is_null() {
            // SAFETY: `set_vmdef`'s contract keeps `vmdef` valid.
            unsafe { self.vmdef.write(VMMemoryDefinition { base: self.base, current_length: self.byte_size() }) };
        }
    }

    /// Grows by `delta` pages, but not past `limit` bytes (the store's limit, `u64::MAX` for none; a
    /// `delta` of 0 always succeeds). Returns the old size in pages, or `None` if the memory cannot
    /// grow that far (the limit, the maximum, or the host refused the pages).
    pub fn grow_within(&mut self, delta: u64, limit: u64) -> Result<Option<u64>> {
        // Checked: `delta` is any u64 from the embedder.
        let new_bytes = self.pages.checked_add(delta).and_then(|p| p.checked_mul(WASM_PAGE_SIZE));
        if delta > 0 && new_bytes.is_none_or(|b| b > limit) {
            return Ok(None);
        }
        self.grow(delta)
    }

    /// Grows by `delta` pages. Returns the old size in pages, or `None` if the memory cannot grow that
    /// far (the maximum, or the host refused the pages).
    pub fn grow(&mut self, delta: u64) -> Result<Option<u64>> {
        let old = self.pages;
        // `delta` comes from the guest (a u32) or the embedder (any u64): checked, and never past
        // 65,536 pages whatever `maximum` says, so the byte counts below are at most 2^32.
        let Some(new) = old.checked_add(delta).filter(|n| *n <= self.maximum && *n <= MAX_PAGES) else {
            return Ok(None);
        };
        if delta > 0 {
            let (Some(start), Some(len)) = (pages_to_bytes(old), pages_to_bytes(delta)) else {
                return Ok(None);
            };
            // SAFETY: the range lies inside our reservation (new <= maximum fits it).
            let r = fault::check(Site::MemoryProtect).and_then(|()| unsafe {
                mm::mprotect(self.base.add(start).cast(), len, MprotectFlags::READ | MprotectFlags::WRITE)
            });
            if r.is_err() {
                return Ok(None);
            }
        }
        self.pages = new;
        self.update_vmdef();
        Ok(Some(old))
    }

    /// Current size in pages.
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Current size in bytes.
    pub fn byte_size(&self) -> usize {
        // `pages` never exceeds MAX_PAGES (`grow` and the constructors keep it there): the size is at
        // most 2^32, and a broken invariant gives 0 (every access out of bounds), never a wrap.
        pages_to_bytes(self.pages).unwrap_or(0)
    }

    /// Start of the memory.
    pub fn base(&self) -> *mut u8 {
        self.base
    }

    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self) -> MemoryType {
        MemoryType { minimum: self.pages, maximum: self.ty.maximum }
    }

    /// The accessible bytes.
    pub fn data(&self) -> &[u8] {
        // SAFETY: the first `byte_size()` bytes are mapped read/write while `self` lives.
        unsafe { std::slice::from_raw_parts(self.base, self.byte_size()) }
    }

    /// The accessible bytes, mutably.
    pub fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `data`, and `&mut self` makes the view unique on the host side.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.byte_size()) }
    }
}

impl LinearMemory {
    /// Maps `image` copy-on-write (`MAP_PRIVATE`) over its range of the memory, which must be
    /// accessible (within the current size). Writes then go to private copies of the pages; the
    /// reservation's `munmap` on drop removes the mapping with the rest.
    pub fn map_image(&mut self, image: &MemoryImage) -> Result<()> {
        let end = image.offset().checked_add(image.size());
        anyhow::ensure!(end.is_some_and(|e| e <= self.byte_size()), "memory image beyond the memory's size");
        fault::check(Site::MemoryRemap)
            // SAFETY: the range lies inside the accessible part of our reservation (checked above),
            // and `MAP_FIXED` replaces only those pages; no host reference into them is live.
            .and_then(|()| unsafe {
                mm::mmap(
                    self.base.add(image.offset()).cast(),
                    image.size(),
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE | MapFlags::FIXED,
                    image.file().0,
                    image.file().1,
                )
            })
            .context("failed to map a memory image")?;
        self.mapped_image = Some(image.id());
        Ok(())
    }

    /// Replaces `image`'s range (mapped by [`LinearMemory::map_image`]) with fresh zero pages, as if
    /// the image had never been mapped.
    pub fn unmap_image(&mut self, image: &MemoryImage) -> Result<()> {
        let end = image.offset().checked_add(image.size());
        anyhow::ensure!(end.is_some_and(|e| e <= self.byte_size()), "memory image beyond the memory's size");
        fault::check(Site::MemoryRemap)
            // SAFETY: as in `map_image`: the range is inside the accessible part of our reservation.
            .and_then(|()| unsafe {
                mm::mmap_anonymous(
                    self.base.add(image.offset()).cast(),
                    image.size(),
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE | MapFlags::FIXED | MapFlags::NORESERVE,
                )
            })
            .context("failed to reset a memory image's pages")?;
        self.mapped_image = None;
        Ok(())
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        if self.backing != Backing::Owned {
            // The pool owns the slot's mapping.
            return;
        }
        // SAFETY: we own the reservation and nothing uses it after the memory is dropped.
        unsafe {
            let _ = mm::munmap(self.base.cast(), self.reservation);
        }
    }
}

/// `pages` Wasm pages in bytes, if that fits a `usize`.
fn pages_to_bytes(pages: u64) -> Option<usize> {
    usize::try_from(pages.checked_mul(WASM_PAGE_SIZE)?).ok()
}

impl LinearMemory {
    /// Where the definition compiled code reads lives (null before `set_vmdef`).
    pub fn vmdef_ptr(&self) -> *mut VMMemoryDefinition {
        self.vmdef
    }
}
