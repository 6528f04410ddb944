//! Copy-on-write memory images: a module's active data segments laid out at page granularity in a
//! memfd, built once when the module is compiled and mapped `MAP_PRIVATE` over each instance's
//! memory, so instantiation costs one `mmap` instead of a copy of every segment, and instances share
//! the pages they only read.
//!
//! A module gets an image only when the result is indistinguishable from copying the segments: every
//! active data segment targets one defined (not imported) memory, at an `i32.const` offset, and fits
//! within that memory's minimum size (so instantiation cannot trap on a data segment). Otherwise, or
//! when the segments hold no data, the module has no image and instantiation copies the segments.

use crate::environ::info::{ConstExpr, DataMode, ModuleInfo};
use crate::WASM_PAGE_SIZE;
use anyhow::{Context, Result};
use rustix::fs::MemfdFlags;
use rustix::mm::{self, MapFlags, ProtFlags};
use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Where a module's image goes and what it holds, computed from its data segments.
pub struct ImagePlan {
    /// The (defined) memory.
    pub memory: u32,
    /// Where the image starts in linear memory (page-aligned).
    pub offset: usize,
    /// Its length (page-aligned, nonzero).
    pub len: usize,
    /// The segments: where each starts in linear memory, and its bytes in `data_bytes`, in order.
    segments: Vec<(usize, std::ops::Range<usize>)>,
}

impl ImagePlan {
    /// The plan of `info`'s image, or `None` if the module does not qualify or has no data to map.
    pub fn new(info: &ModuleInfo) -> Option<ImagePlan> {
        let mut target = None;
        // (start in linear memory, end, bytes in `data_bytes`)
        let mut segments = Vec::new();
        for seg in &info.data {
            let DataMode::Active { memory, offset } = &seg.mode else { continue };
            if *target.get_or_insert(*memory) != *memory {
                return None;
            }
            let ConstExpr::I32(offset) = *offset else { return None };
            let start = u64::from(offset as u32);
            segments.push((start, start + seg.bytes.len() as u64, seg.bytes.clone()));
        }
        let memory = target?;
        if memory < info.num_imported_memories {
            return None;
        }
        let min_bytes = info.memories[memory as usize].minimum.saturating_mul(WASM_PAGE_SIZE);
        // An out-of-bounds segment (even an empty one) traps at instantiation, after the segments
        // before it were written: the copy path does exactly that.
        if segments.iter().any(|&(_, end, _)| end > min_bytes) {
            return None;
        }
        segments.retain(|(start, end, _)| start < end);
        let page = rustix::param::page_size() as u64;
        let lo = segments.iter().map(|s| s.0).min()? / page * page;
        let hi = segments.iter().map(|s| s.1).max()?.next_multiple_of(page);
        if hi > min_bytes {
            // Only with host pages larger than Wasm pages.
            return None;
        }
        let segments = segments.into_iter().map(|(start, _, bytes)| ((start - lo) as usize, bytes)).collect();
        Some(ImagePlan { memory, offset: lo as usize, len: usize::try_from(hi - lo).ok()?, segments })
    }

    /// Writes the image into `dst` (`len` bytes, zeros): the segments in order, so that a later one
    /// overwrites an earlier one, as copying them would.
    pub fn write(&self, info: &ModuleInfo, dst: &mut [u8]) {
        for (at, bytes) in &self.segments {
            dst[*at..*at + bytes.len()].copy_from_slice(&info.data_bytes[bytes.clone()]);
        }
    }
}

/// A memory image: bytes `[offset, offset + len)` of a linear memory, in a file.
#[derive(Debug)]
pub struct MemoryImage {
    /// The file holding the bytes (`len` of them at `file_offset`; holes read as zeros).
    file: File,
    /// Where the bytes start in `file` (page-aligned).
    file_offset: u64,
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
        let Some(plan) = ImagePlan::new(info) else { return Ok(None) };
        let fd = crate::vm::fault::check(crate::vm::fault::Site::MemfdCreate)
            .and_then(|()| rustix::fs::memfd_create("spry-memory-image", MemfdFlags::CLOEXEC))
            .context("failed to create a memfd for a memory image")?;
        let file = File::from(fd);
        file.set_len(plan.len as u64).context("failed to size a memory image")?;
        // Written through a shared mapping of the memfd: one system call for any number of segments
        // (a module may have tens of thousands).
        // SAFETY: a fresh shared mapping of our own memfd, which nothing else maps yet.
        let map = unsafe {
            mm::mmap(std::ptr::null_mut(), plan.len, ProtFlags::READ | ProtFlags::WRITE, MapFlags::SHARED, &file, 0)
        }
        .context("failed to map a memory image for writing")?;
        // SAFETY: the mapping is `plan.len` writable bytes (zeros), ours until the `munmap` below.
        plan.write(info, unsafe { std::slice::from_raw_parts_mut(map.cast::<u8>(), plan.len) });
        // SAFETY: our own mapping, no longer used.
        unsafe { mm::munmap(map, plan.len) }.context("failed to unmap a memory image")?;
        Ok(Some((plan.memory, MemoryImage::from_file(file, 0, plan.offset, plan.len))))
    }

    /// An image of `len` bytes for linear memory offset `offset` (both page-aligned), held in `file`
    /// at `file_offset` (page-aligned): a memfd, or a compiled-module file that carries its image.
    /// The file must not change while the image exists.
    pub fn from_file(file: File, file_offset: u64, offset: usize, len: usize) -> MemoryImage {
        MemoryImage { file, file_offset, offset, len, id: NEXT_ID.fetch_add(1, Ordering::Relaxed) }
    }

    /// The image's process-wide unique id (never 0).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The file holding the image, and where in it the image starts.
    pub fn file(&self) -> (&File, u64) {
        (&self.file, self.file_offset)
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
