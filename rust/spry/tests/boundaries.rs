//! The boundary matrix of the guest-reachable arithmetic audit (issue 12): bulk memory and table
//! operations, growth and plain loads and stores, at the edges of 1-page and 65,536-page memories and
//! of empty, small and large tables, with offsets and lengths of 0, size, size ± 1, 2^32 - 1 and
//! 0xFFFF0000 + 0x10000. Every row states its outcome: a result (and the bytes or elements it leaves,
//! checked after), or a trap code. Each scenario runs with guard pages, without them (explicit bounds
//! checks) and with the pooling allocator.
//!
//! A 65,536-page memory reserves 4 GiB of address space but only the pages a row touches become
//! resident: no row fills or copies more than 64 KiB.

use spry::*;

/// What a step expects.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Returns without a result.
    Ok,
    /// Returns this i32 (as u32) or i64 result.
    Ret(u64),
    /// Traps with this code.
    Trap(TrapCode),
}
use Expect::{Ok as Done, Ret, Trap as Traps};

/// One row of a scenario.
enum Step {
    /// Calls an export with i32 arguments.
    Call(&'static str, &'static [u32], Expect),
    /// The memory holds these bytes at this address (read with `Memory::read`).
    Bytes(u64, &'static [u8]),
    /// The 64 KiB at this address all hold this byte.
    Filled(u64, u8),
}
use Step::{Bytes, Call, Filled};

const OOB: Expect = Traps(TrapCode::MemoryOutOfBounds);
const TOOB: Expect = Traps(TrapCode::TableOutOfBounds);
const NULL: Expect = Traps(TrapCode::IndirectCallToNull);
const MINUS1: Expect = Ret(0xFFFF_FFFF);
const MAX: u32 = u32::MAX;

/// The module under test: memory `mem` (`memory` limits), table `tab` (`table` limits, funcref), a
/// passive data segment of 8 bytes 1..=8, a passive element segment of $f0 $f1 $f2 (which return 100,
/// 101, 102), an active segment of $f0 $f1 at `table min - 2` when the table has two elements (so
/// that its last elements are made lazily), and one export per operation.
fn module_wat(memory: &str, table: &str, active_elem_at: Option<u32>) -> String {
    let active = active_elem_at.map_or(String::new(), |at| format!("(elem (table $t) (i32.const {at}) func $f0 $f1)"));
    format!(
        r#"(module
  (type $ret (func (result i32)))
  (memory (export "mem") {memory})
  (table $t (export "tab") {table} funcref)
  (func $f0 (result i32) i32.const 100)
  (func $f1 (result i32) i32.const 101)
  (func $f2 (result i32) i32.const 102)
  (data $d "\01\02\03\04\05\06\07\08")
  (elem $e func $f0 $f1 $f2)
  {active}
  (func (export "fill") (param i32 i32 i32) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i32 i32 i32) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "init") (param i32 i32 i32) (memory.init $d (local.get 0) (local.get 1) (local.get 2)))
  (func (export "ddrop") (data.drop $d))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load8_maxoff") (param i32) (result i32) (i32.load8_u offset=4294967295 (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load64") (param i32) (result i64) (i64.load (local.get 0)))
  (func (export "store32") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "tfill") (param i32 i32) (table.fill $t (local.get 0) (ref.func $f2) (local.get 1)))
  (func (export "tfillnull") (param i32 i32) (table.fill $t (local.get 0) (ref.null func) (local.get 1)))
  (func (export "tcopy") (param i32 i32 i32) (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
  (func (export "tinit") (param i32 i32 i32) (table.init $t $e (local.get 0) (local.get 1) (local.get 2)))
  (func (export "edrop") (elem.drop $e))
  (func (export "tgrow") (param i32) (result i32) (table.grow $t (ref.func $f1) (local.get 0)))
  (func (export "tsize") (result i32) (table.size $t))
  (func (export "tset") (param i32) (table.set $t (local.get 0) (ref.func $f0)))
  (func (export "tisnull") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "tid") (param i32) (result i32) (call_indirect $t (type $ret) (local.get 0)))
  (func (export "rfnull") (result i32) (ref.is_null (ref.func $f2)))
)"#
    )
}

