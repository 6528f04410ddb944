//! The functions of `wasi_snapshot_preview1`. Errno semantics follow the witx and, where it is
//! loose, wasmtime's preview 1 implementation.

use super::abi::*;
use super::fs::{host_filestat, vfs_filestat, vfs_resolve, Filestat};
use super::table::{Desc, DirFd, FileFd, VDirFd, VFileFd};
use super::{Call, DirPerms, Fail, I32Exit, VfsFileType, VirtualFs, WasiCtx, WasiInput, WasiOutput, R};
use crate::trap::{Trap, TrapCode};
use cap_fs_ext::{
    DirExt, FollowSymlinks, OpenOptionsFollowExt, OpenOptionsMaybeDirExt, OpenOptionsSyncExt, SystemTimeSpec,
};
use rustix::fd::{AsFd, BorrowedFd};
use std::io::{IoSlice, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `(name, parameter widths (32/64), returns an errno, implementation)`.
pub(crate) type Def = (&'static str, &'static [u8], bool, super::Impl);

pub(crate) const FUNCS: &[Def] = &[
    ("args_get", &[32, 32], true, args_get),
    ("args_sizes_get", &[32, 32], true, args_sizes_get),
    ("environ_get", &[32, 32], true, environ_get),
    ("environ_sizes_get", &[32, 32], true, environ_sizes_get),
    ("clock_res_get", &[32, 32], true, clock_res_get),
    ("clock_time_get", &[32, 64, 32], true, clock_time_get),
    ("fd_advise", &[32, 64, 64, 32], true, fd_advise),
    ("fd_allocate", &[32, 64, 64], true, fd_allocate),
    ("fd_close", &[32], true, fd_close),
    ("fd_datasync", &[32], true, fd_datasync),
    ("fd_fdstat_get", &[32, 32], true, fd_fdstat_get),
    ("fd_fdstat_set_flags", &[32, 32], true, fd_fdstat_set_flags),
    ("fd_fdstat_set_rights", &[32, 64, 64], true, fd_fdstat_set_rights),
    ("fd_filestat_get", &[32, 32], true, fd_filestat_get),
    ("fd_filestat_set_size", &[32, 64], true, fd_filestat_set_size),
    ("fd_filestat_set_times", &[32, 64, 64, 32], true, fd_filestat_set_times),
    ("fd_pread", &[32, 32, 32, 64, 32], true, fd_pread),
    ("fd_prestat_get", &[32, 32], true, fd_prestat_get),
    ("fd_prestat_dir_name", &[32, 32, 32], true, fd_prestat_dir_name),
    ("fd_pwrite", &[32, 32, 32, 64, 32], true, fd_pwrite),
    ("fd_read", &[32, 32, 32, 32], true, fd_read),
    ("fd_readdir", &[32, 32, 32, 64, 32], true, fd_readdir),
    ("fd_renumber", &[32, 32], true, fd_renumber),
    ("fd_seek", &[32, 64, 32, 32], true, fd_seek),
    ("fd_sync", &[32], true, fd_sync),
    ("fd_tell", &[32, 32], true, fd_tell),
    ("fd_write", &[32, 32, 32, 32], true, fd_write),
    ("path_create_directory", &[32, 32, 32], true, path_create_directory),
    ("path_filestat_get", &[32, 32, 32, 32, 32], true, path_filestat_get),
    ("path_filestat_set_times", &[32, 32, 32, 32, 64, 64, 32], true, path_filestat_set_times),
    ("path_link", &[32, 32, 32, 32, 32, 32, 32], true, path_link),
    ("path_open", &[32, 32, 32, 32, 32, 64, 64, 32, 32], true, path_open),
    ("path_readlink", &[32, 32, 32, 32, 32, 32], true, path_readlink),
    ("path_remove_directory", &[32, 32, 32], true, path_remove_directory),
    ("path_rename", &[32, 32, 32, 32, 32, 32], true, path_rename),
    ("path_symlink", &[32, 32, 32, 32, 32], true, path_symlink),
    ("path_unlink_file", &[32, 32, 32], true, path_unlink_file),
    ("poll_oneoff", &[32, 32, 32, 32], true, poll_oneoff),
    ("proc_exit", &[32], false, proc_exit),
    ("proc_raise", &[32], true, proc_raise),
    ("sched_yield", &[], true, sched_yield),
    ("random_get", &[32, 32], true, random_get),
    ("sock_accept", &[32, 32, 32], true, sock_accept),
    ("sock_recv", &[32, 32, 32, 32, 32, 32], true, sock_recv),
    ("sock_send", &[32, 32, 32, 32, 32], true, sock_send),
    ("sock_shutdown", &[32, 32], true, sock_shutdown),
];

const OK: R<u64> = Ok(0);

/// Argument `i` as the i32 it is (the slot's low 32 bits).
fn u32a(a: &[u64], i: usize) -> u32 {
    a.get(i).copied().unwrap_or(0) as u32
}

fn u64a(a: &[u64], i: usize) -> u64 {
    a.get(i).copied().unwrap_or(0)
}

fn errno(e: Errno) -> Fail {
    Fail::Errno(e)
}

// ---- args, environ ----

fn sizes(c: &mut Call<'_>, a: &[u64], env: bool) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let s = if env { &ctx.cfg.env } else { &ctx.cfg.args };
    let count = u32::try_from(s.offsets.len()).map_err(|_| errno(Errno::OVERFLOW))?;
    let size = u32::try_from(s.buf.len()).map_err(|_| errno(Errno::OVERFLOW))?;
    mem.write_u32(u32a(a, 0), count)?;
    mem.write_u32(u32a(a, 1), size)?;
    OK
}

fn strings(c: &mut Call<'_>, a: &[u64], env: bool) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let s = if env { &ctx.cfg.env } else { &ctx.cfg.args };
    let (ptrs, buf) = (u32a(a, 0), u32a(a, 1));
    mem.write_bytes(buf, &s.buf)?;
    for (i, off) in s.offsets.iter().enumerate() {
        let at = u32::try_from(i).ok().and_then(|i| i.checked_mul(4)).and_then(|o| ptrs.checked_add(o));
        let v = buf.checked_add(*off);
        mem.write_u32(at.ok_or(errno(Errno::FAULT))?, v.ok_or(errno(Errno::FAULT))?)?;
    }
    OK
}

fn args_sizes_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    sizes(c, a, false)
}
fn environ_sizes_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    sizes(c, a, true)
}
fn args_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    strings(c, a, false)
}
fn environ_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    strings(c, a, true)
}

