// Package wasitestsuite runs the official WASI test suite (github.com/WebAssembly/wasi-testsuite,
// its precompiled wasm32-wasip1 binaries: 72 programs in AssemblyScript, C and Rust) through a
// WebAssembly runtime's command line, as the suite's doc/specification.md describes: for each
// NAME.wasm, read NAME.json (legacy or operation-based form; none means run and expect exit 0),
// run the program on a copy of its preopened directory with the given args and environment, and
// check its exit code, stdout and stderr.
//
// The command is a Runner: a prefix such as {"spry", "run"} or {"wazero", "run"} and how it
// spells a preopened directory and an environment variable (wasmtime's --dir=HOST::GUEST and
// --env NAME=VALUE by default, WazeroRunner for wazero's -mount=HOST:GUEST and -env=NAME=VALUE):
//
//	res, err := wasitestsuite.Run(suiteDir, wasitestsuite.Runner{Command: []string{spryBin, "run"}})
//	fmt.Println(res.Summary()) // wasi-testsuite: P/72 passed
//	fmt.Print(res.Report())    // and every failing test with its reasons
//
// The suite is vendored at testdata/wasi-testsuite in the repository (SuiteDir finds it,
// or $WASI_TESTSUITE_DIR).
package wasitestsuite
