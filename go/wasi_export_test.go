//go:build cgo

package spry

// Hooks for the WASI tests of package spry_test.

// WASICallbackCount returns how many times the engine called a Go WASI callback (a reader, writer,
// file tree, clock or random source) since the process started.
func WASICallbackCount() int64 { return wasiCallbacks.Load() }

// WASIObjectCount returns how many Go objects native WASI configurations hold (registered and not
// yet finalized).
func WASIObjectCount() int { return wasiObjs.len() }