// ---- clocks ----

fn ts_nanos(t: rustix::time::Timespec) -> u64 {
    let n = i128::from(t.tv_sec) * 1_000_000_000 + i128::from(t.tv_nsec);
    n.clamp(0, i128::from(u64::MAX)) as u64
}

impl WasiCtx {
    pub(crate) fn wall_now(&self) -> u64 {
        match &self.cfg.wall {
            None => ts_nanos(rustix::time::clock_gettime(rustix::time::ClockId::Realtime)),
            Some(c) => c.now(),
        }
    }

    pub(crate) fn mono_now(&self) -> u64 {
        match &self.cfg.mono {
            None => ts_nanos(rustix::time::clock_gettime(rustix::time::ClockId::Monotonic)),
            Some(c) => c.now(),
        }
    }
}

fn clock_res_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let res = match u32a(a, 0) {
        CLOCK_REALTIME => match &ctx.cfg.wall {
            None => ts_nanos(rustix::time::clock_getres(rustix::time::ClockId::Realtime)),
            Some(c) => c.resolution(),
        },
        CLOCK_MONOTONIC => match &ctx.cfg.mono {
            None => ts_nanos(rustix::time::clock_getres(rustix::time::ClockId::Monotonic)),
            Some(c) => c.resolution(),
        },
        // As wasmtime: the CPU-time clocks are not provided.
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => return Err(errno(Errno::BADF)),
        _ => return Err(errno(Errno::INVAL)),
    };
    mem.write_u64(u32a(a, 1), res)?;
    OK
}

fn clock_time_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let now = match u32a(a, 0) {
        CLOCK_REALTIME => ctx.wall_now(),
        CLOCK_MONOTONIC => ctx.mono_now(),
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => return Err(errno(Errno::BADF)),
        _ => return Err(errno(Errno::INVAL)),
    };
    mem.write_u64(u32a(a, 2), now)?;
    OK
}

// ---- descriptors ----

/// A directory argument of a path function.
enum DirRef {
    Host(Arc<cap_std::fs::Dir>, DirPerms),
    Virt(Arc<dyn VirtualFs>, String),
}

fn dir_ref(ctx: &mut WasiCtx, fd: u32) -> R<DirRef> {
    match ctx.get(fd)? {
        Desc::Dir(d) => Ok(DirRef::Host(d.dir.clone(), d.perms)),
        Desc::VDir(d) => Ok(DirRef::Virt(d.fs.clone(), d.path.clone())),
        Desc::File(_) | Desc::VFile(_) => Err(errno(Errno::NOTDIR)),
        Desc::Stdio(_) => Err(errno(Errno::BADF)),
    }
}

/// A host directory that may be changed: `EPERM` for a read-only preopen or a virtual tree.
fn mutable_dir(ctx: &mut WasiCtx, fd: u32) -> R<Arc<cap_std::fs::Dir>> {
    match dir_ref(ctx, fd)? {
        DirRef::Host(d, DirPerms::ReadWrite) => Ok(d),
        DirRef::Host(_, DirPerms::ReadOnly) | DirRef::Virt(..) => Err(errno(Errno::PERM)),
    }
}

fn fd_close(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    c.ctx.remove(u32a(a, 0))?;
    OK
}

fn fd_renumber(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    c.ctx.renumber(u32a(a, 0), u32a(a, 1))?;
    OK
}

fn fd_advise(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (offset, len, advice) = (u64a(a, 1), u64a(a, 2), u32a(a, 3));
    use rustix::fs::Advice;
    let advice = match advice {
        0 => Advice::Normal,
        1 => Advice::Sequential,
        2 => Advice::Random,
        3 => Advice::WillNeed,
        ADVICE_DONTNEED => Advice::DontNeed,
        ADVICE_NOREUSE => Advice::NoReuse,
        _ => return Err(errno(Errno::INVAL)),
    };
    match c.ctx.get(u32a(a, 0))? {
        Desc::File(f) => {
            rustix::fs::fadvise(&f.file, offset, std::num::NonZeroU64::new(len), advice)?;
            OK
        }
        Desc::VFile(_) => OK,
        Desc::Dir(_) | Desc::VDir(_) => Err(errno(Errno::BADF)),
        Desc::Stdio(_) => Err(errno(Errno::BADF)),
    }
}

fn fd_allocate(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    // As wasmtime: descriptors are checked, then the operation is not supported.
    match c.ctx.get(u32a(a, 0))? {
        Desc::File(_) | Desc::VFile(_) => Err(errno(Errno::NOTSUP)),
        _ => Err(errno(Errno::BADF)),
    }
}

fn sync(c: &mut Call<'_>, a: &[u64], data: bool) -> R<u64> {
    let fd = match c.ctx.get(u32a(a, 0))? {
        Desc::File(f) => f.file.as_fd(),
        Desc::Dir(d) => d.dir.as_fd(),
        Desc::VFile(_) | Desc::VDir(_) => return OK,
        Desc::Stdio(_) => return Err(errno(Errno::BADF)),
    };
    if data {
        rustix::fs::fdatasync(fd)?;
    } else {
        rustix::fs::fsync(fd)?;
    }
    OK
}

fn fd_datasync(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    sync(c, a, true)
}
fn fd_sync(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    sync(c, a, false)
}

