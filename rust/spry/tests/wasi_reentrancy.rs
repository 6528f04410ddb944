//! A WASI call is not re-entrant: a host object it calls (here a Rust `HostOutput`, as the C and Go
//! stdio streams, file trees, clocks and random sources are) that calls back into the store it
//! serves, to a function that calls WASI again, gets a clear trap instead of a second `&mut` to the
//! store's WASI state; the outer call goes on, and the store stays usable.

use spry::wasi::{self, HostOutput, MemoryOutput, WasiConfig, WasiCtx, WasiOutput};
use spry::{Engine, Func, Linker, Module, Store, Trap, Val};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

const WAT: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "hello\n")
  (func (export "hello") (result i32)
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 6))
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16))))
"#;

/// Writes to `out`; on its first write, calls `func` in the store behind `store` first.
struct Reentering {
    store: AtomicPtr<Store>,
    func: Mutex<Option<Func>>,
    nested: Mutex<Option<anyhow::Result<i32>>>,
    out: MemoryOutput,
}

impl HostOutput for Reentering {
    fn write(&self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(func) = self.func.lock().unwrap().take() {
            // SAFETY: (test) the store outlives the call, and the outer levels reach it through raw
            // pointers only while Wasm and this host call run (as a C or Go callback would).
            let store = unsafe { &mut *self.store.load(Ordering::SeqCst) };
            let mut r = [Val::I32(-1)];
            let result = func.call(&mut *store, &[], &mut r).map(|()| r[0].i32().unwrap());
            *self.nested.lock().unwrap() = Some(result);
        }
        HostOutput::write(&self.out, buf)
    }
}

#[test]
fn a_nested_wasi_call_from_a_host_output_traps() {
    let engine = Engine::default();
    let module = Module::new(&engine, wat::parse_str(WAT).unwrap()).unwrap();
    let mut linker = Linker::new(&engine);
    wasi::add_to_linker(&mut linker).unwrap();
    let output = Arc::new(Reentering {
        store: AtomicPtr::new(std::ptr::null_mut()),
        func: Mutex::new(None),
        nested: Mutex::new(None),
        out: MemoryOutput::new(),
    });
    let cfg = WasiConfig::new().stdout(WasiOutput::Host(output.clone()));
    let mut store = Store::new(&engine);
    store.set_wasi(WasiCtx::new(&cfg));
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let hello = instance.get_func(&mut store, "hello").unwrap();
    output.store.store(&mut store, Ordering::SeqCst);
    *output.func.lock().unwrap() = Some(hello);

    let mut r = [Val::I32(-1)];
    hello.call(&mut store, &[], &mut r).unwrap();
    assert_eq!(r[0].i32(), Some(0), "the outer fd_write succeeds");
    let nested = output.nested.lock().unwrap().take().expect("the output called into the store");
    let err = nested.expect_err("the nested WASI call must trap");
    let trap = err.downcast_ref::<Trap>().unwrap_or_else(|| panic!("not a trap: {err:?}"));
    assert!(trap.to_string().contains("WASI call re-entered"), "{trap}");
    assert_eq!(output.out.contents(), b"hello\n", "only the outer call wrote");

    // The mark is cleared: the store makes WASI calls again.
    hello.call(&mut store, &[], &mut r).unwrap();
    assert_eq!(r[0].i32(), Some(0));
    assert_eq!(output.out.contents(), b"hello\nhello\n");
}
