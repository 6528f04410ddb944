//! [`Val`], a Wasm value on the host side, and [`ExternRef`], a host value that Wasm can hold.

use crate::func::Func;
use crate::store::{AsContext, AsContextMut, StoreInner};
use crate::types::ValType;
use anyhow::Result;
use std::any::Any;

/// A reference to a host value, usable as a Wasm `externref`. It lives as long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: u64,
    pub(crate) index: u32,
}

impl ExternRef {
    /// Wraps `data` in a new reference owned by `store`.
    pub fn new(mut store: impl AsContextMut, data: impl Any + Send + Sync) -> ExternRef {
        let store = store.as_context_mut().inner();
        store.externs.push(Box::new(data));
        ExternRef { store: store.id, index: store.externs.len() as u32 - 1 }
    }

    /// The host value, or `None` if `store` is not the reference's store.
    pub fn data<'a>(&self, store: &'a impl AsContext) -> Option<&'a (dyn Any + Send + Sync)> {
        let store = store.as_context().0;
        if store.id != self.store {
            return None;
        }
        store.externs.get(self.index as usize).map(|b| &**b)
    }

    pub(crate) fn to_raw(self, store: &StoreInner) -> Result<u64> {
        store.item(&store.externs, self.store, self.index, "externref")?;
        Ok(self.index as u64 + 1)
    }

    pub(crate) fn from_raw(store: &StoreInner, raw: u64) -> Option<ExternRef> {
        (raw != 0).then(|| ExternRef { store: store.id, index: (raw - 1) as u32 })
    }
}

/// A WebAssembly value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// A 32-bit integer.
    I32(i32),
    /// A 64-bit integer.
    I64(i64),
    /// A 32-bit float, as its bits (so NaN payloads survive).
    F32(u32),
    /// A 64-bit float, as its bits.
    F64(u64),
    /// A function reference, or null.
    FuncRef(Option<Func>),
    /// An external reference, or null.
    ExternRef(Option<ExternRef>),
}

impl Val {
    /// The null reference of reference type `ty` (zero for numeric types).
    pub fn null(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
        }
    }

    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
        }
    }

    /// The i32, if this is one.
    pub fn i32(&self) -> Option<i32> {
        if let Val::I32(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The i64, if this is one.
    pub fn i64(&self) -> Option<i64> {
        if let Val::I64(v) = self {
            Some(*v)
        } else {
            None
        }
    }

    /// The f32, if this is one.
    pub fn f32(&self) -> Option<f32> {
        if let Val::F32(v) = self {
            Some(f32::from_bits(*v))
        } else {
            None
        }
    }

    /// The f64, if this is one.
    pub fn f64(&self) -> Option<f64> {
        if let Val::F64(v) = self {
            Some(f64::from_bits(*v))
        } else {
            None
        }
    }

    /// The value as a raw 64-bit slot (see the trampolines' slot layout).
    pub(crate) fn to_raw(self, store: &StoreInner) -> Result<u64> {
        Ok(match self {
            Val::I32(v) => v as u32 as u64,
            Val::I64(v) => v as u64,
            Val::F32(v) => v as u64,
            Val::F64(v) => v,
            Val::FuncRef(None) | Val::ExternRef(None) => 0,
            Val::FuncRef(Some(f)) => store.func_data(f)?.func_ref as u64,
            Val::ExternRef(Some(e)) => e.to_raw(store)?,
        })
    }

    /// The value of type `ty` held in a raw slot.
    pub(crate) fn from_raw(store: &mut StoreInner, raw: u64, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw as u32 as i32),
            ValType::I64 => Val::I64(raw as i64),
            ValType::F32 => Val::F32(raw as u32),
            ValType::F64 => Val::F64(raw),
            // SAFETY: a funcref slot holds null or a VMFuncRef owned by this store.
            ValType::FuncRef => Val::FuncRef(unsafe { store.func_from_ref(raw as *const _) }),
            ValType::ExternRef => Val::ExternRef(ExternRef::from_raw(store, raw)),
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}
impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}
