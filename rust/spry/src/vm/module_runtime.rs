//! What an instance needs of its module, without knowing the embedding API's `Module`: the
//! [`ModuleRuntimeInfo`] (code pointers, type ids, memory image, table templates, the allocator) and
//! the [`ModuleRuntime`] trait of whatever owns it and keeps it alive (wasmtime's
//! `ModuleRuntimeInfo` plays the same part).
//!
//! An instance holds its module as an `Arc<dyn ModuleRuntime>` (a reference count, no copy) and a
//! pointer to the module's `ModuleRuntimeInfo`, taken once at instantiation: every later access is a
//! field load, not a virtual call.

use super::allocator::InstanceAllocator;
use super::memory_image::MemoryImage;
use super::table::TableTemplate;
use super::vmcontext::VMArrayCallFn;
use crate::environ::info::ModuleInfo;
use crate::environ::Tunables;
use std::any::Any;
use std::sync::Arc;

/// A compiled module as the runtime sees it. Built once per module (by `module/`), shared by every
/// instance of it.
pub struct ModuleRuntimeInfo {
    /// The module's metadata: types, imports, exports, segments, VMContext offsets.
    pub info: ModuleInfo,
    /// The address of the module's code.
    pub code_base: usize,
    /// Start and end offsets in the code of each defined function.
    pub functions: Vec<(u32, u32)>,
    /// The engine-wide type id of each module type.
    pub type_ids: Box<[u32]>,
    /// The entry trampoline (slots → registers) of each module type; its code is the engine's.
    pub entry_trampolines: Box<[VMArrayCallFn]>,
    /// The copy-on-write image of the active data segments, with the memory it is for.
    pub memory_image: Option<(u32, MemoryImage)>,
    /// The initial contents of each defined table (`None` for a table no segment writes to), when the
    /// module's element segments are applied lazily; `None` when instantiation applies them.
    pub table_templates: Option<Box<[Option<Box<TableTemplate>>]>>,
    /// The engine's allocator, which instances, their memories and their tables come from.
    pub allocator: Arc<dyn InstanceAllocator>,
    /// The engine's tunables (memory reservation and guard sizes).
    pub tunables: Tunables,
}

impl ModuleRuntimeInfo {
    /// Start and end of defined function `defined` in the code.
    ///
    /// # Panics
    /// If the module has no defined function `defined`.
    pub fn function_range(&self, defined: usize) -> (u32, u32) {
        self.functions.get(defined).copied().expect("defined function index")
    }

    /// The entry trampoline for module type `ty`.
    ///
    /// # Panics
    /// If the module has no type `ty`.
    pub fn entry_trampoline(&self, ty: usize) -> VMArrayCallFn {
        self.entry_trampolines.get(ty).copied().expect("type index")
    }

    /// The module's memory image and the (defined) memory it is for, if it has one.
    pub fn memory_image(&self) -> Option<(u32, &MemoryImage)> {
        self.memory_image.as_ref().map(|(m, i)| (*m, i))
    }
}

/// What owns a [`ModuleRuntimeInfo`] and whatever must outlive its instances (the code, the engine
/// that holds the trampolines' code and the allocator). Implemented by the embedding API's module;
/// an instance keeps its owner alive, and the embedding API gets its module back with
/// [`ModuleRuntime`]'s `Any` supertrait.
///
/// # Safety
/// [`ModuleRuntime::runtime_info`] returns a reference to the same object, unchanged, for as long as
/// `self` lives: an instance keeps a pointer to it, taken once, and reads through it until it drops
/// its reference to `self`.
pub unsafe trait ModuleRuntime: Any + Send + Sync {
    /// The module as the runtime sees it.
    fn runtime_info(&self) -> &ModuleRuntimeInfo;
}
