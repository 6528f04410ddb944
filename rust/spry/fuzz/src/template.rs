//! The `diff_bulk` generator: modules from a small template, built to hit the edges of bulk memory and
//! table operations (the class of the `memory.fill` wrap of issue 12).
//!
//! Every module has one memory (`mem`: 1 to 65,536 pages, the large ones rarely, with or without a
//! maximum), two tables (`t0`: funcref; `t1`: funcref or externref; both with a maximum so that growth
//! never depends on a runtime's resource limits), four helper functions (`h0`-`h2` return constants,
//! `h3` has another type, for `call_indirect` signature mismatches), passive and sometimes active
//! data and element segments (an active one may trap at instantiation), a mutable global `g`, and
//! 1 to 12 exported functions `op0`... that each run 1 to 3 operations: `memory.fill/copy/init`,
//! `data.drop`, `table.fill/copy/init/grow/get/set/size`, `elem.drop`, `memory.grow/size`, loads and
//! stores (with static offsets), `call_indirect`. Each op leaves an i32 (a grow's result, a loaded
//! value, 0, ...): the last one is returned, the others are stored in `g`.
//!
//! Operands are `i32.const`s drawn from boundary values of the sizes the module can reach: 0, 1,
//! size-1, size, size+1 (in bytes and in pages, for the initial size and the maximum), 2^32-1,
//! 0xFFFF0000, 0x10000, page multiples, and an end exactly at a size or at 2^32; sometimes random.

use arbitrary::{Result, Unstructured};
use wasm_encoder::{
    CodeSection, ConstExpr, DataCountSection, DataSection, ElementSection, Elements, ExportKind, ExportSection,
    Function, FunctionSection, GlobalSection, GlobalType, HeapType, MemArg, MemArgTarget, MemorySection, MemoryType,
    Module, RefType, TableSection, TableType, TypeSection, ValType,
};

const PAGE: u64 = 65536;
/// Type indices.
const T_VOID: u32 = 0; // () -> ()
const T_I32: u32 = 1; // () -> i32
/// Function indices: h0..h2 (T_I32), h3 (T_VOID), then the exported ops.
const HELPERS: u32 = 4;

/// What the generator knows about the module, to pick boundary operands.
struct Shape {
    /// Memory sizes in bytes that the memory can have (initial, maximum, 4 GiB).
    mem_sizes: Vec<u64>,
    /// Page counts (initial, maximum, 65,536).
    mem_pages: Vec<u64>,
    /// Table sizes (initial and maximum of each table).
    table_sizes: Vec<u64>,
    /// Lengths of the passive data segments.
    data_lens: Vec<u64>,
    /// Lengths of the element segments.
    elem_lens: Vec<u64>,
    /// Whether large in-bounds lengths are allowed (they touch that much memory on both sides): off.
    allow_huge: bool,
    /// Whether t1 holds funcrefs (so `table.copy` between t0 and t1 is valid).
    t1_funcref: bool,
}

/// A boundary value around one of `sizes` (or a fixed interesting value, or a random one).
fn boundary(u: &mut Unstructured<'_>, sizes: &[u64]) -> Result<u32> {
    const FIXED: [u64; 12] = [0, 1, 2, 3, 4, 7, 8, 0xFFFF_FFFF, 0xFFFF_0000, 0x10000, 0x8000_0000, 0xFFFF_FFFC];
    Ok(match u.int_in_range(0..=9u8)? {
        0..=3 => FIXED[u.choose_index(FIXED.len())?] as u32,
        4..=7 if !sizes.is_empty() => {
            let s = sizes[u.choose_index(sizes.len())?];
            let d: i64 = *u.choose(&[-1i64, 0, 1, 0, -8, -4, 2])?;
            (s as i64 + d) as u32
        }
        8 => (u.int_in_range(0..=65536u64)? * PAGE) as u32,
        _ => u.arbitrary::<u32>()?,
    })
}

/// A (start, length) pair for a region of an object whose sizes are `sizes`: often with the end
/// exactly at a size, or at 2^32, or one past.
fn region(u: &mut Unstructured<'_>, sizes: &[u64], allow_huge: bool) -> Result<(u32, u32)> {
    let start = boundary(u, sizes)?;
    let len = match u.int_in_range(0..=4u8)? {
        0 | 1 if !sizes.is_empty() => {
            // End at a size (±1).
            let s = sizes[u.choose_index(sizes.len())?];
            let d: i64 = *u.choose(&[-1i64, 0, 0, 1])?;
            (s as i64 - start as i64 + d) as u32
        }
        2 => {
            // End at 2^32 (±1).
            let d: i64 = *u.choose(&[-1i64, 0, 0, 1])?;
            ((1i64 << 32) - start as i64 + d) as u32
        }
        _ => boundary(u, sizes)?,
    };
    // Lengths that could be in bounds and large (over 1 MiB) would make both runtimes write up to
    // gigabytes (slow, and 8 GiB on a shared machine): cut to their low 16 bits. The bounds checks
    // at the ends (an end exactly at 4 GiB, or one past) are still reached with small lengths.
    if !allow_huge && len > 1 << 20 && (start as u64 + len as u64) <= sizes.iter().copied().max().unwrap_or(0) {
        return Ok((start, len & 0xFFFF));
    }
    Ok((start, len))
}

