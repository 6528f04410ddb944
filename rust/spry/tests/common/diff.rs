//! The differential-testing summary: what running a module did, as text that two runtimes can be
//! compared on, plus the Spry side of the run.
//!
//! Shared by the fuzz crate's `diff_smith`/`diff_bulk` targets (`fuzz/src/lib.rs` includes this file
//! with `#[path]`; the reference side, wasmtime, lives in `fuzz/src/reference.rs`) and by
//! `tests/fuzz_regressions.rs`, which replays `fuzz/regressions/*.wasm` on Spry and checks the result
//! against the `*.expected` summary recorded from wasmtime. This file depends on `spry` and `libc`
//! only, so the replay needs no wasmtime.
//!
//! How a module is run (both runtimes do exactly this):
//! 1. Instantiate it with dummy imports, in import order: functions return zeros / null references,
//!    memories, tables and globals are made with the import's type, zero-filled / null.
//! 2. For every exported function, in export order: call it with arguments from [`arg_value`]
//!    (a deterministic function of the module's bytes, the export's index and the parameter's
//!    index), then record the results or the trap, then every exported memory (size in pages and
//!    [`memory_digest`]), global (value) and table (size and elements).
//!
//! Summary lines (first line [`HEADER`]):
//! - `instantiate ok` | `instantiate trap <kind>` | `instantiate error`
//! - `call <name> ok <vals>` | `call <name> trap <kind>`
//! - `memory <name> pages=<n> digest=<hex>`, `global <name> <val>`, `table <name> size=<n> <elems>`
//! - `inconclusive <reason>`: the rest cannot be compared (a stack overflow: its depth differs
//!   between runtimes, and state may diverge from there). [`compare`] stops at such a line.
//!
//! Values: `i32:0x…`/`i64:0x…` (hex bits), `f32:0x…`/`f64:0x…` (bits; any NaN is `f32:nan`/`f64:nan`),
//! `funcref:null`, `funcref:#<k>` (k: the order in which the function reference was first seen in the
//! run, so identity is compared, not addresses), `externref:null`, `externref:nonnull`.
//! Table elements are run-length encoded: `n*3,#0,#1*2` (null ×3, function #0, function #1 ×2).
#![allow(dead_code)]

use std::collections::HashMap;
use std::hash::Hash;

/// First line of every summary (and of every `.expected` file).
pub const HEADER: &str = "spry-diff v1";

/// Trap kinds common to both runtimes (the names used in summaries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrapKind {
    /// The Wasm stack was exhausted (inconclusive, see the module doc).
    StackOverflow,
    /// Out-of-bounds memory access (loads, stores, bulk memory, data segments).
    MemoryOutOfBounds,
    /// Out-of-bounds table access (table ops, bulk table ops, elem segments, call_indirect index).
    TableOutOfBounds,
    /// call_indirect on a null element.
    IndirectCallToNull,
    /// call_indirect signature mismatch.
    BadSignature,
    /// Integer overflow (div_s, trunc out of range).
    IntegerOverflow,
    /// Integer division by zero.
    IntegerDivisionByZero,
    /// Float-to-int conversion of NaN.
    BadConversionToInteger,
    /// `unreachable` (also wasm-smith's fuel running out).
    Unreachable,
    /// Null reference.
    NullReference,
    /// Interrupt (never requested by the differential runs).
    Interrupt,
    /// Anything else (a host error, an unknown code, a non-trap error from a call).
    Other,
}

