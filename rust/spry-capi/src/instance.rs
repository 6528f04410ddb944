//! [`spry_instance_t`], an instantiated module, and [`spry_extern_t`], any item an instance exports
//! or a module imports.

use crate::args;
use crate::error::{guard_or, spry_error_t};
use crate::func::spry_func;
use crate::module::spry_module_t;
use crate::store::{export_names, spry_store_t, store_context, store_mut};
use crate::trap::{guard_call, spry_trap_t};
use crate::types::*;
use anyhow::{anyhow, bail, Result};
use spry::{Extern, Global, Instance, Memory, Module, Store, Table};
use std::ffi::c_char;

/// An instance of a module in a store. A plain value, valid as long as its store; using it with
/// another store, or a forged one, is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct spry_instance {
    /// The id of the store the instance belongs to.
    pub store_id: u64,
    /// The instance's index in its store.
    pub index: u32,
}

/// Shorthand for `struct spry_instance`.
pub type spry_instance_t = spry_instance;

impl spry_instance {
    pub(crate) fn to_instance(self) -> Instance {
        Instance::from_raw_parts(self.store_id, self.index)
    }

    /// The module of the instance, or an error if the handle is not an instance of `store`.
    pub(crate) fn module(self, store: &Store) -> Result<Module> {
        if self.store_id != store.id() {
            bail!("instance used with a store other than its own");
        }
        self.to_instance().module(store).ok_or_else(|| anyhow!("invalid instance handle"))
    }
}

/// An item of a store that can be imported or exported: a function, global, table or memory. A plain
/// value, valid as long as its store; using it with another store, or a forged one, is an error.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct spry_extern {
    /// One of the `SPRY_EXTERN_*` constants.
    pub kind: spry_externkind_t,
    /// The id of the store the item belongs to.
    pub store_id: u64,
    /// The item's index among the store's items of its kind (the `index` of its `spry_func_t`,
    /// `spry_global_t`, `spry_table_t` or `spry_memory_t`).
    pub index: u32,
}

/// Shorthand for `struct spry_extern`.
pub type spry_extern_t = spry_extern;

impl spry_extern {
    /// The engine's item, or an error for an unknown kind (the engine checks the handle on use).
    pub(crate) fn to_extern(self) -> Result<Extern> {
        let (s, i) = (self.store_id, self.index);
        Ok(match self.kind {
            SPRY_EXTERN_FUNC => Extern::Func(spry_func { store_id: s, index: i }.to_func()),
            SPRY_EXTERN_GLOBAL => Extern::Global(Global::from_raw_parts(s, i)),
            SPRY_EXTERN_TABLE => Extern::Table(Table::from_raw_parts(s, i)),
            SPRY_EXTERN_MEMORY => Extern::Memory(Memory::from_raw_parts(s, i)),
            other => bail!("invalid extern kind {other}"),
        })
    }

    pub(crate) fn from_extern(item: Extern) -> spry_extern {
        let (kind, (store_id, index)) = match item {
            Extern::Func(f) => (SPRY_EXTERN_FUNC, f.into_raw_parts()),
            Extern::Global(g) => (SPRY_EXTERN_GLOBAL, g.into_raw_parts()),
            Extern::Table(t) => (SPRY_EXTERN_TABLE, t.into_raw_parts()),
            Extern::Memory(m) => (SPRY_EXTERN_MEMORY, m.into_raw_parts()),
        };
        spry_extern { kind, store_id, index }
    }
}

