//! [`Table`]: the embedding API's handle to a table of references (`vm::table::Table`) of a store.

use crate::store::{AsContext, AsContextMut, StoreInner};
use crate::types::{TableType, ValType};
use crate::values::Val;
use crate::vm::table::Table as VmTable;
use anyhow::{bail, Result};

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

    pub(crate) fn vm(&self, store: &StoreInner) -> Result<*mut VmTable> {
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