/// The engines every scenario runs on.
fn engines() -> Vec<(&'static str, Engine)> {
    let pool = PoolingConfig {
        total_instances: 2,
        total_memories: 2,
        total_tables: 2,
        max_table_elements: 1_000_000,
        ..PoolingConfig::default()
    };
    vec![
        ("guard pages", Engine::default()),
        ("explicit bounds checks", Engine::new(Config::new().guard_pages(false)).unwrap()),
        ("pooling", Engine::new(Config::new().allocation_strategy(InstanceAllocationStrategy::Pooling(pool))).unwrap()),
    ]
}

/// Runs `steps` on a fresh instance of the module on every engine, and checks each row.
fn run(scenario: &str, memory: &str, table: &str, active_elem_at: Option<u32>, steps: &[Step]) {
    let wasm = wat::parse_str(module_wat(memory, table, active_elem_at)).unwrap();
    for (config, engine) in engines() {
        let module = Module::new(&engine, &wasm).unwrap();
        let mut store = Store::new(&engine);
        let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
        let mem = instance.get_memory(&mut store, "mem").unwrap();
        for (row, step) in steps.iter().enumerate() {
            let at = format!("{scenario}, {config}, row {row}");
            match step {
                Call(name, args, expect) => {
                    let f = instance.get_func(&mut store, name).unwrap();
                    let params: Vec<Val> = args.iter().map(|&a| Val::I32(a as i32)).collect();
                    let ty = f.ty(&store);
                    let mut results: Vec<Val> = ty.results().iter().map(|_| Val::I32(0)).collect();
                    let got = match f.call(&mut store, &params, &mut results) {
                        Err(e) => match e.downcast_ref::<spry::Trap>() {
                            Some(t) => Traps(t.code()),
                            None => panic!("{at}: {name}{args:x?}: not a trap: {e:#}"),
                        },
                        Ok(()) => match results.first() {
                            None => Done,
                            Some(Val::I32(v)) => Ret(*v as u32 as u64),
                            Some(Val::I64(v)) => Ret(*v as u64),
                            Some(v) => panic!("{at}: unexpected result {v:?}"),
                        },
                    };
                    assert_eq!(got, *expect, "{at}: {name}{args:x?}");
                }
                Bytes(addr, want) => {
                    let mut got = vec![0u8; want.len()];
                    mem.read(&store, *addr as usize, &mut got).unwrap_or_else(|e| panic!("{at}: read: {e}"));
                    assert_eq!(&got, want, "{at}: bytes at {addr:#x}");
                }
                Filled(addr, byte) => {
                    let mut got = vec![0u8; 0x10000];
                    mem.read(&store, *addr as usize, &mut got).unwrap_or_else(|e| panic!("{at}: read: {e}"));
                    assert!(got.iter().all(|b| b == byte), "{at}: the 64 KiB at {addr:#x} are not all {byte:#x}");
                }
            }
        }
    }
}

