//! The runtime: VMContext layout, instances, memories, tables, libcalls, traps and signals.

pub mod allocator;
pub mod builtins;
pub mod code_memory;
pub mod code_registry;
pub mod fault;
pub mod instance;
pub mod libcalls;
pub mod memory;
pub mod memory_image;
pub mod module_runtime;
pub mod pooling;
pub mod signals;
pub mod table;
pub mod traphandlers;
pub mod vmcontext;
