//! Per-store limits ([`StoreLimits`], [`Store::set_limits`]) and fuel ([`Store::set_fuel`],
//! [`Store::fuel`]).
//!
//! Limits are checked where a store gains an instance, a memory or a table (instantiation,
//! [`crate::Memory::new`], [`crate::Table::new`]), before anything is allocated, so a denied request
//! takes nothing from the allocator (a pooling allocator's slots stay free), and where a memory or
//! table grows (`memory.grow` / `table.grow` from Wasm, which then return -1, and
//! [`crate::Memory::grow`] / [`crate::Table::grow`] from the host, which return an error). The growth
//! limits live in the store's `VMStoreContext`, where the builtins find them.
//!
//! Fuel is compiled into code when [`crate::Config::consume_fuel`] is on; the counter is the store
//! context's `fuel` field (see `compile/func_translator.rs` for what each operator costs).

use crate::module::Module;
use crate::store::{AsContext, AsContextMut, Store, StoreContextMut, StoreInner};
use crate::types::{MemoryType, TableType};
use crate::vm::instance::Imports;
use crate::WASM_PAGE_SIZE;
use anyhow::{bail, Result};

/// Limits on what a store may hold (see [`Store::set_limits`]). `None` is unlimited (the default for
/// every field).
///
/// As with wasmtime's `StoreLimits`, the size limits apply to each memory and table on its own,
/// and the count limits to the store as a whole. Counts cover what the store owns: the memories and
/// tables its instances define and those the host created in it ([`crate::Memory::new`],
/// [`crate::Table::new`]); an imported memory or table was counted where it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreLimits {
    /// The most bytes any one linear memory may have, initially or by growing.
    pub max_memory_bytes: Option<u64>,
    /// The most elements any one table may have, initially or by growing.
    pub max_table_elements: Option<u64>,
    /// The most instances the store may hold.
    pub max_instances: Option<usize>,
    /// The most tables the store may own.
    pub max_tables: Option<usize>,
    /// The most linear memories the store may own.
    pub max_memories: Option<usize>,
}

impl StoreLimits {
    /// No limits.
    pub fn new() -> StoreLimits {
        StoreLimits::default()
    }
}

/// A store's limits and the counts they are checked against.
#[derive(Debug, Default)]
pub(crate) struct LimitState {
    pub limits: StoreLimits,
    /// Memories the store owns (defined by its instances or made by the host).
    pub memories: usize,
    /// Tables the store owns.
    pub tables: usize,
}

/// Whether `count` more items fit beside `current` under `max`.
fn fits(current: usize, count: usize, max: Option<usize>) -> bool {
    max.is_none_or(|max| current.checked_add(count).is_some_and(|n| n <= max))
}

impl LimitState {
    fn check_memory(&self, ty: &MemoryType) -> Result<()> {
        if let Some(max) = self.limits.max_memory_bytes {
            // A minimum is a u64 from the embedder: checked.
            if ty.minimum.checked_mul(WASM_PAGE_SIZE).is_none_or(|bytes| bytes > max) {
                bail!(
                    "memory of {} pages exceeds the store's limit of {max} bytes per memory \
                     (StoreLimits::max_memory_bytes)",
                    ty.minimum
                );
            }
        }
        Ok(())
    }

    fn check_table(&self, ty: &TableType) -> Result<()> {
        if let Some(max) = self.limits.max_table_elements {
            if u64::from(ty.minimum) > max {
                bail!(
                    "table of {} elements exceeds the store's limit of {max} elements per table \
                     (StoreLimits::max_table_elements)",
                    ty.minimum
                );
            }
        }
        Ok(())
    }

