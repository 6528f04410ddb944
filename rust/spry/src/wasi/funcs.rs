//! The functions of `wasi_snapshot_preview1`.

use super::abi::Errno;
use super::{Call, Fail, R};

/// `(name, parameter widths (32/64), returns an errno, implementation)`.
pub(crate) type Def = (&'static str, &'static [u8], bool, super::Impl);

fn nosys(_c: &mut Call<'_>, _a: &[u64]) -> R<u64> {
    Err(Fail::Errno(Errno::NOSYS))
}

pub(crate) const FUNCS: &[Def] = &[
    ("args_get", &[32, 32], true, nosys),
    ("args_sizes_get", &[32, 32], true, nosys),
    ("environ_get", &[32, 32], true, nosys),
    ("environ_sizes_get", &[32, 32], true, nosys),
    ("clock_res_get", &[32, 32], true, nosys),
    ("clock_time_get", &[32, 64, 32], true, nosys),
    ("fd_advise", &[32, 64, 64, 32], true, nosys),
    ("fd_allocate", &[32, 64, 64], true, nosys),
    ("fd_close", &[32], true, nosys),
    ("fd_datasync", &[32], true, nosys),
    ("fd_fdstat_get", &[32, 32], true, nosys),
    ("fd_fdstat_set_flags", &[32, 32], true, nosys),
    ("fd_fdstat_set_rights", &[32, 64, 64], true, nosys),
    ("fd_filestat_get", &[32, 32], true, nosys),
    ("fd_filestat_set_size", &[32, 64], true, nosys),
    ("fd_filestat_set_times", &[32, 64, 64, 32], true, nosys),
    ("fd_pread", &[32, 32, 32, 64, 32], true, nosys),
    ("fd_prestat_get", &[32, 32], true, nosys),
    ("fd_prestat_dir_name", &[32, 32, 32], true, nosys),
    ("fd_pwrite", &[32, 32, 32, 64, 32], true, nosys),
    ("fd_read", &[32, 32, 32, 32], true, nosys),
    ("fd_readdir", &[32, 32, 32, 64, 32], true, nosys),
    ("fd_renumber", &[32, 32], true, nosys),
    ("fd_seek", &[32, 64, 32, 32], true, nosys),
    ("fd_sync", &[32], true, nosys),
    ("fd_tell", &[32, 32], true, nosys),
    ("fd_write", &[32, 32, 32, 32], true, nosys),
    ("path_create_directory", &[32, 32, 32], true, nosys),
    ("path_filestat_get", &[32, 32, 32, 32, 32], true, nosys),
    ("path_filestat_set_times", &[32, 32, 32, 32, 64, 64, 32], true, nosys),
    ("path_link", &[32, 32, 32, 32, 32, 32, 32], true, nosys),
    ("path_open", &[32, 32, 32, 32, 32, 64, 64, 32, 32], true, nosys),
    ("path_readlink", &[32, 32, 32, 32, 32, 32], true, nosys),
    ("path_remove_directory", &[32, 32, 32], true, nosys),
    ("path_rename", &[32, 32, 32, 32, 32, 32], true, nosys),
    ("path_symlink", &[32, 32, 32, 32, 32], true, nosys),
    ("path_unlink_file", &[32, 32, 32], true, nosys),
    ("poll_oneoff", &[32, 32, 32, 32], true, nosys),
    ("proc_exit", &[32], false, nosys),
    ("proc_raise", &[32], true, nosys),
    ("sched_yield", &[], true, nosys),
    ("random_get", &[32, 32], true, nosys),
    ("sock_accept", &[32, 32, 32], true, nosys),
    ("sock_recv", &[32, 32, 32, 32, 32, 32], true, nosys),
    ("sock_send", &[32, 32, 32, 32, 32], true, nosys),
    ("sock_shutdown", &[32, 32], true, nosys),
];
