//! Checked access to the calling instance's linear memory. Every guest pointer and length goes
//! through here: ranges are computed in u64 (`ptr + len` cannot overflow for two u32s) and checked
//! against the memory's current size; an out-of-bounds range is `EFAULT`, a misaligned record
//! `EINVAL` (as wasmtime's wiggle layer does). No other WASI code indexes guest memory.
#![deny(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use super::abi::{Errno, IOVEC_SIZE};

/// The caller's memory bytes, for the duration of one WASI call.
pub(crate) struct GuestMem<'a> {
    bytes: &'a mut [u8],
}

/// The byte range `[ptr, ptr + len)` as `usize`s, if it lies within `size` bytes.
fn range(size: usize, ptr: u32, len: u64) -> Result<std::ops::Range<usize>, Errno> {
    let start = u64::from(ptr);
    let end = start.checked_add(len).ok_or(Errno::FAULT)?;
    if end > size as u64 {
        return Err(Errno::FAULT);
    }
    // Both fit: `end <= size`, a usize.
    Ok(start as usize..end as usize)
}

fn aligned(ptr: u32, align: u32) -> Result<(), Errno> {
    if !ptr.is_multiple_of(align) {
        return Err(Errno::INVAL);
    }
    Ok(())
}

impl<'a> GuestMem<'a> {
    pub(crate) fn new(bytes: &'a mut [u8]) -> GuestMem<'a> {
        GuestMem { bytes }
    }

    /// The memory's size in bytes.
    #[allow(dead_code)]
    pub(crate) fn size(&self) -> usize {
        self.bytes.len()
    }

    /// `len` bytes at `ptr`.
    pub(crate) fn slice(&self, ptr: u32, len: u32) -> Result<&[u8], Errno> {
        let r = range(self.bytes.len(), ptr, u64::from(len))?;
        self.bytes.get(r).ok_or(Errno::FAULT)
    }

    /// `len` bytes at `ptr`, mutably.
    pub(crate) fn slice_mut(&mut self, ptr: u32, len: u32) -> Result<&mut [u8], Errno> {
        let r = range(self.bytes.len(), ptr, u64::from(len))?;
        self.bytes.get_mut(r).ok_or(Errno::FAULT)
    }

    /// Copies `data` to `ptr`.
    pub(crate) fn write_bytes(&mut self, ptr: u32, data: &[u8]) -> Result<(), Errno> {
        let len = u32::try_from(data.len()).map_err(|_| Errno::FAULT)?;
        self.slice_mut(ptr, len)?.copy_from_slice(data);
        Ok(())
    }

    fn array<const N: usize>(&self, ptr: u32) -> Result<[u8; N], Errno> {
        aligned(ptr, N as u32)?;
        let s = self.slice(ptr, N as u32)?;
        s.try_into().map_err(|_| Errno::FAULT)
    }

    pub(crate) fn read_u8(&self, ptr: u32) -> Result<u8, Errno> {
        Ok(u8::from_le_bytes(self.array::<1>(ptr)?))
    }

    pub(crate) fn read_u16(&self, ptr: u32) -> Result<u16, Errno> {
        Ok(u16::from_le_bytes(self.array::<2>(ptr)?))
    }

    pub(crate) fn read_u32(&self, ptr: u32) -> Result<u32, Errno> {
        Ok(u32::from_le_bytes(self.array::<4>(ptr)?))
    }

    pub(crate) fn read_u64(&self, ptr: u32) -> Result<u64, Errno> {
        Ok(u64::from_le_bytes(self.array::<8>(ptr)?))
    }

    pub(crate) fn write_u32(&mut self, ptr: u32, v: u32) -> Result<(), Errno> {
        aligned(ptr, 4)?;
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    pub(crate) fn write_u64(&mut self, ptr: u32, v: u64) -> Result<(), Errno> {
        aligned(ptr, 8)?;
        self.write_bytes(ptr, &v.to_le_bytes())
    }

    /// A record of `N` bytes at `ptr` (aligned to `align`), written from `rec`.
    pub(crate) fn write_record<const N: usize>(&mut self, ptr: u32, align: u32, rec: &[u8; N]) -> Result<(), Errno> {
        aligned(ptr, align)?;
        self.write_bytes(ptr, rec)
    }

    /// The UTF-8 string of `len` bytes at `ptr`: `EFAULT` out of bounds, `EILSEQ` if not UTF-8.
    pub(crate) fn str(&self, ptr: u32, len: u32) -> Result<&str, Errno> {
        std::str::from_utf8(self.slice(ptr, len)?).map_err(|_| Errno::ILSEQ)
    }

    /// The `(buf, len)` pairs of an iovec array of `count` entries at `ptr`, each checked to lie
    /// within the memory.
    pub(crate) fn iovecs(&self, ptr: u32, count: u32) -> Result<Vec<(u32, u32)>, Errno> {
        aligned(ptr, 4)?;
        let total = u64::from(count).checked_mul(IOVEC_SIZE).ok_or(Errno::FAULT)?;
        let table = range(self.bytes.len(), ptr, total)?;
        let table = self.bytes.get(table).ok_or(Errno::FAULT)?;
        let mut out = Vec::with_capacity(count.min(1024) as usize);
        for entry in table.chunks_exact(IOVEC_SIZE as usize) {
            let (b, l) = entry.split_at(4);
            let buf = u32::from_le_bytes(b.try_into().map_err(|_| Errno::FAULT)?);
            let len = u32::from_le_bytes(l.try_into().map_err(|_| Errno::FAULT)?);
            range(self.bytes.len(), buf, u64::from(len))?;
            out.push((buf, len));
        }
        Ok(out)
    }

    /// The first iovec of `count` at `ptr` with a nonzero length (checked), if any: what a read or
    /// write serves, as in wasmtime (a short transfer, which callers loop on).
    pub(crate) fn first_iovec(&self, ptr: u32, count: u32) -> Result<Option<(u32, u32)>, Errno> {
        aligned(ptr, 4)?;
        let total = u64::from(count).checked_mul(IOVEC_SIZE).ok_or(Errno::FAULT)?;
        let table = range(self.bytes.len(), ptr, total)?;
        let table = self.bytes.get(table).ok_or(Errno::FAULT)?;
        for entry in table.chunks_exact(IOVEC_SIZE as usize) {
            let (b, l) = entry.split_at(4);
            let buf = u32::from_le_bytes(b.try_into().map_err(|_| Errno::FAULT)?);
            let len = u32::from_le_bytes(l.try_into().map_err(|_| Errno::FAULT)?);
            range(self.bytes.len(), buf, u64::from(len))?;
            if len != 0 {
                return Ok(Some((buf, len)));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn bounds_at_memory_end_and_at_4g() {
        let mut bytes = vec![0u8; 65536];
        let mut m = GuestMem::new(&mut bytes);
        assert!(m.slice(65535, 1).is_ok());
        assert!(m.slice(65536, 0).is_ok());
        assert_eq!(m.slice(65536, 1).unwrap_err(), Errno::FAULT);
        assert_eq!(m.slice(65535, 2).unwrap_err(), Errno::FAULT);
        assert_eq!(m.slice(u32::MAX, u32::MAX).unwrap_err(), Errno::FAULT);
        assert_eq!(m.slice(1, u32::MAX).unwrap_err(), Errno::FAULT);
        assert_eq!(m.write_u32(65534, 1).unwrap_err(), Errno::INVAL);
        assert_eq!(m.write_u32(65536, 1).unwrap_err(), Errno::FAULT);
        assert_eq!(m.write_u64(65532, 1).unwrap_err(), Errno::INVAL);
        assert!(m.write_u64(65528, 7).is_ok());
        assert_eq!(m.read_u64(65528).unwrap(), 7);
        assert_eq!(m.str(0, 65537).unwrap_err(), Errno::FAULT);
        m.write_bytes(0, &[0xff, 0xfe]).unwrap();
        assert_eq!(m.str(0, 2).unwrap_err(), Errno::ILSEQ);
    }

    #[test]
    fn iovecs_checked() {
        let mut bytes = vec![0u8; 65536];
        let mut m = GuestMem::new(&mut bytes);
        // iovec 0: (100, 10); iovec 1: (65530, 6) ends exactly at the end; iovec 2: (65530, 7) one past.
        m.write_u32(0, 100).unwrap();
        m.write_u32(4, 10).unwrap();
        m.write_u32(8, 65530).unwrap();
        m.write_u32(12, 6).unwrap();
        m.write_u32(16, 65530).unwrap();
        m.write_u32(20, 7).unwrap();
        assert_eq!(m.iovecs(0, 2).unwrap(), vec![(100, 10), (65530, 6)]);
        assert_eq!(m.iovecs(0, 3).unwrap_err(), Errno::FAULT);
        // A count whose table would reach past 2^32 or the memory's end.
        assert_eq!(m.iovecs(0, u32::MAX).unwrap_err(), Errno::FAULT);
        assert_eq!(m.iovecs(65532, 1).unwrap_err(), Errno::FAULT);
        assert_eq!(m.iovecs(2, 1).unwrap_err(), Errno::INVAL);
        // A buffer of length u32::MAX at u32::MAX: past 2^32, no wrap.
        m.write_u32(24, u32::MAX).unwrap();
        m.write_u32(28, u32::MAX).unwrap();
        assert_eq!(m.iovecs(24, 1).unwrap_err(), Errno::FAULT);
        assert_eq!(m.first_iovec(24, 1).unwrap_err(), Errno::FAULT);
        m.write_u32(28, 0).unwrap();
        m.write_u32(32, 5).unwrap();
        m.write_u32(36, 3).unwrap();
        assert_eq!(m.first_iovec(24, 2).unwrap_err(), Errno::FAULT, "a zero-length iovec is still checked");
        m.write_u32(24, 0).unwrap();
        assert_eq!(m.first_iovec(24, 2).unwrap(), Some((5, 3)));
    }
}
