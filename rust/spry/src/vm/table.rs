//! Tables: growable arrays of pointer-sized references (0 is null) that compiled code reads through
//! a [`VMTableDefinition`].

use super::vmcontext::VMTableDefinition;
use crate::types::TableType;
use anyhow::{bail, Result};

/// The most elements a table may have, whatever its declared maximum.
pub const MAX_TABLE_ELEMENTS: u32 = 10_000_000;

/// Where a table's elements live.
enum Storage {
    /// On the heap, reallocated as the table grows.
    Heap(Vec<usize>),
    /// In slot `slot` of a pooling allocator's table pool: `capacity` elements at `base`, of which
    /// the first `len` are the table's; the rest are zero.
    Slot { base: *mut usize, len: usize, capacity: usize, slot: u32 },
}

/// A table.
pub struct Table {
    storage: Storage,
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
        Ok(Table { storage: Storage::Heap(vec![init; ty.minimum as usize]), ty: *ty, vmdef: std::ptr::null_mut() })
    }

    /// A table of type `ty` (every element null) in slot `slot` of a table pool: `capacity` zeroed
    /// elements at `base`. The table never grows past `capacity`.
    ///
    /// # Safety
    /// The slot must be zeroed, stay valid and be used by nothing else until the table is given back;
    /// `ty.minimum <= capacity`.
    pub unsafe fn in_pool_slot(ty: &TableType, base: *mut usize, capacity: usize, slot: u32) -> Table {
        debug_assert!(ty.minimum as usize <= capacity);
        let storage = Storage::Slot { base, len: ty.minimum as usize, capacity, slot };
        Table { storage, ty: *ty, vmdef: std::ptr::null_mut() }
    }

    /// The pool slot holding the elements (`None` for a heap table).
    pub fn pool_slot(&self) -> Option<u32> {
        match self.storage {
            Storage::Heap(_) => None,
            Storage::Slot { slot, .. } => Some(slot),
        }
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
            let elements = self.elements_mut();
            let def = VMTableDefinition { base: elements.as_mut_ptr(), current_elements: elements.len() };
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
        self.elements().len() as u32
    }

    /// Grows by `delta` elements set to `init`. Returns the old size, or `None` past the maximum.
    pub fn grow(&mut self, delta: u32, init: usize) -> Option<u32> {
        let old = self.size();
        let max = self.ty.maximum.unwrap_or(u32::MAX).min(MAX_TABLE_ELEMENTS);
        let new = old.checked_add(delta).filter(|n| *n <= max)?;
        match &mut self.storage {
            Storage::Heap(elements) => {
                if elements.try_reserve_exact(delta as usize).is_err() {
                    return None;
                }
                elements.resize(new as usize, init);
            }
            Storage::Slot { base, len, capacity, .. } => {
                if new as usize > *capacity {
                    return None;
                }
                // SAFETY: `[len, new)` lies within the slot's `capacity` elements, which we own.
                unsafe { std::slice::from_raw_parts_mut(base.add(*len), new as usize - *len).fill(init) };
                *len = new as usize;
            }
        }
        self.update_vmdef();
        Some(old)
    }

    /// The elements.
    pub fn elements(&self) -> &[usize] {
        match &self.storage {
            Storage::Heap(elements) => elements,
            // SAFETY: the first `len` elements of the slot are the table's, valid while it lives.
            Storage::Slot { base, len, .. } => unsafe { std::slice::from_raw_parts(*base, *len) },
        }
    }

    /// The elements, mutably.
    pub fn elements_mut(&mut self) -> &mut [usize] {
        match &mut self.storage {
            Storage::Heap(elements) => elements,
            // SAFETY: as in `elements`, and `&mut self` makes the view unique.
            Storage::Slot { base, len, .. } => unsafe { std::slice::from_raw_parts_mut(*base, *len) },
        }
    }
}

impl Table {
    /// Where the definition compiled code reads lives (null before `set_vmdef`).
    pub fn vmdef_ptr(&self) -> *mut VMTableDefinition {
        self.vmdef
    }
}