fn stdio_is_tty(ctx: &WasiCtx, n: u8) -> bool {
    // SAFETY: descriptors 0, 1 and 2 stay open for the process's lifetime (a closed one makes
    // `isatty` return false); the borrow does not outlive the call.
    let inherited = |fd: i32| rustix::termios::isatty(unsafe { BorrowedFd::borrow_raw(fd) });
    if n == 0 {
        match ctx.input() {
            WasiInput::Inherit => inherited(0),
            WasiInput::File(f) => rustix::termios::isatty(f.as_fd()),
            _ => false,
        }
    } else {
        match ctx.output(n) {
            WasiOutput::Inherit => inherited(i32::from(n)),
            WasiOutput::File(f) => rustix::termios::isatty(f.as_fd()),
            _ => false,
        }
    }
}

fn fdstat(filetype: u8, flags: u16, base: u64, inheriting: u64) -> [u8; FDSTAT_SIZE] {
    let mut b = [0u8; FDSTAT_SIZE];
    b[0] = filetype;
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&base.to_le_bytes());
    b[16..24].copy_from_slice(&inheriting.to_le_bytes());
    b
}

fn file_rights(read: bool, write: bool) -> u64 {
    let mut r = RIGHTS_FILE_ALL;
    if !read {
        r &= !RIGHTS_FD_READ;
    }
    if !write {
        r &= !RIGHTS_FILE_WRITE;
    }
    r
}

fn fd_fdstat_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let fd = u32a(a, 0);
    let rec = match ctx.get(fd)? {
        Desc::Stdio(n) => {
            let n = *n;
            let ft = if stdio_is_tty(ctx, n) { FILETYPE_CHARACTER_DEVICE } else { FILETYPE_UNKNOWN };
            let r = if n == 0 { RIGHTS_FD_READ } else { RIGHTS_FD_WRITE };
            fdstat(ft, 0, r, r)
        }
        Desc::Dir(d) => fdstat(FILETYPE_DIRECTORY, 0, d.rights.0, d.rights.1),
        Desc::VDir(_) => fdstat(FILETYPE_DIRECTORY, 0, RIGHTS_DIR_BASE, RIGHTS_DIR_INHERITING),
        Desc::File(f) => {
            let ft = super::fs::filetype(f.file.metadata()?.file_type());
            let fl = rustix::fs::fcntl_getfl(&f.file)?;
            let mut flags = 0;
            if fl.contains(rustix::fs::OFlags::APPEND) {
                flags |= FDFLAGS_APPEND;
            }
            if fl.contains(rustix::fs::OFlags::NONBLOCK) {
                flags |= FDFLAGS_NONBLOCK;
            }
            if fl.contains(rustix::fs::OFlags::DSYNC) {
                flags |= FDFLAGS_DSYNC;
            }
            if fl.contains(rustix::fs::OFlags::SYNC) {
                flags |= FDFLAGS_SYNC | FDFLAGS_RSYNC;
            }
            fdstat(ft, flags, f.rights.0, f.rights.1)
        }
        Desc::VFile(_) => {
            let r = file_rights(true, false);
            fdstat(FILETYPE_REGULAR_FILE, 0, r, r)
        }
    };
    mem.write_record(u32a(a, 1), 8, &rec)?;
    OK
}

fn fd_fdstat_set_flags(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let flags = u32a(a, 1);
    if flags & !u32::from(FDFLAGS_ALL) != 0 {
        return Err(errno(Errno::INVAL));
    }
    let flags = flags as u16;
    match c.ctx.get(u32a(a, 0))? {
        Desc::File(f) => {
            // As wasmtime: only APPEND and NONBLOCK can change.
            if flags & (FDFLAGS_DSYNC | FDFLAGS_SYNC | FDFLAGS_RSYNC) != 0 {
                return Err(errno(Errno::INVAL));
            }
            let mut fl = rustix::fs::fcntl_getfl(&f.file)?;
            fl.set(rustix::fs::OFlags::APPEND, flags & FDFLAGS_APPEND != 0);
            fl.set(rustix::fs::OFlags::NONBLOCK, flags & FDFLAGS_NONBLOCK != 0);
            rustix::fs::fcntl_setfl(&f.file, fl)?;
            OK
        }
        Desc::VFile(_) if flags & FDFLAGS_APPEND == 0 => OK,
        _ => Err(errno(Errno::BADF)),
    }
}

fn fd_fdstat_set_rights(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    // Rights only narrow (`ENOTCAPABLE` for a grant); dropping FD_READ/FD_WRITE from a file makes
    // reads/writes `EBADF`. Other rights are reported, not enforced (as in wasmtime).
    let (base, inh) = (u64a(a, 1), u64a(a, 2));
    let narrow = |cur: &mut (u64, u64)| -> R<()> {
        if base & !cur.0 != 0 || inh & !cur.1 != 0 {
            return Err(errno(Errno::NOTCAPABLE));
        }
        *cur = (base, inh);
        Ok(())
    };
    match c.ctx.get(u32a(a, 0))? {
        Desc::File(f) => {
            narrow(&mut f.rights)?;
            f.read &= base & RIGHTS_FD_READ != 0;
            f.write &= base & RIGHTS_FD_WRITE != 0;
        }
        Desc::Dir(d) => narrow(&mut d.rights)?,
        _ => {}
    }
    OK
}

fn fd_filestat_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let st = match ctx.get(u32a(a, 0))? {
        Desc::Stdio(n) => {
            let n = *n;
            let ft = if stdio_is_tty(ctx, n) { FILETYPE_CHARACTER_DEVICE } else { FILETYPE_UNKNOWN };
            Filestat { dev: 0, ino: 0, filetype: ft, nlink: 0, size: 0, atim: 0, mtim: 0, ctim: 0 }
        }
        Desc::File(f) => host_filestat(&f.file.metadata()?),
        Desc::Dir(d) => host_filestat(&d.dir.dir_metadata()?),
        Desc::VDir(d) => vfs_filestat(&d.fs.stat(&d.path)?),
        Desc::VFile(f) => vfs_filestat(&f.fs.stat(&f.path)?),
    };
    mem.write_record(u32a(a, 1), 8, &st.encode())?;
    OK
}

