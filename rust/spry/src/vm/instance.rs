//! Instances: the runtime state of an instantiated module, allocated as one block with its VMContext
//! at the end, and the initialization that follows the spec's instantiation steps.
//!
//! `memory.init`, `table.init` and the segment drops run here on behalf of Wasm code (through the
//! builtins) with guest-controlled offsets and lengths: ranges are computed with checked arithmetic
//! and reached through `get` (the lints below enforce both). Indices that validation guarantees (a
//! memory, table, segment or function of the module) are looked up with `get` too, and a missing one
//! is a broken invariant: it panics, which a builtin turns into an internal trap.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

use super::builtins::{VMBuiltins, BUILTINS};
use super::memory::LinearMemory;
use super::module_runtime::{ModuleRuntime, ModuleRuntimeInfo};
use super::table::Table;
use super::vmcontext::*;
use crate::environ::index::{DefinedMemoryIndex, DefinedTableIndex, FuncIndex, GlobalIndex, MemoryIndex, TableIndex};
use crate::environ::info::{ConstExpr, DataMode, ElementMode};
use crate::environ::trap::TrapCode;
use anyhow::Result;
use std::alloc::Layout;
use std::any::Any;
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::sync::Arc;

/// The resolved imports of an instance, in each index space's order.
#[derive(Default)]
pub struct Imports<'a> {
    /// Function references.
    pub funcs: &'a [*const VMFuncRef],
    /// Tables.
    pub tables: &'a [*mut Table],
    /// Memories.
    pub memories: &'a [*mut LinearMemory],
    /// Globals.
    pub globals: &'a [*mut VMGlobalDefinition],
    /// What keeps the imported functions alive when the store does not (an `InstancePre`'s shared
    /// block): the instance holds this reference until it is dropped.
    pub keep: Option<Arc<dyn Any + Send + Sync>>,
}

/// An instance. Its VMContext follows it in memory; compiled code only sees the VMContext.
#[repr(C)]
pub struct Instance {
    /// The module's owner, which keeps `runtime` alive. Taken out, not dropped in place, when the
    /// instance is dropped (see `InstanceHandle::drop`).
    module: ManuallyDrop<Arc<dyn ModuleRuntime>>,
    /// `module.runtime_info()`, taken once: reading it is a field load, not a virtual call.
    runtime: NonNull<ModuleRuntimeInfo>,
    /// The store that owns the instance (opaque here).
    pub store: *mut (),
    // Boxed: importers point at them, so they must not move.
    #[allow(clippy::vec_box)]
    memories: Vec<Box<LinearMemory>>,
    #[allow(clippy::vec_box)]
    tables: Vec<Box<Table>>,
    imported_memories: Vec<*mut LinearMemory>,
    imported_tables: Vec<*mut Table>,
    /// Which passive element segments were dropped (empty if the module has none); active and
    /// declared segments are dropped by instantiation itself.
    dropped_elements: Vec<bool>,
    /// Which passive data segments were dropped (empty if the module has none).
    dropped_data: Vec<bool>,
    /// One past the highest escaping function whose reference was made (they are made on first use,
    /// see [`Instance::func_ref`]): the VMContext is written up to that reference, no further.
    func_refs_made: Cell<u32>,
    /// The memory the module's image was mapped over (its active data segments are already there).
    image_memory: Option<u32>,
    /// See [`Imports::keep`].
    _keep: Option<Arc<dyn Any + Send + Sync>>,
    vmctx: VMContext,
}

/// Owns an [`Instance`] allocation.
pub struct InstanceHandle {
    ptr: NonNull<Instance>,
}

// SAFETY: an instance belongs to one store, which one thread uses at a time.
unsafe impl Send for InstanceHandle {}

/// The bytes of an instance block before its VMContext.
pub fn instance_header_size() -> usize {
    std::mem::offset_of!(Instance, vmctx)
}

fn layout_for(module: &ModuleRuntimeInfo) -> Layout {
    let size = std::mem::offset_of!(Instance, vmctx).checked_add(module.info.offsets.size() as usize);
    Layout::from_size_align(size.expect("instance layout"), std::mem::align_of::<Instance>()).expect("instance layout")
}

