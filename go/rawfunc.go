package spry

// RawFunc is the body of a host function over raw 64-bit slots, the fastest form: on entry
// slots[0:len(params)] hold the arguments, and on a nil return slots[0:len(results)] must hold the
// results, laid out as for Func.CallRaw. A non-nil error stops the calling Wasm code with a *Trap
// that wraps it. The Caller is valid only during the call.
type RawFunc func(c *Caller, slots []uint64) error
