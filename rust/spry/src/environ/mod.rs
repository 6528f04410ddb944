//! What both the compiler (`compile/`) and the runtime (`vm/`) need, and which depends on neither:
//! module metadata ([`info::ModuleInfo`]), [`Tunables`], the builtin ids and signatures, the
//! VMContext layout ([`vmoffsets`]) and the encoding of lazily initialized funcref table elements.
//! `compile/` and `vm/` never import each other, nor the embedding API (`scripts/check-layers.sh`).

pub mod builtins;
pub mod index;
pub mod info;
mod tunables;
pub mod vmoffsets;

pub use tunables::Tunables;

/// Bit 0 of an initialized `funcref` element.
pub const FUNCREF_INIT_BIT: usize = 1;