impl InstanceHandle {
    /// Allocates an instance of `module` with `imports` (already type-checked) and fills its VMContext:
    /// imports, memories, tables, globals and function references. Segments are applied by
    /// [`Instance::initialize`]. Generic over the module's owner so that reaching its
    /// [`ModuleRuntimeInfo`] here is a direct call; the instance keeps `module` as an
    /// `Arc<dyn ModuleRuntime>`.
    pub fn new<M: ModuleRuntime>(
        module: &Arc<M>,
        store: *mut (),
        store_ctx: *mut VMStoreContext,
        mut imports: Imports<'_>,
    ) -> Result<InstanceHandle> {
        let runtime = module.runtime_info();
        let info = &runtime.info;
        let allocator = &*runtime.allocator;
        // On failure, what was allocated so far goes back to the allocator.
        let mut memories = Vec::new();
        let mut tables = Vec::new();
        let give_back = |memories: Vec<Box<LinearMemory>>, tables: Vec<Box<Table>>| {
            memories.into_iter().for_each(|m| allocator.deallocate_memory(m));
            tables.into_iter().for_each(|t| allocator.deallocate_table(t));
        };
        for (i, ty) in info.memories.iter().enumerate().skip(info.num_imported_memories as usize) {
            let image = runtime.memory_image().filter(|(m, _)| *m as usize == i).map(|(_, image)| image);
            match allocator.allocate_memory_for_image(ty, &runtime.tunables, image) {
                Ok(m) => memories.push(m),
                Err(e) => {
                    give_back(memories, tables);
                    return Err(e);
                }
            }
        }
        // The memory image, if any, replaces the active data segments: map it now.
        let image_memory = runtime.memory_image().map(|(m, _)| m);
        if let Some((m, image)) = runtime.memory_image() {
            let defined = m.checked_sub(info.num_imported_memories).and_then(|d| memories.get_mut(d as usize));
            let Some(memory) = defined else {
                give_back(memories, tables);
                anyhow::bail!("the memory image's memory {m} is not a defined memory");
            };
            if let Err(e) = allocator.map_memory_image(memory, image) {
                give_back(memories, tables);
                return Err(e);
            }
        }
        for ty in info.tables.get(info.num_imported_tables as usize..).unwrap_or_default() {
            match allocator.allocate_table(ty) {
                Ok(t) => tables.push(t),
                Err(e) => {
                    give_back(memories, tables);
                    return Err(e);
                }
            }
        }
        let layout = layout_for(runtime);
        let ptr = match allocator.allocate_instance(layout) {
            Ok(p) => p.cast::<Instance>(),
            Err(e) => {
                give_back(memories, tables);
                return Err(e);
            }
        };
        let instance = Instance {
            module: ManuallyDrop::new(module.clone()),
            runtime: NonNull::from(runtime),
            store,
            memories,
            tables,
            imported_memories: imports.memories.to_vec(),
            imported_tables: imports.tables.to_vec(),
            dropped_elements: if info.elements.iter().any(|e| matches!(e.mode, ElementMode::Passive)) {
                vec![false; info.elements.len()]
            } else {
                Vec::new()
            },
            dropped_data: if info.data.iter().any(|d| matches!(d.mode, DataMode::Passive)) {
                vec![false; info.data.len()]
            } else {
                Vec::new()
            },
            func_refs_made: Cell::new(0),
            image_memory,
            _keep: imports.keep.take(),
            vmctx: VMContext { _marker: [] },
        };
        // SAFETY: `ptr` is a fresh allocation with room and alignment for an `Instance`.
        unsafe { ptr.as_ptr().write(instance) };
        let handle = InstanceHandle { ptr };
        // SAFETY: the VMContext block was allocated (zeroed) with the module's layout.
        unsafe { handle.instance_mut().init_vmctx(store_ctx, &imports) };
        Ok(handle)
    }

    /// The instance.
    pub fn instance(&self) -> &Instance {
        // SAFETY: the handle owns a live, initialized instance.
        unsafe { self.ptr.as_ref() }
    }

    /// The instance, mutably.
    ///
    /// # Safety
    /// No other reference to the instance may be live (compiled code is not running on it).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn instance_mut(&self) -> &mut Instance {
        // SAFETY: the caller guarantees uniqueness.
        unsafe { &mut *self.ptr.as_ptr() }
    }
}

