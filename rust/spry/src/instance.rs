//! [`Instance`], and [`Extern`]: what an instance exports (a [`Func`], [`Memory`], [`Global`] or
//! [`Table`], each in its own file) or a module imports.

use crate::environ::info::EntityIndex;
use crate::func::{invoke, Func};
use crate::global::Global;
use crate::memory::Memory;
use crate::module::Module;
use crate::store::{AsContext, AsContextMut, StoreContext, StoreContextMut, StoreInner};
use crate::table::Table;
use crate::trap::Trap;
use crate::types::ExternType;
use crate::vm::instance::{Imports, Instance as VmInstance};
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
    let info = &instance.runtime().info;
    let (_, index) = info.exports.iter().find(|(n, _)| n == name)?;
    Some(entity_extern(store, instance, *index))
}

fn entity_extern(store: &mut StoreInner, instance: &VmInstance, index: EntityIndex) -> Extern {
    let info = &instance.runtime().info;
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
        self.vm(store.as_context().0).ok().and_then(|i| Module::from_runtime(i.module()))
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
        let info = &instance.runtime().info;
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