fn memarg(u: &mut Unstructured<'_>, align: u32, sizes: &[u64]) -> Result<MemArg> {
    let offset = match u.int_in_range(0..=3u8)? {
        0 | 1 => 0,
        2 => *u.choose(&[1u64, 4, 0xFFFF, 0x10000, 0xFFFF_FFFF, 0x7FFF_FFFF, 0xFFFF_FFF8])?,
        _ => boundary(u, sizes)? as u64,
    };
    Ok(MemArg { offset, align, target: MemArgTarget::Memory(0), ordering: None })
}

/// One operation; leaves exactly one i32 on the stack.
fn op(u: &mut Unstructured<'_>, f: &mut Function, s: &Shape) -> Result<()> {
    let mut i = f.instructions();
    let mem = &s.mem_sizes;
    match u.int_in_range(0..=19u8)? {
        0..=2 => {
            let (d, n) = region(u, mem, s.allow_huge)?;
            i.i32_const(d as i32).i32_const(u.arbitrary::<u8>()? as i32).i32_const(n as i32).memory_fill(0);
            i.i32_const(0);
        }
        3 | 4 => {
            let (d, n) = region(u, mem, s.allow_huge)?;
            let src =
                if u.arbitrary()? { boundary(u, mem)? } else { d.wrapping_add(*u.choose(&[1u32, 0xFFFF_FFFF, 3])?) };
            i.i32_const(d as i32).i32_const(src as i32).i32_const(n as i32).memory_copy(0, 0);
            i.i32_const(0);
        }
        5 | 6 => {
            let seg = u.choose_index(s.data_lens.len())?;
            let d = boundary(u, mem)?;
            let (src, n) = region(u, &s.data_lens[seg..=seg], false)?;
            i.i32_const(d as i32).i32_const(src as i32).i32_const(n as i32).memory_init(0, seg as u32);
            i.i32_const(0);
        }
        7 => {
            let seg = u.choose_index(s.data_lens.len())?;
            i.data_drop(seg as u32).i32_const(0);
        }
        8 => {
            let delta = match u.int_in_range(0..=2u8)? {
                0 => boundary(u, &s.mem_pages)?,
                1 => *u.choose(&[0u32, 1, 0xFFFF, 0x10000, 0x10001, 0xFFFF_FFFF, 0x8000])?,
                _ => {
                    // Exactly to a page count (from the initial size).
                    let to = s.mem_pages[u.choose_index(s.mem_pages.len())?];
                    to.wrapping_sub(s.mem_pages[0]) as u32
                }
            };
            i.i32_const(delta as i32).memory_grow(0);
        }
        9 => {
            i.memory_size(0);
        }
        10 | 11 => {
            let a = boundary(u, mem)?;
            i.i32_const(a as i32);
            match u.int_in_range(0..=4u8)? {
                0 => i.i32_load(memarg(u, 2, mem)?),
                1 => i.i64_load(memarg(u, 3, mem)?).i32_wrap_i64(),
                2 => i.i32_load8_u(memarg(u, 0, mem)?),
                3 => i.i64_load16_s(memarg(u, 1, mem)?).i32_wrap_i64(),
                _ => i.f64_load(memarg(u, 3, mem)?).i64_reinterpret_f64().i32_wrap_i64(),
            };
        }
        12 | 13 => {
            let a = boundary(u, mem)?;
            i.i32_const(a as i32);
            match u.int_in_range(0..=3u8)? {
                0 => i.i32_const(u.arbitrary()?).i32_store(memarg(u, 2, mem)?),
                1 => i.i64_const(u.arbitrary()?).i64_store(memarg(u, 3, mem)?),
                2 => i.i32_const(u.arbitrary()?).i32_store8(memarg(u, 0, mem)?),
                _ => i.i64_const(u.arbitrary()?).i64_store32(memarg(u, 2, mem)?),
            };
            i.i32_const(0);
        }
        14 => {
            // table.fill on t0 (funcref) or t1.
            let t = u.int_in_range(0..=1u32)?;
            let (d, n) = region(u, &s.table_sizes, true)?;
            i.i32_const(d as i32);
            ref_value(u, &mut i, t == 0 || s.t1_funcref)?;
            i.i32_const(n as i32).table_fill(t).i32_const(0);
        }
        15 => {
            let (dst, src) = if s.t1_funcref {
                (u.int_in_range(0..=1u32)?, u.int_in_range(0..=1u32)?)
            } else {
                let t = u.int_in_range(0..=1u32)?;
                (t, t)
            };
            let (d, n) = region(u, &s.table_sizes, true)?;
            let sidx = boundary(u, &s.table_sizes)?;
            i.i32_const(d as i32).i32_const(sidx as i32).i32_const(n as i32).table_copy(dst, src).i32_const(0);
        }
        16 => {
            // table.init / elem.drop: element segments are funcref, so t0 (or t1 if funcref).
            let seg = u.choose_index(s.elem_lens.len())?;
            let t = if s.t1_funcref { u.int_in_range(0..=1u32)? } else { 0 };
            if u.ratio(1, 4)? {
                i.elem_drop(seg as u32).i32_const(0);
            } else {
                let d = boundary(u, &s.table_sizes)?;
                let (src, n) = region(u, &s.elem_lens[seg..=seg], true)?;
                i.i32_const(d as i32).i32_const(src as i32).i32_const(n as i32).table_init(t, seg as u32).i32_const(0);
            }
        }
        17 => {
            let t = u.int_in_range(0..=1u32)?;
            ref_value(u, &mut i, t == 0 || s.t1_funcref)?;
            let delta = if u.arbitrary()? {
                boundary(u, &s.table_sizes)?
            } else {
                *u.choose(&[0u32, 1, 0xFFFF_FFFF, 0x10000, 100])?
            };
            i.i32_const(delta as i32).table_grow(t);
        }
        18 => {
            let t = u.int_in_range(0..=1u32)?;
            let idx = boundary(u, &s.table_sizes)?;
            match u.int_in_range(0..=2u8)? {
                0 => {
                    i.i32_const(idx as i32).table_get(t).ref_is_null();
                }
                1 => {
                    i.i32_const(idx as i32);
                    ref_value(u, &mut i, t == 0 || s.t1_funcref)?;
                    i.table_set(t).i32_const(0);
                }
                _ => {
                    i.table_size(t);
                }
            }
        }
        _ => {
            // call_indirect through t0 (h0-h2 return constants; h3 has another type).
            let idx = boundary(u, &s.table_sizes)?;
            i.i32_const(idx as i32).call_indirect(0, T_I32);
        }
    }
    Ok(())
}

