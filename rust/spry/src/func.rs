//! [`Func`]: calling Wasm from the host and host functions from Wasm, and [`Caller`], what a host
//! function sees of its caller.
//!
//! A call from the host goes through the callee's per-signature entry trampoline inside
//! `catch_traps`; a call from Wasm to the host goes through a per-signature wasm-to-host trampoline
//! to [`host_call_shim`], which runs the host closure, catching its errors and panics and reporting
//! them as traps so that no Rust frame is ever unwound by a trap.
//!
//! Store access during a call follows the rule in [`crate::store`]'s docs: the call path carries the
//! store's raw pointer, borrows the state only around the work before and after Wasm runs, and a
//! host function's [`Caller`] is built from the raw pointer found through the caller VMContext.

use crate::engine::Trampolines;
use crate::instance::{export_of, Extern};
use crate::store::{AsContext, AsContextMut, StoreInner};
use crate::trap::Trap;
use crate::types::FuncType;
use crate::values::Val;
use crate::vm::instance::Instance as VmInstance;
use crate::vm::libcalls;
use crate::vm::traphandlers::{self, catch_traps, UnwindReason};
use crate::vm::vmcontext::*;
use anyhow::{bail, Result};
use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

/// The `array_call` of a host function's reference before `HostFunc::func_ref` sets it: never
/// called, since no reference is handed out before.
unsafe extern "C" fn unset_array_call(_: *mut VMContext, _: *mut VMContext, _: *const u8, _: *mut u64) {
    eprintln!("spry: a host function was called before its trampolines were set");
    std::process::abort()
}

/// A function: exported by an instance or created by the host. A small handle into its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

