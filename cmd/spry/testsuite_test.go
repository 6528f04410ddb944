package main

import (
	"fmt"
	"testing"

	"github.com/spry-wasm/spry/internal/wasitestsuite"
)

// TestWASITestsuite runs the official WASI test suite (72 programs, ../shared/wasi-testsuite)
// through this spry binary, as the suite's specification says, and fails if any test fails.
func TestWASITestsuite(t *testing.T) {
	suite, err := wasitestsuite.SuiteDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", cacheHome) // the programs' compiled code stays out of the user's cache
	res, err := wasitestsuite.Run(suite, wasitestsuite.Runner{Command: []string{spryBin, "run"}, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println(res.Summary())
	if len(res.Failed()) > 0 {
		t.Errorf("failing tests of the WASI test suite:\n%s", res.Report())
	}
	if len(res.Tests) != wasitestsuite.ExpectedTests {
		t.Errorf("ran %d tests, want %d", len(res.Tests), wasitestsuite.ExpectedTests)
	}
}
