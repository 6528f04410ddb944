//! The C surface driven from Rust, as a C program would: through the `extern "C"` functions only,
//! with raw pointers, callbacks and out-parameters. Each test passes live objects everywhere except
//! where it tests misuse (NULL, forged or foreign handles), which must give errors, never crashes.

mod calls;
mod extremes;
mod fuel_limits;
mod handles;
mod helpers;
mod instance_pre;
mod items;
mod modules;
mod serialize;
