//go:build cgo

package spry

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
)

// Debug switches, all in this file. They are read once from the SPRY_DEBUG environment variable,
// a comma-separated list:
//
//	leaks  report on standard error each object released by its cleanup rather than by Close
//	gc     run a garbage collection in every accessor of a native pointer, which shakes out a
//	       missing runtime.KeepAlive (slow: for tests only)
var (
	debugLeaks = debugFlag("leaks")
	debugGC    = debugFlag("gc")
)

// leaksReported counts the objects released by a cleanup (for tests).
var leaksReported atomic.Int64

func debugFlag(name string) bool {
	for _, f := range strings.Split(os.Getenv("SPRY_DEBUG"), ",") {
		if strings.TrimSpace(f) == name {
			return true
		}
	}
	return false
}

// reportLeak is called by the cleanups: an object of the kind was released without Close.
func reportLeak(kind string) {
	leaksReported.Add(1)
	if debugLeaks {
		fmt.Fprintf(os.Stderr, "spry: %s released by its cleanup, not by Close (SPRY_DEBUG=leaks)\n", kind)
	}
}

// maybeGC runs a collection when the gc switch is on (called by the native-pointer accessors).
func maybeGC() {
	if debugGC {
		runtime.GC()
	}
}
