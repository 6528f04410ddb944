//! [`Store`]: owns instances and everything the host creates for them (functions, memories, tables,
//! globals, externrefs), plus the host's own data. Objects taken from a store are small handles that
//! name their store; using one with another store is an error.

use crate::engine::Engine;
use crate::func::{Caller, Func, HostFunc};
use crate::types::{FuncType, GlobalType};
use crate::vm::instance::InstanceHandle;
use crate::vm::memory::LinearMemory;
use crate::vm::table::Table as VmTable;
use crate::vm::vmcontext::*;
use anyhow::{bail, Result};
use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// The next store id of this thread, and the end of its block: ids are taken from the global
    /// counter a block at a time, so threads creating stores at once do not contend on it.
    static STORE_IDS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// A process-wide unique store id (never 0).
fn next_store_id() -> u64 {
    const BLOCK: u64 = 1024;
    STORE_IDS.with(|ids| {
        let (mut next, mut end) = ids.get();
        if next == end {
            next = NEXT_STORE_ID.fetch_add(BLOCK, Ordering::Relaxed);
            end = next + BLOCK;
        }
        ids.set((next + 1, end));
        next
    })
}

/// A function known to a store.
pub(crate) struct FuncData {
    pub func_ref: *const VMFuncRef,
    /// Shared so that a call can hold it without borrowing the store.
    pub ty: Arc<FuncType>,
}

/// A global known to a store.
pub(crate) struct GlobalData {
    pub def: *mut VMGlobalDefinition,
    pub ty: GlobalType,
}

/// The state behind a [`Store`], at a stable address (compiled code and host functions point to it).
pub struct StoreInner {
    pub(crate) id: u64,
    pub(crate) engine: Engine,
    pub(crate) vm: Arc<VMStoreContext>,
    pub(crate) instances: Vec<InstanceHandle>,
    pub(crate) funcs: Vec<FuncData>,
    func_ids: HashMap<usize, u32>,
    pub(crate) memories: Vec<*mut LinearMemory>,
    memory_ids: HashMap<usize, u32>,
    pub(crate) tables: Vec<*mut VmTable>,
    table_ids: HashMap<usize, u32>,
    pub(crate) globals: Vec<GlobalData>,
    global_ids: HashMap<usize, u32>,
    // Boxed: compiled code and importers point at these, so they must not move.
    host_memories: Vec<(Box<LinearMemory>, Box<VMMemoryDefinition>)>,
    host_tables: Vec<(Box<VmTable>, Box<VMTableDefinition>)>,
    #[allow(clippy::vec_box)]
    host_globals: Vec<Box<VMGlobalDefinition>>,
    /// Host functions registered in this store (kept alive: the store's handles point into them).
    host_funcs: Vec<Arc<HostFunc>>,
    /// What the host passes as the caller when it calls a function (see [`VMStoreCaller`]).
    caller: VMStoreCaller,
    pub(crate) externs: Vec<Box<dyn Any + Send + Sync>>,
    data: Option<Box<dyn Any + Send>>,
}

/// A collection of instances and host objects: the unit of isolation and of cleanup.
///
/// A store is used by one thread at a time (it is `Send`, not `Sync`). Dropping it frees every
/// instance, memory and table it holds.
pub struct Store {
    inner: Box<StoreInner>,
}

// SAFETY: raw pointers in the store point into objects the store owns (or into immutable code); the
// store is moved between threads as a whole and never shared.
unsafe impl Send for StoreInner {}

impl Store {
    /// An empty store for modules of `engine`.
    pub fn new(engine: &Engine) -> Store {
        let mut store = Store {
            inner: Box::new(StoreInner {
                id: next_store_id(),
                engine: engine.clone(),
                vm: Arc::new(VMStoreContext::default()),
                instances: Vec::new(),
                funcs: Vec::new(),
                func_ids: HashMap::new(),
                memories: Vec::new(),
                memory_ids: HashMap::new(),
                tables: Vec::new(),
                table_ids: HashMap::new(),
                globals: Vec::new(),
                global_ids: HashMap::new(),
                host_memories: Vec::new(),
                host_tables: Vec::new(),
                host_globals: Vec::new(),
                host_funcs: Vec::new(),
                caller: VMStoreCaller { magic: VMSTORE_CALLER_MAGIC, store: std::ptr::null_mut() },
                externs: Vec::new(),
                data: None,
            }),
        };
        let this: *mut StoreInner = &mut *store.inner;
        store.inner.caller.store = this.cast();
        store
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Attaches host data to the store (replacing any earlier data).
    pub fn set_data<T: Any + Send>(&mut self, data: T) {
        self.inner.data = Some(Box::new(data));
    }

    /// The host data, if it has type `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.inner.data()
    }

