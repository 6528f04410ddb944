//! Shared harness for Spry's fuzz targets: an engine set up for fuzzing, dummy imports, a watchdog
//! that interrupts runaway Wasm, and a driver that calls every exported function with zero values.

use spry::{
    Config, Engine, Extern, ExternType, Func, FuncType, Global, GlobalType, ImportType, Instance, InterruptHandle,
    Linker, Memory, Module, Store, Table, Trap, TrapCode, Val,
};
use std::collections::HashSet;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one fuzz input may run Wasm (start function and all export calls together).
pub const WASM_TIME_BUDGET: Duration = Duration::from_millis(100);

/// An engine for fuzzing: single-threaded compilation (the fuzzer runs one job per core), interrupts
/// on. In fuzz builds `debug_assertions` is on, so Cranelift's IR verifier runs on every function.
///
/// A new engine per input keeps inputs independent: the engine's type registry and its trampoline
/// code grow with every new signature and are only freed with the engine.
pub fn new_engine() -> Engine {
    new_engine_with(EngineKnobs::default())
}

/// Engine settings that change the generated code, chosen per input by the `smith` target.
#[derive(Clone, Copy, Debug)]
pub struct EngineKnobs {
    /// `Config::guard_pages`: off, every memory access is bounds-checked explicitly.
    pub guard_pages: bool,
    /// `Config::cranelift_optimize`.
    pub optimize: bool,
}

impl Default for EngineKnobs {
    fn default() -> Self {
        EngineKnobs { guard_pages: true, optimize: true }
    }
}

/// [`new_engine`] with the given knobs.
pub fn new_engine_with(knobs: EngineKnobs) -> Engine {
    let mut config = Config::new();
    config
        .parallel_compilation(false)
        .interruptible(true)
        .max_wasm_stack(512 * 1024)
        .guard_pages(knobs.guard_pages)
        .cranelift_optimize(knobs.optimize);
    Engine::new(&config).expect("engine for the host")
}

/// Interrupts the store's Wasm once `budget` has passed, and keeps interrupting (a request is cleared
/// when the outermost call returns) until dropped.
pub struct Watchdog {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    deadline: Instant,
}

impl Watchdog {
    /// Starts the watchdog for `store`.
    pub fn start(store: &Store, budget: Duration) -> Watchdog {
        let handle: InterruptHandle = store.interrupt_handle();
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = rx.recv_timeout(budget) {
                loop {
                    handle.interrupt();
                    match rx.recv_timeout(Duration::from_millis(2)) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        _ => break,
                    }
                }
            }
        });
        Watchdog { stop: Some(tx), thread: Some(thread), deadline: Instant::now() + budget }
    }

    /// Whether the budget is used up (no more calls should be started).
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A host function of type `ty` that returns zero values (null references).
fn dummy_results(results: &mut [Val], tys: &[spry::ValType]) {
    for (r, t) in results.iter_mut().zip(tys) {
        *r = Val::null(*t);
    }
}

/// A store item satisfying `import` (functions are created with [`Func::new`]).
fn dummy_extern(store: &mut Store, import: &ImportType) -> anyhow::Result<Extern> {
    Ok(match &import.ty {
        ExternType::Func(ty) => {
            let results = ty.results().to_vec();
            Extern::Func(Func::new(&mut *store, ty.clone(), move |_, _, out| {
                dummy_results(out, &results);
                Ok(())
            })?)
        }
        ExternType::Memory(ty) => Extern::Memory(Memory::new(&mut *store, *ty)?),
        ExternType::Table(ty) => Extern::Table(Table::new(&mut *store, *ty, Val::null(ty.element))?),
        ExternType::Global(ty) => Extern::Global(Global::new(&mut *store, *ty, Val::null(ty.content))?),
    })
}