    fn check_counts(&self, memories: usize, tables: usize) -> Result<()> {
        if !fits(self.memories, memories, self.limits.max_memories) {
            bail!(
                "the store would own more than its limit of {} memories (StoreLimits::max_memories)",
                self.limits.max_memories.unwrap_or_default()
            );
        }
        if !fits(self.tables, tables, self.limits.max_tables) {
            bail!(
                "the store would own more than its limit of {} tables (StoreLimits::max_tables)",
                self.limits.max_tables.unwrap_or_default()
            );
        }
        Ok(())
    }

    /// Checks that a new host memory of type `ty` is within the limits.
    pub fn check_new_memory(&self, ty: &MemoryType) -> Result<()> {
        self.check_counts(1, 0)?;
        self.check_memory(ty)
    }

    /// Checks that a new host table of type `ty` is within the limits.
    pub fn check_new_table(&self, ty: &TableType) -> Result<()> {
        self.check_counts(0, 1)?;
        self.check_table(ty)
    }
}

impl StoreInner {
    /// Makes an instance of `module` in this store (limits checked first, so that a denied
    /// instantiation allocates nothing), and returns its index. Segments are not applied yet.
    pub(crate) fn push_instance(&mut self, module: &Module, imports: Imports<'_>) -> Result<u32> {
        let info = module.info();
        let defined_memories = info.memories.get(info.num_imported_memories as usize..).unwrap_or_default();
        let defined_tables = info.tables.get(info.num_imported_tables as usize..).unwrap_or_default();
        let l = &self.limits;
        if !fits(self.instances.len(), 1, l.limits.max_instances) {
            bail!(
                "the store would hold more than its limit of {} instances (StoreLimits::max_instances)",
                l.limits.max_instances.unwrap_or_default()
            );
        }
        if l.limits != StoreLimits::default() {
            l.check_counts(defined_memories.len(), defined_tables.len())?;
            defined_memories.iter().try_for_each(|ty| l.check_memory(ty))?;
            defined_tables.iter().try_for_each(|ty| l.check_table(ty))?;
        }
        // The root pointer, which host functions reach the store through while Wasm runs.
        let handle = module.new_instance(self.root().cast(), self.vm_ptr(), imports)?;
        self.instances.push(handle);
        self.limits.memories = self.limits.memories.saturating_add(defined_memories.len());
        self.limits.tables = self.limits.tables.saturating_add(defined_tables.len());
        Ok(self.instances.len() as u32 - 1)
    }

    /// Grows memory `m` (of this store) by `delta` pages within the store's limit; returns the old
    /// size in pages.
    pub(crate) fn grow_memory(&mut self, m: *mut crate::vm::memory::LinearMemory, delta: u64) -> Result<u64> {
        let limit = self.vm.memory_limit();
        // SAFETY: memories live as long as their store, which the caller borrows mutably.
        match unsafe { (*m).grow_within(delta, limit)? } {
            Some(old) => Ok(old),
            None => {
                // SAFETY: as above.
                let pages = unsafe { (*m).pages() };
                let over =
                    pages.checked_add(delta).and_then(|p| p.checked_mul(WASM_PAGE_SIZE)).is_none_or(|b| b > limit);
                if over {
                    bail!(
                        "failed to grow memory by {delta} pages: the store's limit is {limit} bytes per memory \
                         (StoreLimits::max_memory_bytes)"
                    );
                }
                bail!("failed to grow memory by {delta} pages")
            }
        }
    }

    /// Grows table `t` (of this store) by `delta` elements set to `init` within the store's limit;
    /// returns the old size.
    pub(crate) fn grow_table(&mut self, t: *mut crate::vm::table::Table, delta: u32, init: usize) -> Result<u32> {
        let limit = self.vm.table_limit();
        // SAFETY: tables live as long as their store, which the caller borrows mutably.
        let table = unsafe { &mut *t };
        match table.grow_within(delta, init, limit) {
            Some(old) => Ok(old),
            None if u64::from(table.size()).saturating_add(u64::from(delta)) > limit => bail!(
                "failed to grow table by {delta} elements: the store's limit is {limit} elements per table \
                 (StoreLimits::max_table_elements)"
            ),
            None => bail!("failed to grow table by {delta} elements"),
        }
    }