/// A host function's raw body: reads arguments from the slots and writes results back.
pub(crate) type RawHostFn = dyn Fn(Caller<'_>, &mut [u64]) -> Result<()> + Send + Sync;

/// A host function, independent of any store (linkers and `InstancePre`s hold these). Its context
/// (what its `VMFuncRef::vmctx` points to) is made once, with it, and serves every store: the host
/// call finds the store through its caller ([`store_of_caller`]), so using a host function in a
/// store creates nothing.
///
/// Its trampolines are set on first use ([`HostFunc::func_ref`]), not when it is defined: by then the
/// module that imports it has usually given the engine the trampolines of its type (from its
/// artifact, or compiled with the module), so defining host functions compiles nothing, and a host
/// function no module imports never gets any.
pub(crate) struct HostFunc {
    pub ty: FuncType,
    engine: crate::Engine,
    /// Set once, by `func_ref`, with the context's `wasm_call` and `array_call`; keeps the code they
    /// point to alive.
    trampolines: OnceLock<Arc<Trampolines>>,
    pub body: Box<RawHostFn>,
    /// Boxed: its `func_ref.vmctx` points to itself. Its `host` points to this `HostFunc`, which lives
    /// in an `Arc` and so never moves. Written only by `func_ref`'s one-time initialization, before
    /// the reference is handed out.
    ctx: Box<UnsafeCell<VMHostFuncContext>>,
}

// SAFETY: the context's raw pointers point into the `HostFunc` itself and into immutable code; the
// context is written once, inside the `OnceLock`'s initialization, before any thread can read it
// through a reference `func_ref` returned (which synchronizes with that write). The body is
// `Send + Sync`.
unsafe impl Send for HostFunc {}
// SAFETY: as above.
unsafe impl Sync for HostFunc {}

impl HostFunc {
    /// A host function over raw slots.
    pub(crate) fn new_raw(engine: &crate::Engine, ty: FuncType, body: Box<RawHostFn>) -> Result<Arc<HostFunc>> {
        let type_id = engine.type_id(&ty);
        Ok(Arc::new_cyclic(|this: &std::sync::Weak<HostFunc>| {
            let ctx = Box::new(UnsafeCell::new(VMHostFuncContext {
                magic: VMHOST_MAGIC,
                host_call: host_call_shim,
                func_ref: VMFuncRef {
                    // Set by `func_ref` before the reference is used.
                    wasm_call: std::ptr::null(),
                    vmctx: std::ptr::null_mut(),
                    type_index: type_id,
                    array_call: unset_array_call,
                },
                // The address the `Arc` will hold the `HostFunc` at (valid once it is built).
                host: this.as_ptr().cast(),
                raise_trap: libcalls::raise_trap_address(),
            }));
            let vmctx = ctx.get();
            // SAFETY: a fresh box, not shared yet.
            unsafe { (*vmctx).func_ref.vmctx = vmctx.cast() };
            HostFunc { ty, engine: engine.clone(), trampolines: OnceLock::new(), body, ctx }
        }))
    }

    /// A host function over [`Val`]s.
    pub(crate) fn new_typed(
        engine: &crate::Engine,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Arc<HostFunc>> {
        let ty2 = ty.clone();
        let body = move |mut caller: Caller<'_>, slots: &mut [u64]| -> Result<()> {
            let store = caller.store_mut();
            let params: Vec<Val> =
                ty2.params().iter().zip(slots.iter()).map(|(t, raw)| Val::from_raw(store, *raw, *t)).collect();
            let mut results: Vec<Val> = ty2.results().iter().map(|t| Val::null(*t)).collect();
            f(caller.reborrow(), &params, &mut results)?;
            // A fresh borrow: the host function may have nested calls that used the store.
            let store = caller.store_ref();
            for ((r, t), slot) in results.iter().zip(ty2.results()).zip(slots.iter_mut()) {
                if r.ty() != *t {
                    bail!("host function returned a {} where its type says {}", r.ty(), t);
                }
                *slot = r.to_raw(store)?;
            }
            Ok(())
        };
        HostFunc::new_raw(engine, ty, Box::new(body))
    }

    /// The function's reference, the same in every store, with its trampolines set: taken from the
    /// engine's (which the modules it loaded gave it), compiled only if the engine has none for the
    /// function's type. Errors only if that compilation fails.
    pub(crate) fn func_ref(&self) -> Result<*const VMFuncRef> {
        if self.trampolines.get().is_none() {
            let t = self.engine.trampolines(std::slice::from_ref(&self.ty))?.remove(0);
            self.trampolines.get_or_init(|| {
                // SAFETY: the one write to the context, inside the one-time initialization: no reference
                // to the context was handed out yet (every path to it goes through this function).
                unsafe {
                    let f = &mut (*self.ctx.get()).func_ref;
                    f.wasm_call = t.host;
                    f.array_call = t.entry;
                }
                t
            });
        }
        // SAFETY: the context lives as long as `self`; only its address is taken.
        Ok(unsafe { &raw const (*self.ctx.get()).func_ref })
    }
}

/// The store a host function runs in, from the caller VMContext its trampoline was given: an
/// instance's (called from Wasm) or a store's [`VMStoreCaller`] (called by the host).
///
/// Both hold the store's root pointer (see [`crate::store`]), so the result stays valid whatever
/// references to the state were made and dropped meanwhile.
///
/// # Safety
/// `caller` is the VMContext of a live instance or a live store's `VMStoreCaller`.
unsafe fn store_of_caller(caller: *mut VMContext) -> NonNull<StoreInner> {
    // SAFETY: both kinds of block start with their magic word.
    let store: *mut StoreInner = match unsafe { *caller.cast::<u32>() } {
        // SAFETY: an instance VMContext, checked by its magic.
        VMCONTEXT_MAGIC => unsafe { VmInstance::from_vmctx(caller).store.cast() },
        // SAFETY: a store caller block, checked by its magic.
        VMSTORE_CALLER_MAGIC => unsafe { (*caller.cast::<VMStoreCaller>()).store.cast() },
        magic => {
            // Compiled code and `invoke` pass nothing else: a broken invariant, not bad input.
            eprintln!("spry: host function called with an unknown caller context (magic {magic:#x})");
            std::process::abort()
        }
    };
    NonNull::new(store).unwrap_or_else(|| {
        eprintln!("spry: host function called with a caller context of no store");
        std::process::abort()
    })
}

/// Called by wasm-to-host trampolines: runs the host function, reporting failure as a trap.
///
/// # Safety
/// `vmctx` is the live context of a [`HostFunc`]; `caller` is as [`store_of_caller`] requires;
/// `values` points to `len` slots.
unsafe extern "C" fn host_call_shim(
    vmctx: *mut VMContext,
    caller: *mut VMContext,
    values: *mut u64,
    len: usize,
) -> u32 {
    // SAFETY: per the contract; the host function is kept alive by the store or instance that
    // imported it, which outlives the call.
    let host = unsafe { &*(*vmctx.cast::<VMHostFuncContext>()).host.cast::<HostFunc>() };
    // SAFETY: per the contract.
    let slots = unsafe { std::slice::from_raw_parts_mut(values, len) };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: per the contract. The store is alive, and while Wasm runs nothing up the stack
        // holds a reference into it (`invoke`'s rule), so the caller may borrow it.
        let store = unsafe { store_of_caller(caller) };
        (host.body)(Caller { store, caller, _borrow: PhantomData }, slots)
    }));
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            if e.is::<crate::wasi::I32Exit>() {
                // An exit, not a trap the user sees: no backtrace.
                traphandlers::record_host_exit(e);
            } else {
                traphandlers::record_host_error(e);
            }
            1
        }
        Err(panic) => {
            traphandlers::record_panic(panic);
            1
        }
    }
}

