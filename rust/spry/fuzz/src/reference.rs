//! The reference side of the differential targets: the same run as `diff::run_spry`
//! (`tests/common/diff.rs`), on wasmtime (a dependency of this fuzz crate only).

use crate::diff::{
    arg_value, module_seed, val_externref, val_f32, val_f64, val_funcref, val_i32, val_i64, ArgVal, Elem, FuncIds,
    Summary, TrapKind,
};
use wasmtime::{
    Config, Engine, Extern, ExternType, Func, Global, Instance, Memory, Module, Ref, Store, Table, Trap, Val,
};

/// Wasm stack limit of both sides (Spry's `max_wasm_stack` is set to the same in `new_diff_engine`).
pub const MAX_WASM_STACK: usize = 512 * 1024;

/// A wasmtime engine for the differential runs: WebAssembly 2.0 features, no fuel, no epochs
/// (wasm-smith's `ensure_termination` bounds the run the same way on both sides).
pub fn new_engine() -> Engine {
    let mut config = Config::new();
    config
        .max_wasm_stack(MAX_WASM_STACK)
        .wasm_reference_types(true)
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        .wasm_simd(false)
        .wasm_relaxed_simd(false)
        .wasm_multi_memory(false)
        .wasm_tail_call(false)
        .wasm_function_references(false)
        .wasm_gc(false);
    Engine::new(&config).expect("wasmtime engine")
}

fn trap_kind(err: &wasmtime::Error) -> TrapKind {
    match err.downcast_ref::<Trap>() {
        Some(t) => match t {
            Trap::StackOverflow => TrapKind::StackOverflow,
            Trap::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            Trap::TableOutOfBounds => TrapKind::TableOutOfBounds,
            Trap::IndirectCallToNull => TrapKind::IndirectCallToNull,
            Trap::BadSignature => TrapKind::BadSignature,
            Trap::IntegerOverflow => TrapKind::IntegerOverflow,
            Trap::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
            Trap::BadConversionToInteger => TrapKind::BadConversionToInteger,
            Trap::UnreachableCodeReached => TrapKind::Unreachable,
            Trap::Interrupt => TrapKind::Interrupt,
            Trap::NullReference => TrapKind::NullReference,
            _ => TrapKind::Other,
        },
        None => TrapKind::Other,
    }
}

/// Identity of a wasmtime function reference: its `VMFuncRef` address (stable within a store).
fn func_key(store: &mut Store<()>, f: &Func) -> usize {
    f.to_raw(&mut *store) as usize
}