#[test]
fn one_page_memory() {
    run(
        "1 page",
        "1",
        "0",
        None,
        &[
            // memory.fill
            Call("fill", &[0, 0xAA, 0], Done),
            Call("fill", &[65536, 1, 0], Done), // at the end, length 0
            Call("fill", &[65537, 1, 0], OOB),  // past the end, length 0
            Call("fill", &[65535, 0xBB, 1], Done),
            Bytes(65535, &[0xBB]),
            Call("fill", &[65535, 0xCC, 2], OOB),
            Bytes(65535, &[0xBB]), // nothing written
            Call("fill", &[MAX, 1, 1], OOB),
            Call("fill", &[0, 1, MAX], OOB),
            Call("fill", &[1, 1, 65536], OOB),
            Call("fill", &[0xFFFF_0000, 1, 0x10000], OOB),
            Call("fill", &[MAX, 1, MAX], OOB),
            Call("fill", &[0, 0x11, 65536], Done), // the whole memory
            Bytes(0, &[0x11]),
            Bytes(65535, &[0x11]),
            // memory.init (passive segment of 8 bytes)
            Call("init", &[0, 0, 8], Done),
            Bytes(0, &[1, 2, 3, 4, 5, 6, 7, 8]),
            Call("init", &[65532, 4, 4], Done),
            Bytes(65532, &[5, 6, 7, 8]),
            Call("init", &[65533, 0, 4], OOB),
            Bytes(65532, &[5, 6, 7, 8]),
            Call("init", &[0, 8, 0], Done),
            Call("init", &[0, 9, 0], OOB),
            Call("init", &[0, MAX, 1], OOB),
            Call("init", &[0, 4, MAX], OOB),
            Call("init", &[MAX, 0, 1], OOB),
            Call("init", &[65536, 0, 0], Done),
            Call("init", &[65537, 0, 0], OOB),
            // memory.copy within the memory (overlapping both ways)
            Call("copy", &[1, 0, 4], Done),
            Bytes(0, &[1, 1, 2, 3, 4, 6]),
            Call("copy", &[0, 1, 4], Done),
            Bytes(0, &[1, 2, 3, 4, 4, 6]),
            Call("copy", &[65535, 0, 1], Done),
            Bytes(65535, &[1]),
            Call("copy", &[0, 65536, 0], Done),
            Call("copy", &[65536, 0, 0], Done),
            Call("copy", &[0, 65537, 0], OOB),
            Call("copy", &[65537, 0, 0], OOB),
            Call("copy", &[0, 0, MAX], OOB),
            Call("copy", &[MAX, 0, 1], OOB),
            Call("copy", &[0, MAX, 1], OOB),
            Call("copy", &[0, 65535, 2], OOB),
            // data.drop, then memory.init
            Call("ddrop", &[], Done),
            Call("init", &[0, 0, 0], Done),
            Call("init", &[0, 0, 1], OOB),
            Call("init", &[0, 1, 0], OOB),
            Call("ddrop", &[], Done),
            // loads and stores at the end
            Call("store32", &[65532, 0x0403_0201], Done),
            Bytes(65532, &[1, 2, 3, 4]),
            Call("store32", &[65533, 0], OOB),
            Call("store32", &[MAX, 0], OOB),
            Call("load32", &[65532], Ret(0x0403_0201)),
            Call("load32", &[65533], OOB),
            Call("load8", &[65535], Ret(4)),
            Call("load8", &[65536], OOB),
            Call("load8", &[MAX], OOB),
            Call("load8_maxoff", &[0], OOB),
            Call("load64", &[65528], Ret(0x0403_0201_0000_0000 | 0x1111_1111)),
            Call("load64", &[65529], OOB),
            // memory.grow
            Call("grow", &[MAX], MINUS1),
            Call("grow", &[65536], MINUS1),
            Call("grow", &[0], Ret(1)),
            Call("size", &[], Ret(1)),
        ],
    );
}