    /// The host data, mutably, if it has type `T`.
    pub fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.inner.data_mut()
    }

    /// A handle that interrupts Wasm running in this store from any thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle { vm: self.inner.vm.clone() }
    }

    /// Withdraws an interrupt request that no call consumed (one made after the call it was meant
    /// for returned, which would otherwise stop the next call). Taking `&mut self`, it cannot run
    /// while Wasm code runs in the store.
    pub fn clear_interrupt(&mut self) {
        self.inner.vm.interrupt.store(0, Ordering::Relaxed);
    }

    /// The store's unique id: the first of the raw parts of its handles (for the C surface, which
    /// rebuilds handles from raw parts).
    #[doc(hidden)]
    pub fn id(&self) -> u64 {
        self.inner.id
    }
}

/// Interrupts Wasm code running in a store: the code traps with [`crate::TrapCode::Interrupt`] at its
/// next function entry or loop header (when the engine's `interruptible` setting is on). The request
/// holds until the outermost call into the store returns; a request made while no call runs stops the
/// next call.
#[derive(Clone)]
pub struct InterruptHandle {
    vm: Arc<VMStoreContext>,
}

impl InterruptHandle {
    /// Requests the interrupt.
    pub fn interrupt(&self) {
        self.vm.interrupt.store(1, Ordering::Relaxed);
    }
}

impl StoreInner {
    pub(crate) fn data<T: Any>(&self) -> Option<&T> {
        self.data.as_ref()?.downcast_ref()
    }

    pub(crate) fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.data.as_mut()?.downcast_mut()
    }

    pub(crate) fn vm_ptr(&self) -> *mut VMStoreContext {
        Arc::as_ptr(&self.vm).cast_mut()
    }

    /// The caller VMContext for calls the host makes into this store.
    pub(crate) fn caller_ptr(&self) -> *mut VMContext {
        (&self.caller as *const VMStoreCaller).cast_mut().cast()
    }

    pub(crate) fn check(&self, store: u64, what: &str) -> Result<()> {
        if store != self.id {
            bail!("{what} used with a store other than its own");
        }
        Ok(())
    }

    /// Item `index` of one of the store's tables of handles, checking that the handle belongs to this
    /// store and is in range (a forged handle from the C surface is an error, not a crash).
    pub(crate) fn item<'a, T>(&self, items: &'a [T], store: u64, index: u32, what: &str) -> Result<&'a T> {
        self.check(store, what)?;
        items.get(index as usize).ok_or_else(|| anyhow::anyhow!("invalid {what} handle"))
    }

    pub(crate) fn func_data(&self, f: Func) -> Result<&FuncData> {
        self.item(&self.funcs, f.store, f.index, "function")
    }

    /// The handle of the function behind `func_ref` (registering it on first sight).
    ///
    /// # Safety
    /// `func_ref` is null or a live `VMFuncRef` of this store.
    pub(crate) unsafe fn func_from_ref(&mut self, func_ref: *const VMFuncRef) -> Option<Func> {
        if func_ref.is_null() {
            return None;
        }
        if let Some(i) = self.func_ids.get(&(func_ref as usize)) {
            return Some(Func { store: self.id, index: *i });
        }
        // SAFETY: per the contract.
        let type_index = unsafe { (*func_ref).type_index };
        let ty = self.engine.type_by_id(type_index);
        Some(self.push_func(func_ref, Arc::new(ty)))
    }

    pub(crate) fn push_func(&mut self, func_ref: *const VMFuncRef, ty: Arc<FuncType>) -> Func {
        let index = self.funcs.len() as u32;
        self.funcs.push(FuncData { func_ref, ty });
        self.func_ids.insert(func_ref as usize, index);
        Func { store: self.id, index }
    }

    /// The handle of `host` in this store, registering it (and keeping it alive) on first use.
    pub(crate) fn host_func(&mut self, host: &Arc<HostFunc>) -> Func {
        let func_ref = host.func_ref();
        if let Some(i) = self.func_ids.get(&(func_ref as usize)) {
            // Registered before, or seen through an instance that imports it (and keeps it alive).
            return Func { store: self.id, index: *i };
        }
        self.host_funcs.push(host.clone());
        self.push_func(func_ref, Arc::new(host.ty.clone()))
    }

    pub(crate) fn memory_id(&mut self, mem: *mut LinearMemory) -> u32 {
        let next = self.memories.len() as u32;
        let id = *self.memory_ids.entry(mem as usize).or_insert(next);
        if id == next {
            self.memories.push(mem);
        }
        id
    }

    pub(crate) fn table_id(&mut self, table: *mut VmTable) -> u32 {
        let next = self.tables.len() as u32;
        let id = *self.table_ids.entry(table as usize).or_insert(next);
        if id == next {
            self.tables.push(table);
        }
        id
    }

    pub(crate) fn global_id(&mut self, def: *mut VMGlobalDefinition, ty: GlobalType) -> u32 {
        let next = self.globals.len() as u32;
        let id = *self.global_ids.entry(def as usize).or_insert(next);
        if id == next {
            self.globals.push(GlobalData { def, ty });
        }
        id
    }

    pub(crate) fn push_host_memory(&mut self, mut mem: Box<LinearMemory>) -> u32 {
        let mut def = Box::new(VMMemoryDefinition { base: std::ptr::null_mut(), current_length: 0 });
        // SAFETY: the definition is boxed and lives in the store as long as the memory.
        unsafe { mem.set_vmdef(&mut *def) };
        let ptr: *mut LinearMemory = &mut *mem;
        self.host_memories.push((mem, def));
        self.memory_id(ptr)
    }

    pub(crate) fn push_host_table(&mut self, mut table: Box<VmTable>) -> u32 {
        let mut def = Box::new(VMTableDefinition { base: std::ptr::null_mut(), current_elements: 0 });
        // SAFETY: the definition is boxed and lives in the store as long as the table.
        unsafe { table.set_vmdef(&mut *def) };
        let ptr: *mut VmTable = &mut *table;
        self.host_tables.push((table, def));
        self.table_id(ptr)
    }

    pub(crate) fn push_host_global(&mut self, ty: GlobalType, raw: u64) -> u32 {
        let def = Box::new(VMGlobalDefinition::default());
        def.set_u64(raw);
        let ptr = (&*def as *const VMGlobalDefinition).cast_mut();
        self.host_globals.push(def);
        self.global_id(ptr, ty)
    }
}

