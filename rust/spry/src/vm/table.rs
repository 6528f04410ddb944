//! Tables: growable arrays of pointer-sized references that compiled code reads through a
//! [`VMTableDefinition`].
//!
//! # Lazily initialized function tables
//!
//! An element of a `funcref` table is stored encoded: `0` means "not initialized yet", and any other
//! value is the `VMFuncRef` pointer with bit 0 set (so null is `1`). An element that is not
//! initialized yet has its table's initial value: the function its [`TableTemplate`] names at that
//! index (the module's element segments, precomputed), or null. Reading such an element (compiled
//! `call_indirect` and `table.get` call [`Table::get`] through a builtin when they load a `0`) makes
//! the function's reference, stores it and returns it. So instantiating a module whose table holds
//! thousands of functions writes nothing into the table, and a fresh (zeroed) table slot is a valid
//! table. `externref` tables store references as they are (0 is null).
//!
//! Every write to a table goes through this type (compiled `table.set` too, through a builtin), which
//! keeps the range of elements written since the table was made: a pool slot is reset by zeroing that
//! range alone.
//!
//! Indices, lengths and deltas come from the guest: ranges are computed with checked arithmetic and
//! elements reached through `get`, never by indexing (the lints below enforce both).
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing, clippy::cast_possible_truncation)]

use super::vmcontext::{VMContext, VMTableDefinition};
use crate::environ::FUNCREF_INIT_BIT;
use crate::types::{TableType, ValType};
use anyhow::{bail, Result};
use std::ops::Range;

/// The most elements a table may have, whatever its declared maximum.
pub const MAX_TABLE_ELEMENTS: u32 = 10_000_000;

/// The initial contents of a module's table, from its element segments: for each index, the function
/// index plus one, or 0 for null (an index past the end is null too).
pub type TableTemplate = [u32];

/// Where a table's elements live.
enum Storage {
    /// On the heap, reallocated as the table grows.
    Heap(Vec<usize>),
    /// In slot `slot` of a pooling allocator's table pool: `capacity` elements at `base`, of which
    /// the first `len` are the table's; the rest are zero.
    Slot { base: *mut usize, len: usize, capacity: usize, slot: u32 },
}

/// What makes the function references of a lazily initialized table: the template and the instance
/// that owns the table (the template's function indices are that instance's functions).
#[derive(Clone, Copy)]
struct Lazy {
    template: *const TableTemplate,
    owner: *mut VMContext,
}

/// A table.
pub struct Table {
    storage: Storage,
    ty: TableType,
    vmdef: *mut VMTableDefinition,
    lazy: Option<Lazy>,
    /// The elements written since the table was made (empty: none).
    dirty: Range<usize>,
}

// SAFETY: a table is owned by one store, used by one thread at a time; `lazy` points into the owning
// instance and its module, which outlive the table.
unsafe impl Send for Table {}

impl Table {
    /// A table of type `ty` with every element set to `init` (a reference: a `VMFuncRef` pointer or
    /// null for `funcref`, an externref for `externref`).
    pub fn new(ty: &TableType, init: usize) -> Result<Table> {
        if ty.minimum > MAX_TABLE_ELEMENTS {
            bail!("table of {} elements exceeds the limit of {MAX_TABLE_ELEMENTS}", ty.minimum);
        }
        let raw = encode(ty.element, init);
        let storage = Storage::Heap(vec![raw; ty.minimum as usize]);
        Ok(Table { storage, ty: *ty, vmdef: std::ptr::null_mut(), lazy: None, dirty: 0..0 })
    }

    /// A table of type `ty` whose elements are all in their initial state (null, or what a template
    /// given with [`Table::set_template`] says), as instances' own tables start.
    pub fn new_initial(ty: &TableType) -> Result<Table> {
        let mut table = Table::new(ty, 0)?;
        table.raw_mut().fill(0);
        Ok(table)
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
        Table { storage, ty: *ty, vmdef: std::ptr::null_mut(), lazy: None, dirty: 0..0 }
    }

    /// Gives the table, which must be a `funcref` table none of whose elements were initialized yet,
    /// the initial contents `template`, whose functions are those of the instance `owner`.
    ///
    /// # Safety
    /// `template` and `owner` must stay valid for as long as the table is used (the owner's module
    /// holds the template; the owner owns the table).
    pub unsafe fn set_template(&mut self, template: &TableTemplate, owner: *mut VMContext) {
        debug_assert_eq!(self.ty.element, ValType::FuncRef);
        debug_assert!(self.raw().iter().all(|&e| e == 0));
        self.lazy = Some(Lazy { template, owner });
    }

    /// The pool slot holding the elements (`None` for a heap table).
    pub fn pool_slot(&self) -> Option<u32> {
        match self.storage {
            Storage::Heap(_) => None,
            Storage::Slot { slot, .. } => Some(slot),
        }
    }

