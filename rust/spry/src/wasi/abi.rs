//! The `wasi_snapshot_preview1` ABI: errno values, file types, flags, rights and the layouts of the
//! records the guest reads and writes (all from `wasi_snapshot_preview1.witx`).
#![allow(dead_code)] // the whole ABI is listed; not every constant is used

use std::fmt;
use std::io;

/// A WASI errno (`errno` in the witx): the value every preview 1 function returns, 0 on success.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub u16);

macro_rules! errnos {
    ($($name:ident = $v:expr, $msg:expr;)*) => {
        impl Errno {
            $(#[doc = $msg] pub const $name: Errno = Errno($v);)*

            /// The errno's witx name (`"badf"`), or `"unknown"`.
            pub fn name(self) -> &'static str {
                match self.0 {
                    $($v => stringify!($name),)*
                    _ => "unknown",
                }
            }
        }
    };
}

errnos! {
    SUCCESS = 0, "No error occurred.";
    TOOBIG = 1, "Argument list too long.";
    ACCES = 2, "Permission denied.";
    ADDRINUSE = 3, "Address in use.";
    ADDRNOTAVAIL = 4, "Address not available.";
    AFNOSUPPORT = 5, "Address family not supported.";
    AGAIN = 6, "Resource unavailable, or operation would block.";
    ALREADY = 7, "Connection already in progress.";
    BADF = 8, "Bad file descriptor.";
    BADMSG = 9, "Bad message.";
    BUSY = 10, "Device or resource busy.";
    CANCELED = 11, "Operation canceled.";
    CHILD = 12, "No child processes.";
    CONNABORTED = 13, "Connection aborted.";
    CONNREFUSED = 14, "Connection refused.";
    CONNRESET = 15, "Connection reset.";
    DEADLK = 16, "Resource deadlock would occur.";
    DESTADDRREQ = 17, "Destination address required.";
    DOM = 18, "Mathematics argument out of domain of function.";
    DQUOT = 19, "Reserved.";
    EXIST = 20, "File exists.";
    FAULT = 21, "Bad address.";
    FBIG = 22, "File too large.";
    HOSTUNREACH = 23, "Host is unreachable.";
    IDRM = 24, "Identifier removed.";
    ILSEQ = 25, "Illegal byte sequence.";
    INPROGRESS = 26, "Operation in progress.";
    INTR = 27, "Interrupted function.";
    INVAL = 28, "Invalid argument.";
    IO = 29, "I/O error.";
    ISCONN = 30, "Socket is connected.";
    ISDIR = 31, "Is a directory.";
    LOOP = 32, "Too many levels of symbolic links.";
    MFILE = 33, "File descriptor value too large.";
    MLINK = 34, "Too many links.";
    MSGSIZE = 35, "Message too large.";
    MULTIHOP = 36, "Reserved.";
    NAMETOOLONG = 37, "Filename too long.";
    NETDOWN = 38, "Network is down.";
    NETRESET = 39, "Connection aborted by network.";
    NETUNREACH = 40, "Network unreachable.";
    NFILE = 41, "Too many files open in system.";
    NOBUFS = 42, "No buffer space available.";
    NODEV = 43, "No such device.";
    NOENT = 44, "No such file or directory.";
    NOEXEC = 45, "Executable file format error.";
    NOLCK = 46, "No locks available.";
    NOLINK = 47, "Reserved.";
    NOMEM = 48, "Not enough space.";
    NOMSG = 49, "No message of the desired type.";
    NOPROTOOPT = 50, "Protocol not available.";
    NOSPC = 51, "No space left on device.";
    NOSYS = 52, "Function not supported.";
    NOTCONN = 53, "The socket is not connected.";
    NOTDIR = 54, "Not a directory or a symbolic link to a directory.";
    NOTEMPTY = 55, "Directory not empty.";
    NOTRECOVERABLE = 56, "State not recoverable.";
    NOTSOCK = 57, "Not a socket.";
    NOTSUP = 58, "Not supported, or operation not supported on socket.";
    NOTTY = 59, "Inappropriate I/O control operation.";
    NXIO = 60, "No such device or address.";
    OVERFLOW = 61, "Value too large to be stored in data type.";
    OWNERDEAD = 62, "Previous owner died.";
    PERM = 63, "Operation not permitted.";
    PIPE = 64, "Broken pipe.";
    PROTO = 65, "Protocol error.";
    PROTONOSUPPORT = 66, "Protocol not supported.";
    PROTOTYPE = 67, "Protocol wrong type for socket.";
    RANGE = 68, "Result too large.";
    ROFS = 69, "Read-only file system.";
    SPIPE = 70, "Invalid seek.";
    SRCH = 71, "No such process.";
    STALE = 72, "Reserved.";
    TIMEDOUT = 73, "Connection timed out.";
    TXTBSY = 74, "Text file busy.";
    XDEV = 75, "Cross-device link.";
    NOTCAPABLE = 76, "Extension: Capabilities insufficient.";
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Errno({} {})", self.0, self.name())
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "errno {} ({})", self.0, self.name())
    }
}