impl TrapKind {
    /// The name used in summaries.
    pub fn name(self) -> &'static str {
        match self {
            TrapKind::StackOverflow => "stack-overflow",
            TrapKind::MemoryOutOfBounds => "memory-oob",
            TrapKind::TableOutOfBounds => "table-oob",
            TrapKind::IndirectCallToNull => "indirect-null",
            TrapKind::BadSignature => "bad-signature",
            TrapKind::IntegerOverflow => "int-overflow",
            TrapKind::IntegerDivisionByZero => "div-by-zero",
            TrapKind::BadConversionToInteger => "bad-conversion",
            TrapKind::Unreachable => "unreachable",
            TrapKind::NullReference => "null-reference",
            TrapKind::Interrupt => "interrupt",
            TrapKind::Other => "other",
        }
    }

    /// Spry's trap code as a kind.
    pub fn from_spry(code: spry::TrapCode) -> TrapKind {
        use spry::TrapCode as C;
        match code {
            C::StackOverflow => TrapKind::StackOverflow,
            C::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            C::TableOutOfBounds => TrapKind::TableOutOfBounds,
            C::IndirectCallToNull => TrapKind::IndirectCallToNull,
            C::BadSignature => TrapKind::BadSignature,
            C::IntegerOverflow => TrapKind::IntegerOverflow,
            C::IntegerDivisionByZero => TrapKind::IntegerDivisionByZero,
            C::BadConversionToInteger => TrapKind::BadConversionToInteger,
            C::UnreachableCodeReached => TrapKind::Unreachable,
            C::Interrupt => TrapKind::Interrupt,
            C::NullReference => TrapKind::NullReference,
            _ => TrapKind::Other,
        }
    }
}

/// Numbers function references by first appearance, so that identity can be compared across
/// runtimes (`K`: whatever identifies a function reference in one runtime).
pub struct FuncIds<K> {
    ids: HashMap<K, usize>,
}

impl<K: Eq + Hash> Default for FuncIds<K> {
    fn default() -> Self {
        FuncIds { ids: HashMap::new() }
    }
}

impl<K: Eq + Hash> FuncIds<K> {
    /// The number of `key` (a new one if not seen before).
    pub fn id(&mut self, key: K) -> usize {
        let next = self.ids.len();
        *self.ids.entry(key).or_insert(next)
    }
}

/// One value, as it appears in a summary.
pub fn val_i32(v: i32) -> String {
    format!("i32:{:#010x}", v as u32)
}
/// See [`val_i32`].
pub fn val_i64(v: i64) -> String {
    format!("i64:{:#018x}", v as u64)
}
/// See [`val_i32`]; NaNs compare as NaN.
pub fn val_f32(bits: u32) -> String {
    if f32::from_bits(bits).is_nan() {
        "f32:nan".to_string()
    } else {
        format!("f32:{bits:#010x}")
    }
}
/// See [`val_i32`]; NaNs compare as NaN.
pub fn val_f64(bits: u64) -> String {
    if f64::from_bits(bits).is_nan() {
        "f64:nan".to_string()
    } else {
        format!("f64:{bits:#018x}")
    }
}
/// A function reference: `None` is null, else its [`FuncIds`] number.
pub fn val_funcref(id: Option<usize>) -> String {
    match id {
        None => "funcref:null".to_string(),
        Some(k) => format!("funcref:#{k}"),
    }
}
/// An external reference (only null ones can occur: the dummy imports make none).
pub fn val_externref(nonnull: bool) -> String {
    if nonnull { "externref:nonnull" } else { "externref:null" }.to_string()
}

/// A table element for [`Summary::table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem {
    /// A null reference of either type.
    Null,
    /// A function reference, by [`FuncIds`] number.
    Func(usize),
    /// A non-null external reference.
    Extern,
}