fn fd_filestat_set_size(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    match c.ctx.get(u32a(a, 0))? {
        Desc::File(f) if f.write => {
            rustix::fs::ftruncate(&f.file, u64a(a, 1))?;
            OK
        }
        Desc::File(_) | Desc::VFile(_) => Err(errno(Errno::BADF)),
        Desc::Dir(_) | Desc::VDir(_) => Err(errno(Errno::BADF)),
        Desc::Stdio(_) => Err(errno(Errno::BADF)),
    }
}

/// The access and modification times `fstflags` asks for: `None` leaves a time as it is.
fn set_times(atim: u64, mtim: u64, fst: u32) -> R<(Option<SystemTimeSpec>, Option<SystemTimeSpec>)> {
    if fst & !u32::from(FSTFLAGS_ALL) != 0 {
        return Err(errno(Errno::INVAL));
    }
    let fst = fst as u16;
    let one = |t: u64, set: u16, now: u16| -> R<Option<SystemTimeSpec>> {
        match (fst & set != 0, fst & now != 0) {
            (true, true) => Err(errno(Errno::INVAL)),
            (false, true) => Ok(Some(SystemTimeSpec::SymbolicNow)),
            (true, false) => {
                let t = std::time::UNIX_EPOCH + Duration::from_nanos(t);
                Ok(Some(SystemTimeSpec::Absolute(cap_std::time::SystemTime::from_std(t))))
            }
            (false, false) => Ok(None),
        }
    };
    Ok((one(atim, FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW)?, one(mtim, FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW)?))
}

fn timespec(t: Option<SystemTimeSpec>) -> rustix::fs::Timespec {
    match t {
        None => rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_OMIT },
        Some(SystemTimeSpec::SymbolicNow) => rustix::fs::Timespec { tv_sec: 0, tv_nsec: rustix::fs::UTIME_NOW },
        Some(SystemTimeSpec::Absolute(t)) => {
            let d = t.into_std().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            rustix::fs::Timespec { tv_sec: d.as_secs().min(i64::MAX as u64) as i64, tv_nsec: d.subsec_nanos().into() }
        }
    }
}

fn fd_filestat_set_times(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (at, mt) = set_times(u64a(a, 1), u64a(a, 2), u32a(a, 3))?;
    let times = rustix::fs::Timestamps { last_access: timespec(at), last_modification: timespec(mt) };
    match c.ctx.get(u32a(a, 0))? {
        Desc::File(f) if f.perms == DirPerms::ReadWrite => rustix::fs::futimens(&f.file, &times)?,
        Desc::Dir(d) if d.perms == DirPerms::ReadWrite => rustix::fs::futimens(&*d.dir, &times)?,
        Desc::Stdio(_) => return Err(errno(Errno::BADF)),
        _ => return Err(errno(Errno::PERM)),
    }
    OK
}

fn fd_prestat_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let name = match ctx.get(u32a(a, 0))? {
        Desc::Dir(DirFd { preopen: Some(n), .. }) | Desc::VDir(VDirFd { preopen: Some(n), .. }) => n.clone(),
        _ => return Err(errno(Errno::BADF)),
    };
    let len = u32::try_from(name.len()).map_err(|_| errno(Errno::OVERFLOW))?;
    let mut rec = [0u8; PRESTAT_SIZE];
    rec[0] = PREOPENTYPE_DIR;
    rec[4..8].copy_from_slice(&len.to_le_bytes());
    mem.write_record(u32a(a, 1), 4, &rec)?;
    OK
}

fn fd_prestat_dir_name(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let name = match ctx.get(u32a(a, 0))? {
        Desc::Dir(DirFd { preopen: Some(n), .. }) | Desc::VDir(VDirFd { preopen: Some(n), .. }) => n.clone(),
        _ => return Err(errno(Errno::NOTDIR)),
    };
    if name.len() > u32a(a, 2) as usize {
        return Err(errno(Errno::NAMETOOLONG));
    }
    mem.write_bytes(u32a(a, 1), name.as_bytes())?;
    OK
}

// ---- reads and writes ----

/// Writes `bufs` to a descriptor with one `writev`.
fn writev(fd: BorrowedFd<'_>, bufs: &[&[u8]]) -> R<usize> {
    let slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
    Ok(rustix::io::writev(fd, &slices)?)
}

fn host_write(out: &dyn super::HostOutput, bufs: &[&[u8]]) -> R<usize> {
    let mut total = 0usize;
    for b in bufs {
        let mut rest: &[u8] = b;
        while !rest.is_empty() {
            let n = out.write(rest)?;
            if n == 0 || n > rest.len() {
                return Err(errno(Errno::IO));
            }
            rest = &rest[n..];
            total = total.saturating_add(n);
        }
    }
    Ok(total)
}

fn fd_write(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (fd, iovs, n, out) = (u32a(a, 0), u32a(a, 1), u32a(a, 2), u32a(a, 3));
    let vecs = mem.iovecs(iovs, n)?;
    let mut bufs: Vec<&[u8]> = Vec::with_capacity(vecs.len());
    for (p, l) in &vecs {
        bufs.push(mem.slice(*p, *l)?);
    }
    let written = match ctx.get(fd)? {
        Desc::Stdio(0) => return Err(errno(Errno::BADF)),
        Desc::Stdio(k) => {
            let k = *k;
            match ctx.output(k) {
                WasiOutput::Null => bufs.iter().map(|b| b.len()).sum(),
                WasiOutput::Inherit => {
                    // SAFETY: descriptors 1 and 2 stay open for the process's lifetime (writing to
                    // a closed one is EBADF); the borrow does not outlive the call.
                    writev(unsafe { BorrowedFd::borrow_raw(i32::from(k)) }, &bufs)?
                }
                WasiOutput::File(f) => writev(f.as_fd(), &bufs)?,
                WasiOutput::Host(h) => host_write(&**h, &bufs)?,
            }
        }
        Desc::File(f) if f.write => writev(f.file.as_fd(), &bufs)?,
        _ => return Err(errno(Errno::BADF)),
    };
    let written = u32::try_from(written).map_err(|_| errno(Errno::OVERFLOW))?;
    let mem = c.mem()?;
    mem.write_u32(out, written)?;
    OK
}

