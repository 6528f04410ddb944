//! [`Func`]: calling Wasm from the host and host functions from Wasm, and [`Caller`], what a host
//! function sees of its caller.
//!
//! A call from the host goes through the callee's per-signature entry trampoline inside
//! `catch_traps`; a call from Wasm to the host goes through a per-signature wasm-to-host trampoline
//! to [`host_call_shim`], which runs the host closure, catching its errors and panics and reporting
//! them as traps so that no Rust frame is ever unwound by a trap.

use crate::engine::Trampolines;
use crate::instance::{export_of, Extern};
use crate::store::{AsContext, AsContextMut, StoreInner};
use crate::trap::Trap;
use crate::types::FuncType;
use crate::values::Val;
use crate::vm::instance::Instance as VmInstance;
use crate::vm::traphandlers::{self, catch_traps, UnwindReason};
use crate::vm::vmcontext::*;
use anyhow::{bail, Result};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// A function: exported by an instance or created by the host. A small handle into its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

/// A host function's raw body: reads arguments from the slots and writes results back.
pub(crate) type RawHostFn = dyn Fn(Caller<'_>, &mut [u64]) -> Result<()> + Send + Sync;

/// A host function, independent of any store (linkers hold these).
pub(crate) struct HostFunc {
    pub ty: FuncType,
    pub type_id: u32,
    pub trampolines: Arc<Trampolines>,
    pub body: Box<RawHostFn>,
}

impl HostFunc {
    /// A host function over raw slots.
    pub(crate) fn new_raw(engine: &crate::Engine, ty: FuncType, body: Box<RawHostFn>) -> Result<HostFunc> {
        let trampolines = engine.trampolines(std::slice::from_ref(&ty))?.remove(0);
        Ok(HostFunc { type_id: engine.type_id(&ty), ty, trampolines, body })
    }

    /// A host function over [`Val`]s.
    pub(crate) fn new_typed(
        engine: &crate::Engine,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<HostFunc> {
        let ty2 = ty.clone();
        let body = move |mut caller: Caller<'_>, slots: &mut [u64]| -> Result<()> {
            let params: Vec<Val> =
                ty2.params().iter().zip(slots.iter()).map(|(t, raw)| Val::from_raw(caller.store, *raw, *t)).collect();
            let mut results: Vec<Val> = ty2.results().iter().map(|t| Val::null(*t)).collect();
            f(caller.reborrow(), &params, &mut results)?;
            for ((r, t), slot) in results.iter().zip(ty2.results()).zip(slots.iter_mut()) {
                if r.ty() != *t {
                    bail!("host function returned a {} where its type says {}", r.ty(), t);
                }
                *slot = r.to_raw(caller.store)?;
            }
            Ok(())
        };
        HostFunc::new_raw(engine, ty, Box::new(body))
    }
}

/// The store-specific context of a host function: what its `VMFuncRef::vmctx` points to.
#[repr(C)]
pub(crate) struct HostFuncContext {
    vm: VMHostFuncContext,
    pub host: Arc<HostFunc>,
    store: *mut StoreInner,
}

impl HostFuncContext {
    pub(crate) fn new(host: Arc<HostFunc>, store: *mut StoreInner, store_ctx: *mut VMStoreContext) -> Box<Self> {
        let mut ctx = Box::new(HostFuncContext {
            vm: VMHostFuncContext {
                magic: VMHOST_MAGIC,
                host_call: host_call_shim,
                func_ref: VMFuncRef {
                    wasm_call: host.trampolines.host,
                    vmctx: std::ptr::null_mut(),
                    type_index: host.type_id,
                    array_call: host.trampolines.entry,
                },
                store_ctx,
                host: std::ptr::null(),
            },
            host,
            store,
        });
        let this: *mut HostFuncContext = &mut *ctx;
        ctx.vm.func_ref.vmctx = this.cast();
        ctx.vm.host = this.cast();
        ctx
    }

    pub(crate) fn func_ref(&self) -> *const VMFuncRef {
        &self.vm.func_ref
    }
}

/// Called by wasm-to-host trampolines: runs the host function, reporting failure as a trap.
///
/// # Safety
/// `vmctx` is a live [`HostFuncContext`]; `values` points to `len` slots.
unsafe extern "C" fn host_call_shim(
    vmctx: *mut VMContext,
    caller: *mut VMContext,
    values: *mut u64,
    len: usize,
) -> u32 {
    // SAFETY: per the contract; the context is owned by its store, which outlives the call.
    let ctx = unsafe { &*vmctx.cast::<HostFuncContext>() };
    // SAFETY: per the contract.
    let slots = unsafe { std::slice::from_raw_parts_mut(values, len) };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the store is alive and, while Wasm runs, only reached through raw pointers.
        let store = unsafe { &mut *ctx.store };
        (ctx.host.body)(Caller { store, caller }, slots)
    }));
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            traphandlers::record_host_error(e);
            1
        }
        Err(panic) => {
            traphandlers::record_panic(panic);
            1
        }
    }
}