/// The argument a differential run passes as parameter `param` of the `export`-th export (counting
/// all exports) of the module whose [`module_seed`] is `seed`: drawn from boundary values.
pub fn arg_value(seed: u64, export: usize, param: usize, ty: spry::ValType) -> ArgVal {
    let mut r = splitmix64(seed ^ ((export as u64) << 32) ^ (param as u64).wrapping_mul(0x9e37_79b9));
    let mut next = || {
        r = splitmix64(r);
        r
    };
    let pick = next();
    match ty {
        spry::ValType::I32 => {
            const POOL: [u32; 12] =
                [0, 1, 2, 0xFFFF_FFFF, 0x8000_0000, 0x7FFF_FFFF, 0x10000, 0xFFFF, 0xFFFF_0000, 8, 0xFFFF_FFFC, 0x20000];
            let v = if pick % 4 == 0 { next() as u32 } else { POOL[(pick >> 8) as usize % POOL.len()] };
            ArgVal::I32(v as i32)
        }
        spry::ValType::I64 => {
            const POOL: [u64; 8] = [0, 1, u64::MAX, 1 << 63, i64::MAX as u64, 0x1_0000_0000, 0xFFFF_FFFF, 0x10000];
            let v = if pick % 4 == 0 { next() } else { POOL[(pick >> 8) as usize % POOL.len()] };
            ArgVal::I64(v as i64)
        }
        spry::ValType::F32 => {
            const POOL: [f32; 10] =
                [0.0, -0.0, 1.0, -1.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, 2147483648.0, 4294967296.0, 0.5];
            let v = if pick % 4 == 0 { next() as u32 } else { POOL[(pick >> 8) as usize % POOL.len()].to_bits() };
            // Only canonical NaNs go in (wasm-smith canonicalizes the NaNs the module makes).
            ArgVal::F32(if f32::from_bits(v).is_nan() { 0x7fc0_0000 } else { v })
        }
        spry::ValType::F64 => {
            const POOL: [f64; 10] = [
                0.0,
                -0.0,
                1.0,
                -1.0,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
                9223372036854775808.0,
                4294967296.0,
                0.5,
            ];
            let v = if pick % 4 == 0 { next() } else { POOL[(pick >> 8) as usize % POOL.len()].to_bits() };
            ArgVal::F64(if f64::from_bits(v).is_nan() { 0x7ff8_0000_0000_0000 } else { v })
        }
        spry::ValType::FuncRef | spry::ValType::ExternRef => ArgVal::NullRef,
    }
}

/// An argument value (runtime-independent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgVal {
    /// i32.
    I32(i32),
    /// i64.
    I64(i64),
    /// f32 bits.
    F32(u32),
    /// f64 bits.
    F64(u64),
    /// A null reference of the parameter's type.
    NullRef,
}

/// The seed of a module's arguments: a hash of its bytes.
pub fn module_seed(wasm: &[u8]) -> u64 {
    wasm.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3))
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A digest of a linear memory's contents: a hash over every 4 KiB page that is not all zeros (its
/// index and bytes). Pages that are not resident (`mincore`) are zero and skipped without being read,
/// so a 65,536-page memory with a few pages written costs little.
pub fn memory_digest(data: &[u8]) -> u64 {
    const PAGE: usize = 4096;
    let mut h = 0x6a09_e667_f3bc_c908u64;
    let resident = resident_pages(data);
    static ZERO: [u8; PAGE] = [0; PAGE];
    for (i, page) in data.chunks(PAGE).enumerate() {
        if resident.as_ref().is_some_and(|r| r.get(i).is_some_and(|b| b & 1 == 0)) {
            continue; // not resident: never written since mapped (or reset), so all zeros
        }
        // Slice equality is one memcmp (fast even in coverage-instrumented fuzz builds).
        if page == &ZERO[..page.len()] {
            continue;
        }
        h = mix(h, i as u64);
        let mut words = page.chunks_exact(8);
        for w in &mut words {
            h = mix(h, u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        for b in words.remainder() {
            h = mix(h, *b as u64);
        }
    }
    splitmix64(h)
}

fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x100_0000_01b3).rotate_left(23)
}

/// `mincore` residency of each 4 KiB page of `data`, or `None` when it cannot be had (unaligned or
/// empty data, an error): then every page is read.
fn resident_pages(data: &[u8]) -> Option<Vec<u8>> {
    const PAGE: usize = 4096;
    if data.is_empty() || !(data.as_ptr() as usize).is_multiple_of(PAGE) {
        return None;
    }
    let pages = data.len().div_ceil(PAGE);
    let mut vec = vec![0u8; pages];
    // SAFETY: `data` is a live mapping of `data.len()` bytes starting at a page-aligned address (checked
    // above), and `vec` has one byte per page of that range, as mincore requires. mincore only reads
    // page-table state; it does not touch the memory.
    let rc = unsafe { libc::mincore(data.as_ptr() as *mut libc::c_void, data.len(), vec.as_mut_ptr()) };
    (rc == 0).then_some(vec)
}