fn fd_pwrite(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (fd, iovs, n, offset, out) = (u32a(a, 0), u32a(a, 1), u32a(a, 2), u64a(a, 3), u32a(a, 4));
    let written = match ctx.get(fd)? {
        Desc::File(f) if f.write => match mem.first_iovec(iovs, n)? {
            Some((p, l)) => rustix::io::pwrite(&f.file, mem.slice(p, l)?, offset)?,
            None => 0,
        },
        Desc::Stdio(_) => return Err(errno(Errno::SPIPE)),
        _ => return Err(errno(Errno::BADF)),
    };
    let written = u32::try_from(written).map_err(|_| errno(Errno::OVERFLOW))?;
    mem.write_u32(out, written)?;
    OK
}

fn fd_read(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (fd, iovs, n, out) = (u32a(a, 0), u32a(a, 1), u32a(a, 2), u32a(a, 3));
    let Some((p, l)) = mem.first_iovec(iovs, n)? else {
        // Still check the descriptor.
        match ctx.get(fd)? {
            Desc::Dir(_) | Desc::VDir(_) => return Err(errno(Errno::BADF)),
            _ => {
                mem.write_u32(out, 0)?;
                return OK;
            }
        }
    };
    let read = match ctx.get(fd)? {
        Desc::Stdio(0) => {
            let buf = mem.slice_mut(p, l)?;
            match ctx.input() {
                WasiInput::Null => 0,
                WasiInput::Inherit => {
                    // SAFETY: descriptor 0 stays open for the process's lifetime (reading a
                    // closed one is EBADF); the borrow does not outlive the call.
                    rustix::io::read(unsafe { BorrowedFd::borrow_raw(0) }, buf)?
                }
                WasiInput::File(f) => (&**f).read(buf)?,
                WasiInput::Host(h) => h.read(buf)?,
            }
        }
        Desc::File(f) if f.read => rustix::io::read(&f.file, mem.slice_mut(p, l)?)?,
        Desc::VFile(f) => {
            let n = f.fs.read_at(f.handle, f.pos, mem.slice_mut(p, l)?)?;
            f.pos = f.pos.saturating_add(n as u64);
            n
        }
        _ => return Err(errno(Errno::BADF)),
    };
    let read = u32::try_from(read).map_err(|_| errno(Errno::OVERFLOW))?;
    mem.write_u32(out, read)?;
    OK
}

fn fd_pread(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (fd, iovs, n, offset, out) = (u32a(a, 0), u32a(a, 1), u32a(a, 2), u64a(a, 3), u32a(a, 4));
    let vec = mem.first_iovec(iovs, n)?;
    let read = match ctx.get(fd)? {
        Desc::File(f) if f.read => match vec {
            Some((p, l)) => rustix::io::pread(&f.file, mem.slice_mut(p, l)?, offset)?,
            None => 0,
        },
        Desc::VFile(f) => match vec {
            Some((p, l)) => f.fs.read_at(f.handle, offset, mem.slice_mut(p, l)?)?,
            None => 0,
        },
        Desc::Stdio(_) => return Err(errno(Errno::SPIPE)),
        _ => return Err(errno(Errno::BADF)),
    };
    let read = u32::try_from(read).map_err(|_| errno(Errno::OVERFLOW))?;
    mem.write_u32(out, read)?;
    OK
}

fn fd_seek(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (fd, offset, whence, out) = (u32a(a, 0), u64a(a, 1) as i64, u32a(a, 2), u32a(a, 3));
    let pos = match ctx.get(fd)? {
        Desc::File(f) => {
            let from = match whence {
                WHENCE_SET => rustix::fs::SeekFrom::Start(u64::try_from(offset).map_err(|_| errno(Errno::INVAL))?),
                WHENCE_CUR => rustix::fs::SeekFrom::Current(offset),
                WHENCE_END => rustix::fs::SeekFrom::End(offset),
                _ => return Err(errno(Errno::INVAL)),
            };
            rustix::fs::seek(&f.file, from)?
        }
        Desc::VFile(f) => {
            let base = match whence {
                WHENCE_SET => 0,
                WHENCE_CUR => f.pos,
                WHENCE_END => f.fs.stat(&f.path)?.size,
                _ => return Err(errno(Errno::INVAL)),
            };
            let p = base.checked_add_signed(offset).ok_or(errno(Errno::INVAL))?;
            f.pos = p;
            p
        }
        Desc::Stdio(_) => return Err(errno(Errno::SPIPE)),
        Desc::Dir(_) | Desc::VDir(_) => return Err(errno(Errno::BADF)),
    };
    mem.write_u64(out, pos)?;
    OK
}

fn fd_tell(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let pos = match ctx.get(u32a(a, 0))? {
        Desc::File(f) => rustix::fs::seek(&f.file, rustix::fs::SeekFrom::Current(0))?,
        Desc::VFile(f) => f.pos,
        Desc::Stdio(_) => return Err(errno(Errno::SPIPE)),
        _ => return Err(errno(Errno::BADF)),
    };
    mem.write_u64(u32a(a, 1), pos)?;
    OK
}

// ---- directories ----

fn dirent(next: u64, ino: u64, namlen: u32, ty: u8) -> [u8; DIRENT_SIZE] {
    let mut b = [0u8; DIRENT_SIZE];
    b[0..8].copy_from_slice(&next.to_le_bytes());
    b[8..16].copy_from_slice(&ino.to_le_bytes());
    b[16..20].copy_from_slice(&namlen.to_le_bytes());
    b[20] = ty;
    b
}

