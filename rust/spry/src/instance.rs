//! [`Instance`] and the things it exports: [`Extern`], [`Memory`], [`Global`], [`Table`].

use crate::environ::info::EntityIndex;
use crate::func::{invoke, Func};
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, StoreContext, StoreContextMut, StoreInner};
use crate::trap::Trap;
use crate::types::{ExternType, GlobalType, MemoryType, TableType, ValType};
use crate::values::Val;
use crate::vm::instance::{Imports, Instance as VmInstance};
use crate::vm::memory::LinearMemory;
use crate::vm::table::Table as VmTable;
use anyhow::{anyhow, bail, Result};

/// An instantiated module. A small handle into its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

/// Something an instance exports or a module imports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A global.
    Global(Global),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        if let Extern::Func(f) = self {
            Some(f)
        } else {
            None
        }
    }
    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        if let Extern::Global(g) = self {
            Some(g)
        } else {
            None
        }
    }
    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        if let Extern::Table(t) = self {
            Some(t)
        } else {
            None
        }
    }
    /// The memory, if this is one.
    pub fn into_memory(self) -> Option<Memory> {
        if let Extern::Memory(m) = self {
            Some(m)
        } else {
            None
        }
    }

    /// The item's type (for memories and tables, with the current size as the minimum).
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        let s = store.as_context();
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(&s)),
            Extern::Global(g) => ExternType::Global(g.ty(&s)),
            Extern::Table(t) => ExternType::Table(t.ty(&s)),
            Extern::Memory(m) => ExternType::Memory(m.ty(&s)),
        }
    }

    /// Checks that the handle names a live item of `store`: an error for a forged handle or one of
    /// another store (for the C surface, whose handles arrive as raw parts).
    #[doc(hidden)]
    pub fn check(&self, store: impl AsContext) -> Result<()> {
        let store = store.as_context().0;
        match self {
            Extern::Func(f) => store.func_data(*f).map(drop),
            Extern::Global(g) => g.data(store).map(drop),
            Extern::Table(t) => t.vm(store).map(drop),
            Extern::Memory(m) => m.vm(store).map(drop),
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}

/// The export `name` of `instance`, registered in `store`.
pub(crate) fn export_of(store: &mut StoreInner, instance: &VmInstance, name: &str) -> Option<Extern> {
    let info = instance.module().info();
    let (_, index) = info.exports.iter().find(|(n, _)| n == name)?;
    Some(entity_extern(store, instance, *index))
}

fn entity_extern(store: &mut StoreInner, instance: &VmInstance, index: EntityIndex) -> Extern {
    let info = instance.module().info();
    let id = store.id;
    match index {
        EntityIndex::Func(f) => {
            // SAFETY: an instance's function references are live while the store is.
            let func = unsafe { store.func_from_ref(instance.func_ref(f)) };
            Extern::Func(func.expect("exported functions have a function reference"))
        }
        EntityIndex::Memory(m) => Extern::Memory(Memory { store: id, index: store.memory_id(instance.memory(m)) }),
        EntityIndex::Table(t) => Extern::Table(Table { store: id, index: store.table_id(instance.table(t)) }),
        EntityIndex::Global(g) => {
            let ty = info.globals[g as usize].ty;
            Extern::Global(Global { store: id, index: store.global_id(instance.global_ptr(g), ty) })
        }
    }
}

fn matches_limits(actual_min: u64, actual_max: Option<u64>, min: u64, max: Option<u64>) -> bool {
    actual_min >= min
        && match max {
            None => true,
            Some(m) => actual_max.is_some_and(|a| a <= m),
        }
}

/// Checks that `item` can satisfy an import of type `expected`.
pub(crate) fn check_import(store: &StoreInner, item: &Extern, expected: &ExternType) -> Result<()> {
    let actual = item.ty(StoreContext(store));
    let ok = match (&actual, expected) {
        (ExternType::Func(a), ExternType::Func(e)) => a == e,
        (ExternType::Global(a), ExternType::Global(e)) => a == e,
        (ExternType::Table(a), ExternType::Table(e)) => {
            a.element == e.element
                && matches_limits(
                    a.minimum as u64,
                    a.maximum.map(u64::from),
                    e.minimum as u64,
                    e.maximum.map(u64::from),
                )
        }
        (ExternType::Memory(a), ExternType::Memory(e)) => matches_limits(a.minimum, a.maximum, e.minimum, e.maximum),
        _ => false,
    };
    if !ok {
        bail!("incompatible import type: expected {expected:?}, found {actual:?}");
    }
    Ok(())
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order.
    pub fn new(mut store: impl AsContextMut, module: &Module, imports: &[Extern]) -> Result<Instance> {
        let cx = store.as_context_mut();
        let store = cx.inner_ref();
        if imports.len() != module.info().imports.len() {
            bail!("expected {} imports, got {}", module.info().imports.len(), imports.len());
        }
        for (item, import) in imports.iter().zip(module.imports()) {
            check_import(store, item, &import.ty)
                .map_err(|e| anyhow!("{e} (import `{}::{}`)", import.module, import.name))?;
        }
        Instance::instantiate(cx, module, imports)
    }

    /// Instantiates with type-checked imports.
    pub(crate) fn instantiate(cx: StoreContextMut<'_>, module: &Module, items: &[Extern]) -> Result<Instance> {
        let store = cx.inner_ref();
        let (mut funcs, mut tables, mut memories, mut globals) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for item in items {
            match item {
                Extern::Func(f) => funcs.push(store.func_data(*f)?.func_ref),
                Extern::Table(t) => tables.push(t.vm(store)?),
                Extern::Memory(m) => memories.push(m.vm(store)?),
                Extern::Global(g) => globals.push(g.data(store)?.def),
            }
        }
        let imports = Imports { funcs: &funcs, tables: &tables, memories: &memories, globals: &globals, keep: None };
        Instance::instantiate_resolved(cx, module, imports)
    }

    /// Instantiates with resolved, type-checked imports, which the store or `imports.keep` keeps
    /// alive. The store is borrowed only until the start function runs (which may call host
    /// functions that use the store; see [`crate::store`]).
    pub(crate) fn instantiate_resolved(
        mut cx: StoreContextMut<'_>,
        module: &Module,
        imports: Imports<'_>,
    ) -> Result<Instance> {
        let store = cx.inner_mut();
        if !module.engine().same(&store.engine) {
            bail!("module and store belong to different engines");
        }
        let index = store.push_instance(module, imports)?; // checks the store's limits
        let handle = &store.instances[index as usize];
        // SAFETY: no Wasm code runs on this instance yet; nothing else references it.
        let instance = unsafe { handle.instance_mut() };
        // The instance stays in the store even if this fails: imported tables may already refer to it.
        instance.initialize().map_err(Trap::new)?;
        let id = store.id;
        if let Some(start) = module.info().start {
            let func_ref = instance.func_ref(start);
            let mut slot = [0u64; 1];
            // SAFETY: the start function takes no arguments and returns nothing; the borrows of the
            // store above end before it runs.
            unsafe { invoke(cx.as_ptr(), func_ref, slot.as_mut_ptr())? };
        }
        Ok(Instance { store: id, index })
    }

    fn vm<'a>(&self, store: &'a StoreInner) -> Result<&'a VmInstance> {
        Ok(store.item(&store.instances, self.store, self.index, "instance")?.instance())
    }

    /// The module this is an instance of.
    pub fn module(&self, store: impl AsContext) -> Option<Module> {
        self.vm(store.as_context().0).ok().map(|i| i.module().clone())
    }

    /// The export `name`.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = store.as_context_mut().inner();
        let instance: *const VmInstance = self.vm(store).ok()?;
        // SAFETY: the instance is owned by the store, which outlives this call; registration only
        // touches the store's handle tables.
        export_of(store, unsafe { &*instance }, name)
    }

    /// Every export, in order.
    pub fn exports(&self, mut store: impl AsContextMut) -> Vec<(String, Extern)> {
        let store = store.as_context_mut().inner();
        let Ok(instance) = self.vm(store) else { return Vec::new() };
        let instance: *const VmInstance = instance;
        // SAFETY: as in `get_export`.
        let instance = unsafe { &*instance };
        let info = instance.module().info();
        info.exports.iter().map(|(name, index)| (name.clone(), entity_extern(store, instance, *index))).collect()
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }
    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }
    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }
    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }
}

