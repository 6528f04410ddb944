//! WASI through the Rust API: stdout capture, `proc_exit` as `I32Exit`, `EFAULT` for bad guest
//! pointers, and a `poll_oneoff` sleep that the store's interrupt ends with the Interrupt trap.

use spry::wasi::{self, MemoryOutput, WasiConfig, WasiCtx, WasiOutput};
use spry::{Engine, Linker, Module, Store, Trap, TrapCode, Val};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello\n")
  ;; fd_write(1, [iovec at 0 = (100, 6)]) -> errno
  (func (export "hello") (result i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 6))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
  ;; an iovec whose buffer runs past the end of memory -> errno
  (func (export "bad_iovec") (result i32)
    (i32.store (i32.const 0) (i32.const 65530))
    (i32.store (i32.const 4) (i32.const 7))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
  ;; the result pointer at the end of memory -> errno
  (func (export "bad_result") (result i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 6))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 65536)))
  (func (export "exit") (param i32) (call $proc_exit (local.get 0)))
  ;; one relative monotonic clock subscription of $ns nanoseconds -> errno
  (func (export "sleep") (param $ns i64) (result i32)
    (i64.store (i32.const 200) (i64.const 7))         ;; userdata
    (i32.store8 (i32.const 208) (i32.const 0))        ;; tag: clock
    (i32.store (i32.const 216) (i32.const 1))         ;; monotonic
    (i64.store (i32.const 224) (local.get $ns))       ;; timeout
    (i64.store (i32.const 232) (i64.const 0))         ;; precision
    (i32.store16 (i32.const 240) (i32.const 0))       ;; relative
    (call $poll (i32.const 200) (i32.const 304) (i32.const 1) (i32.const 400))))
"#;

fn setup() -> (Store, spry::Instance, MemoryOutput) {
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let mut linker = Linker::new(&engine);
    wasi::add_to_linker(&mut linker).unwrap();
    let out = MemoryOutput::new();
    let cfg = WasiConfig::new().stdout(WasiOutput::Host(Arc::new(out.clone())));
    let mut store = Store::new(&engine);
    store.set_wasi(WasiCtx::new(&cfg));
    let inst = linker.instantiate(&mut store, &module).unwrap();
    (store, inst, out)
}

fn call_i32(store: &mut Store, inst: &spry::Instance, name: &str, args: &[Val]) -> anyhow::Result<i32> {
    let f = inst.get_func(&mut *store, name).unwrap();
    let mut r = [Val::I32(0)];
    f.call(&mut *store, args, &mut r)?;
    match r[0] {
        Val::I32(v) => Ok(v),
        v => panic!("{v:?}"),
    }
}

#[test]
fn stdout_capture_exit_and_efault() {
    let (mut store, inst, out) = setup();
    assert_eq!(call_i32(&mut store, &inst, "hello", &[]).unwrap(), 0);
    assert_eq!(out.contents(), b"hello\n");
    assert_eq!(call_i32(&mut store, &inst, "bad_iovec", &[]).unwrap(), wasi::Errno::FAULT.0 as i32);
    assert_eq!(call_i32(&mut store, &inst, "bad_result", &[]).unwrap(), wasi::Errno::FAULT.0 as i32);
    assert_eq!(out.contents(), b"hello\nhello\n", "the write happened, only its result pointer was bad");
    let exit = inst.get_func(&mut store, "exit").unwrap();
    let err = exit.call(&mut store, &[Val::I32(33)], &mut []).unwrap_err();
    assert_eq!(wasi::exit_code(&err), Some(33));
    assert_eq!(store.wasi().unwrap().exit_code(), Some(33));
}

#[test]
fn poll_oneoff_sleeps_and_is_interruptible() {
    let (mut store, inst, _) = setup();
    // A short sleep completes with one clock event carrying its userdata.
    assert_eq!(call_i32(&mut store, &inst, "sleep", &[Val::I64(1_000_000)]).unwrap(), 0);
    let mem = inst.get_memory(&mut store, "memory").unwrap();
    let mut b = [0u8; 8];
    mem.read(&store, 400, &mut b[..4]).unwrap();
    assert_eq!(u32::from_le_bytes(b[..4].try_into().unwrap()), 1);
    mem.read(&store, 304, &mut b).unwrap();
    assert_eq!(u64::from_le_bytes(b), 7);

    // A sleep of an hour ends with the Interrupt trap once another thread interrupts the store.
    let handle = store.interrupt_handle();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.interrupt();
    });
    let start = Instant::now();
    let err = call_i32(&mut store, &inst, "sleep", &[Val::I64(3_600_000_000_000)]).unwrap_err();
    t.join().unwrap();
    let trap = err.downcast_ref::<Trap>().expect("a trap");
    assert_eq!(trap.code(), TrapCode::Interrupt);
    assert!(start.elapsed() < Duration::from_secs(600), "the sleep was not cut short");
    // The store runs again afterwards.
    assert_eq!(call_i32(&mut store, &inst, "sleep", &[Val::I64(1000)]).unwrap(), 0);
}