fn fd_readdir(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (fd, buf, buf_len, cookie, out) = (u32a(a, 0), u32a(a, 1), u32a(a, 2), u64a(a, 3), u32a(a, 4));
    // (name, ino, type), "." and ".." first, as wasmtime (both with the directory's inode).
    let mut entries: Vec<(Vec<u8>, u64, u8)> = Vec::new();
    match ctx.get(fd)? {
        Desc::Dir(d) => {
            let ino = cap_std::fs::MetadataExt::ino(&d.dir.dir_metadata()?);
            entries.push((b".".to_vec(), ino, FILETYPE_DIRECTORY));
            entries.push((b"..".to_vec(), ino, FILETYPE_DIRECTORY));
            for e in d.dir.entries()? {
                let e = e?;
                let name = e.file_name().into_encoded_bytes();
                let ty = super::fs::filetype(e.file_type()?);
                entries.push((name, rustix::fs::DirEntryExt::ino(&e), ty));
            }
        }
        Desc::VDir(d) => {
            let ino = d.fs.stat(&d.path)?.ino;
            entries.push((b".".to_vec(), ino, FILETYPE_DIRECTORY));
            entries.push((b"..".to_vec(), ino, FILETYPE_DIRECTORY));
            for e in d.fs.read_dir(&d.path)? {
                entries.push((e.name.into_bytes(), e.ino, super::fs::vfs_filetype(e.filetype)));
            }
        }
        Desc::File(_) | Desc::VFile(_) => return Err(errno(Errno::NOTDIR)),
        Desc::Stdio(_) => return Err(errno(Errno::BADF)),
    }
    let mut used: u32 = 0;
    let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
    for (i, (name, ino, ty)) in entries.iter().enumerate().skip(skip) {
        let namlen = u32::try_from(name.len()).map_err(|_| errno(Errno::OVERFLOW))?;
        let next = (i as u64).saturating_add(1);
        let rec = dirent(next, *ino, namlen, *ty);
        for part in [&rec[..], &name[..]] {
            let room = buf_len.saturating_sub(used);
            let n = room.min(u32::try_from(part.len()).unwrap_or(u32::MAX));
            let at = buf.checked_add(used).ok_or(errno(Errno::FAULT))?;
            mem.write_bytes(at, &part[..n as usize])?;
            used = used.saturating_add(n);
            if used == buf_len {
                mem.write_u32(out, used)?;
                return OK;
            }
        }
    }
    mem.write_u32(out, used)?;
    OK
}

// ---- paths ----

fn path_create_directory(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let dir = mutable_dir(ctx, u32a(a, 0))?;
    let path = mem.str(u32a(a, 1), u32a(a, 2))?;
    dir.create_dir(path)?;
    OK
}

fn path_filestat_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (flags, path) = (u32a(a, 1), mem.str(u32a(a, 2), u32a(a, 3))?);
    let st = match dir_ref(ctx, u32a(a, 0))? {
        DirRef::Host(dir, _) => {
            let m = if flags & LOOKUP_SYMLINK_FOLLOW != 0 { dir.metadata(path)? } else { dir.symlink_metadata(path)? };
            host_filestat(&m)
        }
        DirRef::Virt(fs, base) => {
            let p = vfs_resolve(&base, path)?;
            let s = fs.stat(&p.path)?;
            if p.must_be_dir && s.filetype != VfsFileType::Directory {
                return Err(errno(Errno::NOTDIR));
            }
            vfs_filestat(&s)
        }
    };
    mem.write_record(u32a(a, 4), 8, &st.encode())?;
    OK
}

fn path_filestat_set_times(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (at, mt) = set_times(u64a(a, 4), u64a(a, 5), u32a(a, 6))?;
    let dir = mutable_dir(ctx, u32a(a, 0))?;
    let path = mem.str(u32a(a, 2), u32a(a, 3))?;
    if u32a(a, 1) & LOOKUP_SYMLINK_FOLLOW != 0 {
        dir.set_times(path, at, mt)?;
    } else {
        dir.set_symlink_times(path, at, mt)?;
    }
    OK
}

fn path_link(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let old_dir = match dir_ref(ctx, u32a(a, 0))? {
        DirRef::Host(d, _) => d,
        DirRef::Virt(..) => return Err(errno(Errno::PERM)),
    };
    let new_dir = mutable_dir(ctx, u32a(a, 4))?;
    // As wasmtime: linking through a symbolic link is not supported.
    if u32a(a, 1) & LOOKUP_SYMLINK_FOLLOW != 0 {
        return Err(errno(Errno::INVAL));
    }
    let old = mem.str(u32a(a, 2), u32a(a, 3))?;
    let new = mem.str(u32a(a, 5), u32a(a, 6))?;
    old_dir.hard_link(old, &new_dir, new)?;
    OK
}

