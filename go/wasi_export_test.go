//go:build cgo

package spry

// Hooks for the WASI tests of package spry_test.

// WASICallbackCount returns how many times the engine called a Go WASI callback (a reader, writer,
// file tree, clock or random source) since the process started.
func WASICallbackCount() int64 { return wasiCallbacks.Load() }

// WASIObjectCount returns how many Go objects native WASI configurations hold (registered and not
// yet finalized).
func WASIObjectCount() int { return wasiObjs.len() }

// WASIBuildCount returns how many native WASI configurations have been built since the process
// started.
func WASIBuildCount() int64 { return wasiBuilds.Load() }

// WASIRegistrations returns how many handles native configurations and stores hold for the Go
// reader or writer v (one per configuration or store that calls it back).
func WASIRegistrations(v any) int {
	chunks := wasiObjs.chunks.Load()
	if chunks == nil {
		return 0
	}
	n := 0
	for _, c := range *chunks {
		for i := range c {
			o := c[i].p.Load()
			if o != nil && ((o.w != nil && any(o.w) == v) || (o.r != nil && any(o.r) == v)) {
				n++
			}
		}
	}
	return n
}
