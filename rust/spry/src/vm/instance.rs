//! Instances: the runtime state of an instantiated module, allocated as one block with its VMContext
//! at the end, and the initialization that follows the spec's instantiation steps.

use super::builtins::{VMBuiltins, BUILTINS};
use super::memory::LinearMemory;
use super::table::Table;
use super::vmcontext::*;
use crate::module::info::{ConstExpr, DataMode, ElementMode};
use crate::module::Module;
use crate::trap::TrapCode;
use anyhow::Result;
use std::alloc::Layout;
use std::any::Any;
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
    module: Module,
    /// The store that owns the instance (opaque here).
    pub store: *mut (),
    // Boxed: importers point at them, so they must not move.
    #[allow(clippy::vec_box)]
    memories: Vec<Box<LinearMemory>>,
    #[allow(clippy::vec_box)]
    tables: Vec<Box<Table>>,
    imported_memories: Vec<*mut LinearMemory>,
    imported_tables: Vec<*mut Table>,
    dropped_elements: Vec<bool>,
    dropped_data: Vec<bool>,
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

fn layout_for(module: &Module) -> Layout {
    let size = std::mem::offset_of!(Instance, vmctx) + module.info().offsets.size() as usize;
    Layout::from_size_align(size, std::mem::align_of::<Instance>()).expect("instance layout")
}

