//! The descriptor table: stdio and preopens first (made from the configuration on the first WASI
//! call of a store), then what the guest opens, at the lowest free number (POSIX's rule).

use super::abi::{Errno, RIGHTS_DIR_BASE, RIGHTS_DIR_INHERITING};
use super::{DirPerms, PreopenKind, VirtualFs, WasiCtx};
use std::sync::Arc;

/// The most descriptors a store may have open at once.
pub(crate) const MAX_FDS: usize = 1 << 16;

/// A directory on a host preopen (the preopen itself or one opened through it).
pub(crate) struct DirFd {
    pub dir: Arc<cap_std::fs::Dir>,
    pub perms: DirPerms,
    /// The guest name of a preopen (`fd_prestat_get` answers only for these).
    pub preopen: Option<Arc<str>>,
    /// The rights `fd_fdstat_get` reports: `(base, inheriting)`, narrowed by `fd_fdstat_set_rights`.
    pub rights: (u64, u64),
}

/// A regular file (or other non-directory) opened through a host preopen.
pub(crate) struct FileFd {
    pub file: cap_std::fs::File,
    pub read: bool,
    pub write: bool,
    /// The permissions of the preopen it was opened through.
    pub perms: DirPerms,
    /// As [`DirFd::rights`]; `read`/`write` follow them when they narrow.
    pub rights: (u64, u64),
}

/// A directory of a virtual tree.
pub(crate) struct VDirFd {
    pub fs: Arc<dyn VirtualFs>,
    /// `fs.ValidPath` form ("." for the root).
    pub path: String,
    pub preopen: Option<Arc<str>>,
}

/// A file of a virtual tree.
pub(crate) struct VFileFd {
    pub fs: Arc<dyn VirtualFs>,
    pub path: String,
    pub handle: u64,
    pub pos: u64,
}

impl Drop for VFileFd {
    fn drop(&mut self) {
        self.fs.close(self.handle);
    }
}

pub(crate) enum Desc {
    /// Stdin (0), stdout (1) or stderr (2): the stream is the store's override or the config's.
    Stdio(u8),
    Dir(DirFd),
    File(FileFd),
    VDir(VDirFd),
    VFile(VFileFd),
}

#[derive(Default)]
pub(crate) struct Table {
    slots: Vec<Option<Desc>>,
    init: bool,
}

impl Table {
    fn init(&mut self, ctx_cfg: &super::ConfigInner) {
        if self.init {
            return;
        }
        self.init = true;
        self.slots.reserve_exact(3 + ctx_cfg.preopens.len());
        for i in 0..3 {
            self.slots.push(Some(Desc::Stdio(i)));
        }
        for p in &ctx_cfg.preopens {
            let d = match &p.kind {
                PreopenKind::Dir(dir, perms) => Desc::Dir(DirFd {
                    dir: dir.clone(),
                    perms: *perms,
                    preopen: Some(p.name.clone()),
                    rights: (RIGHTS_DIR_BASE, RIGHTS_DIR_INHERITING),
                }),
                PreopenKind::Virtual(fs) => {
                    Desc::VDir(VDirFd { fs: fs.clone(), path: ".".to_string(), preopen: Some(p.name.clone()) })
                }
            };
            self.slots.push(Some(d));
        }
    }
}

impl WasiCtx {
    fn ensure_table(&mut self) {
        if !self.table.init {
            let cfg = self.cfg.clone();
            self.table.init(&cfg);
        }
    }

    /// The descriptor `fd`, or `EBADF`.
    pub(crate) fn get(&mut self, fd: u32) -> Result<&mut Desc, Errno> {
        self.ensure_table();
        self.table.slots.get_mut(fd as usize).and_then(|d| d.as_mut()).ok_or(Errno::BADF)
    }

    /// Puts `d` at the lowest free number.
    pub(crate) fn push(&mut self, d: Desc) -> Result<u32, Errno> {
        self.ensure_table();
        let slots = &mut self.table.slots;
        let i = match slots.iter().position(|s| s.is_none()) {
            Some(i) => i,
            None if slots.len() < MAX_FDS => {
                slots.push(None);
                slots.len() - 1
            }
            None => return Err(Errno::NFILE),
        };
        slots[i] = Some(d);
        Ok(i as u32)
    }

    /// Removes `fd` (`EBADF` if it is not open).
    pub(crate) fn remove(&mut self, fd: u32) -> Result<Desc, Errno> {
        self.ensure_table();
        let d = self.table.slots.get_mut(fd as usize).and_then(|d| d.take()).ok_or(Errno::BADF)?;
        while matches!(self.table.slots.last(), Some(None)) {
            self.table.slots.pop();
        }
        Ok(d)
    }

    /// Moves `from` onto `to`, closing what `to` held; both must be open (`EBADF`).
    pub(crate) fn renumber(&mut self, from: u32, to: u32) -> Result<(), Errno> {
        self.get(from)?;
        self.get(to)?;
        if from == to {
            return Ok(());
        }
        let d = self.remove(from)?;
        let slots = &mut self.table.slots;
        if slots.len() <= to as usize {
            slots.resize_with(to as usize + 1, || None);
        }
        slots[to as usize] = Some(d);
        Ok(())
    }
}