/// The reproduction of issue 12: grow to 65,536 pages, then `memory.fill` of the last 64 KiB, whose
/// end is exactly 2^32 (`dst + len` wrapped to 0 in u32 and aborted the process).
#[test]
fn grown_to_65536_pages() {
    run(
        "grown to 65536 pages",
        "1",
        "0",
        None,
        &[
            Call("grow", &[65535], Ret(1)),
            Call("size", &[], Ret(65536)),
            Call("grow", &[1], MINUS1),
            Call("grow", &[MAX], MINUS1),
            Call("grow", &[0], Ret(65536)),
            // memory.fill at the end of the 32-bit space
            Call("fill", &[0xFFFF_0000, 0x5A, 0x10000], Done),
            Filled(0xFFFF_0000, 0x5A),
            Call("fill", &[0xFFFF_0000, 0x66, 0x10001], OOB),
            Filled(0xFFFF_0000, 0x5A),
            Call("fill", &[MAX, 7, 1], Done),
            Bytes(0xFFFF_FFFE, &[0x5A, 7]),
            Call("fill", &[MAX, 7, 2], OOB),
            Call("fill", &[MAX, 7, 0], Done),
            Call("fill", &[2, 0, MAX], OOB), // 2 + 2^32 - 1 > 2^32: nothing written
            Bytes(0, &[0, 0, 0, 0]),
            // memory.init and memory.copy at the end
            Call("init", &[0xFFFF_FFF8, 0, 8], Done),
            Bytes(0xFFFF_FFF8, &[1, 2, 3, 4, 5, 6, 7, 8]),
            Call("init", &[0xFFFF_FFF9, 0, 8], OOB),
            Call("init", &[MAX, 7, 1], Done),
            Call("init", &[MAX, 7, 2], OOB),
            Call("copy", &[0, 0xFFFF_FFF8, 8], Done),
            Bytes(0, &[1, 2, 3, 4, 5, 6, 7, 8]),
            Call("copy", &[0, 0xFFFF_FFF9, 8], OOB),
            Call("copy", &[0xFFFF_FFF0, 0xFFFF_FFF8, 8], Done),
            Bytes(0xFFFF_FFF0, &[1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8]),
            Call("copy", &[0xFFFF_FFF9, 0, 8], OOB),
            // loads and stores at the end
            Call("load32", &[0xFFFF_FFFC], Ret(0x0807_0605)),
            Call("load32", &[0xFFFF_FFFD], OOB),
            Call("load8", &[MAX], Ret(8)),
            Call("load8_maxoff", &[0], Ret(8)),
            Call("load8_maxoff", &[1], OOB),
            Call("load64", &[0xFFFF_FFF8], Ret(0x0807_0605_0403_0201)),
            Call("load64", &[0xFFFF_FFF9], OOB),
            Call("store32", &[0xFFFF_FFFC, 0xDDCC_BBAA], Done),
            Bytes(0xFFFF_FFFC, &[0xAA, 0xBB, 0xCC, 0xDD]),
            Call("store32", &[0xFFFF_FFFD, 0], OOB),
            // the last 64 KiB from the first
            Call("copy", &[0xFFFF_0000, 0, 0x10000], Done),
            Bytes(0xFFFF_0000, &[1, 2, 3, 4, 5, 6, 7, 8, 0]),
            Call("copy", &[0xFFFF_0000, 0, 0x10001], OOB),
            Call("copy", &[0, 0xFFFF_0000, 0x10001], OOB),
            Bytes(0xFFFF_FFF8, &[0; 8]),
        ],
    );
}

#[test]
fn declared_at_65536_pages_and_with_a_maximum() {
    run(
        "declared at 65536 pages",
        "65536",
        "0",
        None,
        &[
            Call("size", &[], Ret(65536)),
            Call("grow", &[1], MINUS1),
            Call("fill", &[0xFFFF_0000, 3, 0x10000], Done),
            Filled(0xFFFF_0000, 3),
            Call("fill", &[0xFFFF_0000, 3, 0x10001], OOB),
            Call("load8", &[MAX], Ret(3)),
        ],
    );
    run(
        "1 page, at most 2",
        "1 2",
        "0",
        None,
        &[
            Call("grow", &[2], MINUS1),
            Call("grow", &[1], Ret(1)),
            Call("grow", &[1], MINUS1),
            Call("fill", &[131071, 9, 1], Done),
            Call("load8", &[131071], Ret(9)),
            Call("fill", &[131071, 9, 2], OOB),
        ],
    );
    run(
        "0 pages",
        "0",
        "0",
        None,
        &[
            Call("fill", &[0, 1, 0], Done),
            Call("fill", &[0, 1, 1], OOB),
            Call("fill", &[1, 1, 0], OOB),
            Call("copy", &[0, 0, 0], Done),
            Call("init", &[0, 8, 0], Done),
            Call("init", &[0, 0, 1], OOB),
            Call("load8", &[0], OOB),
            Call("grow", &[0], Ret(0)),
            Call("grow", &[1], Ret(0)),
            Call("load8", &[65535], Ret(0)),
        ],
    );
}

