//go:build cgo

package spry

// The //export'ed callbacks that the C surface calls. They live alone in this file: cgo forbids C
// definitions in the preamble of a file that exports, and the trampoline that calls them is a C
// definition (enter.go).

/*
#include "spry.h"
*/
import "C"

import "unsafe"

// goSpryHostCall runs the host function registered under env, in the store registered under
// store (the innermost activation on this thread, found by the C trampoline in enter.go), over the
// call's slots. It returns NULL, or the trap to raise in the Wasm caller.
//
//export goSpryHostCall
func goSpryHostCall(env C.size_t, store C.uintptr_t, caller *C.spry_caller_t, slots *C.uint64_t, nargs C.size_t, nresults C.size_t) *C.spry_trap_t {
	hf := hostFuncs.get(uint64(env))
	var s *Store
	if ref := stores.get(uint64(store)); ref != nil {
		s = ref.active
	}
	if hf == nil || s == nil {
		return newHostTrap("spry: host function called outside of a Go call into its store")
	}
	var sl []uint64
	if n := max(nargs, nresults); n > 0 {
		sl = unsafe.Slice((*uint64)(unsafe.Pointer(slots)), int(n))
	}
	return s.runHost(hf, caller, sl)
}

// goSpryHostFinalize releases the host function registered under env: the C surface calls it once
// no linker or store can call the function any more.
//
//export goSpryHostFinalize
func goSpryHostFinalize(env C.size_t) {
	hostFuncs.remove(uint64(env))
}