    /// The elements written since the table was made, as a range of indices (for resetting a slot).
    pub fn dirty(&self) -> Range<usize> {
        self.dirty.clone()
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
            let elements = self.raw_mut();
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
        // At most MAX_TABLE_ELEMENTS (checked by `new` and `grow`; a pool slot's capacity is bounded
        // by the pool's table size, a u32): the saturation never happens.
        u32::try_from(self.raw().len()).unwrap_or(u32::MAX)
    }

    /// Element `index` (a `VMFuncRef` pointer or null, or an externref), initializing it first if it
    /// is a function reference not made yet. `None` if out of bounds.
    pub fn get(&mut self, index: u32) -> Option<usize> {
        let raw = *self.raw().get(index as usize)?;
        if self.ty.element != ValType::FuncRef {
            return Some(raw);
        }
        if raw != 0 {
            return Some(raw & !FUNCREF_INIT_BIT);
        }
        let value = self.initial(index);
        self.write(one(index)).fill(value | FUNCREF_INIT_BIT);
        Some(value)
    }

    /// The initial value of element `index` of a `funcref` table: from its template, else null.
    fn initial(&self, index: u32) -> usize {
        let Some(lazy) = self.lazy else { return 0 };
        // SAFETY: per `set_template`'s contract, the template and the owner are alive.
        let func = unsafe { (&*lazy.template).get(index as usize).copied().unwrap_or(0) };
        // 0 is null; otherwise the function index plus one.
        let Some(func) = func.checked_sub(1) else { return 0 };
        // SAFETY: as above; the owner is an instance whose function `func` is in its template, so it
        // escapes and has a reference.
        unsafe { super::instance::Instance::from_vmctx(lazy.owner).func_ref(func) as usize }
    }

    /// Sets element `index` to `value` (as [`Table::get`] returns). `false` if out of bounds.
    pub fn set(&mut self, index: u32, value: usize) -> bool {
        let raw = encode(self.ty.element, value);
        match self.write(one(index)).first_mut() {
            Some(e) => {
                *e = raw;
                true
            }
            None => false,
        }
    }

    /// Sets elements `[dst, dst + len)` to `value`. `false` (and nothing written) if out of bounds.
    pub fn fill(&mut self, dst: u32, value: usize, len: u32) -> bool {
        let Some(end) = dst.checked_add(len).filter(|&e| e <= self.size()) else { return false };
        let raw = encode(self.ty.element, value);
        self.write(dst as usize..end as usize).fill(raw);
        true
    }

    /// Copies `len` elements of `src` from `src_index` to `dst` at `dst_index` (the same table when
    /// `src` is `None`; the ranges may overlap). `false` (and nothing written) if out of bounds.
    ///
    /// # Safety
    /// `src`, if given, is a live table other than `dst`, used by nothing else during the call.
    pub unsafe fn copy(dst: &mut Table, src: Option<*mut Table>, dst_index: u32, src_index: u32, len: u32) -> bool {
        // SAFETY: per the contract, `src` is another live table.
        let src_size = src.map_or(dst.size(), |s| unsafe { (*s).size() });
        let Some(dst_end) = dst_index.checked_add(len).filter(|&e| e <= dst.size()) else { return false };
        let Some(src_end) = src_index.checked_add(len).filter(|&e| e <= src_size) else { return false };
        // Make every source element, so that the raw copy below carries values, not "not yet made"
        // (which means another thing in another table or at another index).
        for i in src_index..src_end {
            match src {
                // SAFETY: as above.
                Some(s) => unsafe { (*s).get(i) },
                None => dst.get(i),
            };
        }
        let s = src_index as usize;
        let from: *const usize = match src {
            // SAFETY: as above; `s <= src_size`, so the pointer is in (or one past) the elements.
            Some(s_table) => unsafe { (*s_table).raw().as_ptr().add(s) },
            None => dst.raw().as_ptr().wrapping_add(s),
        };
        let to = dst.write(dst_index as usize..dst_end as usize);
        // `write` clamps to the table: both ranges were checked, so nothing was clamped (a broken
        // invariant panics here, which a builtin reports as an internal trap, rather than copy).
        assert_eq!(to.len(), len as usize, "table.copy destination clamped");
        let to = to.as_mut_ptr();
        // SAFETY: both ranges are in bounds (checked above); `copy` allows overlap within one table.
        // Both tables hold the same element type (validation), so encoded values carry over.
        unsafe { std::ptr::copy(from, to, len as usize) };
        true
    }