#[test]
fn empty_table() {
    run(
        "table of 0",
        "0",
        "0",
        None,
        &[
            Call("tfill", &[0, 0], Done),
            Call("tfill", &[0, 1], TOOB),
            Call("tfill", &[1, 0], TOOB),
            Call("tfill", &[MAX, MAX], TOOB),
            Call("tcopy", &[0, 0, 0], Done),
            Call("tcopy", &[1, 0, 0], TOOB),
            Call("tcopy", &[0, 1, 0], TOOB),
            Call("tcopy", &[0, 0, MAX], TOOB),
            Call("tinit", &[0, 0, 0], Done),
            Call("tinit", &[0, 3, 0], Done),
            Call("tinit", &[0, 4, 0], TOOB),
            Call("tinit", &[0, 0, 1], TOOB),
            Call("tset", &[0], TOOB),
            Call("tisnull", &[0], TOOB),
            Call("tid", &[0], TOOB),
            Call("tid", &[MAX], TOOB),
            Call("tgrow", &[0], Ret(0)),
            Call("tgrow", &[MAX], MINUS1),
            Call("tgrow", &[10_000_001], MINUS1), // past Spry's limit of 10,000,000 elements
            Call("tgrow", &[3], Ret(0)),
            Call("tsize", &[], Ret(3)),
            Call("tid", &[2], Ret(101)),
            Call("tid", &[3], TOOB),
        ],
    );
}

#[test]
fn small_table() {
    run(
        "table of 4, at most 5",
        "0",
        "4 5",
        Some(2), // $f0 $f1 at 2 and 3, made lazily
        &[
            Call("tid", &[0], NULL),
            Call("tid", &[3], Ret(101)),
            Call("tinit", &[2, 0, 3], TOOB), // nothing written
            Call("tid", &[2], Ret(100)),
            Call("tinit", &[0, 1, 2], Done),
            Call("tid", &[0], Ret(101)),
            Call("tid", &[1], Ret(102)),
            Call("tinit", &[1, 0, 3], Done),
            Call("tid", &[1], Ret(100)),
            Call("tid", &[3], Ret(102)),
            Call("tinit", &[MAX, 0, 1], TOOB),
            Call("tinit", &[0, MAX, 1], TOOB),
            Call("tinit", &[0, 1, MAX], TOOB),
            Call("tinit", &[4, 3, 0], Done),
            Call("tinit", &[5, 0, 0], TOOB),
            // table.copy, overlapping both ways
            Call("tcopy", &[0, 1, 3], Done),
            Call("tid", &[0], Ret(100)),
            Call("tid", &[2], Ret(102)),
            Call("tcopy", &[1, 0, 3], Done),
            Call("tid", &[1], Ret(100)),
            Call("tid", &[3], Ret(102)),
            Call("tcopy", &[4, 0, 0], Done),
            Call("tcopy", &[0, 4, 0], Done),
            Call("tcopy", &[5, 0, 0], TOOB),
            Call("tcopy", &[0, 1, 4], TOOB),
            Call("tcopy", &[MAX, 0, 1], TOOB),
            Call("tcopy", &[0, MAX, 1], TOOB),
            Call("tcopy", &[0, 1, MAX], TOOB),
            // table.fill, table.set, table.get
            Call("tfillnull", &[0, 4], Done),
            Call("tisnull", &[3], Ret(1)),
            Call("tfill", &[3, 1], Done),
            Call("tid", &[3], Ret(102)),
            Call("tfill", &[4, 0], Done),
            Call("tfill", &[4, 1], TOOB),
            Call("tfill", &[3, 2], TOOB),
            Call("tisnull", &[2], Ret(1)),
            Call("tfill", &[MAX, 1], TOOB),
            Call("tfill", &[1, MAX], TOOB),
            Call("tset", &[3], Done),
            Call("tid", &[3], Ret(100)),
            Call("tset", &[4], TOOB),
            Call("tset", &[MAX], TOOB),
            Call("tisnull", &[4], TOOB),
            Call("tisnull", &[MAX], TOOB),
            Call("rfnull", &[], Ret(0)),
            // elem.drop, then table.init
            Call("edrop", &[], Done),
            Call("tinit", &[0, 0, 0], Done),
            Call("tinit", &[0, 0, 1], TOOB),
            Call("tinit", &[0, 1, 0], TOOB),
            Call("edrop", &[], Done),
            // table.grow to the declared maximum
            Call("tgrow", &[MAX], MINUS1),
            Call("tgrow", &[2], MINUS1),
            Call("tgrow", &[1], Ret(4)),
            Call("tid", &[4], Ret(101)),
            Call("tgrow", &[1], MINUS1),
            Call("tgrow", &[0], Ret(5)),
        ],
    );
}

