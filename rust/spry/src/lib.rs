//! Spry: a WebAssembly 2.0 engine that compiles Wasm with Cranelift and runs it in sandboxed instances.
//!
//! The data flow, in the order of the modules below: [`Engine`] holds the compiler settings and the
//! host ISA; [`Module::new`] validates and compiles a module (`compile/`); a [`Linker`] resolves its
//! imports and instantiates it in a [`Store`] (`vm/` holds the runtime: VMContext, memories, tables,
//! traps); [`Func::call`] enters Wasm through a per-signature trampoline.
//!
//! ```
//! use spry::{Engine, Linker, Module, Store, Val};
//!
//! let engine = Engine::default();
//! // A module that adds two numbers (binary Wasm; `wat::parse_str` makes it from text).
//! let wasm = [
//!     0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
//!     0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type 0: (i32, i32) -> i32
//!     0x03, 0x02, 0x01, 0x00, // func 0 has type 0
//!     0x07, 0x07, 0x01, 0x03, b'a', b'd', b'd', 0x00, 0x00, // export "add" = func 0
//!     0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, // local.get 0, local.get 1, i32.add
//! ];
//! let module = Module::new(&engine, wasm)?;
//! let mut store = Store::new(&engine);
//! let instance = Linker::new(&engine).instantiate(&mut store, &module)?;
//! let add = instance.get_func(&mut store, "add").unwrap();
//! let mut result = [Val::I32(0)];
//! add.call(&mut store, &[Val::I32(40), Val::I32(2)], &mut result)?;
//! assert_eq!(result[0], Val::I32(42));
//! # Ok::<(), anyhow::Error>(())
//! ```
#![deny(missing_docs)]

mod compile;
mod engine;
mod environ;
mod func;
mod global;
mod instance;
mod instance_pre;
mod limits;
mod linker;
mod memory;
mod module;
mod store;
mod table;
mod values;
pub(crate) mod vm;
pub mod wasi;
// Defined in environ/ (the compiler and the runtime use them too), known by these paths in the crate.
use environ::{debug, trap, types};

pub use engine::{Config, Engine, ResourceExhausted, ResourceKind};
pub use func::{Caller, Func};
pub use global::Global;
pub use instance::{Extern, Instance};
pub use instance_pre::InstancePre;
pub use limits::StoreLimits;
pub use linker::Linker;
pub use memory::Memory;
pub use module::Module;
pub use store::{AsContext, AsContextMut, InterruptHandle, Store, StoreContext, StoreContextMut};
pub use table::Table;
pub use trap::{FrameInfo, Trap, TrapCode};
pub use types::{ExportType, ExternType, FuncType, GlobalType, ImportType, MemoryType, TableType, ValType};
pub use values::{ExternRef, Val};
#[doc(hidden)]
pub use vm::fault;
#[doc(hidden)]
pub use vm::libcalls::panic_in_next_builtin;
pub use vm::pooling::{InstanceAllocationStrategy, PoolingConfig};

/// The Wasm page size, in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Raw parts of the store-bound handles, for the C surface: `(store id, index)`. A forged pair is
/// rejected with an error when used, never trusted.
macro_rules! raw_parts {
    ($($t:ty),*) => {$(
        impl $t {
            #[doc(hidden)]
            pub fn into_raw_parts(self) -> (u64, u32) {
                (self.store, self.index)
            }
            #[doc(hidden)]
            pub fn from_raw_parts(store: u64, index: u32) -> Self {
                Self { store, index }
            }
        }
    )*};
}
raw_parts!(Func, Memory, Global, Table, Instance, ExternRef);

/// For embedders whose host functions can be left without returning (a Go host function that calls
/// `runtime.Goexit`, whose runtime then discards the C, Rust and Wasm frames of the call that ran
/// it): forgets the calling thread's innermost call into Wasm, so that the thread and the store can
/// run Wasm again. The store of the abandoned call stays usable, as after a trap. Returns whether
/// there was a call to forget.
///
/// # Safety
///
/// Must be called from inside a host function, on its thread, for the innermost call into Wasm of
/// that thread, before that host function's frames are discarded; the abandoned frames (from the
/// embedder's entry into Spry down to the host function) must never be returned into.
#[doc(hidden)]
pub unsafe fn abandon_innermost_call() -> bool {
    // SAFETY: the same contract.
    unsafe { vm::traphandlers::abandon_innermost_activation() }
}
