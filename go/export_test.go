//go:build cgo

package spry

import "context"

// Hooks for the tests of package spry_test.

// HostFuncCount returns how many host functions are registered (defined and not yet finalized).
func HostFuncCount() int { return hostFuncs.len() }

// StoreCount returns how many stores are registered (not yet closed or cleaned up).
func StoreCount() int { return stores.len() }

// LeaksReported returns how many objects were released by a cleanup rather than by Close.
func LeaksReported() int64 { return leaksReported.Load() }

// CgoFloor makes an empty C call.
func CgoFloor() { cgoFloor() }

// BeginEnd runs the Go half of a call into s: what a call costs besides cgo and the engine.
func BeginEnd(s *Store) error {
	var c callState
	if err := s.begin(nil, &c); err != nil {
		return err
	}
	return s.end(&c, nil, nil)
}

// RequestInterrupt makes an interrupt request for s as a context cancelled just after a call
// would: while no call runs.
func RequestInterrupt(s *Store) {
	a := s.arm(context.Background())
	a.interrupt()
}

// FlushInterrupt consumes a pending interrupt request of the idle store s, as a call does after
// its context's request came late.
func FlushInterrupt(s *Store) {
	if s.state.CompareAndSwap(stateIdle, stateBusy) {
		s.flushInterrupt()
		s.state.Store(stateIdle)
	}
}

// DefineFuncPath defines module.name in l as Linker.DefineFunc does and reports which body serves
// fn: fast is true for a generated adapter of hostfunc_fast.go, false for a call through reflect.
func DefineFuncPath(l *Linker, module, name string, fn any) (fast bool, err error) {
	hf, err := newHostFunc(fn)
	if err != nil {
		return false, err
	}
	return hf.fast, l.defineHost(module, name, hf)
}