#[test]
fn large_table() {
    const N: u32 = 1_000_000;
    run(
        "table of 1,000,000",
        "0",
        "1000000",
        Some(N - 2),
        &[
            Call("tsize", &[], Ret(N as u64)),
            Call("tid", &[N - 1], Ret(101)), // made lazily from the template
            Call("tid", &[N], TOOB),
            Call("tid", &[N - 3], NULL),
            Call("tcopy", &[0, N - 2, 2], Done), // copies elements not made yet
            Call("tid", &[0], Ret(100)),
            Call("tid", &[1], Ret(101)),
            Call("tcopy", &[N - 1, 0, 2], TOOB),
            Call("tcopy", &[0, N - 1, 2], TOOB),
            Call("tfill", &[N - 1, 1], Done),
            Call("tid", &[N - 1], Ret(102)),
            Call("tfill", &[N - 1, 2], TOOB),
            Call("tfill", &[N, 0], Done),
            Call("tfill", &[N, 1], TOOB),
            Call("tinit", &[N - 3, 0, 3], Done),
            Call("tid", &[N - 3], Ret(100)),
            Call("tinit", &[N - 2, 0, 3], TOOB),
            Call("tset", &[N - 1], Done),
            Call("tset", &[N], TOOB),
            Call("tgrow", &[MAX], MINUS1),
            Call("tgrow", &[MAX - N + 1], MINUS1), // size + delta = 2^32: no wrap to 0
            Call("tgrow", &[9_000_001], MINUS1),
            Call("tsize", &[], Ret(N as u64)),
        ],
    );
}

/// A panic inside a builtin (a broken runtime invariant, injected by the test hook) becomes an
/// internal trap, not an abort of the process: for builtins that return a status (`memory.fill`,
/// `table.init`), that return a value (`memory.grow`, `table.grow`, `ref.func`, a lazily made table
/// element) or nothing (`data.drop`). Without the `catch_unwind` in the builtins this test aborts.
#[test]
fn a_panic_in_a_builtin_becomes_an_internal_trap() {
    const INTERNAL: Expect = Traps(TrapCode::Internal);
    let wasm = wat::parse_str(module_wat("1", "4", Some(2))).unwrap();
    let engine = Engine::default();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine);
    let instance = Linker::new(&engine).instantiate(&mut store, &module).unwrap();
    let rows: &[(&str, &[u32], Expect)] = &[
        ("fill", &[0, 1, 4], Done),
        ("grow", &[0], Ret(1)),
        ("tgrow", &[0], Ret(4)),
        ("rfnull", &[], Ret(0)),
        ("tid", &[2], Ret(100)), // the first read makes the element (builtin)
        ("tinit", &[0, 0, 1], Done),
        ("ddrop", &[], Done),
    ];
    let call = |store: &mut Store, name: &str, args: &[u32]| -> Expect {
        let f = instance.get_func(&mut *store, name).unwrap();
        let params: Vec<Val> = args.iter().map(|&a| Val::I32(a as i32)).collect();
        let mut results: Vec<Val> = f.ty(&*store).results().iter().map(|_| Val::I32(0)).collect();
        match f.call(&mut *store, &params, &mut results) {
            Err(e) => Traps(e.downcast_ref::<spry::Trap>().expect("a trap").code()),
            Ok(()) => results.first().map_or(Done, |v| Ret(v.i32().unwrap() as u32 as u64)),
        }
    };
    for &(name, args, normal) in rows {
        panic_in_next_builtin();
        let trap = call(&mut store, name, args);
        assert_eq!(trap, INTERNAL, "{name} with a panic injected");
        // The store is usable afterwards, and the same call succeeds.
        assert_eq!(call(&mut store, name, args), normal, "{name} after the internal trap");
    }
    let f = instance.get_func(&mut store, "tgrow").unwrap();
    panic_in_next_builtin();
    let err = f.call(&mut store, &[Val::I32(0)], &mut [Val::I32(0)]).unwrap_err();
    let trap = err.downcast_ref::<spry::Trap>().unwrap();
    assert_eq!(trap.message(), "internal runtime error");
}
