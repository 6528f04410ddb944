//! [`InstancePre`]: a module whose imports a [`crate::Linker`] has resolved and type-checked once,
//! ready to be instantiated many times, in any store of its engine.

use crate::engine::Engine;
use crate::func::HostFunc;
use crate::instance::{Extern, Instance};
use crate::linker::host_func_in;
use crate::module::Module;
use crate::store::AsContextMut;
use anyhow::{bail, Result};
use std::sync::Arc;

/// A store's functions for the imports of an [`InstancePre`], with the block they were made from
/// (which keeps its address from being reused while the store caches them).
pub(crate) type PreImports = (Arc<[Arc<HostFunc>]>, Arc<[Extern]>);

/// A module with its imports resolved and type-checked (see [`crate::Linker::instantiate_pre`]).
///
/// Its imports are host functions, independent of any store, held in one shared block. Instantiating
/// does not look names up or check types again: it creates the host functions in the store (once
/// per store, shared with the linker's own cache), then instantiates. Cheap to clone; `Send` and
/// `Sync`, so one `InstancePre` can serve many threads at once.
#[derive(Clone)]
pub struct InstancePre {
    engine: Engine,
    module: Module,
    /// The resolved imports, in the module's import order (all imports are functions).
    funcs: Arc<[Arc<HostFunc>]>,
}

impl InstancePre {
    pub(crate) fn new(engine: &Engine, module: &Module, funcs: Arc<[Arc<HostFunc>]>) -> InstancePre {
        InstancePre { engine: engine.clone(), module: module.clone(), funcs }
    }

    /// The module.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Instantiates the module in `store`: applies its data and element segments and runs its start
    /// function.
    ///
    /// Errors: a store of another engine, a trap while applying segments or in the start function
    /// (as with [`crate::Linker::instantiate`], the instance then stays in the store).
    pub fn instantiate(&self, mut store: impl AsContextMut) -> Result<Instance> {
        let store = store.as_context_mut().0;
        if !self.engine.same(&store.engine) {
            bail!("instance pre and store belong to different engines");
        }
        if self.funcs.is_empty() {
            return Instance::instantiate(store, &self.module, &[]);
        }
        // The store's functions for this block: one lookup per instance, one atomic increment.
        let key = Arc::as_ptr(&self.funcs) as *const () as usize;
        let items: Arc<[Extern]> = match store.pre_imports.get(&key) {
            Some((_, items)) => items.clone(),
            None => {
                let items: Arc<[Extern]> = self.funcs.iter().map(|h| Extern::Func(host_func_in(store, h))).collect();
                store.pre_imports.insert(key, (self.funcs.clone(), items.clone()));
                items
            }
        };
        Instance::instantiate(store, &self.module, &items)
    }
}
