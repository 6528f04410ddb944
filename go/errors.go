package spry

import "errors"

// Errors about the use of the API (traps have their own sentinels, in trap.go).
var (
	// ErrCgoRequired is returned by the constructors of a build without cgo (CGO_ENABLED=0): the
	// engine is a native library that only cgo can reach.
	ErrCgoRequired = errors.New("spry: cgo is required (the package was built with CGO_ENABLED=0)")

	// ErrClosed is returned when an object is used after its Close, or after the Close of the
	// store it belongs to.
	ErrClosed = errors.New("spry: use of a closed object")

	// ErrConcurrentStoreUse is returned by a call that finds another goroutine running code in the
	// same store. A Store, and everything taken from it, is used by one goroutine at a time.
	ErrConcurrentStoreUse = errors.New("spry: concurrent use of a store by several goroutines")

	// ErrNotFound is returned (wrapped, with the name) when an instance or a caller has no export
	// of the requested name.
	ErrNotFound = errors.New("spry: export not found")

	// ErrType is returned (wrapped, with details) when a value, a function or an export does not
	// have the type an operation needs: a wrong argument type, an export of another kind, a typed
	// helper whose signature differs from the function's.
	ErrType = errors.New("spry: type mismatch")

	// ErrResourceExhausted is matched (errors.Is) by the error of an operation that ran out of a
	// resource that other stores hold: address space for a linear memory's reservation (see
	// Config.MemoryReservation), or the slots of the pooling allocator (then ErrPoolExhausted
	// matches too). Instantiation, NewMemory and NewTable run a garbage collection, so that the
	// cleanups of unreachable stores release what they hold, and retry once before returning it.
	ErrResourceExhausted = errors.New("spry: resource exhausted")

	// ErrPoolExhausted is matched (errors.Is) by the error of an instantiation (or NewMemory,
	// NewTable) that found every instance, memory or table slot of the pooling allocator in use
	// (see Config.Pooling). It clears as soon as stores are closed.
	ErrPoolExhausted = errors.New("spry: pool exhausted")
)

// exhaustedError is the error of an operation that ran out of a resource: its message is the
// engine's, and errors.Is matches ErrResourceExhausted and, for a pool, ErrPoolExhausted.
type exhaustedError struct {
	msg  string
	pool bool
}

// Error returns the engine's message.
func (e *exhaustedError) Error() string { return e.msg }

// Is matches ErrResourceExhausted, and ErrPoolExhausted for a pool's exhaustion.
func (e *exhaustedError) Is(target error) bool {
	return target == ErrResourceExhausted || (e.pool && target == ErrPoolExhausted)
}