/// Instantiates `module` with every import satisfied by a dummy of the import's type.
///
/// When the import names are unique this goes through a [`Linker`] (host functions with
/// `Linker::func_new`, the rest with `Linker::define`); otherwise (a module may import one name twice
/// with different types) through [`Instance::new`] with the imports in order.
pub fn instantiate_with_dummies(store: &mut Store, module: &Module) -> anyhow::Result<Instance> {
    let imports: Vec<ImportType> = module.imports().collect();
    let unique = {
        let mut seen = HashSet::new();
        imports.iter().all(|i| seen.insert((i.module.as_str(), i.name.as_str())))
    };
    if unique {
        let mut linker = Linker::new(store.engine());
        for import in &imports {
            match &import.ty {
                ExternType::Func(ty) => {
                    let results = ty.results().to_vec();
                    linker.func_new(&import.module, &import.name, ty.clone(), move |_, _, out| {
                        dummy_results(out, &results);
                        Ok(())
                    })?;
                }
                _ => {
                    let item = dummy_extern(store, import)?;
                    linker.define(&import.module, &import.name, item)?;
                }
            }
        }
        linker.instantiate(&mut *store, module)
    } else {
        let items = imports.iter().map(|i| dummy_extern(store, i)).collect::<anyhow::Result<Vec<_>>>()?;
        Instance::new(&mut *store, module, &items)
    }
}

/// What happened to one input.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Whether instantiation succeeded.
    pub instantiated: bool,
    /// Export calls that returned normally.
    pub returned: usize,
    /// Export calls that trapped.
    pub trapped: usize,
    /// Export calls not made because the time budget was used up.
    pub skipped: usize,
}

/// Instantiates `module` with dummies and calls each exported function with zero arguments (with a
/// watchdog bounding the total Wasm run time). Traps are fine; anything else that goes wrong in a way
/// the API promises it won't is a panic.
///
/// `strict`: instantiation may fail only with a trap (true for wasm-smith modules, whose sizes are
/// bounded; arbitrary modules may also exceed resource limits).
pub fn exercise(engine: &Engine, module: &Module, strict: bool) -> Outcome {
    let mut outcome = Outcome::default();
    let mut store = Store::new(engine);
    let watchdog = Watchdog::start(&store, WASM_TIME_BUDGET);

    let instance = match instantiate_with_dummies(&mut store, module) {
        Ok(i) => i,
        Err(e) => {
            if strict && e.downcast_ref::<Trap>().is_none() {
                panic!("instantiation failed with a non-trap error: {e:?}");
            }
            return outcome;
        }
    };
    outcome.instantiated = true;

    for export in module.exports() {
        let item = instance
            .get_export(&mut store, &export.name)
            .unwrap_or_else(|| panic!("export `{}` listed by the module but not found in the instance", export.name));
        match (&export.ty, item) {
            (ExternType::Func(ty), Extern::Func(func)) => {
                let ty: &FuncType = ty;
                assert!(func.ty(&store) == *ty, "type of exported function `{}`", export.name);
                if watchdog.expired() {
                    outcome.skipped += 1;
                    continue;
                }
                let params: Vec<Val> = ty.params().iter().map(|t| Val::null(*t)).collect();
                let mut results: Vec<Val> = ty.results().iter().map(|t| Val::null(*t)).collect();
                match func.call(&mut store, &params, &mut results) {
                    Ok(()) => {
                        outcome.returned += 1;
                        for (r, t) in results.iter().zip(ty.results()) {
                            assert_eq!(r.ty(), *t, "result type of `{}`", export.name);
                        }
                    }
                    Err(e) => match e.downcast_ref::<Trap>() {
                        Some(trap) => {
                            // Dummy host functions never fail, so no trap can come from the host.
                            assert_ne!(trap.code(), TrapCode::HostError, "export `{}`: {e:?}", export.name);
                            outcome.trapped += 1;
                        }
                        None => panic!("call of export `{}` failed with a non-trap error: {e:?}", export.name),
                    },
                }
            }
            (ExternType::Global(ty), Extern::Global(global)) => {
                let ty: GlobalType = *ty;
                assert_eq!(global.ty(&store), ty, "type of exported global `{}`", export.name);
                let v = global.get(&mut store);
                assert_eq!(v.ty(), ty.content, "value of exported global `{}`", export.name);
            }
            (ExternType::Memory(_), Extern::Memory(memory)) => {
                let pages = memory.size(&store);
                assert_eq!(memory.data_size(&store) as u64, pages * spry::WASM_PAGE_SIZE);
                assert_eq!(memory.data(&store).len() as u64, pages * spry::WASM_PAGE_SIZE);
            }
            (ExternType::Table(ty), Extern::Table(table)) => {
                assert_eq!(table.ty(&store).element, ty.element, "element type of exported table `{}`", export.name);
                let size = table.size(&store);
                for i in [0, size / 2, size.saturating_sub(1)] {
                    if i < size {
                        let v = table.get(&mut store, i).expect("in-bounds table element");
                        assert_eq!(v.ty(), ty.element);
                    }
                }
                assert!(table.get(&mut store, size).is_none(), "table element past the end");
            }
            (ty, item) => panic!("export `{}` declared as {ty:?} but the instance has {item:?}", export.name),
        }
    }
    drop(watchdog);
    if verbose() {
        eprintln!("spry-fuzz: {outcome:?}");
    }
    outcome
}