/// What a host function sees of its caller: the store, and the calling instance's exports.
///
/// It holds the store's raw pointer, not a reference: the host function may call into the store
/// again (`Func::call(&mut caller, ...)`), and the levels of such a nested call each borrow the
/// store only while they use it (see `docs/store-ownership.md`).
pub struct Caller<'a> {
    pub(crate) store: NonNull<StoreInner>,
    caller: *mut VMContext,
    _borrow: PhantomData<&'a mut StoreInner>,
}

impl Caller<'_> {
    fn reborrow(&mut self) -> Caller<'_> {
        Caller { store: self.store, caller: self.caller, _borrow: PhantomData }
    }

    /// The store's state, shared, while the caller is borrowed.
    pub(crate) fn store_ref(&self) -> &StoreInner {
        // SAFETY: the store outlives the host call; the inner levels of a nested call run only while
        // this caller is borrowed mutably (by `Func::call`), so none runs while this borrow lives.
        unsafe { self.store.as_ref() }
    }

    /// The store's state, exclusively, while the caller is borrowed mutably.
    pub(crate) fn store_mut(&mut self) -> &mut StoreInner {
        // SAFETY: as in `store_ref`; the outer levels hold no reference into the store meanwhile.
        unsafe { &mut *self.store.as_ptr() }
    }

    /// The caller VMContext (an instance's, or the store's caller block when the host called):
    /// an identity for per-caller caches.
    pub(crate) fn caller_vmctx(&self) -> *mut VMContext {
        self.caller
    }

    /// The calling instance's export `name` (e.g. its memory), if the caller is an instance.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        if self.caller.is_null() {
            return None;
        }
        // SAFETY: a caller VMContext starts with a magic word identifying instances.
        let magic = unsafe { *self.caller.cast::<u32>() };
        if magic != VMCONTEXT_MAGIC {
            return None;
        }
        // SAFETY: an instance VMContext, checked above, of an instance alive during the call.
        let instance = unsafe { VmInstance::from_vmctx(self.caller) };
        export_of(self.store_mut(), instance, name)
    }

    /// The store's host data, if it has type `T`.
    pub fn data<T: std::any::Any>(&self) -> Option<&T> {
        self.store_ref().data()
    }

    /// The store's host data, mutably, if it has type `T`.
    pub fn data_mut<T: std::any::Any>(&mut self) -> Option<&mut T> {
        self.store_mut().data_mut()
    }
}