impl std::error::Error for Errno {}

impl Errno {
    /// The WASI errno for a host OS errno (Linux numbering through `libc`); `EIO` for one WASI
    /// has no equivalent of.
    pub fn from_raw_os_error(e: i32) -> Errno {
        match e {
            libc::E2BIG => Errno::TOOBIG,
            libc::EACCES => Errno::ACCES,
            libc::EADDRINUSE => Errno::ADDRINUSE,
            libc::EADDRNOTAVAIL => Errno::ADDRNOTAVAIL,
            libc::EAFNOSUPPORT => Errno::AFNOSUPPORT,
            libc::EAGAIN => Errno::AGAIN,
            libc::EALREADY => Errno::ALREADY,
            libc::EBADF => Errno::BADF,
            libc::EBADMSG => Errno::BADMSG,
            libc::EBUSY => Errno::BUSY,
            libc::ECANCELED => Errno::CANCELED,
            libc::ECHILD => Errno::CHILD,
            libc::ECONNABORTED => Errno::CONNABORTED,
            libc::ECONNREFUSED => Errno::CONNREFUSED,
            libc::ECONNRESET => Errno::CONNRESET,
            libc::EDEADLK => Errno::DEADLK,
            libc::EDESTADDRREQ => Errno::DESTADDRREQ,
            libc::EDOM => Errno::DOM,
            libc::EDQUOT => Errno::DQUOT,
            libc::EEXIST => Errno::EXIST,
            libc::EFAULT => Errno::FAULT,
            libc::EFBIG => Errno::FBIG,
            libc::EHOSTUNREACH => Errno::HOSTUNREACH,
            libc::EIDRM => Errno::IDRM,
            libc::EILSEQ => Errno::ILSEQ,
            libc::EINPROGRESS => Errno::INPROGRESS,
            libc::EINTR => Errno::INTR,
            libc::EINVAL => Errno::INVAL,
            libc::EIO => Errno::IO,
            libc::EISCONN => Errno::ISCONN,
            libc::EISDIR => Errno::ISDIR,
            libc::ELOOP => Errno::LOOP,
            libc::EMFILE => Errno::MFILE,
            libc::EMLINK => Errno::MLINK,
            libc::EMSGSIZE => Errno::MSGSIZE,
            libc::EMULTIHOP => Errno::MULTIHOP,
            libc::ENAMETOOLONG => Errno::NAMETOOLONG,
            libc::ENETDOWN => Errno::NETDOWN,
            libc::ENETRESET => Errno::NETRESET,
            libc::ENETUNREACH => Errno::NETUNREACH,
            libc::ENFILE => Errno::NFILE,
            libc::ENOBUFS => Errno::NOBUFS,
            libc::ENODEV => Errno::NODEV,
            libc::ENOENT => Errno::NOENT,
            libc::ENOEXEC => Errno::NOEXEC,
            libc::ENOLCK => Errno::NOLCK,
            libc::ENOLINK => Errno::NOLINK,
            libc::ENOMEM => Errno::NOMEM,
            libc::ENOMSG => Errno::NOMSG,
            libc::ENOPROTOOPT => Errno::NOPROTOOPT,
            libc::ENOSPC => Errno::NOSPC,
            libc::ENOSYS => Errno::NOSYS,
            libc::ENOTCONN => Errno::NOTCONN,
            libc::ENOTDIR => Errno::NOTDIR,
            libc::ENOTEMPTY => Errno::NOTEMPTY,
            libc::ENOTRECOVERABLE => Errno::NOTRECOVERABLE,
            libc::ENOTSOCK => Errno::NOTSOCK,
            libc::ENOTSUP => Errno::NOTSUP,
            libc::ENOTTY => Errno::NOTTY,
            libc::ENXIO => Errno::NXIO,
            libc::EOVERFLOW => Errno::OVERFLOW,
            libc::EOWNERDEAD => Errno::OWNERDEAD,
            libc::EPERM => Errno::PERM,
            libc::EPIPE => Errno::PIPE,
            libc::EPROTO => Errno::PROTO,
            libc::EPROTONOSUPPORT => Errno::PROTONOSUPPORT,
            libc::EPROTOTYPE => Errno::PROTOTYPE,
            libc::ERANGE => Errno::RANGE,
            libc::EROFS => Errno::ROFS,
            libc::ESPIPE => Errno::SPIPE,
            libc::ESRCH => Errno::SRCH,
            libc::ESTALE => Errno::STALE,
            libc::ETIMEDOUT => Errno::TIMEDOUT,
            libc::ETXTBSY => Errno::TXTBSY,
            libc::EXDEV => Errno::XDEV,
            _ => Errno::IO,
        }
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        if let Some(raw) = e.raw_os_error() {
            return Errno::from_raw_os_error(raw);
        }
        // Errors made by cap-std (a path that would leave the sandbox) and by host objects.
        match e.kind() {
            io::ErrorKind::NotFound => Errno::NOENT,
            io::ErrorKind::PermissionDenied => Errno::PERM,
            io::ErrorKind::AlreadyExists => Errno::EXIST,
            io::ErrorKind::InvalidInput => Errno::INVAL,
            io::ErrorKind::InvalidData => Errno::ILSEQ,
            io::ErrorKind::Interrupted => Errno::INTR,
            io::ErrorKind::WouldBlock => Errno::AGAIN,
            io::ErrorKind::Unsupported => Errno::NOTSUP,
            io::ErrorKind::BrokenPipe => Errno::PIPE,
            io::ErrorKind::OutOfMemory => Errno::NOMEM,
            io::ErrorKind::NotADirectory => Errno::NOTDIR,
            io::ErrorKind::IsADirectory => Errno::ISDIR,
            io::ErrorKind::DirectoryNotEmpty => Errno::NOTEMPTY,
            io::ErrorKind::ReadOnlyFilesystem => Errno::ROFS,
            io::ErrorKind::InvalidFilename => Errno::NAMETOOLONG,
            _ => Errno::IO,
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(e: rustix::io::Errno) -> Errno {
        Errno::from_raw_os_error(e.raw_os_error())
    }
}

// filetype
pub(crate) const FILETYPE_UNKNOWN: u8 = 0;
pub(crate) const FILETYPE_BLOCK_DEVICE: u8 = 1;
pub(crate) const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub(crate) const FILETYPE_DIRECTORY: u8 = 3;
pub(crate) const FILETYPE_REGULAR_FILE: u8 = 4;
pub(crate) const FILETYPE_SOCKET_DGRAM: u8 = 5;
pub(crate) const FILETYPE_SOCKET_STREAM: u8 = 6;
pub(crate) const FILETYPE_SYMBOLIC_LINK: u8 = 7;

// clockid
pub(crate) const CLOCK_REALTIME: u32 = 0;
pub(crate) const CLOCK_MONOTONIC: u32 = 1;
pub(crate) const CLOCK_PROCESS_CPUTIME_ID: u32 = 2;
pub(crate) const CLOCK_THREAD_CPUTIME_ID: u32 = 3;

// whence
pub(crate) const WHENCE_SET: u32 = 0;
pub(crate) const WHENCE_CUR: u32 = 1;
pub(crate) const WHENCE_END: u32 = 2;

// fdflags
pub(crate) const FDFLAGS_APPEND: u16 = 1 << 0;
pub(crate) const FDFLAGS_DSYNC: u16 = 1 << 1;
pub(crate) const FDFLAGS_NONBLOCK: u16 = 1 << 2;
pub(crate) const FDFLAGS_RSYNC: u16 = 1 << 3;
pub(crate) const FDFLAGS_SYNC: u16 = 1 << 4;
pub(crate) const FDFLAGS_ALL: u16 = 0x1f;

// oflags
pub(crate) const OFLAGS_CREAT: u16 = 1 << 0;
pub(crate) const OFLAGS_DIRECTORY: u16 = 1 << 1;
pub(crate) const OFLAGS_EXCL: u16 = 1 << 2;
pub(crate) const OFLAGS_TRUNC: u16 = 1 << 3;
pub(crate) const OFLAGS_ALL: u16 = 0xf;

// lookupflags
pub(crate) const LOOKUP_SYMLINK_FOLLOW: u32 = 1 << 0;

// fstflags
pub(crate) const FSTFLAGS_ATIM: u16 = 1 << 0;
pub(crate) const FSTFLAGS_ATIM_NOW: u16 = 1 << 1;
pub(crate) const FSTFLAGS_MTIM: u16 = 1 << 2;
pub(crate) const FSTFLAGS_MTIM_NOW: u16 = 1 << 3;
pub(crate) const FSTFLAGS_ALL: u16 = 0xf;

// advice
pub(crate) const ADVICE_DONTNEED: u32 = 4;
pub(crate) const ADVICE_NOREUSE: u32 = 5;

// eventtype
pub(crate) const EVENTTYPE_CLOCK: u8 = 0;
pub(crate) const EVENTTYPE_FD_READ: u8 = 1;
pub(crate) const EVENTTYPE_FD_WRITE: u8 = 2;

// subclockflags
pub(crate) const SUBCLOCKFLAGS_ABSTIME: u16 = 1 << 0;

// preopentype
pub(crate) const PREOPENTYPE_DIR: u8 = 0;

// sdflags
pub(crate) const SDFLAGS_RD: u32 = 1 << 0;
pub(crate) const SDFLAGS_WR: u32 = 1 << 1;

// rights
pub(crate) const RIGHTS_FD_DATASYNC: u64 = 1 << 0;
pub(crate) const RIGHTS_FD_READ: u64 = 1 << 1;
pub(crate) const RIGHTS_FD_SEEK: u64 = 1 << 2;
pub(crate) const RIGHTS_FD_FDSTAT_SET_FLAGS: u64 = 1 << 3;
pub(crate) const RIGHTS_FD_SYNC: u64 = 1 << 4;
pub(crate) const RIGHTS_FD_TELL: u64 = 1 << 5;
pub(crate) const RIGHTS_FD_WRITE: u64 = 1 << 6;
pub(crate) const RIGHTS_FD_ADVISE: u64 = 1 << 7;
pub(crate) const RIGHTS_FD_ALLOCATE: u64 = 1 << 8;
pub(crate) const RIGHTS_PATH_CREATE_DIRECTORY: u64 = 1 << 9;
pub(crate) const RIGHTS_PATH_CREATE_FILE: u64 = 1 << 10;
pub(crate) const RIGHTS_PATH_LINK_SOURCE: u64 = 1 << 11;
pub(crate) const RIGHTS_PATH_LINK_TARGET: u64 = 1 << 12;
pub(crate) const RIGHTS_PATH_OPEN: u64 = 1 << 13;
pub(crate) const RIGHTS_FD_READDIR: u64 = 1 << 14;
pub(crate) const RIGHTS_PATH_READLINK: u64 = 1 << 15;
pub(crate) const RIGHTS_PATH_RENAME_SOURCE: u64 = 1 << 16;
pub(crate) const RIGHTS_PATH_RENAME_TARGET: u64 = 1 << 17;
pub(crate) const RIGHTS_PATH_FILESTAT_GET: u64 = 1 << 18;
pub(crate) const RIGHTS_PATH_FILESTAT_SET_SIZE: u64 = 1 << 19;
pub(crate) const RIGHTS_PATH_FILESTAT_SET_TIMES: u64 = 1 << 20;
pub(crate) const RIGHTS_FD_FILESTAT_GET: u64 = 1 << 21;
pub(crate) const RIGHTS_FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
pub(crate) const RIGHTS_FD_FILESTAT_SET_TIMES: u64 = 1 << 23;
pub(crate) const RIGHTS_PATH_SYMLINK: u64 = 1 << 24;
pub(crate) const RIGHTS_PATH_REMOVE_DIRECTORY: u64 = 1 << 25;
pub(crate) const RIGHTS_PATH_UNLINK_FILE: u64 = 1 << 26;
pub(crate) const RIGHTS_POLL_FD_READWRITE: u64 = 1 << 27;
pub(crate) const RIGHTS_SOCK_SHUTDOWN: u64 = 1 << 28;
pub(crate) const RIGHTS_SOCK_ACCEPT: u64 = 1 << 29;

/// The rights a preopened directory reports (wasmtime's set, which userlands expect).
pub(crate) const RIGHTS_DIR_BASE: u64 = RIGHTS_PATH_CREATE_DIRECTORY
    | RIGHTS_PATH_CREATE_FILE
    | RIGHTS_PATH_LINK_SOURCE
    | RIGHTS_PATH_LINK_TARGET
    | RIGHTS_PATH_OPEN
    | RIGHTS_FD_READDIR
    | RIGHTS_PATH_READLINK
    | RIGHTS_PATH_RENAME_SOURCE
    | RIGHTS_PATH_RENAME_TARGET
    | RIGHTS_PATH_SYMLINK
    | RIGHTS_PATH_REMOVE_DIRECTORY
    | RIGHTS_PATH_UNLINK_FILE
    | RIGHTS_PATH_FILESTAT_GET
    | RIGHTS_PATH_FILESTAT_SET_TIMES
    | RIGHTS_FD_FILESTAT_GET
    | RIGHTS_FD_FILESTAT_SET_TIMES;

/// What a directory's descriptors may pass on to the files opened through it.
pub(crate) const RIGHTS_DIR_INHERITING: u64 = RIGHTS_DIR_BASE | RIGHTS_FILE_ALL;

/// The rights of a regular file opened for reading and writing.
pub(crate) const RIGHTS_FILE_ALL: u64 = RIGHTS_FD_DATASYNC
    | RIGHTS_FD_READ
    | RIGHTS_FD_SEEK
    | RIGHTS_FD_FDSTAT_SET_FLAGS
    | RIGHTS_FD_SYNC
    | RIGHTS_FD_TELL
    | RIGHTS_FD_WRITE
    | RIGHTS_FD_ADVISE
    | RIGHTS_FD_ALLOCATE
    | RIGHTS_FD_FILESTAT_GET
    | RIGHTS_FD_FILESTAT_SET_SIZE
    | RIGHTS_FD_FILESTAT_SET_TIMES
    | RIGHTS_POLL_FD_READWRITE;

/// Rights that need a descriptor opened for writing.
pub(crate) const RIGHTS_FILE_WRITE: u64 =
    RIGHTS_FD_DATASYNC | RIGHTS_FD_WRITE | RIGHTS_FD_ALLOCATE | RIGHTS_FD_FILESTAT_SET_SIZE;

// Record layouts (sizes; offsets are written out where the records are encoded).
/// `iovec`/`ciovec`: `buf: u32, buf_len: u32`.
pub(crate) const IOVEC_SIZE: u64 = 8;
/// `fdstat`: `fs_filetype: u8 @0, fs_flags: u16 @2, fs_rights_base: u64 @8, fs_rights_inheriting: u64 @16`.
pub(crate) const FDSTAT_SIZE: usize = 24;
/// `filestat`: `dev @0, ino @8, filetype: u8 @16, nlink @24, size @32, atim @40, mtim @48, ctim @56`.
pub(crate) const FILESTAT_SIZE: usize = 64;
/// `dirent`: `d_next @0, d_ino @8, d_namlen: u32 @16, d_type: u8 @20`.
pub(crate) const DIRENT_SIZE: usize = 24;
/// `subscription`: `userdata @0, u.tag: u8 @8, u.clock {id: u32 @16, timeout @24, precision @32,
/// flags: u16 @40}` or `u.fd_readwrite {fd: u32 @16}`.
pub(crate) const SUBSCRIPTION_SIZE: u64 = 48;
/// `event`: `userdata @0, error: u16 @8, type: u8 @10, fd_readwrite {nbytes @16, flags: u16 @24}`.
pub(crate) const EVENT_SIZE: u64 = 32;
/// `prestat`: `tag: u8 @0, u.dir.pr_name_len: u32 @4`.
pub(crate) const PRESTAT_SIZE: usize = 8;
