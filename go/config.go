package spry

// Config holds the settings of an Engine. The zero value is the default configuration.
type Config struct {
	// MaxWasmStack bounds the stack that Wasm code may use, in bytes; exceeding it is a
	// TrapStackOverflow. 0 means the default (512 KiB).
	MaxWasmStack int

	// DisableGuardPages compiles explicit bounds checks instead of relying on guard regions
	// around linear memories (slower code, smaller address-space reservations).
	DisableGuardPages bool

	// DisableParallelCompilation compiles a module's functions on the calling thread only.
	DisableParallelCompilation bool

	// DisableInterrupts leaves out the interrupt checks of compiled code (slightly faster
	// loops); contexts can then no longer interrupt running Wasm code.
	DisableInterrupts bool
}
