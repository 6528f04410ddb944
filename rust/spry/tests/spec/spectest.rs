//! The `spectest` host module that the test suite imports from.
//!
//! As defined by the reference interpreter: `print*` functions that do nothing, immutable globals
//! holding 666 / 666.6, a table of 10 (at most 20) funcrefs and a memory of 1 (at most 2) pages.

use anyhow::{Context, Result};
use spry::FuncType;
use spry::{Global, GlobalType, Linker, Memory, MemoryType, Store, Table, TableType, Val, ValType};

const MODULE: &str = "spectest";

/// Defines the `spectest` module's items in `linker`, creating its globals, table and memory in `store`.
pub fn define(linker: &mut Linker, store: &mut Store) -> Result<()> {
    use ValType::{F32, F64, I32, I64};
    let prints: [(&str, &[ValType]); 7] = [
        ("print", &[]),
        ("print_i32", &[I32]),
        ("print_i64", &[I64]),
        ("print_f32", &[F32]),
        ("print_f64", &[F64]),
        ("print_i32_f32", &[I32, F32]),
        ("print_f64_f64", &[F64, F64]),
    ];
    for (name, params) in prints {
        let ty = FuncType::new(params.iter().copied(), []);
        linker
            .func_new(MODULE, name, ty, |_caller, _params, _results| Ok(()))
            .with_context(|| format!("defining spectest.{name}"))?;
    }

    let globals = [
        ("global_i32", I32, Val::I32(666)),
        ("global_i64", I64, Val::I64(666)),
        ("global_f32", F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, false), value)
            .with_context(|| format!("creating spectest.{name}"))?;
        linker.define(MODULE, name, global).with_context(|| format!("defining spectest.{name}"))?;
    }

    let table = Table::new(&mut *store, TableType::new(ValType::FuncRef, 10, Some(20)), Val::null(ValType::FuncRef))
        .context("creating spectest.table")?;
    linker.define(MODULE, "table", table).context("defining spectest.table")?;

    let memory = Memory::new(store, MemoryType::new(1, Some(2))).context("creating spectest.memory")?;
    linker.define(MODULE, "memory", memory).context("defining spectest.memory")?;
    Ok(())
}
