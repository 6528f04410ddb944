//! Sandbox tests of WASI path resolution, driven through `path_open` of a real instance: random
//! paths (`..`, `.`, symlinks inside and outside, absolute links, trailing slashes) from a fixed
//! seed must never open anything outside the preopen; and a directory swapped for a symlink to
//! outside between two calls must not let the second call out.

use spry::wasi::{self, DirPerms, WasiConfig, WasiCtx};
use spry::{Engine, Instance, Linker, Module, Store, Val};
use std::collections::HashSet;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};

const WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get" (func $stat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; path_open(dir, lookupflags, path at 1024, len, oflags, FD_READ): the new fd, or -errno.
  (func (export "open") (param $dir i32) (param $len i32) (param $follow i32) (param $oflags i32) (result i32)
    (local $e i32)
    (local.set $e (call $path_open (local.get $dir) (local.get $follow) (i32.const 1024) (local.get $len)
      (local.get $oflags) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
    (if (result i32) (local.get $e)
      (then (i32.sub (i32.const 0) (local.get $e)))
      (else (i32.load (i32.const 0)))))
  ;; (dev, ino) of an fd, through fd_filestat_get.
  (func (export "dev") (param $fd i32) (result i64)
    (drop (call $stat (local.get $fd) (i32.const 64))) (i64.load (i32.const 64)))
  (func (export "ino") (param $fd i32) (result i64)
    (drop (call $stat (local.get $fd) (i32.const 64))) (i64.load (i32.const 72)))
  (func (export "close") (param $fd i32) (result i32) (call $close (local.get $fd))))
"#;

struct Guest {
    store: Store,
    inst: Instance,
}

impl Guest {
    fn new(root: &Path) -> Guest {
        let engine = Engine::default();
        let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker).unwrap();
        let cfg = WasiConfig::new().preopen_dir(root, "/", DirPerms::ReadWrite).unwrap();
        let mut store = Store::new(&engine);
        store.set_wasi(WasiCtx::new(&cfg));
        let inst = linker.instantiate(&mut store, &module).unwrap();
        Guest { store, inst }
    }

    fn call(&mut self, name: &str, args: &[Val]) -> Val {
        let f = self.inst.get_func(&mut self.store, name).unwrap();
        let mut out = [Val::I64(0)];
        if name != "dev" && name != "ino" {
            out[0] = Val::I32(0);
        }
        f.call(&mut self.store, args, &mut out).unwrap();
        out[0]
    }

    /// Opens `path` relative to `dir`: `Ok(fd)` or `Err(errno)`.
    fn open(&mut self, dir: i32, path: &str, follow: bool, oflags: i32) -> Result<i32, i32> {
        let mem = self.inst.get_memory(&mut self.store, "memory").unwrap();
        mem.write(&mut self.store, 1024, path.as_bytes()).unwrap();
        let args = [Val::I32(dir), Val::I32(path.len() as i32), Val::I32(follow as i32), Val::I32(oflags)];
        match self.call("open", &args) {
            Val::I32(r) if r < 0 => Err(-r),
            Val::I32(fd) => Ok(fd),
            v => panic!("{v:?}"),
        }
    }

    fn id(&mut self, fd: i32) -> (u64, u64) {
        let Val::I64(dev) = self.call("dev", &[Val::I32(fd)]) else { panic!() };
        let Val::I64(ino) = self.call("ino", &[Val::I32(fd)]) else { panic!() };
        (dev as u64, ino as u64)
    }

    fn close(&mut self, fd: i32) {
        assert_eq!(self.call("close", &[Val::I32(fd)]), Val::I32(0));
    }
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spry-wasi-sandbox-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// (dev, ino) of every file and directory under `dir` (links not followed), `dir` included.
fn ids_under(dir: &Path, out: &mut HashSet<(u64, u64)>) {
    let m = std::fs::symlink_metadata(dir).unwrap();
    out.insert((m.dev(), m.ino()));
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            ids_under(&p, out);
        } else {
            out.insert((m.dev(), m.ino()));
        }
    }
}