/// A summary under construction.
#[derive(Default)]
pub struct Summary {
    lines: Vec<String>,
}

impl Summary {
    /// A summary with just the header.
    pub fn new() -> Summary {
        Summary { lines: vec![HEADER.to_string()] }
    }
    /// Appends a raw line.
    pub fn line(&mut self, line: String) {
        self.lines.push(line);
    }
    /// `call <name> ok <vals>`.
    pub fn call_ok(&mut self, name: &str, vals: &[String]) {
        self.lines.push(format!("call {} ok {}", quote(name), vals.join(" ")).trim_end().to_string());
    }
    /// `call <name> trap <kind>`.
    pub fn call_trap(&mut self, name: &str, kind: TrapKind) {
        self.lines.push(format!("call {} trap {}", quote(name), kind.name()));
    }
    /// `inconclusive <reason>`.
    pub fn inconclusive(&mut self, reason: &str) {
        self.lines.push(format!("inconclusive {reason}"));
    }
    /// `memory <name> pages=<n> digest=<hex>`.
    pub fn memory(&mut self, name: &str, pages: u64, data: &[u8]) {
        self.lines.push(format!("memory {} pages={pages} digest={:016x}", quote(name), memory_digest(data)));
    }
    /// `global <name> <val>`.
    pub fn global(&mut self, name: &str, val: String) {
        self.lines.push(format!("global {} {val}", quote(name)));
    }
    /// `table <name> size=<n> <elems>`.
    pub fn table(&mut self, name: &str, elems: &[Elem]) {
        let mut out = String::new();
        let mut i = 0;
        while i < elems.len() {
            let e = elems[i];
            let run = elems[i..].iter().take_while(|x| **x == e).count();
            if !out.is_empty() {
                out.push(',');
            }
            match e {
                Elem::Null => out.push('n'),
                Elem::Func(k) => out.push_str(&format!("#{k}")),
                Elem::Extern => out.push('e'),
            }
            if run > 1 {
                out.push_str(&format!("*{run}"));
            }
            i += run;
        }
        self.lines.push(format!("table {} size={} {out}", quote(name), elems.len()).trim_end().to_string());
    }
    /// Whether the last line is an `inconclusive` one.
    pub fn ended_inconclusive(&self) -> bool {
        self.lines.last().is_some_and(|l| l.starts_with("inconclusive"))
    }
    /// The summary as text (lines ending in `\n`).
    pub fn render(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }
}

/// An export name as it appears in a summary: as is when it is plain, else Rust-debug-quoted.
fn quote(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.$".contains(c)) {
        name.to_string()
    } else {
        format!("{name:?}")
    }
}

