//! [`InstancePre`]: a module whose imports a [`crate::Linker`] has resolved and type-checked once,
//! ready to be instantiated many times, in any store of its engine.

use crate::engine::Engine;
use crate::func::HostFunc;
use crate::instance::Instance;
use crate::module::Module;
use crate::store::AsContextMut;
use crate::vm::instance::Imports;
use crate::vm::vmcontext::VMFuncRef;
use anyhow::{bail, Result};
use std::sync::Arc;

/// The resolved imports of an `InstancePre`, shared by all its instances: the host functions and
/// their references, in the module's import order, ready to be written into a VMContext.
struct SharedImports {
    /// Keeps the host functions (and so their contexts, which `refs` point into) alive.
    _funcs: Box<[Arc<HostFunc>]>,
    refs: Box<[*const VMFuncRef]>,
}

// SAFETY: `refs` point into the host functions `_funcs` owns, which are `Send + Sync` and not
// written after `HostFunc::func_ref` returned them.
unsafe impl Send for SharedImports {}
// SAFETY: as above.
unsafe impl Sync for SharedImports {}

/// A module with its imports resolved and type-checked (see [`crate::Linker::instantiate_pre`]).
///
/// Its imports are host functions, which belong to no store, held in one shared block. Instantiating
/// does not look names up, check types, or create anything in the store for them: each instance takes
/// one reference to the block (one atomic increment) and copies the function references into its
/// VMContext. Cheap to clone; `Send` and `Sync`, so one `InstancePre` can serve many threads at once.
#[derive(Clone)]
pub struct InstancePre {
    engine: Engine,
    module: Module,
    imports: Arc<SharedImports>,
}

impl InstancePre {
    pub(crate) fn new(engine: &Engine, module: &Module, funcs: Vec<Arc<HostFunc>>) -> Result<InstancePre> {
        let refs = funcs.iter().map(|h| h.func_ref()).collect::<Result<_>>()?;
        let imports = Arc::new(SharedImports { _funcs: funcs.into(), refs });
        Ok(InstancePre { engine: engine.clone(), module: module.clone(), imports })
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
        let cx = store.as_context_mut();
        if !self.engine.same(&cx.inner_ref().engine) {
            bail!("instance pre and store belong to different engines");
        }
        let keep =
            (!self.imports.refs.is_empty()).then(|| self.imports.clone() as Arc<dyn std::any::Any + Send + Sync>);
        let imports = Imports { funcs: &self.imports.refs, keep, ..Imports::default() };
        Instance::instantiate_resolved(cx, &self.module, imports)
    }
}
