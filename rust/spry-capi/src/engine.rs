//! [`spry_engine_t`]: the compiler for the host CPU, shared by the modules, linkers and stores made
//! from it.

use crate::args;
use crate::config::spry_config_t;
use crate::error::{guard, spry_error_t};
use spry::{Config, Engine};

/// A compilation environment. Safe to use from several threads at once. Owned by the caller;
/// modules, linkers and stores made from it keep what they need of it, so it may be deleted before
/// them.
pub struct spry_engine {
    pub(crate) engine: Engine,
}

/// Shorthand for `struct spry_engine`.
pub type spry_engine_t = spry_engine;

/// Makes an engine with the settings of `config` (NULL: the defaults). `config` is only read: the
/// caller still owns it and may delete it right after.
///
/// On success, returns NULL and writes the new engine, owned by the caller (release it with
/// `spry_engine_delete`), to `*out`. On failure (the host CPU is not supported, the settings are
/// invalid, `out` is NULL), returns an error and writes nothing. The first engine of a process also
/// installs Spry's signal handlers (they pass signals that are not Spry's to the handlers they
/// replaced, such as the Go runtime's).
///
/// # Safety
///
/// `config` is NULL or a live configuration; `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_engine_new(
    config: *const spry_config_t,
    out: *mut *mut spry_engine_t,
) -> *mut spry_error_t {
    guard(|| {
        // SAFETY: per the contract.
        let engine = match unsafe { config.as_ref() } {
            Some(c) => Engine::new(&c.config)?,
            None => Engine::new(&Config::default())?,
        };
        // SAFETY: per the contract.
        unsafe { args::write_box(out, spry_engine { engine }) }
    })
}

/// Releases `engine`. NULL is ignored. Modules, linkers and stores made from it stay usable.
///
/// # Safety
///
/// `engine` is NULL or an engine from `spry_engine_new`, not yet deleted.
#[no_mangle]
pub unsafe extern "C" fn spry_engine_delete(engine: *mut spry_engine_t) {
    // SAFETY: per the contract.
    unsafe { crate::args::release(engine) }
}
