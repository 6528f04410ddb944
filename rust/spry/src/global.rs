//! [`Global`]: the embedding API's handle to a global variable of a store.

use crate::store::{AsContext, AsContextMut, GlobalData, StoreInner};
use crate::types::{GlobalType, ValType};
use crate::values::Val;
use anyhow::{bail, Result};

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

    pub(crate) fn data<'a>(&self, store: &'a StoreInner) -> Result<&'a GlobalData> {
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
