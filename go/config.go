package spry

// Config holds the settings of an Engine. The zero value is the default configuration.
type Config struct {
	// MaxWasmStack bounds the stack that Wasm code may use, in bytes; exceeding it is a
	// TrapStackOverflow. 0 means the default (512 KiB).
	MaxWasmStack int

	// DisableGuardPages compiles explicit bounds checks instead of relying on guard regions
	// around linear memories (slower code, smaller address-space reservations).
	DisableGuardPages bool

	// MemoryReservation is the address space reserved for each linear memory, in bytes: a
	// multiple of 64 KiB, at most 4 GiB; 0 means the default, 4 GiB. Reserving costs no memory,
	// but a process has only so much address space (128 TiB on x86-64 Linux): with the defaults
	// about 21,000 memories can be live at once. A memory never moves, so it grows in place up to
	// its reservation: past it, memory.grow returns -1 (Memory.Grow fails), and a memory whose
	// minimum size exceeds it cannot be created. With Pooling, it is also each memory slot's size.
	//
	// Compiled code leaves out a memory access's bounds check only when MemoryReservation plus
	// MemoryGuardSize covers every address the access can compute (4 GiB plus its static offset
	// and size). Below 4 GiB in total, every access is checked explicitly (slower code) and no
	// guard region is reserved. Ignored with DisableGuardPages.
	MemoryReservation uint64

	// MemoryGuardSize is the size of the inaccessible region reserved after each memory's
	// reservation, in bytes (rounded up to the host page size, at most 1 TiB); 0 means the
	// default, 2 GiB. See MemoryReservation. Ignored with DisableGuardPages.
	MemoryGuardSize uint64

	// DisableParallelCompilation compiles a module's functions on the calling thread only.
	DisableParallelCompilation bool

	// DisableInterrupts leaves out the interrupt checks of compiled code (slightly faster
	// loops); contexts can then no longer interrupt running Wasm code.
	DisableInterrupts bool

	// ConsumeFuel compiles fuel accounting into code: each function charges the static cost of
	// each basic block it runs (1 per operator; nop, drop, block, loop, end, else, unreachable
	// and return are free, as in wasmtime) to its store's fuel and traps with TrapOutOfFuel at a
	// function entry or loop header when none is left. A new store has no fuel: give it some with
	// Store.SetFuel. The same program consumes the same fuel on every run. Without it (the
	// default) code has no fuel checks at all. Modules serialized with one setting do not load
	// into an engine with the other.
	ConsumeFuel bool

	// DisableMemoryImages copies a module's data segments into each new instance instead of
	// mapping a copy-on-write image of them prepared at compile time. The semantics are the same.
	DisableMemoryImages bool

	// CacheDir, when not empty, is a compile cache directory (created if missing): Compile loads
	// a module compiled before, by this Spry version with the same code-shaping settings on the
	// same CPU, from it instead of compiling, and stores the modules it compiles there. The
	// directory must be writable only by trusted users: the machine code of its entries runs as
	// is (see DeserializeModule).
	CacheDir string

	// Pooling, when not nil, selects the pooling instance allocator with these limits: the
	// engine reserves fixed slots for instances, memories and tables once, and instantiation
	// fails with a "pool exhausted" error while they are all in use. nil allocates on demand
	// (the default).
	Pooling *PoolingConfig
}

// PoolingConfig holds the limits of the pooling instance allocator (see Config.Pooling). Start
// from DefaultPoolingConfig. Each memory slot reserves address space (not memory) for the largest
// memory: Config.MemoryReservation (4 GiB by default) plus the guard region with guard pages, or
// MaxMemoryPages × 64 KiB without.
type PoolingConfig struct {
	// TotalInstances is how many instances may be live at once.
	TotalInstances uint32
	// TotalMemories is how many defined memories may be live at once.
	TotalMemories uint32
	// TotalTables is how many defined tables may be live at once.
	TotalTables uint32
	// MaxMemoryPages is the most pages a memory may have, initially or by growing; a
	// memory.grow past it returns -1.
	MaxMemoryPages uint64
	// MaxTableElements is the most elements a table may have, initially or by growing.
	MaxTableElements uint32
	// MaxVMContextSize is the largest per-instance context a module may need, in bytes.
	MaxVMContextSize int
	// KeepResidentBytes: slots whose used part is at most this many bytes are reset by writing
	// zeros, keeping their pages resident, instead of being returned to the kernel.
	KeepResidentBytes int
}
