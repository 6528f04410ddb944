//! Files and directories: host preopens through cap-std (every path resolved beneath its
//! directory by `openat2(RESOLVE_BENEATH)` or cap-std's checked walk; nothing here inspects path
//! strings for containment), and virtual read-only trees, whose `..` this module resolves
//! lexically (they have no symbolic links) without ever leaving the tree's root.

use super::abi::*;
use super::VfsFileType;
use cap_std::fs::{FileTypeExt, Metadata, MetadataExt};

/// A `filestat` record.
pub(crate) struct Filestat {
    pub dev: u64,
    pub ino: u64,
    pub filetype: u8,
    pub nlink: u64,
    pub size: u64,
    pub atim: u64,
    pub mtim: u64,
    pub ctim: u64,
}

impl Filestat {
    pub(crate) fn encode(&self) -> [u8; FILESTAT_SIZE] {
        let mut b = [0u8; FILESTAT_SIZE];
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16] = self.filetype;
        b[24..32].copy_from_slice(&self.nlink.to_le_bytes());
        b[32..40].copy_from_slice(&self.size.to_le_bytes());
        b[40..48].copy_from_slice(&self.atim.to_le_bytes());
        b[48..56].copy_from_slice(&self.mtim.to_le_bytes());
        b[56..64].copy_from_slice(&self.ctim.to_le_bytes());
        b
    }
}

fn nanos(sec: i64, nsec: i64) -> u64 {
    let t = i128::from(sec) * 1_000_000_000 + i128::from(nsec);
    t.clamp(0, i128::from(u64::MAX)) as u64
}

/// The WASI file type of a host file type.
pub(crate) fn filetype(ft: cap_std::fs::FileType) -> u8 {
    if ft.is_dir() {
        FILETYPE_DIRECTORY
    } else if ft.is_symlink() {
        FILETYPE_SYMBOLIC_LINK
    } else if ft.is_file() {
        FILETYPE_REGULAR_FILE
    } else if ft.is_block_device() {
        FILETYPE_BLOCK_DEVICE
    } else if ft.is_char_device() {
        FILETYPE_CHARACTER_DEVICE
    } else if ft.is_socket() {
        FILETYPE_SOCKET_STREAM
    } else {
        FILETYPE_UNKNOWN
    }
}

/// The `filestat` of host metadata.
pub(crate) fn host_filestat(m: &Metadata) -> Filestat {
    Filestat {
        dev: m.dev(),
        ino: m.ino(),
        filetype: filetype(m.file_type()),
        nlink: m.nlink(),
        size: m.len(),
        atim: nanos(m.atime(), m.atime_nsec()),
        mtim: nanos(m.mtime(), m.mtime_nsec()),
        ctim: nanos(m.ctime(), m.ctime_nsec()),
    }
}

pub(crate) fn vfs_filetype(t: VfsFileType) -> u8 {
    match t {
        VfsFileType::RegularFile => FILETYPE_REGULAR_FILE,
        VfsFileType::Directory => FILETYPE_DIRECTORY,
        VfsFileType::Other => FILETYPE_UNKNOWN,
    }
}

/// The `filestat` of a virtual node.
pub(crate) fn vfs_filestat(s: &super::VfsStat) -> Filestat {
    Filestat {
        dev: 0,
        ino: s.ino,
        filetype: vfs_filetype(s.filetype),
        nlink: 1,
        size: s.size,
        atim: s.mtim,
        mtim: s.mtim,
        ctim: s.mtim,
    }
}

/// A guest path resolved in a virtual tree: the node's path in `fs.ValidPath` form, and whether
/// the guest path ended with a slash (the node must then be a directory).
pub(crate) struct VPath {
    pub path: String,
    pub must_be_dir: bool,
}

/// Resolves `guest` relative to the virtual directory `base` (`fs.ValidPath` form). `..` above
/// the tree's root and absolute paths are `EPERM` (what cap-std gives for a host preopen); an
/// empty path is `ENOENT`.
pub(crate) fn vfs_resolve(base: &str, guest: &str) -> Result<VPath, Errno> {
    if guest.is_empty() {
        return Err(Errno::NOENT);
    }
    if guest.starts_with('/') {
        return Err(Errno::PERM);
    }
    let mut parts: Vec<&str> = if base == "." { Vec::new() } else { base.split('/').collect() };
    for c in guest.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(Errno::PERM);
                }
            }
            c => parts.push(c),
        }
    }
    let must_be_dir = guest.ends_with('/') || guest.ends_with("/.") || guest == "." || guest.ends_with("..");
    let path = if parts.is_empty() { ".".to_string() } else { parts.join("/") };
    Ok(VPath { path, must_be_dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vfs_paths_stay_in_the_tree() {
        assert_eq!(vfs_resolve(".", "a/b/../c").unwrap().path, "a/c");
        assert_eq!(vfs_resolve("a", "..").unwrap().path, ".");
        assert_eq!(vfs_resolve("a", "../..").err(), Some(Errno::PERM));
        assert_eq!(vfs_resolve(".", "/etc/passwd").err(), Some(Errno::PERM));
        assert_eq!(vfs_resolve(".", "").err(), Some(Errno::NOENT));
        assert!(vfs_resolve(".", "a/").unwrap().must_be_dir);
        assert!(!vfs_resolve(".", "a").unwrap().must_be_dir);
        assert_eq!(vfs_resolve("x/y", "./z//w").unwrap().path, "x/y/z/w");
    }
}