/// Compares two rendered summaries line by line. Comparison stops (successfully) at the first line
/// where either says `inconclusive`; otherwise every line must be equal and neither may have more.
pub fn compare(expected: &str, actual: &str) -> Result<(), String> {
    let (mut e, mut a) = (expected.lines(), actual.lines());
    let mut n = 0;
    loop {
        n += 1;
        match (e.next(), a.next()) {
            (None, None) => return Ok(()),
            (Some(x), _) | (_, Some(x)) if x.starts_with("inconclusive") => return Ok(()),
            (Some(x), Some(y)) if x == y => continue,
            (x, y) => {
                return Err(format!(
                    "summaries differ at line {n}:\n  expected (reference): {}\n  actual   (spry):      {}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                ))
            }
        }
    }
}

/// Runs `wasm` on Spry as described in the module doc. `Err` when it does not compile.
pub fn run_spry(engine: &spry::Engine, wasm: &[u8]) -> Result<Summary, String> {
    use spry::{Extern, ExternType, Func, Global, Instance, Memory, Module, Store, Table, Trap, Val};
    let module = Module::new(engine, wasm).map_err(|e| format!("{e:#}"))?;
    let mut store = Store::new(engine);
    let mut summary = Summary::new();
    let mut ids: FuncIds<Func> = FuncIds::default();

    let mut imports = Vec::new();
    for import in module.imports() {
        let item: Result<Extern, _> = match import.ty {
            ExternType::Func(ty) => {
                let results = ty.results().to_vec();
                Func::new(&mut store, ty.clone(), move |_, _, out| {
                    for (r, t) in out.iter_mut().zip(&results) {
                        *r = Val::null(*t);
                    }
                    Ok(())
                })
                .map(Extern::from)
            }
            ExternType::Memory(m) => Memory::new(&mut store, m).map(Extern::from),
            ExternType::Table(t) => Table::new(&mut store, t, Val::null(t.element)).map(Extern::from),
            ExternType::Global(g) => Global::new(&mut store, g, Val::null(g.content)).map(Extern::from),
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
            match e.downcast_ref::<Trap>() {
                Some(t) => {
                    let kind = TrapKind::from_spry(t.code());
                    summary.line(format!("instantiate trap {}", kind.name()));
                    if kind == TrapKind::StackOverflow {
                        summary.inconclusive("stack-overflow");
                    }
                }
                None => summary.line("instantiate error".to_string()),
            }
            return Ok(summary);
        }
    };
    summary.line("instantiate ok".to_string());

    let val = |v: &Val, ids: &mut FuncIds<Func>| match v {
        Val::I32(x) => val_i32(*x),
        Val::I64(x) => val_i64(*x),
        Val::F32(b) => val_f32(*b),
        Val::F64(b) => val_f64(*b),
        Val::FuncRef(f) => val_funcref(f.map(|f| ids.id(f))),
        Val::ExternRef(r) => val_externref(r.is_some()),
    };
    let seed = module_seed(wasm);
    let exports: Vec<_> = module.exports().collect();
    for (index, export) in exports.iter().enumerate() {
        let ExternType::Func(ty) = &export.ty else { continue };
        let Some(func) = instance.get_func(&mut store, &export.name) else {
            summary.line(format!("missing export {}", quote(&export.name)));
            return Ok(summary);
        };
        let params: Vec<Val> = ty
            .params()
            .iter()
            .enumerate()
            .map(|(p, t)| match arg_value(seed, index, p, *t) {
                ArgVal::I32(x) => Val::I32(x),
                ArgVal::I64(x) => Val::I64(x),
                ArgVal::F32(x) => Val::F32(x),
                ArgVal::F64(x) => Val::F64(x),
                ArgVal::NullRef => Val::null(*t),
            })
            .collect();
        let mut results: Vec<Val> = ty.results().iter().map(|t| Val::null(*t)).collect();
        match func.call(&mut store, &params, &mut results) {
            Ok(()) => {
                let vals: Vec<String> = results.iter().map(|v| val(v, &mut ids)).collect();
                summary.call_ok(&export.name, &vals);
            }
            Err(e) => {
                let kind = e.downcast_ref::<Trap>().map_or(TrapKind::Other, |t| TrapKind::from_spry(t.code()));
                summary.call_trap(&export.name, kind);
                if kind == TrapKind::StackOverflow {
                    summary.inconclusive("stack-overflow");
                    return Ok(summary);
                }
            }
        }
        // The state after the call.
        for export in &exports {
            match &export.ty {
                ExternType::Memory(_) => {
                    let m = instance.get_memory(&mut store, &export.name).expect("exported memory");
                    summary.memory(&export.name, m.size(&store), m.data(&store));
                }
                ExternType::Global(_) => {
                    let g = instance.get_global(&mut store, &export.name).expect("exported global");
                    let v = g.get(&mut store);
                    summary.global(&export.name, val(&v, &mut ids));
                }
                ExternType::Table(_) => {
                    let t = instance.get_table(&mut store, &export.name).expect("exported table");
                    let size = t.size(&store);
                    let elems: Vec<Elem> = (0..size)
                        .map(|i| match t.get(&mut store, i) {
                            Some(Val::FuncRef(Some(f))) => Elem::Func(ids.id(f)),
                            Some(Val::ExternRef(Some(_))) => Elem::Extern,
                            _ => Elem::Null,
                        })
                        .collect();
                    summary.table(&export.name, &elems);
                }
                ExternType::Func(_) => {}
            }
        }
    }
    Ok(summary)
}