/// Runs `wasm` on wasmtime. `Err` when wasmtime does not compile it (a harness problem for wasm-smith
/// modules, or a feature wasmtime lacks).
pub fn run_wasmtime(engine: &Engine, wasm: &[u8]) -> Result<Summary, String> {
    let module = Module::new(engine, wasm).map_err(|e| format!("{e:?}"))?;
    let mut store = Store::new(engine, ());
    let mut summary = Summary::new();
    let mut ids: FuncIds<usize> = FuncIds::default();

    let mut imports = Vec::new();
    for import in module.imports() {
        let item: wasmtime::Result<Extern> = match import.ty() {
            ExternType::Func(ty) => {
                let results: Vec<_> = ty.results().collect();
                Ok(Func::new(&mut store, ty.clone(), move |_, _, out| {
                    for (r, t) in out.iter_mut().zip(&results) {
                        *r = Val::default_for_ty(t).expect("defaultable result type");
                    }
                    Ok(())
                })
                .into())
            }
            ExternType::Memory(m) => Memory::new(&mut store, m).map(Extern::from),
            ExternType::Table(t) => {
                let init = Ref::null(t.element().heap_type());
                Table::new(&mut store, t, init).map(Extern::from)
            }
            ExternType::Global(g) => {
                let init = Val::default_for_ty(g.content()).expect("defaultable global type");
                Global::new(&mut store, g, init).map(Extern::from)
            }
            _ => {
                summary.line("instantiate error".to_string());
                return Ok(summary);
            }
        };
        match item {
            Ok(item) => imports.push(item),
            Err(_) => {
                summary.line("instantiate error".to_string());
                return Ok(summary);
            }
        }
    }
    let instance = match Instance::new(&mut store, &module, &imports) {
        Ok(i) => i,
        Err(e) => {
            if e.downcast_ref::<Trap>().is_some() {
                let kind = trap_kind(&e);
                summary.line(format!("instantiate trap {}", kind.name()));
                if kind == TrapKind::StackOverflow {
                    summary.inconclusive("stack-overflow");
                }
            } else {
                summary.line("instantiate error".to_string());
            }
            return Ok(summary);
        }
    };
    summary.line("instantiate ok".to_string());

    fn val(v: &Val, store: &mut Store<()>, ids: &mut FuncIds<usize>) -> String {
        match v {
            Val::I32(x) => val_i32(*x),
            Val::I64(x) => val_i64(*x),
            Val::F32(b) => val_f32(*b),
            Val::F64(b) => val_f64(*b),
            Val::FuncRef(f) => {
                let id = f.as_ref().map(|f| ids.id(func_key(store, f)));
                val_funcref(id)
            }
            Val::ExternRef(r) => val_externref(r.is_some()),
            other => format!("unsupported:{other:?}"),
        }
    }
    let seed = module_seed(wasm);
    let exports: Vec<(String, ExternType)> = module.exports().map(|e| (e.name().to_string(), e.ty())).collect();
    for (index, (name, ty)) in exports.iter().enumerate() {
        let ExternType::Func(ty) = ty else { continue };
        let func = instance.get_func(&mut store, name).expect("exported function");
        let params: Vec<Val> = ty
            .params()
            .enumerate()
            .map(|(p, t)| {
                let spry_ty = match &t {
                    wasmtime::ValType::I32 => spry::ValType::I32,
                    wasmtime::ValType::I64 => spry::ValType::I64,
                    wasmtime::ValType::F32 => spry::ValType::F32,
                    wasmtime::ValType::F64 => spry::ValType::F64,
                    _ => spry::ValType::FuncRef,
                };
                match arg_value(seed, index, p, spry_ty) {
                    ArgVal::I32(x) => Val::I32(x),
                    ArgVal::I64(x) => Val::I64(x),
                    ArgVal::F32(x) => Val::F32(x),
                    ArgVal::F64(x) => Val::F64(x),
                    ArgVal::NullRef => Val::default_for_ty(&t).expect("nullable reference parameter"),
                }
            })
            .collect();
        let mut results: Vec<Val> =
            ty.results().map(|t| Val::default_for_ty(&t).expect("defaultable result type")).collect();
        match func.call(&mut store, &params, &mut results) {
            Ok(()) => {
                let vals: Vec<String> = results.iter().map(|v| val(v, &mut store, &mut ids)).collect();
                summary.call_ok(name, &vals);
            }
            Err(e) => {
                let kind = trap_kind(&e);
                summary.call_trap(name, kind);
                if kind == TrapKind::StackOverflow {
                    summary.inconclusive("stack-overflow");
                    return Ok(summary);
                }
            }
        }
        for (name, ty) in &exports {
            match ty {
                ExternType::Memory(_) => {
                    let m = instance.get_memory(&mut store, name).expect("exported memory");
                    let pages = m.size(&store);
                    summary.memory(name, pages, m.data(&store));
                }
                ExternType::Global(_) => {
                    let g = instance.get_global(&mut store, name).expect("exported global");
                    let v = g.get(&mut store);
                    let s = val(&v, &mut store, &mut ids);
                    summary.global(name, s);
                }
                ExternType::Table(_) => {
                    let t = instance.get_table(&mut store, name).expect("exported table");
                    let size = t.size(&store);
                    let mut elems = Vec::with_capacity(size as usize);
                    for i in 0..size {
                        let e = match t.get(&mut store, i) {
                            Some(Ref::Func(Some(f))) => Elem::Func(ids.id(func_key(&mut store, &f))),
                            Some(Ref::Extern(Some(_))) => Elem::Extern,
                            _ => Elem::Null,
                        };
                        elems.push(e);
                    }
                    summary.table(name, &elems);
                }
                _ => {}
            }
        }
    }
    Ok(summary)
}
