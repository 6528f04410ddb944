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