/// Whether `SPRY_FUZZ_VERBOSE` is set: print what happened to each input.
pub fn verbose() -> bool {
    static VERBOSE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *VERBOSE.get_or_init(|| std::env::var_os("SPRY_FUZZ_VERBOSE").is_some())
}

/// If `SPRY_FUZZ_DUMP_DIR` is set, writes `wasm` there as `<hash>.wasm` (to extract the modules a
/// wasm-smith input generates, e.g. to reproduce a failure or to seed the `compile_bytes` corpus).
pub fn dump_wasm(wasm: &[u8]) {
    let Some(dir) = std::env::var_os("SPRY_FUZZ_DUMP_DIR") else { return };
    // FNV-1a: a stable name, so that a corpus dumps to the same files every time.
    let hash = wasm.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ *b as u64).wrapping_mul(0x100_0000_01b3));
    let path = std::path::Path::new(&dir).join(format!("{hash:016x}.wasm"));
    std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, wasm)).expect("writing SPRY_FUZZ_DUMP_DIR");
    if verbose() {
        eprintln!("spry-fuzz: wrote {}", path.display());
    }
}

/// Spry bugs already found and reported, as (name, a substring of the error's message). A wasm-smith
/// module that fails to compile with one of these errors is skipped instead of failing the input, but
/// only when `SPRY_FUZZ_IGNORE_KNOWN` is set (to keep fuzzing for other bugs until the engine is
/// fixed). Remove an entry once its bug is fixed; see `fuzz/README.md` and `fuzz/regressions/`.
///
/// None at the moment. (The first entry, `("multi-ret", "Too many return values to fit in
/// registers")`, was removed when that bug was fixed: see regressions/multi-ret-*.wasm.)
pub const KNOWN_ISSUES: &[(&str, &str)] = &[];

/// Whether `err` is one of [`KNOWN_ISSUES`] and `SPRY_FUZZ_IGNORE_KNOWN` is set.
pub fn ignored_known_issue(err: &anyhow::Error) -> bool {
    if std::env::var_os("SPRY_FUZZ_IGNORE_KNOWN").is_none() {
        return false;
    }
    let msg = format!("{err:#}");
    match KNOWN_ISSUES.iter().find(|(_, needle)| msg.contains(needle)) {
        Some((name, _)) => {
            if verbose() {
                eprintln!("spry-fuzz: skipped known issue {name}: {msg}");
            }
            true
        }
        None => false,
    }
}

