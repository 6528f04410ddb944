//! [`Store`]: owns instances and everything the host creates for them (functions, memories, tables,
//! globals, externrefs), plus the host's own data. Objects taken from a store are small handles that
//! name their store; using one with another store is an error.
//!
//! # Ownership: no two live `&mut` to a store's state
//!
//! The state ([`StoreInner`]) is reached from the embedder's [`Store`], from compiled code and host
//! functions (raw pointers in VMContexts), and from every level of a nested call (host → Wasm →
//! host → Wasm). Rust allows many raw pointers to one object but one live `&mut` only, so:
//!
//! - [`Store`] owns the state through a raw pointer (`Box::into_raw` in [`Store::new`], freed in
//!   `Drop`): a `&mut Store` covers that pointer, not the state, and invalidates no pointer into it.
//! - The root pointer is copied unchanged to the store's [`VMStoreCaller`] and to every instance's
//!   `store` field; pointers into the state are projected from it ([`StoreInner::caller_ptr`]),
//!   never taken from a reference.
//! - [`StoreContextMut`] and [`Caller`] hold that raw pointer, not a `&mut StoreInner`; every
//!   operation derives a `&mut StoreInner` for its own duration only. [`StoreContext`] holds a
//!   `&StoreInner`, which needs a shared borrow of its source and so is never live across a call.
//! - A call into Wasm (`crate::func::invoke`, and `Func::call`, `Func::call_unchecked`,
//!   instantiation, which run Wasm through it) converts its arguments with a short borrow, enters
//!   Wasm with only the raw pointer held, and converts its results with a fresh borrow. A host
//!   function's [`Caller`] is built from the root pointer found through the caller VMContext, so
//!   while it runs nothing up the stack holds a reference into the state.
//!
//! `docs/store-ownership.md` gives the whole rule, including the C surface's side.

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
use std::marker::PhantomData;
use std::ptr::NonNull;
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
    /// The store's limits and the counts they are checked against (see `limits.rs`).
    pub(crate) limits: crate::limits::LimitState,
    /// The store's WASI state (`Store::set_wasi`): boxed, so that a WASI call can borrow it and the
    /// caller's memory at once without borrowing the rest of the store.
    pub(crate) wasi: Option<Box<crate::wasi::WasiCtx>>,
}

/// A collection of instances and host objects: the unit of isolation and of cleanup.
///
/// A store is used by one thread at a time (it is `Send`, not `Sync`). Dropping it frees every
/// instance, memory and table it holds.
pub struct Store {
    /// The state, from `Box::into_raw`: owned by this handle (freed in `Drop`) but held as a raw
    /// pointer, so that borrowing the handle asserts nothing over the state (see the module docs).
    inner: NonNull<StoreInner>,
}

// SAFETY: raw pointers in the store point into objects the store owns (or into immutable code); the
// store is moved between threads as a whole and never shared.
unsafe impl Send for StoreInner {}
// SAFETY: `Store` owns its `StoreInner` (which is `Send`) as a `Box` would; the pointer is not shared
// with any other thread's object.
unsafe impl Send for Store {}

impl Store {
    /// An empty store for modules of `engine`.
    pub fn new(engine: &Engine) -> Store {
        let inner = Box::into_raw(Box::new(StoreInner {
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
            limits: Default::default(),
            wasi: None,
        }));
        // SAFETY: `inner` is the fresh, exclusively owned allocation; the write goes through the root
        // pointer, which every later pointer to the state is copied from.
        unsafe { (*inner).caller.store = inner.cast() };
        // SAFETY: from `Box::into_raw`, never null.
        Store { inner: unsafe { NonNull::new_unchecked(inner) } }
    }

    /// The state, shared, for as long as `self` is borrowed.
    fn state(&self) -> &StoreInner {
        // SAFETY: the state lives as long as the handle; no `&mut StoreInner` can be live while the
        // handle is borrowed, because every exclusive access goes through `&mut self` or a context
        // derived from it (see the module docs).
        unsafe { self.inner.as_ref() }
    }

    /// The state, exclusively, for as long as `self` is borrowed mutably.
    fn state_mut(&mut self) -> &mut StoreInner {
        // SAFETY: as in `state`; `&mut self` excludes every other access through this handle, and
        // no call runs in the store while the handle is borrowed mutably by its owner.
        unsafe { self.inner.as_mut() }
    }