    fn set_limits(&mut self, limits: StoreLimits) {
        self.limits.limits = limits;
        let vm = &*self.vm;
        // SAFETY: the store is borrowed mutably, so no Wasm runs in it and nothing else reads the
        // fields (see `VMStoreContext`'s `Sync` impl).
        unsafe {
            *vm.max_memory_bytes.get() = limits.max_memory_bytes.unwrap_or(u64::MAX);
            *vm.max_table_elements.get() = limits.max_table_elements.unwrap_or(u64::MAX);
        }
    }

    fn check_fuel(&self) -> Result<()> {
        if !self.engine.config().consume_fuel {
            bail!("fuel is not enabled in this engine (Config::consume_fuel)");
        }
        Ok(())
    }

    /// The fuel left.
    pub(crate) fn fuel(&self) -> Result<u64> {
        self.check_fuel()?;
        // SAFETY: the store is borrowed, so no Wasm code of it is between two of its saves of the
        // counter; only this thread touches the field.
        let fuel = unsafe { *self.vm.fuel.get() };
        Ok(u64::try_from(fuel).unwrap_or(0))
    }

    /// Sets the fuel left (at most `i64::MAX`).
    pub(crate) fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.check_fuel()?;
        // SAFETY: as in `fuel`; compiled code reloads the counter after every call it makes.
        unsafe { *self.vm.fuel.get() = i64::try_from(fuel).unwrap_or(i64::MAX) };
        Ok(())
    }
}

impl Store {
    /// Sets the store's limits (replacing earlier ones). They apply to what is made or grown from
    /// now on: a store that already holds more than a new limit allows keeps what it has, but gets
    /// nothing more. A denied `memory.grow`/`table.grow` returns -1 to Wasm; a denied instantiation,
    /// [`crate::Memory::new`], [`crate::Table::new`], [`crate::Memory::grow`] or
    /// [`crate::Table::grow`] is an error that names the limit.
    pub fn set_limits(&mut self, limits: StoreLimits) {
        self.as_context_mut().inner().set_limits(limits);
    }

    /// The store's limits.
    pub fn limits(&self) -> StoreLimits {
        self.as_context().0.limits.limits
    }

    /// Sets the fuel the store's Wasm code may consume (values above `i64::MAX` are `i64::MAX`).
    /// Each operator costs 1 fuel except `nop`, `drop`, `block`, `loop`, `end`, `else`,
    /// `unreachable` and `return`, which cost 0 (wasmtime's model); code charges a whole basic
    /// block at a time and checks at function entries and loop headers, trapping with
    /// [`crate::TrapCode::OutOfFuel`] when none is left. A store starts with 0 fuel.
    ///
    /// An error if the engine was not configured with [`crate::Config::consume_fuel`].
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.as_context_mut().inner().set_fuel(fuel)
    }

    /// The fuel left (0 once exhausted). An error if the engine does not consume fuel.
    pub fn fuel(&self) -> Result<u64> {
        self.as_context().0.fuel()
    }
}

impl StoreContextMut<'_> {
    /// [`Store::set_fuel`], for a host function (through [`crate::Caller`]'s context): code that
    /// called it continues with the new count.
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.inner_mut().set_fuel(fuel)
    }

    /// [`Store::fuel`], for a host function: what the code that called it left.
    pub fn fuel(&self) -> Result<u64> {
        self.inner_ref().fuel()
    }
}

#[cfg(test)]
mod tests {
    use super::fits;

    #[test]
    fn fits_never_overflows() {
        assert!(fits(0, 1, None));
        assert!(fits(1, 1, Some(2)));
        assert!(!fits(2, 1, Some(2)));
        assert!(!fits(usize::MAX, 1, Some(usize::MAX)));
        assert!(fits(usize::MAX, 1, None));
    }
}