fn path_open(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let (dirfd, dirflags, oflags, base, fdflags, out) =
        (u32a(a, 0), u32a(a, 1), u32a(a, 4), u64a(a, 5), u32a(a, 7), u32a(a, 8));
    if oflags & !u32::from(OFLAGS_ALL) != 0 || fdflags & !u32::from(FDFLAGS_ALL) != 0 {
        return Err(errno(Errno::INVAL));
    }
    let (oflags, fdflags) = (oflags as u16, fdflags as u16);
    let dir = match ctx.get(dirfd)? {
        Desc::Dir(d) => DirRef::Host(d.dir.clone(), d.perms),
        Desc::VDir(d) => DirRef::Virt(d.fs.clone(), d.path.clone()),
        Desc::File(_) | Desc::VFile(_) => return Err(errno(Errno::NOTDIR)),
        Desc::Stdio(_) => return Err(errno(Errno::BADF)),
    };
    let path = mem.str(u32a(a, 2), u32a(a, 3))?;
    let read = base & RIGHTS_FD_READ != 0;
    let write = base & RIGHTS_FD_WRITE != 0;
    let creat = oflags & OFLAGS_CREAT != 0;
    let trunc = oflags & OFLAGS_TRUNC != 0;
    let excl = oflags & OFLAGS_EXCL != 0;
    let directory = oflags & OFLAGS_DIRECTORY != 0;
    let append = fdflags & FDFLAGS_APPEND != 0;
    if directory && (creat || excl || trunc) {
        return Err(errno(Errno::INVAL));
    }
    let wants_write = creat || trunc || write || append;
    let desc = match dir {
        DirRef::Host(dir, perms) => {
            if perms == DirPerms::ReadOnly && wants_write {
                return Err(errno(Errno::PERM));
            }
            let mut opts = cap_std::fs::OpenOptions::new();
            opts.maybe_dir(true);
            if creat {
                if excl {
                    opts.create_new(true);
                } else {
                    opts.create(true);
                }
            }
            if trunc {
                opts.truncate(true);
            }
            opts.read(read || !(write || creat || trunc || append));
            opts.write(write || creat || trunc || append);
            opts.follow(if dirflags & LOOKUP_SYMLINK_FOLLOW != 0 { FollowSymlinks::Yes } else { FollowSymlinks::No });
            opts.sync(fdflags & (FDFLAGS_SYNC | FDFLAGS_RSYNC) != 0);
            opts.dsync(fdflags & FDFLAGS_DSYNC != 0);
            opts.nonblock(fdflags & FDFLAGS_NONBLOCK != 0);
            let file = dir.open_with(path, &opts)?;
            let is_dir = file.metadata()?.is_dir();
            if is_dir {
                Desc::Dir(DirFd {
                    dir: Arc::new(cap_std::fs::Dir::from_std_file(file.into_std())),
                    perms,
                    preopen: None,
                    rights: (RIGHTS_DIR_BASE, RIGHTS_DIR_INHERITING),
                })
            } else if directory {
                return Err(errno(Errno::NOTDIR));
            } else {
                if append {
                    // Set after opening: std's and cap-std's options refuse O_TRUNC with O_APPEND.
                    let fl = rustix::fs::fcntl_getfl(&file)?;
                    rustix::fs::fcntl_setfl(&file, fl | rustix::fs::OFlags::APPEND)?;
                }
                let write = write || append;
                let r = file_rights(read, write);
                Desc::File(FileFd { file, read, write, perms, rights: (r, r) })
            }
        }
        DirRef::Virt(fs, base) => {
            if wants_write {
                return Err(errno(Errno::PERM));
            }
            let p = vfs_resolve(&base, path)?;
            let s = fs.stat(&p.path)?;
            match s.filetype {
                VfsFileType::Directory => Desc::VDir(VDirFd { fs, path: p.path, preopen: None }),
                _ if directory || p.must_be_dir => return Err(errno(Errno::NOTDIR)),
                _ => {
                    let handle = fs.open(&p.path)?;
                    Desc::VFile(VFileFd { fs, path: p.path, handle, pos: 0 })
                }
            }
        }
    };
    let fd = ctx.push(desc)?;
    mem.write_u32(out, fd)?;
    OK
}

fn path_readlink(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let path = mem.str(u32a(a, 1), u32a(a, 2))?;
    let (buf, buf_len, out) = (u32a(a, 3), u32a(a, 4), u32a(a, 5));
    let target = match dir_ref(ctx, u32a(a, 0))? {
        DirRef::Host(dir, _) => dir.read_link_contents(path)?.into_os_string().into_encoded_bytes(),
        DirRef::Virt(fs, base) => {
            // No symbolic links in a virtual tree: an existing node is not one.
            fs.stat(&vfs_resolve(&base, path)?.path)?;
            return Err(errno(Errno::INVAL));
        }
    };
    let n = target.len().min(buf_len as usize);
    mem.write_bytes(buf, &target[..n])?;
    mem.write_u32(out, n as u32)?;
    OK
}

fn path_remove_directory(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let dir = mutable_dir(ctx, u32a(a, 0))?;
    dir.remove_dir(mem.str(u32a(a, 1), u32a(a, 2))?)?;
    OK
}

fn path_rename(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let from = mutable_dir(ctx, u32a(a, 0))?;
    let to = mutable_dir(ctx, u32a(a, 3))?;
    let old = mem.str(u32a(a, 1), u32a(a, 2))?;
    let new = mem.str(u32a(a, 4), u32a(a, 5))?;
    from.rename(old, &to, new)?;
    OK
}

fn path_symlink(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let dir = mutable_dir(ctx, u32a(a, 2))?;
    let old = mem.str(u32a(a, 0), u32a(a, 1))?;
    let new = mem.str(u32a(a, 3), u32a(a, 4))?;
    dir.symlink(old, new)?;
    OK
}

fn path_unlink_file(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let dir = mutable_dir(ctx, u32a(a, 0))?;
    dir.remove_file(mem.str(u32a(a, 1), u32a(a, 2))?)?;
    OK
}

// ---- poll ----