#[test]
fn random_paths_never_leave_the_preopen() {
    let base = tmp("prop");
    let (root, outside) = (base.join("root"), base.join("outside"));
    std::fs::create_dir_all(root.join("d/e")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("a"), "a").unwrap();
    std::fs::write(root.join("d/b"), "b").unwrap();
    std::fs::write(root.join("d/e/c"), "c").unwrap();
    std::fs::write(outside.join("secret"), "s").unwrap();
    symlink("d/b", root.join("in_rel")).unwrap();
    symlink("d", root.join("in_dir")).unwrap();
    symlink(outside.join("secret"), root.join("out_abs")).unwrap();
    symlink(&outside, root.join("out_absdir")).unwrap();
    symlink("../outside/secret", root.join("out_rel")).unwrap();
    symlink("../..", root.join("d/up")).unwrap();
    symlink("../../outside", root.join("d/e/up2")).unwrap();
    symlink("loop", root.join("loop")).unwrap();
    symlink("/", root.join("slash")).unwrap();
    symlink("/proc/self/cwd", root.join("proc")).unwrap();
    let mut inside = HashSet::new();
    ids_under(&root, &mut inside);

    let mut g = Guest::new(&root);
    let parts = [
        "a",
        "d",
        "b",
        "e",
        "c",
        "..",
        ".",
        "in_rel",
        "in_dir",
        "out_abs",
        "out_absdir",
        "out_rel",
        "up",
        "up2",
        "loop",
        "slash",
        "proc",
        "",
        "nonexistent",
        "secret",
        "outside",
    ];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut opened, mut refused) = (0, 0);
    for _ in 0..3000 {
        let n = 1 + (next() % 6) as usize;
        let mut path: Vec<&str> = (0..n).map(|_| parts[(next() % parts.len() as u64) as usize]).collect();
        if next() % 8 == 0 {
            path.insert(0, "");
        }
        let mut path = path.join("/");
        if next() % 4 == 0 {
            path.push('/');
        }
        let follow = next() % 2 == 0;
        let oflags = if next() % 5 == 0 { 2 } else { 0 }; // sometimes O_DIRECTORY
        match g.open(3, &path, follow, oflags) {
            Ok(fd) => {
                let id = g.id(fd);
                assert!(inside.contains(&id), "{path:?} (follow {follow}) opened {id:?}, which is outside the preopen");
                // Opening ".." from whatever was opened must stay inside too.
                if let Ok(fd2) = g.open(fd, "..", true, 0) {
                    let id2 = g.id(fd2);
                    assert!(inside.contains(&id2), "{path:?}/.. opened {id2:?}, outside the preopen");
                    g.close(fd2);
                }
                g.close(fd);
                opened += 1;
            }
            Err(_) => refused += 1,
        }
    }
    // The generator reaches both outcomes (the test would prove nothing otherwise).
    assert!(opened > 50 && refused > 100, "opened {opened}, refused {refused}");
    // The obvious escapes are refused.
    for p in
        ["..", "../outside/secret", "/etc/passwd", "out_abs", "out_rel", "d/up/outside/secret", "slash/etc", "proc"]
    {
        assert!(g.open(3, p, true, 0).is_err(), "{p} opened");
    }
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn directory_swapped_for_a_symlink_between_calls() {
    let base = tmp("swap");
    let (root, outside) = (base.join("root"), base.join("outside"));
    std::fs::create_dir_all(root.join("sw")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(root.join("sw/f"), "inside").unwrap();
    std::fs::write(outside.join("f"), "outside").unwrap();
    let mut inside = HashSet::new();
    ids_under(&root, &mut inside);

    let mut g = Guest::new(&root);
    let fd = g.open(3, "sw/f", false, 0).expect("open before the swap");
    assert!(inside.contains(&g.id(fd)));
    g.close(fd);
    let dirfd = g.open(3, "sw", false, 2).expect("open the directory");

    // Swap: the directory moves away, a symlink to outside takes its name (absolute and relative).
    std::fs::rename(root.join("sw"), root.join("moved")).unwrap();
    symlink(&outside, root.join("sw")).unwrap();
    for follow in [true, false] {
        if let Ok(fd) = g.open(3, "sw/f", follow, 0) {
            panic!("after the swap, sw/f opened {:?} (follow {follow})", g.id(fd));
        }
    }
    std::fs::remove_file(root.join("sw")).unwrap();
    symlink("../outside", root.join("sw")).unwrap();
    assert!(g.open(3, "sw/f", true, 0).is_err());
    // The descriptor opened before the swap still names the moved directory, and cannot climb out.
    let fd = g.open(dirfd, "f", false, 0).expect("the old directory descriptor still works");
    assert!(inside.contains(&g.id(fd)));
    assert!(g.open(dirfd, "../../outside/f", true, 0).is_err());
    assert!(g.open(dirfd, "..", true, 0).is_err(), "a non-preopen directory cannot climb out either");
    std::fs::remove_dir_all(&base).unwrap();
}
