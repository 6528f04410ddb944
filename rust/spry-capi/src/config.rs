//! [`spry_config_t`]: engine settings, set one by one before `spry_engine_new` reads them.

use crate::error::guard_or;
use crate::types::size_t;
use spry::Config;

/// Engine settings, each with a default. Owned by the caller; `spry_engine_new` copies them.
pub struct spry_config {
    pub(crate) config: Config,
}

/// Shorthand for `struct spry_config`.
pub type spry_config_t = spry_config;

/// A new configuration with the default settings. The caller owns it and releases it with
/// `spry_config_delete`. Returns NULL only if the allocation fails.
#[no_mangle]
pub extern "C" fn spry_config_new() -> *mut spry_config_t {
    guard_or(std::ptr::null_mut(), || Ok(Box::into_raw(Box::new(spry_config { config: Config::new() }))))
}

/// Releases `config`. NULL is ignored. Engines made from it are unaffected.
///
/// # Safety
///
/// `config` is NULL or a configuration from `spry_config_new`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_config_delete(config: *mut spry_config_t) {
    // SAFETY: per the contract.
    unsafe { crate::args::release(config) }
}

/// Applies `set` to the configuration behind `config`, if it is not NULL.
///
/// # Safety
///
/// `config` is NULL or a live configuration not used elsewhere during the call.
unsafe fn update(config: *mut spry_config_t, set: impl FnOnce(&mut Config)) {
    guard_or((), || {
        // SAFETY: per the contract.
        if let Some(c) = unsafe { config.as_mut() } {
            set(&mut c.config);
        }
        Ok(())
    })
}

/// Sets the most stack Wasm code may use, in bytes (default 512 KiB). It is further bounded by the
/// calling thread's own stack; running out is a `SPRY_TRAP_STACK_OVERFLOW` trap. NULL `config` is
/// ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_max_wasm_stack(config: *mut spry_config_t, bytes: size_t) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.max_wasm_stack(bytes);
        })
    }
}

/// Sets whether memories are reserved with guard pages so that bounds checks compile away (default
/// true). Without, every access is checked explicitly and a memory reserves only its maximum size.
/// NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_guard_pages(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.guard_pages(enable);
        })
    }
}

/// Sets whether a module's functions compile in parallel on all cores (default true). NULL `config`
/// is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_parallel_compilation(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.parallel_compilation(enable);
        })
    }
}

/// Sets whether compiled code checks the store's interrupt flag at function entries and loop
/// headers, so that `spry_interrupt_handle_interrupt` can stop it (default true). Off, Wasm code is
/// slightly faster and cannot be interrupted. NULL `config` is ignored.
///
/// # Safety
///
/// `config` is NULL or a live configuration.
#[no_mangle]
pub unsafe extern "C" fn spry_config_interruptible(config: *mut spry_config_t, enable: bool) {
    // SAFETY: per the contract.
    unsafe {
        update(config, |c| {
            c.interruptible(enable);
        })
    }
}
