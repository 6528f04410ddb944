//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import "runtime"

// SetLimits sets the store's limits, replacing earlier ones. They apply to what is made or grown
// from then on: a store that already holds more than a new limit allows keeps it but gets nothing
// more. Past a limit, memory.grow and table.grow return -1 to the Wasm code (no trap), and
// instantiation, NewMemory, NewTable, Memory.Grow and Table.Grow return an error naming the limit.
func (s *Store) SetLimits(limits StoreLimits) error {
	ptr, owned, err := s.use()
	if err != nil {
		return err
	}
	defer s.unuse(owned)
	cl := C.spry_store_limits_t{
		max_memory_bytes:   C.uint64_t(limits.MaxMemoryBytes),
		max_table_elements: C.uint64_t(limits.MaxTableElements),
		max_instances:      C.uint64_t(limits.MaxInstances),
		max_tables:         C.uint64_t(limits.MaxTables),
		max_memories:       C.uint64_t(limits.MaxMemories),
	}
	err = takeError(C.spry_store_set_limits(ptr, &cl))
	runtime.KeepAlive(s)
	return err
}

// SetFuel sets the fuel the store's Wasm code may consume (see Config.ConsumeFuel); values above
// math.MaxInt64 are math.MaxInt64. From a host function of the store (through Caller.Store), the
// Wasm code that called it continues with the new amount. It fails when the engine was not made
// with ConsumeFuel.
func (s *Store) SetFuel(fuel uint64) error {
	ptr, owned, err := s.use()
	if err != nil {
		return err
	}
	defer s.unuse(owned)
	err = takeError(C.spry_store_set_fuel(ptr, C.uint64_t(fuel)))
	runtime.KeepAlive(s)
	return err
}

// Fuel returns the fuel the store has left (0 once exhausted). It fails when the engine was not
// made with ConsumeFuel.
func (s *Store) Fuel() (uint64, error) {
	ptr, owned, err := s.use()
	if err != nil {
		return 0, err
	}
	defer s.unuse(owned)
	var fuel C.uint64_t
	err = takeError(C.spry_store_get_fuel(ptr, &fuel))
	runtime.KeepAlive(s)
	if err != nil {
		return 0, err
	}
	return uint64(fuel), nil
}
