//! The C surface of Spry: `extern "C"` functions over the [`spry`] engine, built as a static library
//! for Go (cgo) and described by `include/spry.h`, which cbindgen generates from these files (one file
//! per object, so the header groups by object; regenerate it with `./build.sh header`).
//!
//! # Conventions
//!
//! - Functions are `spry_<object>_<verb>`. Objects made by `_new` are opaque pointers released by
//!   `_delete`; every `_delete` accepts NULL.
//! - Fallible functions return a `spry_error_t*`: NULL on success, else a new error the caller owns
//!   and releases with `spry_error_delete`. Results go through `out_*` parameters, written only on
//!   success. Functions that run Wasm also take `spry_trap_t** out_trap`, set to NULL or to a new trap
//!   the caller owns; the error result stays NULL when the only problem is a trap.
//! - No Rust panic crosses the boundary: every entry point runs its body in `error::guard` (or one of
//!   its variants), which turns a panic into an "internal error: ..." error or a neutral result.
//! - No pointer passed in is kept after the call returns. A `(pointer, length)` pair with a NULL
//!   pointer and length 0 is empty; NULL with a nonzero length is an error. Strings are UTF-8 and
//!   not NUL-terminated; invalid UTF-8 is an error.
//! - Store items (`spry_func_t`, `spry_memory_t`, ...) are `(store id, index)` value structs, checked
//!   by the engine on every use: a forged or foreign handle is an error, never a crash.
//! - Every struct is `struct spry_x` with `typedef struct spry_x spry_x_t;` (opaque ones too; cgo
//!   sees a field named `type` as `_type`). Arrays and strings handed out empty are NULL with length
//!   0. Pointers handed out by accessors (messages, type arrays, names) live as long as the object
//!   they came from.
//! - A NULL `init` value (`spry_global_new`, `spry_table_new`, `spry_table_grow`) is the zero value
//!   (0 or null). A NULL `out_trap` turns a trap into an error ("wasm trap: ...").
//! - A host function's `env` belongs to Spry from the defining call on: if `spry_linker_define_func`
//!   or `spry_func_new` fails, for any reason, its finalizer has already run, once, when they return.
//!   A host function defined in a linker is one object for every store; its callback finds its store
//!   through the calling instance.
//!
//! The header, `include/spry.h`, is generated from these files and is the contract; each function's
//! comment there says its outcomes (an earlier plan of the surface, CAPI-PLAN.md, was folded into
//! these comments).
//!
//! # Why the store is reached through raw pointers
//!
//! A host function may call back into the store it runs in (a nested `spry_func_call`, memory
//! access) through the `spry_store_t*` the embedder holds, while the engine, further up the same
//! thread's stack, is in the middle of a call on that store. The engine's rule is that no two live
//! `&mut` reach a store's state (a call into Wasm holds only the state's raw pointer while Wasm
//! runs; see `docs/store-ownership.md`), so the C surface never keeps a Rust reference to a
//! `spry_store_t` or its `Store` across a call into Wasm: the entry points that run Wasm reach the
//! store through `store_context`, a raw-pointer read (see `store.rs`).
#![allow(non_camel_case_types)]
#![deny(missing_docs)]

mod args;
mod caller;
mod config;
mod engine;
mod error;
mod externref;
mod func;
mod global;
mod instance;
mod instance_pre;
mod interrupt;
mod linker;
mod memory;
mod module;
mod store;
mod table;
mod thread;
mod trap;
mod types;
mod val;
mod wasi;
mod wat;

pub use caller::*;
pub use config::*;
pub use engine::*;
pub use error::*;
pub use externref::*;
pub use func::*;
pub use global::*;
pub use instance::*;
pub use instance_pre::*;
pub use interrupt::*;
pub use linker::*;
pub use memory::*;
pub use module::*;
pub use store::*;
pub use table::*;
pub use thread::*;
pub use trap::*;
pub use types::*;
pub use val::*;
pub use wasi::*;
pub use wat::*;

/// The version of Spry, as a static NUL-terminated string (for example "0.1.0"). Never NULL; the
/// caller must not free it.
#[no_mangle]
pub extern "C" fn spry_version() -> *const std::ffi::c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}