fn ref_value(u: &mut Unstructured<'_>, i: &mut wasm_encoder::InstructionSink<'_>, funcref: bool) -> Result<()> {
    if funcref && u.ratio(2, 3)? {
        i.ref_func(u.int_in_range(0..=HELPERS - 1)?);
    } else if funcref {
        i.ref_null(HeapType::FUNC);
    } else {
        i.ref_null(HeapType::EXTERN);
    }
    Ok(())
}

/// Builds one module from the input.
pub fn generate(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    // Memory: mostly small; sometimes up to 65,536 pages (lazily committed by both runtimes).
    // (An exhausted input picks the first of each choice: the cheap one.)
    let min_pages: u64 = match u.int_in_range(0..=15u8)? {
        15 => *u.choose(&[65536u64, 65535, 32768, 16384])?,
        14 => u.int_in_range(256..=65536)?,
        13 => 0,
        _ => u.int_in_range(1..=16)?,
    };
    let max_pages: Option<u64> = match u.int_in_range(0..=3u8)? {
        0 => None,
        1 => Some(min_pages),
        2 => Some(65536),
        _ => Some(u.int_in_range(min_pages..=65536)?),
    };
    let allow_huge = false;
    let mut mem_pages = vec![min_pages];
    mem_pages.extend(max_pages);
    mem_pages.push(65536);
    let mem_sizes: Vec<u64> = mem_pages.iter().map(|p| p * PAGE).collect();

    // Tables, always with a maximum (at most 20,000 elements).
    let mut table_sizes = Vec::new();
    let mut table_types = Vec::new();
    let t1_funcref = u.arbitrary()?;
    for t in 0..2 {
        let min: u64 = *u.choose(&[0u64, 1, 2, 4, 10, 100, 1000, 10000])?;
        let max: u64 = match u.int_in_range(0..=2u8)? {
            0 => min,
            1 => min + u.int_in_range(1..=10)?,
            _ => u.int_in_range(min..=20000)?,
        };
        table_sizes.push(min);
        table_sizes.push(max);
        let element_type = if t == 0 || t1_funcref { RefType::FUNCREF } else { RefType::EXTERNREF };
        table_types.push(TableType { element_type, table64: false, minimum: min, maximum: Some(max), shared: false });
    }

    // Passive data segments (at least one, so memory.init/data.drop always have a target).
    let n_data = u.int_in_range(1..=3usize)?;
    let mut data_segs: Vec<Vec<u8>> = Vec::new();
    for _ in 0..n_data {
        let len = *u.choose(&[0usize, 1, 2, 7, 16, 100, 4096, 65536, 65537])?;
        let fill: u8 = u.arbitrary()?;
        let mut bytes = vec![fill; len];
        for (k, b) in bytes.iter_mut().enumerate().take(16) {
            *b = b.wrapping_add(k as u8);
        }
        data_segs.push(bytes);
    }
    let data_lens: Vec<u64> = data_segs.iter().map(|d| d.len() as u64).collect();
    // Sometimes an active segment at a boundary offset (may trap at instantiation).
    let active_data = if u.ratio(1, 4)? {
        let off = boundary(u, &mem_sizes[..1])?;
        let len = *u.choose(&[0usize, 1, 4, 100])?;
        Some((off, vec![0xA5u8; len]))
    } else {
        None
    };

    // Passive element segments of funcrefs.
    let n_elem = u.int_in_range(1..=2usize)?;
    let mut elem_segs: Vec<Vec<u32>> = Vec::new();
    for _ in 0..n_elem {
        let len = *u.choose(&[0usize, 1, 2, 3, 4, 10])?;
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            v.push(u.int_in_range(0..=HELPERS - 1)?);
        }
        elem_segs.push(v);
    }
    let elem_lens: Vec<u64> = elem_segs.iter().map(|e| e.len() as u64).collect();
    let active_elem = if u.ratio(1, 4)? {
        let off = boundary(u, &table_sizes[..1])?;
        let len = *u.choose(&[0usize, 1, 3])?;
        Some((off, (0..len as u32).map(|k| k % HELPERS).collect::<Vec<u32>>()))
    } else {
        None
    };

    let shape = Shape { mem_sizes, mem_pages, table_sizes, data_lens, elem_lens, allow_huge, t1_funcref };

    // Exported op functions.
    let n_ops = u.int_in_range(1..=12u32)?;
    let mut bodies = Vec::new();
    for _ in 0..n_ops {
        let mut f = Function::new([]);
        let steps = u.int_in_range(1..=3u8)?;
        for k in 0..steps {
            op(u, &mut f, &shape)?;
            if k + 1 < steps {
                f.instructions().global_set(0);
            }
        }
        f.instructions().end();
        bodies.push(f);
    }

    // Assemble.
    let mut module = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([], [ValType::I32]);
    module.section(&types);
    let mut funcs = FunctionSection::new();
    for h in 0..HELPERS {
        funcs.function(if h == 3 { T_VOID } else { T_I32 });
    }
    for _ in 0..n_ops {
        funcs.function(T_I32);
    }
    module.section(&funcs);
    let mut tables = TableSection::new();
    for t in &table_types {
        tables.table(*t);
    }
    module.section(&tables);
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: min_pages,
        maximum: max_pages,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    module.section(&memories);
    let mut globals = GlobalSection::new();
    globals.global(GlobalType { val_type: ValType::I32, mutable: true, shared: false }, &ConstExpr::i32_const(0));
    module.section(&globals);
    let mut exports = ExportSection::new();
    exports.export("mem", ExportKind::Memory, 0);
    exports.export("t0", ExportKind::Table, 0);
    exports.export("t1", ExportKind::Table, 1);
    exports.export("g", ExportKind::Global, 0);
    for k in 0..n_ops {
        exports.export(&format!("op{k}"), ExportKind::Func, HELPERS + k);
    }
    module.section(&exports);
    let mut elems = ElementSection::new();
    for seg in &elem_segs {
        elems.passive(Elements::Functions(seg.as_slice().into()));
    }
    // Declares h0-h3 for ref.func.
    elems.declared(Elements::Functions((0..HELPERS).collect::<Vec<_>>().into()));
    if let Some((off, seg)) = &active_elem {
        elems.active(Some(0), &ConstExpr::i32_const(*off as i32), Elements::Functions(seg.as_slice().into()));
    }
    module.section(&elems);
    let n_data_total = data_segs.len() as u32 + u32::from(active_data.is_some());
    module.section(&DataCountSection { count: n_data_total });
    let mut code = CodeSection::new();
    for h in 0..HELPERS {
        let mut f = Function::new([]);
        if h != 3 {
            f.instructions().i32_const(100 + h as i32);
        }
        f.instructions().end();
        code.function(&f);
    }
    for b in &bodies {
        code.function(b);
    }
    module.section(&code);
    let mut data = DataSection::new();
    for d in &data_segs {
        data.passive(d.iter().copied());
    }
    if let Some((off, bytes)) = &active_data {
        data.active(0, &ConstExpr::i32_const(*off as i32), bytes.iter().copied());
    }
    module.section(&data);
    Ok(module.finish())
}
