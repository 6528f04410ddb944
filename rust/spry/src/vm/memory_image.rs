//! Copy-on-write memory images: a module's active data segments laid out at page granularity in a
//! memfd, built once when the module is compiled and mapped `MAP_PRIVATE` over each instance's
//! memory, so instantiation costs one `mmap` instead of a copy of every segment, and instances share
//! the pages they only read.
//!
//! A module gets an image only when the result is indistinguishable from copying the segments: every
//! active data segment targets one defined (not imported) memory, at an `i32.const` offset, and fits
//! within that memory's minimum size (so instantiation cannot trap on a data segment). Otherwise, or
//! when the segments hold no data, the module has no image and instantiation copies the segments.

use crate::module::info::{ConstExpr, DataMode, ModuleInfo};
use crate::WASM_PAGE_SIZE;
use anyhow::{Context, Result};
use rustix::fs::MemfdFlags;
use rustix::mm::{self, MapFlags, ProtFlags};
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A memory image: bytes `[offset, offset + len)` of a linear memory, in a memfd.
#[derive(Debug)]
pub struct MemoryImage {
    /// The memfd holding the bytes (`len` of them; the file's holes read as zeros).
    file: File,
    /// Where the image starts in linear memory (a multiple of the host page size).
    offset: usize,
    /// The image's length (a nonzero multiple of the host page size).
    len: usize,
    /// Unique in the process (never 0), so a pool slot can tell whether it still holds this image.
    id: u64,
}

impl MemoryImage {
    /// The image of `info`'s active data segments, with the index of the memory it is for, or `None`
    /// if the module does not qualify (see the module documentation) or has no data to map.
    pub fn new(info: &ModuleInfo) -> Result<Option<(u32, MemoryImage)>> {
        let mut target = None;
        // (start in linear memory, end, bytes in `data_bytes`)
        let mut segments = Vec::new();
        for seg in &info.data {
            let DataMode::Active { memory, offset } = &seg.mode else { continue };
            if *target.get_or_insert(*memory) != *memory {
                return Ok(None);
            }
            let ConstExpr::I32(offset) = *offset else { return Ok(None) };
            let start = u64::from(offset as u32);
            segments.push((start, start + seg.bytes.len() as u64, seg.bytes.clone()));
        }
        let Some(memory) = target else { return Ok(None) };
        if memory < info.num_imported_memories {
            return Ok(None);
        }
        let min_bytes = info.memories[memory as usize].minimum.saturating_mul(WASM_PAGE_SIZE);
        // An out-of-bounds segment (even an empty one) traps at instantiation, after the segments
        // before it were written: the copy path does exactly that.
        if segments.iter().any(|&(_, end, _)| end > min_bytes) {
            return Ok(None);
        }
        segments.retain(|(start, end, _)| start < end);
        let page = rustix::param::page_size() as u64;
        let (Some(lo), Some(hi)) = (segments.iter().map(|s| s.0).min(), segments.iter().map(|s| s.1).max()) else {
            return Ok(None);
        };
        let lo = lo / page * page;
        let hi = hi.next_multiple_of(page);
        if hi > min_bytes {
            // Only with host pages larger than Wasm pages.
            return Ok(None);
        }
        let fd = rustix::fs::memfd_create("spry-memory-image", MemfdFlags::CLOEXEC)
            .context("failed to create a memfd for a memory image")?;
        let file = File::from(fd);
        file.set_len(hi - lo).context("failed to size a memory image")?;
        // Written through a shared mapping of the memfd: one system call for any number of segments
        // (a module may have tens of thousands). In order, so that a later segment overwrites an
        // earlier one, as copying them would.
        let len = usize::try_from(hi - lo).context("memory image too large")?;
        // SAFETY: a fresh shared mapping of our own memfd, which nothing else maps yet.
        let map = unsafe {
            mm::mmap(std::ptr::null_mut(), len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, &file, 0)
        }
        .context("failed to map a memory image for writing")?;
        for (start, _, bytes) in segments {
            let src = &info.data_bytes[bytes];
            // SAFETY: `[start - lo, start - lo + src.len())` lies within `[0, hi - lo)`, the mapping.
            unsafe {
                std::ptr::copy_nonoverlapping(src.as_ptr(), map.cast::<u8>().add((start - lo) as usize), src.len())
            };
        }
        // SAFETY: our own mapping, no longer used.
        unsafe { mm::munmap(map, len) }.context("failed to unmap a memory image")?;
        Ok(Some((
            memory,
            MemoryImage {
                file,
                offset: lo as usize,
                len: (hi - lo) as usize,
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            },
        )))
    }

    /// The image's process-wide unique id (never 0).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The memfd.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the image starts in linear memory (page-aligned).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The image's length in bytes (page-aligned, nonzero).
    pub fn size(&self) -> usize {
        self.len
    }
}
