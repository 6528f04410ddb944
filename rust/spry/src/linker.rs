//! [`Linker`]: resolves a module's imports by name, from host functions (defined once, usable in any
//! store) and from items of a store (other instances' exports, host memories, tables, globals).

use crate::engine::Engine;
use crate::func::{Caller, HostFunc};
use crate::instance::{check_import, Extern, Instance};
use crate::instance_pre::InstancePre;
use crate::module::Module;
use crate::store::{AsContextMut, StoreInner};
use crate::types::{ExternType, FuncType};
use crate::values::Val;
use anyhow::{anyhow, bail, Result};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
enum Definition {
    Extern(Extern),
    HostFunc(Arc<HostFunc>),
}

/// Resolves imports by `(module, name)`. Shareable across threads; host functions defined in it can
/// be instantiated in any store of its engine.
#[derive(Clone)]
pub struct Linker {
    engine: Engine,
    defs: HashMap<(String, String), Definition>,
    allow_shadowing: bool,
}

impl Linker {
    /// An empty linker for `engine`.
    pub fn new(engine: &Engine) -> Linker {
        Linker { engine: engine.clone(), defs: HashMap::new(), allow_shadowing: false }
    }

    /// Whether a later definition may replace an earlier one of the same name (default: error).
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    fn insert(&mut self, module: &str, name: &str, def: Definition) -> Result<&mut Self> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.defs.contains_key(&key) {
            bail!("import `{module}::{name}` is already defined");
        }
        self.defs.insert(key, def);
        Ok(self)
    }

    /// Defines `module::name` as a store item (it can then only be used with that store).
    pub fn define(&mut self, module: &str, name: &str, item: impl Into<Extern>) -> Result<&mut Self> {
        self.insert(module, name, Definition::Extern(item.into()))
    }

    /// Defines a host function over [`Val`]s.
    pub fn func_new(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let host = HostFunc::new_typed(&self.engine, ty, f)?;
        self.insert(module, name, Definition::HostFunc(host))
    }

    /// Defines a host function over raw 64-bit slots: the fastest form (see
    /// [`crate::Func::call_unchecked`] for the slot layout).
    ///
    /// # Safety
    /// Reference results written to the slots must be null or valid references of the calling store.
    pub unsafe fn func_new_unchecked(
        &mut self,
        module: &str,
        name: &str,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &mut [u64]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<&mut Self> {
        let host = HostFunc::new_raw(&self.engine, ty, Box::new(f))?;
        self.insert(module, name, Definition::HostFunc(host))
    }

    /// Defines every export of `instance` under `module`.
    pub fn instance(&mut self, mut store: impl AsContextMut, module: &str, instance: Instance) -> Result<&mut Self> {
        let exports = instance.exports(store.as_context_mut());
        for (name, item) in exports {
            self.define(module, &name, item)?;
        }
        Ok(self)
    }

    /// The definition of `module::name` as an item of `store`.
    /// (`None` also if the trampolines of a host function could not be compiled.)
    pub fn get(&self, mut store: impl AsContextMut, module: &str, name: &str) -> Option<Extern> {
        let store = store.as_context_mut().inner();
        self.resolve(store, module, name).ok().flatten()
    }

    fn resolve(&self, store: &mut StoreInner, module: &str, name: &str) -> Result<Option<Extern>> {
        Ok(match self.defs.get(&(module.to_string(), name.to_string())) {
            None => None,
            Some(Definition::Extern(e)) => Some(*e),
            Some(Definition::HostFunc(h)) => Some(Extern::Func(store.host_func(h)?)),
        })
    }

    /// Resolves and type-checks `module`'s imports once, for instantiating it many times, in any
    /// store of the engine, with [`InstancePre::instantiate`].
    ///
    /// Every import must be defined as a host function ([`Linker::func_new`],
    /// [`Linker::func_new_unchecked`]): store items ([`Linker::define`], [`Linker::instance`]) belong
    /// to one store, while an `InstancePre` serves every store, so they are an error here (use
    /// [`Linker::instantiate`] for them).
    ///
    /// Errors: an import not defined ("unknown import"), one of the wrong type ("incompatible import
    /// type"), one defined as a store item, a module of another engine.
    pub fn instantiate_pre(&self, module: &Module) -> Result<InstancePre> {
        if !self.engine.same(module.engine()) {
            bail!("linker and module belong to different engines");
        }
        let mut funcs = Vec::with_capacity(module.info().imports.len());
        for import in module.imports() {
            let (m, n) = (&import.module, &import.name);
            let def = self
                .defs
                .get(&(m.clone(), n.clone()))
                .ok_or_else(|| anyhow!("unknown import: `{m}::{n}` has not been defined"))?;
            let host = match def {
                Definition::HostFunc(h) => h,
                Definition::Extern(_) => {
                    bail!("InstancePre requires imports defined as host functions; `{m}::{n}` is a store item")
                }
            };
            let actual = ExternType::Func(host.ty.clone());
            if actual != import.ty {
                bail!("incompatible import type: expected {:?}, found {actual:?} (import `{m}::{n}`)", import.ty);
            }
            funcs.push(host.clone());
        }
        InstancePre::new(&self.engine, module, funcs)
    }

    /// Resolves `module`'s imports and instantiates it in `store`.
    ///
    /// Errors: an import not defined ("unknown import"), one of the wrong type ("incompatible import
    /// type"), a trap while applying segments or in the start function.
    pub fn instantiate(&self, mut store: impl AsContextMut, module: &Module) -> Result<Instance> {
        let mut cx = store.as_context_mut();
        let store = cx.inner_mut();
        if !self.engine.same(&store.engine) {
            bail!("linker and store belong to different engines");
        }
        let mut items = Vec::with_capacity(module.info().imports.len());
        for import in module.imports() {
            let item = self
                .resolve(store, &import.module, &import.name)?
                .ok_or_else(|| anyhow!("unknown import: `{}::{}` has not been defined", import.module, import.name))?;
            check_import(store, &item, &import.ty)
                .map_err(|e| anyhow!("{e} (import `{}::{}`)", import.module, import.name))?;
            items.push(item);
        }
        // The borrow of the store ends here: instantiation may run the start function.
        Instance::instantiate(cx, module, &items)
    }
}