/// wasm-smith's swarm configuration (from the input), with the features and limits forced to what
/// Spry supports (WebAssembly 2.0 minus SIMD; see `fuzz/README.md`). Used by `smith` and `diff_smith`.
pub fn smith_config(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<wasm_smith::Config> {
    use arbitrary::Arbitrary;
    let mut c = wasm_smith::Config::arbitrary(u)?;
    // WebAssembly 2.0 minus SIMD.
    c.simd_enabled = false;
    c.relaxed_simd_enabled = false;
    c.threads_enabled = false;
    c.shared_everything_threads_enabled = false;
    c.tail_call_enabled = false;
    c.exceptions_enabled = false;
    c.gc_enabled = false;
    c.memory64_enabled = false;
    c.custom_page_sizes_enabled = false;
    c.extended_const_enabled = false;
    c.wide_arithmetic_enabled = false;
    c.compact_imports_enabled = false;
    c.custom_descriptors_enabled = false;
    c.acquire_release_atomics_enabled = false;
    c.multibyte_array_access_enabled = false;
    c.reference_types_enabled = true;
    c.bulk_memory_enabled = true;
    // Multi-value, sign extension and saturating conversions are 2.0 too: left to the swarm.
    c.max_memories = c.max_memories.min(1); // no multi-memory
    c.max_tables = c.max_tables.min(8);
    // Small memories, always bounded, so that memory.grow + memory.fill cannot eat the machine.
    c.max_memory32_bytes = c.max_memory32_bytes.min(16 * spry::WASM_PAGE_SIZE);
    c.memory_max_size_required = true;
    c.max_table_elements = c.max_table_elements.min(1000);
    c.table_max_size_required = true;
    // Keep compile time per input reasonable.
    c.max_funcs = c.max_funcs.min(100);
    c.max_instructions = c.max_instructions.min(1000);
    c.max_types = c.max_types.min(100);
    c.max_imports = c.max_imports.min(50);
    c.max_exports = c.max_exports.min(100);
    c.max_globals = c.max_globals.min(100);
    c.max_data_segments = c.max_data_segments.min(100);
    c.max_element_segments = c.max_element_segments.min(100);
    c.max_elements = c.max_elements.min(100);
    // Export everything so that every function gets called (coverage feedback does not see inside
    // JIT code, so calls are the only way generated code gets run).
    c.export_everything = true;
    c.allow_start_export = true;
    // Most swarm configurations otherwise yield modules without a single function.
    if c.max_types > 0 && c.max_funcs > 0 {
        c.min_types = 1;
        c.min_funcs = 1;
    }
    Ok(c)
}

// ---------------------------------------------------------------------------------------------------
// Differential testing against wasmtime (targets `diff_smith` and `diff_bulk`).

/// The summary format and the Spry side of a differential run, shared with
/// `tests/fuzz_regressions.rs` (which replays `regressions/*.wasm` against their `*.expected`).
#[path = "../../tests/common/diff.rs"]
pub mod diff;
/// The wasmtime side of a differential run.
pub mod reference;
/// The `diff_bulk` module generator.
pub mod template;

/// A Spry engine for differential runs: like [`new_engine_with`] but not interruptible (no watchdog:
/// both sides run to completion, bounded by wasm-smith's fuel or by construction) and with the same
/// Wasm stack limit as the reference.
pub fn new_diff_engine(knobs: EngineKnobs) -> Engine {
    let mut config = Config::new();
    config
        .parallel_compilation(false)
        .max_wasm_stack(reference::MAX_WASM_STACK)
        .guard_pages(knobs.guard_pages)
        .cranelift_optimize(knobs.optimize);
    Engine::new(&config).expect("engine for the host")
}

/// Runs `wasm` on Spry and on wasmtime and panics when the summaries differ (see `diff.rs` for what
/// is compared and what is inconclusive). `wasm` must be valid: a compile error on either side fails
/// the input. With `SPRY_FUZZ_WRITE_EXPECTED=dir`, writes `dir/<hash>.wasm` and `dir/<hash>.expected`
/// (the reference's summary) before comparing: that is how regression files are made.
pub fn differential(wasm: &[u8], knobs: EngineKnobs) {
    let reference_engine = reference_engine();
    let expected = match reference::run_wasmtime(reference_engine, wasm) {
        Ok(s) => s.render(),
        Err(e) => panic!("wasmtime rejected a generated module: {e}"),
    };
    if let Some(dir) = std::env::var_os("SPRY_FUZZ_WRITE_EXPECTED") {
        let hash = diff::module_seed(wasm);
        let dir = std::path::Path::new(&dir);
        std::fs::create_dir_all(dir).expect("SPRY_FUZZ_WRITE_EXPECTED dir");
        std::fs::write(dir.join(format!("{hash:016x}.wasm")), wasm).expect("write .wasm");
        std::fs::write(dir.join(format!("{hash:016x}.expected")), &expected).expect("write .expected");
    }
    let engine = new_diff_engine(knobs);
    let actual = match diff::run_spry(&engine, wasm) {
        Ok(s) => s.render(),
        Err(e) => panic!("Spry failed to compile a valid module: {e}"),
    };
    if verbose() {
        eprintln!("spry-fuzz: {knobs:?}\n--- wasmtime\n{expected}--- spry\n{actual}");
    }
    if let Err(msg) = diff::compare(&expected, &actual) {
        panic!("Spry and wasmtime disagree ({knobs:?}): {msg}\n--- wasmtime\n{expected}--- spry\n{actual}");
    }
}

/// One wasmtime engine for the process (its code memory and type registry are freed with each
/// module; an engine per input would make every input pay for wasmtime's setup).
fn reference_engine() -> &'static wasmtime::Engine {
    static ENGINE: std::sync::OnceLock<wasmtime::Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(reference::new_engine)
}