/// Instantiates `module` in `store` with `imports` (`nimports` items, in the module's import order:
/// see `spry_module_import`; the array is only read), applying its data and element segments and
/// running its start function.
///
/// Outcomes:
/// - Success: returns NULL, sets `*out_trap` to NULL and writes the instance to `*out`.
/// - Trap (in a segment's initialization or in the start function): returns NULL and sets
///   `*out_trap` to a new trap owned by the caller; `*out` is not written.
/// - Error: returns an error and sets `*out_trap` to NULL: NULL `store`, `module` or `out`, the wrong
///   number of imports, an import of the wrong kind or type ("incompatible import type"), an import
///   that is not an item of `store`, NULL `imports` with a nonzero count, a module of another engine.
///
/// If `out_trap` is NULL, a trap is returned as an error instead.
///
/// # Safety
///
/// `store` and `module` are NULL or live; `imports` is NULL or points to `nimports` items; `out` and
/// `out_trap` are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_instance_new(
    store: *mut spry_store_t,
    module: *const spry_module_t,
    imports: *const spry_extern_t,
    nimports: size_t,
    out: *mut spry_instance_t,
    out_trap: *mut *mut spry_trap_t,
) -> *mut spry_error_t {
    let body = || {
        // SAFETY: `store` is NULL or live (the contract); the start function may call back into it.
        let s = unsafe { store_context(store) }?;
        // SAFETY: `module` is NULL or live (the contract).
        let module = unsafe { args::object(module, "module") }?;
        // SAFETY: `imports` is NULL or points to `nimports` items (the contract).
        let imports = unsafe { args::slice(imports, nimports, "imports") }?;
        let items = imports.iter().map(|i| i.to_extern()).collect::<Result<Vec<_>>>()?;
        anyhow::ensure!(!out.is_null(), "out is NULL");
        let (store_id, index) = Instance::new(s, &module.module, &items)?.into_raw_parts();
        // SAFETY: `out` is valid for a write (the contract; not NULL, checked above).
        unsafe { args::write(out, spry_instance { store_id, index }, "out") }
    };
    // SAFETY: `out_trap` is NULL or valid for a write (the contract).
    unsafe { guard_call(out_trap, body) }
}

/// Looks up the export `name` (UTF-8, `len` bytes, not NUL-terminated) of `instance`: returns true
/// and writes it to `*out`. Returns false and writes nothing if there is no such export, `instance`
/// is not an instance of `store`, `name` is not valid UTF-8 (or NULL with a nonzero `len`), or
/// `store` or `out` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store; `name` is NULL or points to `len` readable bytes; `out` is NULL
/// or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_instance_export_get(
    store: *mut spry_store_t,
    instance: spry_instance_t,
    name: *const c_char,
    len: size_t,
    out: *mut spry_extern_t,
) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let s = unsafe { store_mut(store) }?;
        // SAFETY: per the contract.
        let name = unsafe { args::string(name, len, "name") }?;
        instance.module(s)?;
        let Some(item) = instance.to_instance().get_export(&mut *s, name) else { return Ok(false) };
        // SAFETY: per the contract.
        unsafe { args::write(out, spry_extern::from_extern(item), "out") }?;
        Ok(true)
    })
}

/// The number of exports of `instance`; 0 if it is not an instance of `store` or `store` is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store.
#[no_mangle]
pub unsafe extern "C" fn spry_instance_exports_len(store: *mut spry_store_t, instance: spry_instance_t) -> size_t {
    // SAFETY: per the contract.
    guard_or(0, || Ok(instance.module(unsafe { store_mut(store) }?)?.exports().len()))
}

/// Writes export `i` of `instance` (in the module's order) to `*out`, and its name (UTF-8, not
/// NUL-terminated; owned by the store and valid as long as it is) to `*out_name` and
/// `*out_name_len`, and returns true. Returns false and writes nothing if `i` is out of range,
/// `instance` is not an instance of `store`, or `store` or an out-parameter is NULL.
///
/// # Safety
///
/// `store` is NULL or a live store; the out-parameters are NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn spry_instance_export_nth(
    store: *mut spry_store_t,
    instance: spry_instance_t,
    i: size_t,
    out_name: *mut *const c_char,
    out_name_len: *mut size_t,
    out: *mut spry_extern_t,
) -> bool {
    guard_or(false, || {
        // SAFETY: per the contract.
        let s = unsafe { store_mut(store) }?;
        let module = instance.module(s)?;
        anyhow::ensure!(!out_name.is_null() && !out_name_len.is_null() && !out.is_null(), "out is NULL");
        // SAFETY: `store` is live and not NULL (checked by `store_mut`).
        let mut cache = unsafe { export_names(store) }.borrow_mut();
        let names = cache.entry(instance.index).or_insert_with(|| module.exports().map(|e| e.name.into()).collect());
        let Some(name) = names.get(i) else { return Ok(false) };
        let item =
            instance.to_instance().get_export(&mut *s, name).ok_or_else(|| anyhow!("export `{name}` not found"))?;
        // SAFETY: per the contract; all three are non-NULL.
        unsafe {
            out_name.write(c_ptr(name.as_bytes()).cast());
            out_name_len.write(name.len());
            out.write(spry_extern::from_extern(item));
        }
        Ok(true)
    })
}