impl Drop for StoreInner {
    fn drop(&mut self) {
        // Instances first: they may import the host's memories and tables.
        self.instances.clear();
        let allocator = &*self.engine.inner.allocator;
        for (memory, _def) in self.host_memories.drain(..) {
            allocator.deallocate_memory(memory);
        }
        for (table, _def) in self.host_tables.drain(..) {
            allocator.deallocate_table(table);
        }
    }
}

/// A shared view of a store.
pub struct StoreContext<'a>(pub(crate) &'a StoreInner);

/// An exclusive view of a store.
pub struct StoreContextMut<'a>(pub(crate) &'a mut StoreInner);

/// Things that give shared access to a store: [`Store`], [`Caller`], and references to them.
pub trait AsContext {
    /// The store.
    fn as_context(&self) -> StoreContext<'_>;
}

/// Things that give exclusive access to a store.
pub trait AsContextMut: AsContext {
    /// The store.
    fn as_context_mut(&mut self) -> StoreContextMut<'_>;
}

impl AsContext for Store {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext(&self.inner)
    }
}
impl AsContextMut for Store {
    fn as_context_mut(&mut self) -> StoreContextMut<'_> {
        StoreContextMut(&mut self.inner)
    }
}
impl AsContext for StoreContext<'_> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext(self.0)
    }
}
impl AsContext for StoreContextMut<'_> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext(self.0)
    }
}
impl AsContextMut for StoreContextMut<'_> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_> {
        StoreContextMut(self.0)
    }
}
impl AsContext for Caller<'_> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext(self.store)
    }
}
impl AsContextMut for Caller<'_> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_> {
        StoreContextMut(self.store)
    }
}
impl<T: AsContext + ?Sized> AsContext for &T {
    fn as_context(&self) -> StoreContext<'_> {
        (**self).as_context()
    }
}
impl<T: AsContext + ?Sized> AsContext for &mut T {
    fn as_context(&self) -> StoreContext<'_> {
        (**self).as_context()
    }
}
impl<T: AsContextMut + ?Sized> AsContextMut for &mut T {
    fn as_context_mut(&mut self) -> StoreContextMut<'_> {
        (**self).as_context_mut()
    }
}

impl<'a> From<&'a Store> for StoreContext<'a> {
    fn from(s: &'a Store) -> Self {
        StoreContext(&s.inner)
    }
}
impl<'a> From<&'a mut Store> for StoreContext<'a> {
    fn from(s: &'a mut Store) -> Self {
        StoreContext(&s.inner)
    }
}
impl<'a> From<&'a mut Store> for StoreContextMut<'a> {
    fn from(s: &'a mut Store) -> Self {
        StoreContextMut(&mut s.inner)
    }
}
impl<'a, 'b> From<&'a Caller<'b>> for StoreContext<'a> {
    fn from(c: &'a Caller<'b>) -> Self {
        StoreContext(c.store)
    }
}
impl<'a, 'b> From<&'a mut Caller<'b>> for StoreContextMut<'a> {
    fn from(c: &'a mut Caller<'b>) -> Self {
        StoreContextMut(c.store)
    }
}