impl Func {
    /// A host function of type `ty` in `store`, over [`Val`]s.
    pub fn new(
        mut store: impl AsContextMut,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Func> {
        let store = store.as_context_mut().inner();
        let host = HostFunc::new_typed(&store.engine, ty, f)?;
        store.host_func(&host)
    }

    /// A host function of type `ty` over raw 64-bit slots (arguments in, results out; see
    /// [`Func::call_unchecked`] for the layout).
    ///
    /// # Safety
    /// Reference results must be null or references valid in this store.
    pub unsafe fn new_unchecked(
        mut store: impl AsContextMut,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &mut [u64]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Func> {
        let store = store.as_context_mut().inner();
        let host = HostFunc::new_raw(&store.engine, ty, Box::new(f))?;
        store.host_func(&host)
    }

    /// The function's type.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let store = store.as_context().0;
        match store.func_data(*self) {
            Ok(d) => (*d.ty).clone(),
            Err(_) => FuncType::new([], []),
        }
    }

    /// Calls the function. `results` must have room for exactly the function's results.
    ///
    /// A trap is an error that downcasts to [`Trap`]; a panic in a host function called meanwhile is
    /// resumed here.
    pub fn call(&self, mut store: impl AsContextMut, params: &[Val], results: &mut [Val]) -> Result<()> {
        let mut cx = store.as_context_mut();
        let data = cx.inner_ref().func_data(*self)?;
        let (func_ref, ty) = (data.func_ref, data.ty.clone());
        if params.len() != ty.params().len() {
            bail!("expected {} arguments, got {}", ty.params().len(), params.len());
        }
        if results.len() != ty.results().len() {
            bail!("expected room for {} results, got {}", ty.results().len(), results.len());
        }
        // Slots on the stack for the common case: no allocation per call.
        let mut inline = [0u64; 16];
        let mut heap = Vec::new();
        let slots: &mut [u64] = if ty.slots() <= inline.len() {
            &mut inline[..ty.slots().max(1)]
        } else {
            heap.resize(ty.slots(), 0);
            &mut heap
        };
        let store = cx.inner_ref();
        for (i, (p, t)) in params.iter().zip(ty.params()).enumerate() {
            if p.ty() != *t {
                bail!("argument {i} has type {}, expected {t}", p.ty());
            }
            slots[i] = p.to_raw(store)?;
        }
        // SAFETY: the arguments were type-checked; the slots hold max(params, results) values; the
        // store is reached through its raw pointer only (no borrow of it is used past this point).
        unsafe { invoke(cx.as_ptr(), func_ref, slots.as_mut_ptr())? };
        // A fresh borrow: host functions the call ran may have changed the store.
        let store = cx.inner_mut();
        for ((r, t), raw) in results.iter_mut().zip(ty.results()).zip(slots.iter()) {
            *r = Val::from_raw(store, *raw, *t);
        }
        Ok(())
    }

    /// Calls the function with arguments and results in raw 64-bit slots: i32 and f32 in the low 4
    /// bytes, i64, f64 and references in all 8. `slots` must hold max(params, results) values.
    ///
    /// # Safety
    /// The arguments must match the function's type; reference arguments must be null or valid
    /// references of this store.
    pub unsafe fn call_unchecked(&self, mut store: impl AsContextMut, slots: &mut [u64]) -> Result<()> {
        let cx = store.as_context_mut();
        let data = cx.inner_ref().func_data(*self)?;
        if slots.len() < data.ty.slots() {
            bail!("expected {} slots, got {}", data.ty.slots(), slots.len());
        }
        let func_ref = data.func_ref;
        // SAFETY: the caller guarantees the arguments; the slice is long enough; the borrow of the
        // store ended above.
        unsafe { invoke(cx.as_ptr(), func_ref, slots.as_mut_ptr()) }
    }
}

/// Enters Wasm: runs `func_ref` with the slots through its entry trampoline and turns a trap into an
/// error (or resumes a host panic).
///
/// The store is passed as its root pointer (from a [`crate::StoreContextMut`]), and borrowed only to read
/// what the call needs: while Wasm runs, host functions borrow the store through their `Caller`, so
/// no reference to it may be live here, nor up the stack (callers re-borrow after this returns).
///
/// # Safety
/// `store` is the root pointer of a live store, none of whose state is borrowed while this runs;
/// `func_ref` is a live function of that store; `slots` holds its arguments and has room for its
/// results.
pub(crate) unsafe fn invoke(store: *mut StoreInner, func_ref: *const VMFuncRef, slots: *mut u64) -> Result<()> {
    let (vm, max_stack) = {
        // SAFETY: per the contract; the borrow ends with this block, before Wasm runs.
        let s = unsafe { &*store };
        (s.vm_ptr(), s.engine.inner.config.max_wasm_stack)
    };
    // SAFETY: per the contract.
    let caller = unsafe { StoreInner::caller_ptr(store) };
    // SAFETY: `vm` is the store's context; only raw pointers are used while Wasm runs.
    let outermost = unsafe { *(*vm).stack_limit.get() == 0 };
    // SAFETY: per the contract; the closure owns nothing that needs dropping.
    let result = unsafe {
        catch_traps(vm, max_stack, || {
            let f = &*func_ref;
            (f.array_call)(f.vmctx, caller, f.wasm_call, slots)
        })
    };
    if outermost {
        // SAFETY: as above.
        unsafe { (*vm).interrupt.store(0, Ordering::Relaxed) };
    }
    match result {
        Ok(()) => Ok(()),
        Err(UnwindReason::Trap(trap)) => Err(unwrap_host_trap(trap)),
        Err(UnwindReason::Panic(p)) => std::panic::resume_unwind(p),
    }
}

/// A host function that returned a trap (from a nested call, or made by a C or Go host callback)
/// re-raises that trap, not a wrapper. A trap without frames (a callback's: `spry_trap_new`, Go's
/// host errors) gets the Wasm frames recorded when the host function returned it.
fn unwrap_host_trap(trap: Trap) -> anyhow::Error {
    if trap.host_error().is_some_and(|e| e.is::<Trap>()) {
        let frames = trap.backtrace().to_vec();
        return match trap.into_host_error().expect("checked").downcast::<Trap>() {
            Ok(inner) if inner.backtrace().is_empty() => inner.with_backtrace(frames).into(),
            Ok(inner) => inner.into(),
            Err(e) => e,
        };
    }
    trap.into()
}
