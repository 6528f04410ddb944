//! Tables: growable arrays of pointer-sized references (0 is null) that compiled code reads through
//! a [`VMTableDefinition`].

use super::vmcontext::VMTableDefinition;
use crate::types::TableType;
use anyhow::{bail, Result};

/// The most elements a table may have, whatever its declared maximum.
pub const MAX_TABLE_ELEMENTS: u32 = 10_000_000;

/// A table.
pub struct Table {
    elements: Vec<usize>,
    ty: TableType,
    vmdef: *mut VMTableDefinition,
}

// SAFETY: a table is owned by one store, used by one thread at a time.
unsafe impl Send for Table {}

impl Table {
    /// A table of type `ty` with every element set to `init`.
    pub fn new(ty: &TableType, init: usize) -> Result<Table> {
        if ty.minimum > MAX_TABLE_ELEMENTS {
            bail!("table of {} elements exceeds the limit of {MAX_TABLE_ELEMENTS}", ty.minimum);
        }
        Ok(Table { elements: vec![init; ty.minimum as usize], ty: *ty, vmdef: std::ptr::null_mut() })
    }

    /// Points the table at the definition compiled code reads, and fills it in.
    ///
    /// # Safety
    /// `vmdef` must stay valid for as long as the table is used.
    pub unsafe fn set_vmdef(&mut self, vmdef: *mut VMTableDefinition) {
        self.vmdef = vmdef;
        self.update_vmdef();
    }

    fn update_vmdef(&mut self) {
        if !self.vmdef.is_null() {
            let def = VMTableDefinition { base: self.elements.as_mut_ptr(), current_elements: self.elements.len() };
            // SAFETY: `set_vmdef`'s contract keeps `vmdef` valid.
            unsafe { self.vmdef.write(def) };
        }
    }

    /// The table's type, with its current size as the minimum.
    pub fn ty(&self) -> TableType {
        TableType { minimum: self.size(), ..self.ty }
    }

    /// Current number of elements.
    pub fn size(&self) -> u32 {
        self.elements.len() as u32
    }

    /// Grows by `delta` elements set to `init`. Returns the old size, or `None` past the maximum.
    pub fn grow(&mut self, delta: u32, init: usize) -> Option<u32> {
        let old = self.size();
        let max = self.ty.maximum.unwrap_or(u32::MAX).min(MAX_TABLE_ELEMENTS);
        let new = old.checked_add(delta).filter(|n| *n <= max)?;
        if self.elements.try_reserve_exact(delta as usize).is_err() {
            return None;
        }
        self.elements.resize(new as usize, init);
        self.update_vmdef();
        Some(old)
    }

    /// The elements.
    pub fn elements(&self) -> &[usize] {
        &self.elements
    }

    /// The elements, mutably.
    pub fn elements_mut(&mut self) -> &mut [usize] {
        &mut self.elements
    }
}

impl Table {
    /// Where the definition compiled code reads lives (null before `set_vmdef`).
    pub fn vmdef_ptr(&self) -> *mut VMTableDefinition {
        self.vmdef
    }
}