    /// Grows by `delta` elements set to `init`, but not past `limit` elements in all (the store's
    /// limit, `u64::MAX` for none; a `delta` of 0 always succeeds). Returns the old size, or `None`
    /// past the limit or the maximum.
    pub fn grow_within(&mut self, delta: u32, init: usize, limit: u64) -> Option<u32> {
        let new = u64::from(self.size()).checked_add(u64::from(delta))?;
        if delta > 0 && new > limit {
            return None;
        }
        self.grow(delta, init)
    }

    /// Grows by `delta` elements set to `init`. Returns the old size, or `None` past the maximum.
    pub fn grow(&mut self, delta: u32, init: usize) -> Option<u32> {
        let old = self.size();
        let max = self.ty.maximum.unwrap_or(u32::MAX).min(MAX_TABLE_ELEMENTS);
        let new = old.checked_add(delta).filter(|n| *n <= max)?;
        let raw = encode(self.ty.element, init);
        match &mut self.storage {
            Storage::Heap(elements) => {
                if elements.try_reserve_exact(delta as usize).is_err() {
                    return None;
                }
                elements.resize(new as usize, raw);
            }
            Storage::Slot { len, capacity, .. } => {
                if new as usize > *capacity {
                    return None;
                }
                *len = new as usize;
                self.write(old as usize..new as usize).fill(raw);
            }
        }
        self.update_vmdef();
        Some(old)
    }

    /// The encoded elements.
    fn raw(&self) -> &[usize] {
        match &self.storage {
            Storage::Heap(elements) => elements,
            // SAFETY: the first `len` elements of the slot are the table's, valid while it lives.
            Storage::Slot { base, len, .. } => unsafe { std::slice::from_raw_parts(*base, *len) },
        }
    }

    /// The encoded elements, mutably (without marking them written).
    fn raw_mut(&mut self) -> &mut [usize] {
        match &mut self.storage {
            Storage::Heap(elements) => elements,
            // SAFETY: as in `raw`, and `&mut self` makes the view unique.
            Storage::Slot { base, len, .. } => unsafe { std::slice::from_raw_parts_mut(*base, *len) },
        }
    }

    /// Elements `range` (clamped to the table), marked written.
    fn write(&mut self, range: Range<usize>) -> &mut [usize] {
        let len = self.raw().len();
        let range = range.start.min(len)..range.end.min(len);
        if !range.is_empty() {
            self.dirty = if self.dirty.is_empty() {
                range.clone()
            } else {
                self.dirty.start.min(range.start)..self.dirty.end.max(range.end)
            };
        }
        // The range was clamped to the elements: `get_mut` always succeeds.
        self.raw_mut().get_mut(range).unwrap_or_default()
    }
}

/// The range of element `index` alone (an index below 2^32 plus one fits a 64-bit `usize`; an index
/// out of bounds gives a range that [`Table::write`] clamps to nothing).
fn one(index: u32) -> Range<usize> {
    let i = index as usize;
    i..i.saturating_add(1)
}

/// The stored form of `value` in a table of `element`s.
fn encode(element: ValType, value: usize) -> usize {
    if element == ValType::FuncRef {
        value | FUNCREF_INIT_BIT
    } else {
        value
    }
}

impl Table {
    /// Where the definition compiled code reads lives (null before `set_vmdef`).
    pub fn vmdef_ptr(&self) -> *mut VMTableDefinition {
        self.vmdef
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn funcref_elements_are_encoded_and_writes_tracked() {
        let ty = TableType::new(ValType::FuncRef, 4, Some(8));
        let mut t = Table::new(&ty, 0).unwrap();
        assert_eq!(t.raw(), &[1, 1, 1, 1], "null is stored as 1");
        assert!(t.dirty().is_empty());
        assert!(t.set(2, 0x1000));
        assert_eq!(t.get(2), Some(0x1000));
        assert_eq!(t.get(4), None);
        assert!(!t.set(4, 0));
        assert_eq!(t.dirty(), 2..3);
        assert!(t.fill(0, 0x2000, 2));
        assert!(!t.fill(3, 0, 2));
        assert_eq!(t.dirty(), 0..3);
        // SAFETY: one table, copied onto itself.
        assert!(unsafe { Table::copy(&mut t, None, 1, 2, 2) });
        assert_eq!([t.get(0), t.get(1), t.get(2), t.get(3)], [Some(0x2000), Some(0x1000), Some(0), Some(0)]);
        assert_eq!(t.grow(2, 0x3000), Some(4));
        assert_eq!(t.get(5), Some(0x3000));
        assert_eq!(t.grow(3, 0), None);
    }

    #[test]
    fn externref_elements_are_stored_as_they_are() {
        let ty = TableType::new(ValType::ExternRef, 2, None);
        let mut t = Table::new(&ty, 0).unwrap();
        assert!(t.set(1, 7));
        assert_eq!(t.raw(), &[0, 7]);
        assert_eq!(t.get(0), Some(0));
    }
}