impl Drop for InstanceHandle {
    fn drop(&mut self) {
        let layout = layout_for(self.instance().runtime());
        let used = self.instance().used_bytes();
        // SAFETY: we own the instance; nothing runs on it any more.
        let instance = unsafe { self.instance_mut() };
        // SAFETY: used only while `module`, taken below, is held (it is dropped last).
        let runtime = unsafe { instance.runtime_detached() };
        // The module (and through it the engine and its allocator) must outlive the block: moved out
        // rather than cloned, as several threads instantiating one module would contend on its count.
        // SAFETY: taken once; `drop_in_place` below leaves the `ManuallyDrop` field alone.
        let module = unsafe { ManuallyDrop::take(&mut instance.module) };
        let allocator = &*runtime.allocator;
        std::mem::take(&mut instance.memories).into_iter().for_each(|m| allocator.deallocate_memory(m));
        std::mem::take(&mut instance.tables).into_iter().for_each(|t| allocator.deallocate_table(t));
        // SAFETY: we own the block, allocated by this allocator with this layout, and drop it once.
        unsafe {
            std::ptr::drop_in_place(self.ptr.as_ptr());
            allocator.deallocate_instance(self.ptr.cast(), layout, used);
        }
        drop(module);
    }
}

impl Instance {
    /// The instance that owns `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be the VMContext of a live instance (not of a host function).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn from_vmctx<'a>(vmctx: *mut VMContext) -> &'a mut Instance {
        // SAFETY: the VMContext is the last field of an `Instance`, per the caller's guarantee.
        unsafe { &mut *vmctx.byte_sub(std::mem::offset_of!(Instance, vmctx)).cast::<Instance>() }
    }

    /// The owner of the module this is an instance of (the embedding API's module behind `Any`).
    pub fn module(&self) -> &Arc<dyn ModuleRuntime> {
        &self.module
    }

    /// The module this is an instance of, as the runtime sees it.
    pub fn runtime(&self) -> &ModuleRuntimeInfo {
        // SAFETY: used only while `self` is borrowed, so while `self.module` is held.
        unsafe { self.runtime_detached() }
    }

    /// [`Instance::runtime`], not tied to a borrow of `self`, so that fields of `self` can be written
    /// while it is read.
    ///
    /// # Safety
    /// The reference must not be used once `self.module` is dropped: until then the module's owner
    /// keeps the pointee alive and unchanged (the contract of [`ModuleRuntime`]).
    unsafe fn runtime_detached<'a>(&self) -> &'a ModuleRuntimeInfo {
        // SAFETY: `runtime` came from `module.runtime_info()`, valid as long as `module` is held,
        // which the caller guarantees for the reference's uses.
        unsafe { self.runtime.as_ref() }
    }

    /// The VMContext pointer compiled code receives.
    pub fn vmctx(&self) -> *mut VMContext {
        (&self.vmctx as *const VMContext).cast_mut()
    }

    fn vmctx_field<T>(&self, offset: u32) -> *mut T {
        // SAFETY: offsets come from the module's `VMOffsets`, which sized this block.
        unsafe { self.vmctx().byte_add(offset as usize).cast::<T>() }
    }

    /// # Safety
    /// Called once, on a zeroed VMContext sized for the module.
    unsafe fn init_vmctx(&mut self, store_ctx: *mut VMStoreContext, imports: &Imports) {
        // SAFETY: `self.module` is held for the whole call.
        let module = unsafe { self.runtime_detached() };
        let info = &module.info;
        let o = &info.offsets;
        // SAFETY: each offset comes from the module's VMOffsets, so every write below is inside the
        // VMContext block and suitably aligned; the import pointers are live (checked by the linker).
        unsafe {
            self.vmctx_field::<u32>(vmoffsets::VMCTX_MAGIC).write(VMCONTEXT_MAGIC);
            self.vmctx_field::<*const VMBuiltins>(vmoffsets::VMCTX_BUILTINS).write(&BUILTINS);
            self.vmctx_field::<*mut VMStoreContext>(vmoffsets::VMCTX_STORE_CTX).write(store_ctx);
            self.vmctx_field::<*const u32>(vmoffsets::VMCTX_TYPE_IDS).write(module.type_ids.as_ptr());
            for (i, &f) in (0u32..).zip(imports.funcs) {
                let import = VMFunctionImport { wasm_call: (*f).wasm_call, vmctx: (*f).vmctx, func_ref: f };
                self.vmctx_field::<VMFunctionImport>(o.imported_function(FuncIndex(i))).write(import);
            }
            for (i, t) in (0u32..).zip(imports.tables) {
                let def = (**t).vmdef_ptr();
                self.vmctx_field::<*mut VMTableDefinition>(o.imported_table(TableIndex(i))).write(def);
            }
            for (i, m) in (0u32..).zip(imports.memories) {
                let def = (**m).vmdef_ptr();
                self.vmctx_field::<*mut VMMemoryDefinition>(o.imported_memory(MemoryIndex(i))).write(def);
            }
            for (i, g) in (0u32..).zip(imports.globals) {
                self.vmctx_field::<*mut VMGlobalDefinition>(o.imported_global(GlobalIndex(i))).write(*g);
            }
            let vmctx = self.vmctx();
            for (i, memory) in (0u32..).zip(self.memories.iter_mut()) {
                let def = vmctx.byte_add(o.defined_memory(DefinedMemoryIndex(i)) as usize).cast::<VMMemoryDefinition>();
                memory.set_vmdef(def);
            }
            for (i, table) in (0u32..).zip(self.tables.iter_mut()) {
                let def = vmctx.byte_add(o.defined_table(DefinedTableIndex(i)) as usize).cast::<VMTableDefinition>();
                table.set_vmdef(def);
            }
            // Function references are made on first use (`func_ref`), tables' elements too (their
            // template): none is written here.
            if let Some(templates) = module.table_templates.as_deref() {
                let vmctx = self.vmctx();
                for (table, template) in self.tables.iter_mut().zip(templates.iter()) {
                    if let Some(template) = template {
                        table.set_template(template, vmctx);
                    }
                }
            }
            for (i, g) in (0u32..).zip(&info.globals).skip(info.num_imported_globals as usize) {
                let value = self.eval_const(g.init.as_ref().expect("defined globals have an initializer"));
                (*self.global_ptr(i)).set_u64(value);
            }
        }
    }

    /// Evaluates a constant expression to a raw 64-bit slot.
    pub fn eval_const(&self, e: &ConstExpr) -> u64 {
        match *e {
            ConstExpr::I32(v) => v as u32 as u64,
            ConstExpr::I64(v) => v as u64,
            ConstExpr::F32(v) => v as u64,
            ConstExpr::F64(v) => v,
            ConstExpr::RefNull => 0,
            ConstExpr::RefFunc(f) => self.func_ref(f) as u64,
            // SAFETY: global pointers in the VMContext are valid while the instance lives.
            ConstExpr::GlobalGet(g) => unsafe { (*self.global_ptr(g)).get_u64() },
        }
    }

    /// The function reference of function `func` (null if a defined function does not escape). The
    /// reference of a defined function is made on first use.
    pub fn func_ref(&self, func: u32) -> *const VMFuncRef {
        let module = self.runtime();
        let info = &module.info;
        match info.defined_func(func) {
            None => {
                let import = self.vmctx_field::<VMFunctionImport>(info.offsets.imported_function(FuncIndex(func)));
                // SAFETY: imports were written at instantiation.
                unsafe { (*import).func_ref }
            }
            Some(d) => match info.escape_index.get(d.index()).copied().expect("defined function index") {
                u32::MAX => std::ptr::null(),
                e => {
                    let ptr = self.vmctx_field::<VMFuncRef>(info.offsets.func_ref(e));
                    // SAFETY: the reference lies in this instance's VMContext, zeroed at allocation;
                    // a reference that was made has a non-null code pointer.
                    unsafe {
                        if (*ptr).wasm_call.is_null() {
                            let ty = info.functions.get(func as usize).copied().expect("function index") as usize;
                            let code = module.function_range(d.index()).0 as usize;
                            ptr.write(VMFuncRef {
                                wasm_call: (module.code_base as *const u8).wrapping_add(code),
                                vmctx: self.vmctx(),
                                type_index: module.type_ids.get(ty).copied().expect("type index"),
                                array_call: module.entry_trampoline(ty),
                            });
                            // `e` < the number of escaping functions, itself a u32 count: no overflow.
                            self.func_refs_made.set(self.func_refs_made.get().max(e.saturating_add(1)));
                        }
                    }
                    ptr
                }
            },
        }
    }

    /// How many bytes of the instance block (header and VMContext) may have been written: everything
    /// but the function references never made.
    fn used_bytes(&self) -> usize {
        let o = &self.runtime().info.offsets;
        // Both small (the block was allocated with their sum): no overflow.
        instance_header_size().saturating_add(o.func_refs_end(self.func_refs_made.get()) as usize)
    }

    /// Memory `index` (imported or defined).
    ///
    /// # Panics
    /// If the module has no memory `index` (validation guarantees it for compiled code).
    pub fn memory(&self, index: u32) -> *mut LinearMemory {
        let index = index as usize;
        let found = match index.checked_sub(self.imported_memories.len()) {
            None => self.imported_memories.get(index).copied(),
            Some(d) => self.memories.get(d).map(|m| (&**m as *const LinearMemory).cast_mut()),
        };
        found.expect("memory index out of range")
    }

    /// Table `index` (imported or defined).
    ///
    /// # Panics
    /// If the module has no table `index` (validation guarantees it for compiled code).
    pub fn table(&self, index: u32) -> *mut Table {
        let index = index as usize;
        let found = match index.checked_sub(self.imported_tables.len()) {
            None => self.imported_tables.get(index).copied(),
            Some(d) => self.tables.get(d).map(|t| (&**t as *const Table).cast_mut()),
        };
        found.expect("table index out of range")
    }

    /// Global `index`'s storage (imported or defined).
    pub fn global_ptr(&self, index: u32) -> *mut VMGlobalDefinition {
        let info = &self.runtime().info;
        let index = GlobalIndex(index);
        match info.defined_global(index) {
            None => {
                let p = self.vmctx_field::<*mut VMGlobalDefinition>(info.offsets.imported_global(index));
                // SAFETY: imports were written at instantiation.
                unsafe { *p }
            }
            Some(defined) => self.vmctx_field(info.offsets.defined_global(defined)),
        }
    }

    /// The bytes of data segment `index`, empty once dropped (active segments are dropped by
    /// instantiation).
    ///
    /// # Panics
    /// If the module has no data segment `index` (validation guarantees it for compiled code).
    pub fn data_segment(&self, index: u32) -> &[u8] {
        let info = &self.runtime().info;
        let seg = info.data.get(index as usize).expect("data segment index out of range");
        if !matches!(seg.mode, DataMode::Passive) || self.dropped_data.get(index as usize) == Some(&true) {
            return &[];
        }
        info.data_bytes.get(seg.bytes.clone()).expect("data segment within the module's data")
    }

    /// Drops data segment `index`.
    pub fn drop_data(&mut self, index: u32) {
        if let Some(d) = self.dropped_data.get_mut(index as usize) {
            *d = true;
        }
    }

    /// The items of element segment `index`, empty once dropped (active and declared segments are
    /// dropped by instantiation).
    fn element_items(&self, index: u32) -> &[ConstExpr] {
        let seg = self.runtime().info.elements.get(index as usize).expect("element segment index out of range");
        if !matches!(seg.mode, ElementMode::Passive) || self.dropped_elements.get(index as usize) == Some(&true) {
            return &[];
        }
        &seg.items
    }

    /// Drops element segment `index`.
    pub fn drop_element(&mut self, index: u32) {
        if let Some(d) = self.dropped_elements.get_mut(index as usize) {
            *d = true;
        }
    }

    /// `table.init`: copies `len` elements of segment `elem` from `src` to table `table` at `dst`.
    pub fn table_init(&mut self, table: u32, elem: u32, dst: u32, src: u32, len: u32) -> Result<(), TrapCode> {
        // The segment's items, while it is not dropped (then none), read from the module while the
        // table, which belongs to `self`, is written.
        // SAFETY: `self.module` is held for the whole call.
        let module = unsafe { self.runtime_detached() };
        let available = self.element_items(elem).len();
        let (src, len) = (src as usize, len as usize);
        let end = src.checked_add(len).filter(|&e| e <= available).ok_or(TrapCode::TableOutOfBounds)?;
        let items = module.info.elements.get(elem as usize).map(|e| e.items.as_ref()).unwrap_or_default();
        let items = items.get(src..end).ok_or(TrapCode::TableOutOfBounds)?;
        self.write_elements(table, dst, items)
    }

    /// Writes `items` into table `table` at `dst` (all or nothing).
    fn write_elements(&mut self, table: u32, dst: u32, items: &[ConstExpr]) -> Result<(), TrapCode> {
        // SAFETY: table pointers are valid while the instance lives; no other reference is live.
        let table = unsafe { &mut *self.table(table) };
        if (dst as usize).checked_add(items.len()).is_none_or(|e| e > table.size() as usize) {
            return Err(TrapCode::TableOutOfBounds);
        }
        // `dst + items.len()` is within the table (a u32 size): the indices below never overflow.
        for (index, item) in (dst..).zip(items) {
            table.set(index, slot_ref(self.eval_const(item)));
        }
        Ok(())
    }

    /// `memory.init`: copies `len` bytes of data segment `data` from `src` to memory `mem` at `dst`.
    pub fn memory_init(&mut self, mem: u32, data: u32, dst: u32, src: u32, len: u32) -> Result<(), TrapCode> {
        // As in `table_init`: the segment's bytes are the module's, read while memory is written.
        // SAFETY: `self.module` is held for the whole call.
        let module = unsafe { self.runtime_detached() };
        let available = self.data_segment(data).len();
        let (src, len) = (src as usize, len as usize);
        let end = src.checked_add(len).filter(|&e| e <= available).ok_or(TrapCode::MemoryOutOfBounds)?;
        let info = &module.info;
        let bytes = info.data.get(data as usize).and_then(|d| info.data_bytes.get(d.bytes.clone())).unwrap_or_default();
        let bytes = bytes.get(src..end).ok_or(TrapCode::MemoryOutOfBounds)?;
        self.write_bytes(mem, dst, bytes)
    }

    /// Writes `bytes` into memory `mem` at `dst` (all or nothing).
    fn write_bytes(&mut self, mem: u32, dst: u32, bytes: &[u8]) -> Result<(), TrapCode> {
        // SAFETY: memory pointers are valid while the instance lives; no other reference is live.
        let memory = unsafe { &mut *self.memory(mem) };
        let dst = dst as usize;
        let end = dst.checked_add(bytes.len()).ok_or(TrapCode::MemoryOutOfBounds)?;
        memory.data_mut().get_mut(dst..end).ok_or(TrapCode::MemoryOutOfBounds)?.copy_from_slice(bytes);
        Ok(())
    }

    /// Applies active element and data segments in order, dropping them (and declared element
    /// segments) as the spec's instantiation does. Stops at the first out-of-bounds segment. Data
    /// segments in the module's memory image (mapped by [`InstanceHandle::new`]) are only dropped; if
    /// an element segment traps, the image's pages are reset to zeros, as no data segment was written.
    pub fn initialize(&mut self) -> Result<(), TrapCode> {
        // SAFETY: `self.module` is held for the whole call.
        let module = unsafe { self.runtime_detached() };
        let info = &module.info;
        // With table templates, the active element segments are in the tables already (made lazily).
        if module.table_templates.is_none() {
            for seg in info.elements.iter() {
                let ElementMode::Active { table, offset } = &seg.mode else { continue };
                let dst = slot_u32(self.eval_const(offset));
                if let Err(trap) = self.write_elements(*table, dst, &seg.items) {
                    // The data segments were never written: functions already stored in an
                    // imported table must see the memory without the image.
                    if let (Some(m), Some((_, image))) = (self.image_memory, module.memory_image()) {
                        // SAFETY: memory pointers are valid while the instance lives; no other
                        // reference is live.
                        let memory = unsafe { &mut *self.memory(m) };
                        memory.unmap_image(image).map_err(|_| trap)?;
                    }
                    return Err(trap);
                }
            }
        }
        if self.image_memory.is_some() {
            return Ok(()); // a memory image holds every active data segment
        }
        for seg in info.data.iter() {
            if let DataMode::Active { memory, offset } = &seg.mode {
                let dst = slot_u32(self.eval_const(offset));
                let bytes = info.data_bytes.get(seg.bytes.clone()).expect("data segment within the module's data");
                self.write_bytes(*memory, dst, bytes)?;
            }
        }
        Ok(())
    }
}

/// The `i32` of a raw slot: its low 32 bits (an `i32` slot holds nothing above them).
#[allow(clippy::cast_possible_truncation)]
fn slot_u32(raw: u64) -> u32 {
    raw as u32
}

/// The reference of a raw slot as a table element: a pointer-sized value, and Spry targets only
/// 64-bit x86 (`vm/signals.rs` refuses others), so nothing is lost.
#[allow(clippy::cast_possible_truncation)]
fn slot_ref(raw: u64) -> usize {
    raw as usize
}

use crate::environ::vmoffsets;
