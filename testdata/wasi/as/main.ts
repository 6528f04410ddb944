// A WASI test program in AssemblyScript (with @assemblyscript/wasi-shim): args, environment,
// stdin, stdout and stderr, files and directories on the directory preopened as /data (through
// the raw wasi_snapshot_preview1 functions), a 20 ms sleep through poll_oneoff, and the exit code
// named by the environment variable EXIT_CODE. Its output is deterministic; listings are sorted.
import {
  errno, errnoToString, fd_close, filestat, prestat, fd_filestat_get, fd_prestat_dir_name, fd_prestat_get, fd_read,
  fd_readdir, fd_write, oflags, path_create_directory, path_open, path_remove_directory,
  path_rename, path_unlink_file, poll_oneoff, clock_time_get, clockid,
} from "bindings/wasi_snapshot_preview1";

const ALL_RIGHTS: u64 = 0x1FFFFFFF;
const FD_WRITE: u64 = 0x40;
// Opening a directory, or a file to read: every right but fd_write (whose presence makes a
// runtime open for writing, which a directory refuses with EISDIR).
const READ_RIGHTS: u64 = ALL_RIGHTS & ~FD_WRITE;
const scratch = memory.data(64);

function name(err: errno): string {
  return err == 0 ? "ok" : errnoToString(err);
}

// The UTF-8 bytes of s in a fresh buffer (kept alive by the caller's reference).
function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

function findPreopen(want: string): i32 {
  for (let fd: u32 = 3; fd < 64; fd++) {
    if (fd_prestat_get(fd, changetype<prestat>(scratch)) != 0) break;
    const len = load<u32>(scratch, 4);
    const buf = new ArrayBuffer(<i32>len);
    if (fd_prestat_dir_name(fd, changetype<usize>(buf), len) != 0) continue;
    if (String.UTF8.decode(buf) == want) return <i32>fd;
  }
  return -1;
}

function open(dir: i32, path: string, flags: u16, rights: u64 = ALL_RIGHTS): i32 {
  const p = utf8(path);
  const err = path_open(<u32>dir, 0, changetype<usize>(p), <usize>p.byteLength, flags, rights, rights, 0, scratch);
  if (err != 0) {
    console.log("path_open " + path + ": " + name(err));
    return -1;
  }
  return load<i32>(scratch);
}

function readAll(fd: i32): string {
  let out = "";
  const buf = new ArrayBuffer(256);
  while (true) {
    store<usize>(scratch, changetype<usize>(buf));
    store<usize>(scratch, 256, 4);
    const err = fd_read(<u32>fd, scratch, 1, scratch + 8);
    const n = load<u32>(scratch, 8);
    if (err != 0) {
      out += "<" + name(err) + ">";
      break;
    }
    if (n == 0) break;
    out += String.UTF8.decode(buf.slice(0, <i32>n));
  }
  return out;
}

function writeAll(fd: i32, text: string): errno {
  const b = utf8(text);
  store<usize>(scratch, changetype<usize>(b));
  store<usize>(scratch, <usize>b.byteLength, 4);
  return fd_write(<u32>fd, scratch, 1, scratch + 8);
}

function pathOp(what: string, err: errno): void {
  console.log(what + ": " + name(err));
}

function listDir(dir: i32, path: string): void {
  const fd = open(dir, path, oflags.DIRECTORY, READ_RIGHTS);
  if (fd < 0) return;
  const buf = new ArrayBuffer(4096);
  const names = new Array<string>();
  let cookie: u64 = 0;
  while (true) {
    const err = fd_readdir(<u32>fd, changetype<usize>(buf), 4096, cookie, scratch);
    if (err != 0) {
      console.log("fd_readdir: " + name(err));
      break;
    }
    const used = load<u32>(scratch);
    let off: u32 = 0;
    let full = false;
    while (off + 24 <= used) {
      const base = changetype<usize>(buf) + off;
      const namlen = load<u32>(base, 16);
      if (off + 24 + namlen > used) { full = true; break; }
      const kind = load<u8>(base, 20);
      const entry = String.UTF8.decodeUnsafe(base + 24, namlen);
      if (entry != "." && entry != "..") names.push(entry + (kind == 3 ? "/" : ""));
      cookie = load<u64>(base);
      off += 24 + namlen;
    }
    if (!full && used < 4096) break;
  }
  fd_close(<u32>fd);
  names.sort();
  console.log("listing of /data/" + path + ": " + names.join(" "));
}

