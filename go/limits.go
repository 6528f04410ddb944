package spry

// StoreLimits bounds what a store may hold (see Store.SetLimits). A zero field means unlimited, so
// the zero StoreLimits lifts every limit. As with wasmtime's store limits, the size limits apply to
// each memory and table on its own and the counts to the store as a whole: the memories and tables
// its instances define plus those made with NewMemory and NewTable (an imported memory or table
// counts in the store that made it).
type StoreLimits struct {
	// MaxMemoryBytes is the most bytes any one linear memory may have, initially or by growing:
	// memory.grow past it returns -1, Memory.Grow fails, and instantiating a module whose memory
	// starts larger fails.
	MaxMemoryBytes uint64
	// MaxTableElements is the most elements any one table may have, initially or by growing.
	MaxTableElements uint64
	// MaxInstances is the most instances the store may hold.
	MaxInstances uint64
	// MaxTables is the most tables the store may own.
	MaxTables uint64
	// MaxMemories is the most linear memories the store may own.
	MaxMemories uint64
}