impl InstanceHandle {
    /// Allocates an instance of `module` with `imports` (already type-checked) and fills its VMContext:
    /// imports, memories, tables, globals and function references. Segments are applied by
    /// [`InstanceHandle::initialize`].
    pub fn new(
        module: &Module,
        store: *mut (),
        store_ctx: *mut VMStoreContext,
        imports: Imports<'_>,
    ) -> Result<InstanceHandle> {
        let info = module.info();
        let engine = &module.engine().inner;
        let allocator = &*engine.allocator;
        // On failure, what was allocated so far goes back to the allocator.
        let mut memories = Vec::new();
        let mut tables = Vec::new();
        let give_back = |memories: Vec<Box<LinearMemory>>, tables: Vec<Box<Table>>| {
            memories.into_iter().for_each(|m| allocator.deallocate_memory(m));
            tables.into_iter().for_each(|t| allocator.deallocate_table(t));
        };
        for (i, ty) in info.memories.iter().enumerate().skip(info.num_imported_memories as usize) {
            let image = module.memory_image().filter(|(m, _)| *m as usize == i).map(|(_, image)| image);
            match allocator.allocate_memory_for_image(ty, &engine.tunables, image) {
                Ok(m) => memories.push(m),
                Err(e) => {
                    give_back(memories, tables);
                    return Err(e);
                }
            }
        }
        // The memory image, if any, replaces the active data segments: map it now.
        let image_memory = module.memory_image().map(|(m, _)| m);
        if let Some((m, image)) = module.memory_image() {
            let memory = &mut memories[(m - info.num_imported_memories) as usize];
            if let Err(e) = allocator.map_memory_image(memory, image) {
                give_back(memories, tables);
                return Err(e);
            }
        }
        for ty in &info.tables[info.num_imported_tables as usize..] {
            match allocator.allocate_table(ty) {
                Ok(t) => tables.push(t),
                Err(e) => {
                    give_back(memories, tables);
                    return Err(e);
                }
            }
        }
        let layout = layout_for(module);
        let ptr = match allocator.allocate_instance(layout) {
            Ok(p) => p.cast::<Instance>(),
            Err(e) => {
                give_back(memories, tables);
                return Err(e);
            }
        };
        let instance = Instance {
            module: module.clone(),
            store,
            memories,
            tables,
            imported_memories: imports.memories.to_vec(),
            imported_tables: imports.tables.to_vec(),
            dropped_elements: vec![false; info.elements.len()],
            dropped_data: vec![false; info.data.len()],
            image_memory,
            _keep: imports.keep.clone(),
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
        let engine = self.instance().module.engine().clone();
        let allocator = &*engine.inner.allocator;
        let layout = layout_for(&self.instance().module);
        // SAFETY: we own the instance; nothing runs on it any more.
        let instance = unsafe { self.instance_mut() };
        std::mem::take(&mut instance.memories).into_iter().for_each(|m| allocator.deallocate_memory(m));
        std::mem::take(&mut instance.tables).into_iter().for_each(|t| allocator.deallocate_table(t));
        // SAFETY: we own the block, allocated by this allocator with this layout, and drop it once.
        unsafe {
            std::ptr::drop_in_place(self.ptr.as_ptr());
            allocator.deallocate_instance(self.ptr.cast(), layout);
        }
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

    /// The module this is an instance of.
    pub fn module(&self) -> &Module {
        &self.module
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
        let module = self.module.clone();
        let info = module.info();
        let o = &info.offsets;
        // SAFETY: each offset comes from the module's VMOffsets, so every write below is inside the
        // VMContext block and suitably aligned; the import pointers are live (checked by the linker).
        unsafe {
            self.vmctx_field::<u32>(vmoffsets::VMCTX_MAGIC).write(VMCONTEXT_MAGIC);
            self.vmctx_field::<*const VMBuiltins>(vmoffsets::VMCTX_BUILTINS).write(&BUILTINS);
            self.vmctx_field::<*mut VMStoreContext>(vmoffsets::VMCTX_STORE_CTX).write(store_ctx);
            self.vmctx_field::<*const u32>(vmoffsets::VMCTX_TYPE_IDS).write(module.type_ids().as_ptr());
            for (i, &f) in imports.funcs.iter().enumerate() {
                let import = VMFunctionImport { wasm_call: (*f).wasm_call, vmctx: (*f).vmctx, func_ref: f };
                self.vmctx_field::<VMFunctionImport>(o.imported_function(i as u32)).write(import);
            }
            for (i, t) in imports.tables.iter().enumerate() {
                let def = (**t).vmdef_ptr();
                self.vmctx_field::<*mut VMTableDefinition>(o.imported_table(i as u32)).write(def);
            }
            for (i, m) in imports.memories.iter().enumerate() {
                let def = (**m).vmdef_ptr();
                self.vmctx_field::<*mut VMMemoryDefinition>(o.imported_memory(i as u32)).write(def);
            }
            for (i, g) in imports.globals.iter().enumerate() {
                self.vmctx_field::<*mut VMGlobalDefinition>(o.imported_global(i as u32)).write(*g);
            }
            for i in 0..self.memories.len() {
                let def = self.vmctx_field::<VMMemoryDefinition>(o.defined_memory(i as u32));
                self.memories[i].set_vmdef(def);
            }
            for i in 0..self.tables.len() {
                let def = self.vmctx_field::<VMTableDefinition>(o.defined_table(i as u32));
                self.tables[i].set_vmdef(def);
            }
            // Function references come before globals: a global may hold `ref.func`.
            let code = module.code_base();
            for (defined, &escape) in info.escape_index.iter().enumerate() {
                if escape == u32::MAX {
                    continue;
                }
                let func = info.num_imported_funcs + defined as u32;
                let ty = info.functions[func as usize] as usize;
                let func_ref = VMFuncRef {
                    wasm_call: (code + module.function_range(defined).0 as usize) as *const u8,
                    vmctx: self.vmctx(),
                    type_index: module.type_ids()[ty],
                    array_call: module.entry_trampoline(ty),
                };
                self.vmctx_field::<VMFuncRef>(o.func_ref(escape)).write(func_ref);
            }
            for (i, g) in info.globals.iter().enumerate().skip(info.num_imported_globals as usize) {
                let value = self.eval_const(g.init.as_ref().expect("defined globals have an initializer"));
                (*self.global_ptr(i as u32)).set_u64(value);
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

    /// The function reference of function `func` (null if a defined function does not escape).
    pub fn func_ref(&self, func: u32) -> *const VMFuncRef {
        let info = self.module.info();
        match info.defined_func(func) {
            None => {
                let import = self.vmctx_field::<VMFunctionImport>(info.offsets.imported_function(func));
                // SAFETY: imports were written at instantiation.
                unsafe { (*import).func_ref }
            }
            Some(d) => match info.escape_index[d as usize] {
                u32::MAX => std::ptr::null(),
                e => self.vmctx_field::<VMFuncRef>(info.offsets.func_ref(e)),
            },
        }
    }

    /// Memory `index` (imported or defined).
    pub fn memory(&self, index: u32) -> *mut LinearMemory {
        let n = self.imported_memories.len() as u32;
        if index < n {
            self.imported_memories[index as usize]
        } else {
            (&*self.memories[(index - n) as usize] as *const LinearMemory).cast_mut()
        }
    }

    /// Table `index` (imported or defined).
    pub fn table(&self, index: u32) -> *mut Table {
        let n = self.imported_tables.len() as u32;
        if index < n {
            self.imported_tables[index as usize]
        } else {
            (&*self.tables[(index - n) as usize] as *const Table).cast_mut()
        }
    }

    /// Global `index`'s storage (imported or defined).
    pub fn global_ptr(&self, index: u32) -> *mut VMGlobalDefinition {
        let info = self.module.info();
        if index < info.num_imported_globals {
            let p = self.vmctx_field::<*mut VMGlobalDefinition>(info.offsets.imported_global(index));
            // SAFETY: imports were written at instantiation.
            unsafe { *p }
        } else {
            self.vmctx_field(info.offsets.defined_global(index - info.num_imported_globals))
        }
    }

    /// The bytes of data segment `index`, empty once dropped.
    pub fn data_segment(&self, index: u32) -> &[u8] {
        if self.dropped_data[index as usize] {
            return &[];
        }
        let info = self.module.info();
        &info.data_bytes[info.data[index as usize].bytes.clone()]
    }

    /// Drops data segment `index`.
    pub fn drop_data(&mut self, index: u32) {
        self.dropped_data[index as usize] = true;
    }

    /// The number of elements of element segment `index` (0 once dropped).
    pub fn element_len(&self, index: u32) -> usize {
        if self.dropped_elements[index as usize] {
            0
        } else {
            self.module.info().elements[index as usize].items.len()
        }
    }

    /// Drops element segment `index`.
    pub fn drop_element(&mut self, index: u32) {
        self.dropped_elements[index as usize] = true;
    }

    /// `table.init`: copies `len` elements of segment `elem` from `src` to table `table` at `dst`.
    pub fn table_init(&mut self, table: u32, elem: u32, dst: u32, src: u32, len: u32) -> Result<(), TrapCode> {
        let seg_len = self.element_len(elem);
        // SAFETY: table pointers are valid while the instance lives; no other reference is live.
        let table = unsafe { &mut *self.table(table) };
        let (dst, src, len) = (dst as usize, src as usize, len as usize);
        if src.checked_add(len).is_none_or(|e| e > seg_len)
            || dst.checked_add(len).is_none_or(|e| e > table.elements().len())
        {
            return Err(TrapCode::TableOutOfBounds);
        }
        let module = self.module.clone();
        let items = &module.info().elements[elem as usize].items[src..src + len];
        for (slot, item) in table.elements_mut()[dst..dst + len].iter_mut().zip(items) {
            *slot = self.eval_const(item) as usize;
        }
        Ok(())
    }

    /// `memory.init`: copies `len` bytes of data segment `data` from `src` to memory `mem` at `dst`.
    pub fn memory_init(&mut self, mem: u32, data: u32, dst: u32, src: u32, len: u32) -> Result<(), TrapCode> {
        // SAFETY: memory pointers are valid while the instance lives; no other reference is live.
        let memory = unsafe { &mut *self.memory(mem) };
        let bytes = self.data_segment(data);
        let (dst, src, len) = (dst as usize, src as usize, len as usize);
        if src.checked_add(len).is_none_or(|e| e > bytes.len())
            || dst.checked_add(len).is_none_or(|e| e > memory.byte_size())
        {
            return Err(TrapCode::MemoryOutOfBounds);
        }
        memory.data_mut()[dst..dst + len].copy_from_slice(&bytes[src..src + len]);
        Ok(())
    }

    /// Applies active element and data segments in order, dropping them (and declared element
    /// segments) as the spec's instantiation does. Stops at the first out-of-bounds segment. Data
    /// segments in the module's memory image (mapped by [`InstanceHandle::new`]) are only dropped; if
    /// an element segment traps, the image's pages are reset to zeros, as no data segment was written.
    pub fn initialize(&mut self) -> Result<(), TrapCode> {
        let module = self.module.clone();
        let info = module.info();
        for (i, seg) in info.elements.iter().enumerate() {
            match &seg.mode {
                ElementMode::Active { table, offset } => {
                    let dst = self.eval_const(offset) as u32;
                    if let Err(trap) = self.table_init(*table, i as u32, dst, 0, seg.items.len() as u32) {
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
                    self.drop_element(i as u32);
                }
                ElementMode::Declared => self.drop_element(i as u32),
                ElementMode::Passive => {}
            }
        }
        for (i, seg) in info.data.iter().enumerate() {
            if let DataMode::Active { memory, offset } = &seg.mode {
                if self.image_memory == Some(*memory) {
                    // Already in the memory image: only drop it.
                    self.drop_data(i as u32);
                    continue;
                }
                let dst = self.eval_const(offset) as u32;
                self.memory_init(*memory, i as u32, dst, 0, seg.bytes.len() as u32)?;
                self.drop_data(i as u32);
            }
        }
        Ok(())
    }
}

use super::vmoffsets;
