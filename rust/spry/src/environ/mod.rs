//! What both the compiler (`compile/`) and the runtime (`vm/`) need, and which depends on neither:
//! the Wasm types ([`types`]) and index spaces ([`index`]), trap codes and the trap error value
//! ([`trap`]), module metadata ([`info::ModuleInfo`]), [`Tunables`], the builtin ids and signatures,
//! the VMContext layout ([`vmoffsets`]), the encoding of lazily initialized funcref table elements
//! and the debug switches ([`debug`]). `compile/` and `vm/` never import each other, nor the
//! embedding API (`scripts/check-layers.sh`). The crate root also names [`types`], [`trap`] and
//! [`debug`] `crate::types`, `crate::trap` and `crate::debug` (their paths before they moved here),
//! and the public API re-exports the types and traps (`spry::ValType`, `spry::TrapCode` ...).

pub mod builtins;
pub mod debug;
pub mod index;
pub mod info;
pub mod trap;
mod tunables;
pub mod types;
pub mod vmoffsets;

pub use tunables::Tunables;

/// Bit 0 of an initialized `funcref` element.
pub const FUNCREF_INIT_BIT: usize = 1;
