//! Executable memory: machine code copied into a fresh mapping that is made read+execute before it
//! runs. A mapping is never writable and executable at once.

use super::fault::{self, Site};
use anyhow::{Context, Result};
use rustix::mm::{self, MapFlags, MprotectFlags, ProtFlags};
use std::ptr::NonNull;

/// An executable mapping holding a module's or a trampoline batch's code.
pub struct CodeMemory {
    ptr: NonNull<u8>,
    map_len: usize,
    len: usize,
}

// SAFETY: the mapping is immutable (read+execute) once constructed and freed only on drop.
unsafe impl Send for CodeMemory {}
// SAFETY: as above: no interior mutability.
unsafe impl Sync for CodeMemory {}

impl CodeMemory {
    /// Maps `code`, lets `patch` fix absolute addresses (it receives the final address of the code and
    /// a mutable view of it), then makes the mapping read+execute.
    pub fn new(code: &[u8], patch: impl FnOnce(usize, &mut [u8]) -> Result<()>) -> Result<CodeMemory> {
        let page = rustix::param::page_size();
        let len = code.len().max(1).next_multiple_of(page);
        // SAFETY: a fresh anonymous private mapping aliases nothing. Populated up front: every page is
        // written just below, and the kernel fills a range at once far faster than page by page.
        let ptr = fault::check(Site::CodeMap)
            .and_then(|()| unsafe {
                mm::mmap_anonymous(
                    std::ptr::null_mut(),
                    len,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE | MapFlags::POPULATE,
                )
            })
            .context("mmap for code")?;
        let ptr = NonNull::new(ptr.cast::<u8>()).context("mmap returned null")?;
        let mem = CodeMemory { ptr, map_len: len, len: code.len() };
        // SAFETY: the mapping is `len >= code.len()` bytes, readable and writable, and owned by `mem`.
        let view = unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), code.len()) };
        view.copy_from_slice(code);
        patch(ptr.as_ptr() as usize, view)?;
        fault::check(Site::CodeProtect)
            // SAFETY: the range is our own mapping; after this no one writes to it.
            .and_then(|()| unsafe { mm::mprotect(ptr.as_ptr().cast(), len, MprotectFlags::READ | MprotectFlags::EXEC) })
            .context("mprotect code to read+execute")?;
        Ok(mem)
    }

    /// Maps `len` bytes of code at `offset` (page-aligned) in `file` copy-on-write, lets `patch` fix
    /// absolute addresses (only the pages it writes are copied), then makes the mapping read+execute.
    /// Nothing is read or copied up front: the code's pages are the file's pages in the page cache,
    /// shared by every process that maps the file.
    ///
    /// # Safety
    /// The file must not be modified while the code is mapped (a private mapping shows later changes
    /// to pages it has not copied), and `[offset, offset + len)` must lie within it.
    pub unsafe fn map_file(
        file: &std::fs::File,
        offset: u64,
        len: usize,
        patch: impl FnOnce(usize, &mut [u8]) -> Result<()>,
    ) -> Result<CodeMemory> {
        let page = rustix::param::page_size();
        anyhow::ensure!(offset.is_multiple_of(page as u64), "code not page-aligned in the file");
        // Whole pages: those past the code's end are still inside the file (the code is not its end).
        let map_len = len.max(1).next_multiple_of(page);
        // SAFETY: a fresh private mapping of the file; the caller keeps the file unchanged.
        let ptr = fault::check(Site::CodeMap)
            .and_then(|()| unsafe {
                mm::mmap(
                    std::ptr::null_mut(),
                    map_len,
                    ProtFlags::READ | ProtFlags::WRITE,
                    MapFlags::PRIVATE,
                    file,
                    offset,
                )
            })
            .context("mmap code from the file")?;
        let ptr = NonNull::new(ptr.cast::<u8>()).context("mmap returned null")?;
        let mem = CodeMemory { ptr, map_len, len };
        // SAFETY: the mapping is `map_len >= len` bytes, readable and writable, and owned by `mem`.
        let view = unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), len) };
        patch(ptr.as_ptr() as usize, view)?;
        fault::check(Site::CodeProtect)
            // SAFETY: the range is our own mapping; after this no one writes to it.
            .and_then(|()| unsafe {
                mm::mprotect(ptr.as_ptr().cast(), map_len, MprotectFlags::READ | MprotectFlags::EXEC)
            })
            .context("mprotect code to read+execute")?;
        Ok(mem)
    }

    /// Address of the first byte of code.
    pub fn base(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Length of the code in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The code as mapped (with its absolute relocations applied).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the first `len` bytes of the mapping are readable (read+execute) and never written
        // after construction; the mapping lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; nothing runs in it once its module and trampolines are dropped.
        unsafe {
            let _ = mm::munmap(self.ptr.as_ptr().cast(), self.map_len);
        }
    }
}