/// What a host function sees of its caller: the store, and the calling instance's exports.
pub struct Caller<'a> {
    pub(crate) store: &'a mut StoreInner,
    caller: *mut VMContext,
}

impl Caller<'_> {
    fn reborrow(&mut self) -> Caller<'_> {
        Caller { store: self.store, caller: self.caller }
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
        export_of(self.store, instance, name)
    }

    /// The store's host data, if it has type `T`.
    pub fn data<T: std::any::Any>(&self) -> Option<&T> {
        self.store.data()
    }

    /// The store's host data, mutably, if it has type `T`.
    pub fn data_mut<T: std::any::Any>(&mut self) -> Option<&mut T> {
        self.store.data_mut()
    }
}

impl Func {
    /// A host function of type `ty` in `store`, over [`Val`]s.
    pub fn new(
        mut store: impl AsContextMut,
        ty: FuncType,
        f: impl Fn(Caller<'_>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Func> {
        let store = store.as_context_mut().0;
        let host = HostFunc::new_typed(&store.engine, ty, f)?;
        Ok(store.push_host_func(Arc::new(host)))
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
        let store = store.as_context_mut().0;
        let host = HostFunc::new_raw(&store.engine, ty, Box::new(f))?;
        Ok(store.push_host_func(Arc::new(host)))
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
        let store = store.as_context_mut().0;
        let data = store.func_data(*self)?;
        let ty = data.ty.clone();
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
        for (i, (p, t)) in params.iter().zip(ty.params()).enumerate() {
            if p.ty() != *t {
                bail!("argument {i} has type {}, expected {t}", p.ty());
            }
            slots[i] = p.to_raw(store)?;
        }
        let func_ref = data.func_ref;
        // SAFETY: the arguments were type-checked; the slots hold max(params, results) values.
        unsafe { invoke(store, func_ref, slots.as_mut_ptr())? };
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
        let store = store.as_context_mut().0;
        let data = store.func_data(*self)?;
        if slots.len() < data.ty.slots() {
            bail!("expected {} slots, got {}", data.ty.slots(), slots.len());
        }
        let func_ref = data.func_ref;
        // SAFETY: the caller guarantees the arguments; the slice is long enough.
        unsafe { invoke(store, func_ref, slots.as_mut_ptr()) }
    }
}

/// Enters Wasm: runs `func_ref` with the slots through its entry trampoline and turns a trap into an
/// error (or resumes a host panic).
///
/// # Safety
/// `func_ref` is a live function of `store`; `slots` holds its arguments and has room for its results.
pub(crate) unsafe fn invoke(store: &mut StoreInner, func_ref: *const VMFuncRef, slots: *mut u64) -> Result<()> {
    let vm = store.vm_ptr();
    let max_stack = store.engine.inner.config.max_wasm_stack;
    // SAFETY: `vm` is the store's context; only raw pointers are used while Wasm runs.
    let outermost = unsafe { *(*vm).stack_limit.get() == 0 };
    // SAFETY: per the contract; the closure owns nothing that needs dropping.
    let result = unsafe {
        catch_traps(vm, max_stack, || {
            let f = &*func_ref;
            (f.array_call)(f.vmctx, f.vmctx, f.wasm_call, slots)
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

/// A host function that returned a trap (from a nested call) re-raises that trap, not a wrapper.
fn unwrap_host_trap(trap: Trap) -> anyhow::Error {
    if trap.host_error().is_some_and(|e| e.is::<Trap>()) {
        return trap.into_host_error().expect("checked");
    }
    trap.into()
}