    /// For the C surface, which must not borrow its `Store` across a call (a host callback may
    /// reach the same `Store` again): an exclusive context made from a raw pointer to the handle,
    /// reading the state's pointer out of it without creating a reference to the `Store`.
    ///
    /// # Safety
    ///
    /// `store` points to a live `Store` that outlives `'a`, and is used by one thread at a time;
    /// the context is used as a borrow of it would be (no use after the `Store` is dropped).
    #[doc(hidden)]
    pub unsafe fn context_from_raw<'a>(store: *const Store) -> StoreContextMut<'a> {
        // SAFETY: per the contract; a plain read of the pointer field through the raw pointer.
        StoreContextMut::from_raw(unsafe { (*store).inner })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.state().engine
    }

    /// Attaches host data to the store (replacing any earlier data).
    pub fn set_data<T: Any + Send>(&mut self, data: T) {
        self.state_mut().data = Some(Box::new(data));
    }

    /// The host data, if it has type `T`.
    pub fn data<T: Any>(&self) -> Option<&T> {
        self.state().data()
    }

    /// The host data, mutably, if it has type `T`.
    pub fn data_mut<T: Any>(&mut self) -> Option<&mut T> {
        self.state_mut().data_mut()
    }

    /// Gives the store its WASI state (replacing any earlier one), which the functions of
    /// [`crate::wasi::add_to_linker`] use when they run in this store.
    pub fn set_wasi(&mut self, ctx: crate::wasi::WasiCtx) {
        self.state_mut().wasi = Some(Box::new(ctx));
    }

    /// The store's WASI state, if set.
    pub fn wasi(&self) -> Option<&crate::wasi::WasiCtx> {
        self.state().wasi.as_deref()
    }

    /// The store's WASI state, mutably, if set.
    pub fn wasi_mut(&mut self) -> Option<&mut crate::wasi::WasiCtx> {
        self.state_mut().wasi.as_deref_mut()
    }

    /// A handle that interrupts Wasm running in this store from any thread.
    pub fn interrupt_handle(&self) -> InterruptHandle {
        InterruptHandle { vm: self.state().vm.clone() }
    }

    /// Withdraws an interrupt request that no call consumed (one made after the call it was meant
    /// for returned, which would otherwise stop the next call). Taking `&mut self`, it cannot run
    /// while Wasm code runs in the store.
    pub fn clear_interrupt(&mut self) {
        self.state().vm.interrupt.store(0, Ordering::Relaxed);
    }

    /// The store's unique id: the first of the raw parts of its handles (for the C surface, which
    /// rebuilds handles from raw parts).
    #[doc(hidden)]
    pub fn id(&self) -> u64 {
        self.state().id
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw` in `Store::new` and is freed only here; no
        // call runs in the store (dropping needs the handle by value) and no context outlives it.
        drop(unsafe { Box::from_raw(self.inner.as_ptr()) });
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
        // Not just nonzero: code with fuel accounting compares the fuel against the flag.
        self.vm.interrupt.store(crate::environ::vmoffsets::INTERRUPT_FLAG_SET, Ordering::Relaxed);
        // Ends a WASI sleep (`poll_oneoff`) waiting on the flag.
        crate::wasi::wake_interrupted(&self.vm.interrupt);
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

    /// The root pointer to this state (the one `Store::new` made, copied to the caller block and
    /// to instances): pointers derived from it stay valid whatever references are taken later.
    pub(crate) fn root(&self) -> *mut StoreInner {
        self.caller.store.cast()
    }

    /// The caller VMContext for calls the host makes into this store, projected from the root
    /// pointer (not from a reference, which a nested call's borrow would invalidate).
    ///
    /// # Safety
    /// `store` is the root pointer of a live store.
    pub(crate) unsafe fn caller_ptr(store: *mut StoreInner) -> *mut VMContext {
        // SAFETY: per the contract; a projection, no reference is made.
        unsafe { std::ptr::addr_of_mut!((*store).caller).cast() }
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
    pub(crate) fn host_func(&mut self, host: &Arc<HostFunc>) -> Result<Func> {
        let func_ref = host.func_ref()?;
        if let Some(i) = self.func_ids.get(&(func_ref as usize)) {
            // Registered before, or seen through an instance that imports it (and keeps it alive).
            return Ok(Func { store: self.id, index: *i });
        }
        self.host_funcs.push(host.clone());
        Ok(self.push_func(func_ref, Arc::new(host.ty.clone())))
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
        self.limits.memories = self.limits.memories.saturating_add(1);
        self.memory_id(ptr)
    }

    pub(crate) fn push_host_table(&mut self, mut table: Box<VmTable>) -> u32 {
        let mut def = Box::new(VMTableDefinition { base: std::ptr::null_mut(), current_elements: 0 });
        // SAFETY: the definition is boxed and lives in the store as long as the table.
        unsafe { table.set_vmdef(&mut *def) };
        let ptr: *mut VmTable = &mut *table;
        self.host_tables.push((table, def));
        self.limits.tables = self.limits.tables.saturating_add(1);
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

/// An exclusive view of a store. It holds a raw pointer to the store's state, not a `&mut`, so that
/// a context kept across a call stays valid while the call's host functions use the store (see
/// `docs/store-ownership.md`); its lifetime is that of the exclusive borrow it was made from.
pub struct StoreContextMut<'a> {
    ptr: NonNull<StoreInner>,
    _borrow: PhantomData<&'a mut StoreInner>,
}

// SAFETY: a context stands for an exclusive borrow of the store's state, which is `Send` (as
// `&mut StoreInner` is); it is not `Sync`.
unsafe impl Send for StoreContextMut<'_> {}

impl<'a> StoreContext<'a> {
    /// The store's unique id (for the C surface, which rebuilds handles from raw parts).
    #[doc(hidden)]
    pub fn id(&self) -> u64 {
        self.0.id
    }
}

impl<'a> StoreContextMut<'a> {
    /// A context for the state at `ptr`, the store's root pointer.
    pub(crate) fn from_raw(ptr: NonNull<StoreInner>) -> StoreContextMut<'a> {
        StoreContextMut { ptr, _borrow: PhantomData }
    }

    /// The store's root pointer, for a call into Wasm (which must not hold a reference meanwhile).
    pub(crate) fn as_ptr(&self) -> *mut StoreInner {
        self.ptr.as_ptr()
    }

    /// The state, exclusively, for the whole of `'a` (consumes the context).
    pub(crate) fn inner(self) -> &'a mut StoreInner {
        // SAFETY: the context stands for an exclusive borrow for `'a` of a live store; the state is
        // reached only through contexts and callers derived from that borrow, one at a time, and
        // none of them is used until the returned reference is dead (it borrows the context away).
        unsafe { &mut *self.ptr.as_ptr() }
    }

