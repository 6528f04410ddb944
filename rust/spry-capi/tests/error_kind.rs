//! `spry_error_kind` tells a refused memory reservation (injected with `spry::fault`, which is
//! process-wide: hence this test binary of its own, with one test) and an exhausted pool from other
//! errors; the reservation and guard settings reach the engine.

use spry_capi::*;

fn take(err: *mut spry_error_t) -> (spry_error_kind_t, String) {
    assert!(!err.is_null(), "expected an error");
    let mut n = 0;
    // SAFETY: `err` is a live error; the message is copied before the error is deleted.
    unsafe {
        let p = spry_error_message(err, &mut n);
        let msg = String::from_utf8_lossy(std::slice::from_raw_parts(p.cast::<u8>(), n)).into_owned();
        let kind = spry_error_kind(err);
        spry_error_delete(err);
        (kind, msg)
    }
}

fn engine(set: impl FnOnce(*mut spry_config_t)) -> Result<*mut spry_engine_t, (spry_error_kind_t, String)> {
    let config = spry_config_new();
    set(config);
    let mut engine = std::ptr::null_mut();
    // SAFETY: a live configuration, deleted once; `engine` is valid for a write.
    let err = unsafe { spry_engine_new(config, &mut engine) };
    // SAFETY: as above.
    unsafe { spry_config_delete(config) };
    if err.is_null() {
        Ok(engine)
    } else {
        Err(take(err))
    }
}

fn new_memory(store: *mut spry_store_t, min: u64) -> *mut spry_error_t {
    let mut out = std::mem::MaybeUninit::<spry_memory_t>::uninit();
    // SAFETY: a live store; `out` is valid for a write.
    unsafe { spry_memory_new(store, min, false, 0, out.as_mut_ptr()) }
}

#[test]
fn error_kinds() {
    let e = engine(|_| {}).unwrap();
    // SAFETY: a live engine.
    let store = unsafe { spry_store_new(e) };
    assert!(!store.is_null());

    // A refused reservation.
    spry::fault::fail_next(spry::fault::Site::MemoryReserve, 1);
    let (kind, msg) = take(new_memory(store, 1));
    spry::fault::clear();
    assert_eq!(kind, SPRY_ERROR_RESOURCE_EXHAUSTED, "{msg}");
    assert!(msg.contains("failed to reserve address space for a linear memory"), "{msg}");
    assert!(new_memory(store, 1).is_null());

    // Another error.
    let (kind, msg) = take(new_memory(store, 70000));
    assert_eq!(kind, SPRY_ERROR_OTHER, "{msg}");

    // An exhausted pool.
    let mut pc = std::mem::MaybeUninit::<spry_pooling_config_t>::uninit();
    // SAFETY: `pc` is valid for a write.
    unsafe { spry_pooling_config_default(pc.as_mut_ptr()) };
    // SAFETY: written just above.
    let mut pc = unsafe { pc.assume_init() };
    pc.total_memories = 1;
    // SAFETY: a live configuration and a readable pooling configuration.
    let pooled = engine(|c| unsafe { spry_config_pooling(c, &pc) }).unwrap();
    // SAFETY: a live engine.
    let pstore = unsafe { spry_store_new(pooled) };
    assert!(new_memory(pstore, 1).is_null());
    let (kind, msg) = take(new_memory(pstore, 1));
    assert_eq!(kind, SPRY_ERROR_POOL_EXHAUSTED, "{msg}");
    assert!(msg.contains("pool exhausted"), "{msg}");

    // The reservation settings: a memory grows within the reservation only; bad values fail.
    // SAFETY: a live configuration.
    let small = engine(|c| unsafe {
        spry_config_memory_reservation(c, 2 * 65536);
        spry_config_memory_guard_size(c, 0);
    })
    .unwrap();
    // SAFETY: a live engine.
    let sstore = unsafe { spry_store_new(small) };
    assert!(new_memory(sstore, 2).is_null());
    let (kind, msg) = take(new_memory(sstore, 3));
    assert_eq!(kind, SPRY_ERROR_OTHER, "{msg}");
    assert!(msg.contains("memory_reservation"), "{msg}");
    // SAFETY: a live configuration.
    let (_, msg) = engine(|c| unsafe { spry_config_memory_reservation(c, 12345) }).unwrap_err();
    assert!(msg.contains("multiple of 64 KiB"), "{msg}");

    // SAFETY: each object is live and deleted once.
    unsafe {
        spry_store_delete(store);
        spry_store_delete(pstore);
        spry_store_delete(sstore);
        spry_engine_delete(e);
        spry_engine_delete(pooled);
        spry_engine_delete(small);
    }
}