/// A linear memory. Its bytes never move: a view stays valid across growth (but does not grow).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Memory {
    /// A new memory of type `ty` owned by `store`.
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        let store = store.as_context_mut().inner();
        store.limits.check_new_memory(&ty)?;
        let engine = &store.engine.inner;
        let mem = engine.allocator.allocate_memory(&ty, &engine.tunables)?;
        let index = store.push_host_memory(mem);
        Ok(Memory { store: store.id, index })
    }

    fn vm(&self, store: &StoreInner) -> Result<*mut LinearMemory> {
        store.item(&store.memories, self.store, self.index, "memory").copied()
    }

    fn get<'a>(&self, store: &'a StoreInner) -> Option<&'a LinearMemory> {
        // SAFETY: memories live as long as their store.
        self.vm(store).ok().map(|m| unsafe { &*m })
    }

    /// The memory's type, with its current size as the minimum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        self.get(store.as_context().0).map(|m| m.ty()).unwrap_or(MemoryType::new(0, None))
    }

    /// Current size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        self.get(store.as_context().0).map_or(0, |m| m.pages())
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        self.get(store.as_context().0).map_or(0, |m| m.byte_size())
    }

    /// The memory's bytes (empty if `store` is not the memory's store).
    pub fn data<'a>(&self, store: impl Into<StoreContext<'a>>) -> &'a [u8] {
        self.get(store.into().0).map_or(&[], |m| m.data())
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a>(&self, store: impl Into<StoreContextMut<'a>>) -> &'a mut [u8] {
        let store = store.into().inner();
        match self.vm(store) {
            // SAFETY: memories live as long as their store, which is borrowed mutably for 'a.
            Ok(m) => unsafe { (*m).data_mut() },
            Err(_) => &mut [],
        }
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`: an error (and nothing read) if the range is
    /// not within the memory's current size (any `offset`, up to `usize::MAX`, is checked, never
    /// wrapped) or `store` is not the memory's store.
    pub fn read(&self, store: impl AsContext, offset: usize, buf: &mut [u8]) -> Result<()> {
        let store = store.as_context().0;
        let m = self.get(store).ok_or_else(|| anyhow!("memory is not a memory of this store"))?;
        let end = offset.checked_add(buf.len());
        let src = end.and_then(|end| m.data().get(offset..end));
        buf.copy_from_slice(src.ok_or_else(|| anyhow!("out of bounds memory access"))?);
        Ok(())
    }

    /// Copies `buf` to the memory at `offset`: an error (and nothing written) if the range is not
    /// within the memory's current size or `store` is not the memory's store.
    pub fn write(&self, mut store: impl AsContextMut, offset: usize, buf: &[u8]) -> Result<()> {
        let store = store.as_context_mut().inner();
        let m = self.vm(store)?;
        // SAFETY: memories live as long as their store, borrowed mutably here.
        let data = unsafe { (*m).data_mut() };
        let end = offset.checked_add(buf.len());
        let dst = end.and_then(|end| data.get_mut(offset..end));
        dst.ok_or_else(|| anyhow!("out of bounds memory access"))?.copy_from_slice(buf);
        Ok(())
    }

    /// Test and diagnostic hook, not a stable API: the id of the copy-on-write memory image mapped
    /// over this memory (see [`crate::Module::memory_image_id`]), `None` when its pages are plain
    /// anonymous memory (or `store` is not the memory's store).
    #[doc(hidden)]
    pub fn mapped_image_id(&self, store: impl AsContext) -> Option<u64> {
        self.get(store.as_context().0).and_then(|m| m.mapped_image())
    }

    /// Grows by `delta` pages; returns the old size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let store = store.as_context_mut().inner();
        let m = self.vm(store)?;
        store.grow_memory(m, delta)
    }
}

/// A global variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Global {
    /// A new global of type `ty` with value `init`, owned by `store`.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, init: Val) -> Result<Global> {
        let store = store.as_context_mut().inner();
        if init.ty() != ty.content {
            bail!("global of type {} initialized with a {}", ty.content, init.ty());
        }
        let raw = init.to_raw(store)?;
        let index = store.push_host_global(ty, raw);
        Ok(Global { store: store.id, index })
    }

    fn data<'a>(&self, store: &'a StoreInner) -> Result<&'a crate::store::GlobalData> {
        store.item(&store.globals, self.store, self.index, "global")
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        self.data(store.as_context().0).map_or(GlobalType::new(ValType::I32, false), |g| g.ty)
    }

    /// The global's value.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = store.as_context_mut().inner();
        let Ok(g) = self.data(store) else { return Val::I32(0) };
        let (ty, def) = (g.ty.content, g.def);
        // SAFETY: globals live as long as their store.
        let raw = unsafe { (*def).get_u64() };
        Val::from_raw(store, raw, ty)
    }

    /// Sets the global's value (it must be mutable and of the right type).
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<()> {
        let store = store.as_context_mut().inner();
        let g = self.data(store)?;
        if !g.ty.mutable {
            bail!("global is immutable");
        }
        if value.ty() != g.ty.content {
            bail!("global of type {} set to a {}", g.ty.content, value.ty());
        }
        let def = g.def;
        let raw = value.to_raw(store)?;
        // SAFETY: globals live as long as their store.
        unsafe { (*def).set_u64(raw) };
        Ok(())
    }
}

/// A table of references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl Table {
    /// A new table of type `ty` with every element set to `init`, owned by `store`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let store = store.as_context_mut().inner();
        if init.ty() != ty.element {
            bail!("table of {} initialized with a {}", ty.element, init.ty());
        }
        store.limits.check_new_table(&ty)?;
        let raw = init.to_raw(store)? as usize;
        let index = store.push_host_table(Box::new(VmTable::new(&ty, raw)?));
        Ok(Table { store: store.id, index })
    }

    fn vm(&self, store: &StoreInner) -> Result<*mut VmTable> {
        store.item(&store.tables, self.store, self.index, "table").copied()
    }

    /// The table's type, with its current size as the minimum.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        // SAFETY: tables live as long as their store.
        self.vm(store.as_context().0).map_or(TableType::new(ValType::FuncRef, 0, None), |t| unsafe { (*t).ty() })
    }

    /// Current number of elements.
    pub fn size(&self, store: impl AsContext) -> u32 {
        // SAFETY: tables live as long as their store.
        self.vm(store.as_context().0).map_or(0, |t| unsafe { (*t).size() })
    }

    /// Element `index`, or `None` if out of bounds.
    pub fn get(&self, mut store: impl AsContextMut, index: u32) -> Option<Val> {
        let store = store.as_context_mut().inner();
        let t = self.vm(store).ok()?;
        // SAFETY: tables live as long as their store, borrowed mutably here (reading a function table
        // may make the element's reference).
        let (raw, ty) = unsafe { ((*t).get(index)?, (*t).ty().element) };
        Some(Val::from_raw(store, raw as u64, ty))
    }

    /// Sets element `index`.
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = store.as_context_mut().inner();
        let t = self.vm(store)?;
        // SAFETY: tables live as long as their store, borrowed mutably here.
        let table = unsafe { &mut *t };
        if value.ty() != table.ty().element {
            bail!("table of {} set to a {}", table.ty().element, value.ty());
        }
        let raw = value.to_raw(store)? as usize;
        if !table.set(index, raw) {
            bail!("table index out of bounds");
        }
        Ok(())
    }

    /// Grows by `delta` elements set to `init`; returns the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u32, init: Val) -> Result<u32> {
        let store = store.as_context_mut().inner();
        let t = self.vm(store)?;
        // SAFETY: tables live as long as their store, borrowed mutably here.
        let table = unsafe { &mut *t };
        if init.ty() != table.ty().element {
            bail!("table of {} grown with a {}", table.ty().element, init.ty());
        }
        let raw = init.to_raw(store)? as usize;
        store.grow_table(t, delta, raw)
    }
}