    /// The state, exclusively, while the context is borrowed mutably.
    pub(crate) fn inner_mut(&mut self) -> &mut StoreInner {
        // SAFETY: as in `inner`, for the shorter borrow of `self`.
        unsafe { &mut *self.ptr.as_ptr() }
    }

    /// The state, shared, while the context is borrowed.
    pub(crate) fn inner_ref(&self) -> &StoreInner {
        // SAFETY: as in `inner`; `&self` excludes exclusive uses of this context meanwhile.
        unsafe { &*self.ptr.as_ptr() }
    }

    /// The store's unique id (for the C surface, which rebuilds handles from raw parts).
    #[doc(hidden)]
    pub fn id(&self) -> u64 {
        self.inner_ref().id
    }
}

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
        StoreContext(self.state())
    }
}
impl AsContextMut for Store {
    fn as_context_mut(&mut self) -> StoreContextMut<'_> {
        StoreContextMut::from_raw(self.inner)
    }
}
impl AsContext for StoreContext<'_> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext(self.0)
    }
}
impl AsContext for StoreContextMut<'_> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext(self.inner_ref())
    }
}
impl AsContextMut for StoreContextMut<'_> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_> {
        StoreContextMut::from_raw(self.ptr)
    }
}
impl AsContext for Caller<'_> {
    fn as_context(&self) -> StoreContext<'_> {
        StoreContext(self.store_ref())
    }
}
impl AsContextMut for Caller<'_> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_> {
        StoreContextMut::from_raw(self.store)
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
        StoreContext(s.state())
    }
}
impl<'a> From<&'a mut Store> for StoreContext<'a> {
    fn from(s: &'a mut Store) -> Self {
        StoreContext(s.state())
    }
}
impl<'a> From<&'a mut Store> for StoreContextMut<'a> {
    fn from(s: &'a mut Store) -> Self {
        StoreContextMut::from_raw(s.inner)
    }
}
impl<'a, 'b> From<&'a StoreContextMut<'b>> for StoreContext<'a> {
    fn from(c: &'a StoreContextMut<'b>) -> Self {
        StoreContext(c.inner_ref())
    }
}
impl<'a, 'b> From<&'a mut StoreContextMut<'b>> for StoreContextMut<'a> {
    fn from(c: &'a mut StoreContextMut<'b>) -> Self {
        StoreContextMut::from_raw(c.ptr)
    }
}
impl<'a, 'b> From<&'a Caller<'b>> for StoreContext<'a> {
    fn from(c: &'a Caller<'b>) -> Self {
        StoreContext(c.store_ref())
    }
}
impl<'a, 'b> From<&'a mut Caller<'b>> for StoreContextMut<'a> {
    fn from(c: &'a mut Caller<'b>) -> Self {
        StoreContextMut::from_raw(c.store)
    }
}