fn poll_oneoff(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (subs, events, nsubs, out) = (u32a(a, 0), u32a(a, 1), u32a(a, 2), u32a(a, 3));
    if nsubs == 0 {
        return Err(errno(Errno::INVAL));
    }
    struct Sub {
        userdata: u64,
        kind: u8,
        /// Clock: nanoseconds from now until it fires.
        wait: u64,
        /// Fd read: bytes available (`nbytes`).
        nbytes: u64,
    }
    let mut list = Vec::with_capacity(nsubs.min(1024) as usize);
    {
        let (ctx, mem) = c.both()?;
        for i in 0..nsubs {
            let at = u64::from(i)
                .checked_mul(SUBSCRIPTION_SIZE)
                .and_then(|o| u64::from(subs).checked_add(o))
                .and_then(|p| u32::try_from(p).ok())
                .ok_or(errno(Errno::FAULT))?;
            let field = |off: u32| at.checked_add(off).ok_or(errno(Errno::FAULT));
            let userdata = mem.read_u64(at)?;
            let tag = mem.read_u8(field(8)?)?;
            let sub = match tag {
                EVENTTYPE_CLOCK => {
                    let id = mem.read_u32(field(16)?)?;
                    let timeout = mem.read_u64(field(24)?)?;
                    let flags = mem.read_u16(field(40)?)?;
                    let abs = flags & SUBCLOCKFLAGS_ABSTIME != 0;
                    let wait = match (id, abs) {
                        (CLOCK_REALTIME | CLOCK_MONOTONIC, false) => timeout,
                        (CLOCK_REALTIME, true) => timeout.saturating_sub(ctx.wall_now()),
                        (CLOCK_MONOTONIC, true) => timeout.saturating_sub(ctx.mono_now()),
                        _ => return Err(errno(Errno::INVAL)),
                    };
                    Sub { userdata, kind: EVENTTYPE_CLOCK, wait, nbytes: 0 }
                }
                EVENTTYPE_FD_READ | EVENTTYPE_FD_WRITE => {
                    let fd = mem.read_u32(field(16)?)?;
                    let nbytes = match (ctx.get(fd)?, tag) {
                        (Desc::Stdio(0), EVENTTYPE_FD_READ) => 1,
                        (Desc::Stdio(1 | 2), EVENTTYPE_FD_WRITE) => 1,
                        (Desc::File(f), EVENTTYPE_FD_READ) => {
                            let size = f.file.metadata()?.len();
                            let pos = rustix::fs::seek(&f.file, rustix::fs::SeekFrom::Current(0))?;
                            size.saturating_sub(pos)
                        }
                        (Desc::VFile(f), EVENTTYPE_FD_READ) => f.fs.stat(&f.path)?.size.saturating_sub(f.pos),
                        (Desc::File(_), _) => 1,
                        _ => return Err(errno(Errno::BADF)),
                    };
                    Sub { userdata, kind: tag, wait: 0, nbytes }
                }
                _ => return Err(errno(Errno::INVAL)),
            };
            list.push(sub);
        }
    }
    // Descriptors are always ready (as in wasmtime for files and stdio); else sleep until the
    // first clock fires, waking at once if the store is interrupted.
    let any_fd = list.iter().any(|s| s.kind != EVENTTYPE_CLOCK);
    let first = list.iter().filter(|s| s.kind == EVENTTYPE_CLOCK).map(|s| s.wait).min();
    let mut fired_clock = 0u64;
    if !any_fd {
        let wait = first.unwrap_or(0);
        if wait > 0 {
            let deadline = Instant::now().checked_add(Duration::from_nanos(wait));
            let interrupted = match deadline {
                Some(d) => super::poll::sleep_until(c.interrupt, d),
                None => super::poll::sleep_until(c.interrupt, Instant::now() + Duration::from_secs(u32::MAX.into())),
            };
            if interrupted {
                return Err(Fail::Trap(Trap::new(TrapCode::Interrupt).into()));
            }
        }
        fired_clock = wait;
    }
    let mem = c.mem()?;
    let mut n: u32 = 0;
    for s in &list {
        let ready = if s.kind == EVENTTYPE_CLOCK { !any_fd && s.wait <= fired_clock } else { true };
        if !ready {
            continue;
        }
        let at = u64::from(n)
            .checked_mul(EVENT_SIZE)
            .and_then(|o| u64::from(events).checked_add(o))
            .and_then(|p| u32::try_from(p).ok())
            .ok_or(errno(Errno::FAULT))?;
        let mut rec = [0u8; EVENT_SIZE as usize];
        rec[0..8].copy_from_slice(&s.userdata.to_le_bytes());
        rec[10] = s.kind;
        if s.kind != EVENTTYPE_CLOCK {
            rec[16..24].copy_from_slice(&s.nbytes.to_le_bytes());
        }
        mem.write_record(at, 8, &rec)?;
        n = n.saturating_add(1);
    }
    mem.write_u32(out, n)?;
    OK
}

// ---- process, random, sockets ----

fn proc_exit(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let code = u32a(a, 0) as i32;
    c.ctx.exit = Some(code);
    Err(Fail::Trap(anyhow::Error::new(I32Exit(code))))
}

fn proc_raise(_c: &mut Call<'_>, _a: &[u64]) -> R<u64> {
    Err(errno(Errno::NOTSUP))
}

fn sched_yield(_c: &mut Call<'_>, _a: &[u64]) -> R<u64> {
    std::thread::yield_now();
    OK
}

fn random_get(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let (ctx, mem) = c.both()?;
    let buf = mem.slice_mut(u32a(a, 0), u32a(a, 1))?;
    match &ctx.cfg.random {
        Some(r) => r.fill(buf)?,
        None => {
            let mut rest = buf;
            while !rest.is_empty() {
                let n = match rustix::rand::getrandom(&mut *rest, rustix::rand::GetRandomFlags::empty()) {
                    Ok(n) => n,
                    Err(rustix::io::Errno::INTR) => 0,
                    Err(e) => return Err(e.into()),
                };
                rest = &mut rest[n..];
            }
        }
    }
    OK
}

/// No descriptor is a socket (Spry preopens none): `EBADF` for a closed one, else `ENOTSOCK`.
fn not_a_socket(c: &mut Call<'_>, fd: u32) -> R<u64> {
    c.ctx.get(fd)?;
    Err(errno(Errno::NOTSOCK))
}

fn sock_accept(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    not_a_socket(c, u32a(a, 0))
}
fn sock_recv(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    not_a_socket(c, u32a(a, 0))
}
fn sock_send(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    not_a_socket(c, u32a(a, 0))
}
fn sock_shutdown(c: &mut Call<'_>, a: &[u64]) -> R<u64> {
    let how = u32a(a, 1);
    if how & !(SDFLAGS_RD | SDFLAGS_WR) != 0 {
        c.ctx.get(u32a(a, 0))?;
        return Err(errno(Errno::INVAL));
    }
    not_a_socket(c, u32a(a, 0))
}

#[allow(unused_imports)]
use std::io::Write as _;
const _: fn(&mut dyn Write) = |_| {};