function fileSize(fd: i32): u64 {
  const st = new ArrayBuffer(64);
  fd_filestat_get(<u32>fd, changetype<filestat>(st));
  return load<u64>(changetype<usize>(st), 32);
}

function sleep20ms(): void {
  const sub = new ArrayBuffer(48);
  const ev = new ArrayBuffer(32);
  const s = changetype<usize>(sub);
  store<u64>(s, 99);                    // userdata
  store<u8>(s, 0, 8);                   // eventtype clock
  store<u32>(s, clockid.MONOTONIC, 16); // clock id
  store<u64>(s, 20_000_000, 24);        // timeout (relative), ns
  store<u64>(s, 0, 32);                 // precision
  store<u16>(s, 0, 40);                 // flags
  clock_time_get(clockid.MONOTONIC, 1, scratch);
  const before = load<u64>(scratch);
  const err = poll_oneoff(s, changetype<usize>(ev), 1, scratch);
  const nevents = load<u32>(scratch);
  clock_time_get(clockid.MONOTONIC, 1, scratch);
  const slept = load<u64>(scratch) - before;
  const e = changetype<usize>(ev);
  console.log("poll_oneoff(20ms): " + name(err) + " events=" + nevents.toString() +
    " userdata=" + load<u64>(e).toString() + " error=" + load<u16>(e, 8).toString() +
    " type=" + load<u8>(e, 10).toString() + " slept>=20ms: " + (slept >= 20_000_000 ? "yes" : "no"));
}

function main(): void {
  const argv = process.argv;
  console.log("argc=" + argv.length.toString());
  for (let i = 0; i < argv.length; i++) console.log("argv[" + i.toString() + "]=" + argv[i]);
  const keys = process.env.keys();
  keys.sort();
  console.log("environ: " + keys.length.toString());
  for (let i = 0; i < keys.length; i++) console.log("  " + keys[i] + "=" + process.env.get(keys[i]));

  let input = "";
  const chunk = new ArrayBuffer(64);
  while (true) {
    const n = process.stdin.read(chunk);
    if (n <= 0) break;
    input += String.UTF8.decode(chunk.slice(0, n));
  }
  console.log("stdin: " + String.UTF8.byteLength(input).toString() + " bytes: " + input.toUpperCase().trimEnd());
  // (the shim's console.error writes to stdout)
  process.stderr.write("stderr: hello from AssemblyScript\n");

  sleep20ms();

  const data = findPreopen("/data");
  if (data < 0) {
    console.log("no /data preopen");
  } else {
    let fd = open(data, "in.txt", 0, READ_RIGHTS);
    if (fd >= 0) {
      console.log("in.txt: " + readAll(fd).trimEnd());
      fd_close(<u32>fd);
    }
    fd = open(data, "out.txt", oflags.CREAT | oflags.TRUNC);
    if (fd >= 0) {
      pathOp("write out.txt", writeAll(fd, "written by AssemblyScript\n"));
      console.log("out.txt size: " + fileSize(fd).toString());
      fd_close(<u32>fd);
    }
    open(data, "out.txt", oflags.CREAT | oflags.EXCL);
    open(data, "missing/x.txt", 0, READ_RIGHTS);
    let p = utf8("made");
    pathOp("mkdir made", path_create_directory(<u32>data, changetype<usize>(p), <usize>p.byteLength));
    pathOp("mkdir made again", path_create_directory(<u32>data, changetype<usize>(p), <usize>p.byteLength));
    const from = utf8("out.txt");
    const to = utf8("made/moved.txt");
    pathOp("rename out.txt -> made/moved.txt", path_rename(<u32>data, changetype<usize>(from), <usize>from.byteLength,
      <u32>data, changetype<usize>(to), <usize>to.byteLength));
    p = utf8("doomed.txt");
    pathOp("unlink doomed.txt", path_unlink_file(<u32>data, changetype<usize>(p), <usize>p.byteLength));
    pathOp("unlink doomed.txt again", path_unlink_file(<u32>data, changetype<usize>(p), <usize>p.byteLength));
    p = utf8("sub");
    pathOp("rmdir sub (not empty)", path_remove_directory(<u32>data, changetype<usize>(p), <usize>p.byteLength));
    listDir(data, ".");
    listDir(data, "made");
    listDir(data, "sub");
  }

  const code = process.env.has("EXIT_CODE") ? I32.parseInt(process.env.get("EXIT_CODE")) : 0;
  console.log("exiting with " + code.toString());
  process.exit(code);
}

main();
