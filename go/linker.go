//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
)

// Linker resolves the imports of modules by (module, name) and instantiates them. Host functions
// defined in a Linker are usable in every store of its engine; items of a store (Define,
// DefineInstance) only in that store.
//
// A Linker is safe for concurrent use: instantiations run in parallel (in different stores), and a
// definition waits for the instantiations in progress. A start function must not define into the
// Linker that is instantiating its module.
type Linker struct {
	native shared[*C.spry_linker_t]
	mu     sync.RWMutex // definitions exclusive, instantiations shared (the C linker is not thread-safe for definitions)
	engine *Engine

	shadowing bool // AllowShadowing's setting (under mu)
}

// NewLinker returns an empty linker for modules and stores of engine.
func NewLinker(engine *Engine) (*Linker, error) {
	e, err := engine.acquire()
	if err != nil {
		return nil, err
	}
	ptr := C.spry_linker_new(e)
	engine.release()
	if ptr == nil {
		return nil, errors.New("spry: cannot create a linker")
	}
	l := &Linker{engine: engine}
	initShared(l, &l.native, ptr, "linker", "Linker", func(p *C.spry_linker_t) { C.spry_linker_delete(p) })
	return l, nil
}

// acquire returns the native linker for one use, to be followed by release; it fails after Close.
func (l *Linker) acquire() (*C.spry_linker_t, error) {
	if l == nil {
		return nil, closedError("linker")
	}
	return l.native.acquire()
}

func (l *Linker) release() { l.native.release() }

// Close releases the linker. Instances made with it are unaffected; host functions defined in it
// are released once no store uses them. Close is idempotent and always returns nil.
func (l *Linker) Close() error {
	if l != nil {
		l.native.close()
	}
	return nil
}

// Engine returns the linker's engine.
func (l *Linker) Engine() *Engine {
	if l == nil {
		return nil
	}
	return l.engine
}

// AllowShadowing sets whether a definition may replace an earlier one of the same (module, name);
// by default redefining is an error.
func (l *Linker) AllowShadowing(allow bool) error {
	p, err := l.acquire()
	if err != nil {
		return err
	}
	defer l.release()
	l.mu.Lock()
	defer l.mu.Unlock()
	C.spry_linker_allow_shadowing(p, C.bool(allow))
	l.shadowing = allow
	return nil
}

// DefineFunc defines module.name as the Go function fn, checked once, here, by reflection.
//
// fn's parameters and results are int32 or uint32 (Wasm i32), int64 or uint64 (i64), float32
// (f32) and float64 (f64), or types defined over them. It may take a first *Caller parameter (the
// caller's memory and functions, the store's data, the call's context) and return a last error
// result: a non-nil error stops the calling Wasm code with a *Trap that wraps it. A panic in fn
// unwinds the Wasm frames and is raised again, with its value, by the Go call that entered Wasm.
// If fn calls runtime.Goexit (t.Fatal, t.FailNow, t.Skip in a test), its goroutine ends as Goexit
// says: the Wasm frames above it and the Go call that entered Wasm are abandoned (that call never
// returns), and the store stays usable, as after a trap, by the goroutine's deferred functions and
// by other goroutines. In tests, prefer t.Error and returning an error, which ends the call with a
// *Trap.
//
// Shapes whose parameters and results share one type (func(int32, int32) int32,
// func(*Caller, int64) (int64, error)...) are called without reflection and without allocation;
// other shapes are called through reflect. DefineRawFunc is the fastest form for any shape.
func (l *Linker) DefineFunc(module, name string, fn any) error {
	hf, err := newHostFunc(fn)
	if err != nil {
		return fmt.Errorf("%w (defining %s.%s)", err, module, name)
	}
	return l.defineHost(module, name, hf)
}

// DefineRawFunc defines module.name as a host function of type ft over raw slots (see RawFunc).
// The types are numbers only.
func (l *Linker) DefineRawFunc(module, name string, ft FuncType, fn RawFunc) error {
	hf, err := newRawHostFunc(ft, fn)
	if err != nil {
		return fmt.Errorf("%w (defining %s.%s)", err, module, name)
	}
	return l.defineHost(module, name, hf)
}

func (l *Linker) defineHost(module, name string, hf *hostFunc) error {
	p, err := l.acquire()
	if err != nil {
		return err
	}
	defer l.release()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.defineHostLocked(p, module, name, hf)
}

// defineHostLocked is defineHost with the native linker acquired and l.mu held.
func (l *Linker) defineHostLocked(p *C.spry_linker_t, module, name string, hf *hostFunc) error {
	env := hostFuncs.add(hf)
	mp, mn := cString(module)
	np, nn := cString(name)
	pp, pn := cKinds(hf.ty.Params)
	rp, rn := cKinds(hf.ty.Results)
	err := takeError(C.spry_linker_define_func(p, mp, mn, np, nn, pp, pn, rp, rn, hostCallback, C.size_t(env), hostFinalizer))
	runtime.KeepAlive(module)
	runtime.KeepAlive(name)
	return err // on failure, the C surface already called the finalizer, which released env
}

// DefineUnknownImportsAsTraps defines every function import of m that the linker does not define
// yet as a function that traps when called (with an *UnknownImportError), so that m instantiates
// and runs as long as it does not call them: a module built for a richer host (JavaScript bridge
// imports next to WASI) can still run its WASI paths. This is wasmtime's "unknown-imports-trap".
// Call it after the linker's other definitions; it never replaces a definition, even when
// AllowShadowing is on. Imports of other kinds (memories, tables, globals) and functions over
// reference types are left alone: instantiation still reports them when they are missing.
func (l *Linker) DefineUnknownImportsAsTraps(m *Module) error {
	if m == nil {
		return errors.New("spry: nil *Module")
	}
	p, err := l.acquire()
	if err != nil {
		return err
	}
	defer l.release()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shadowing {
		C.spry_linker_allow_shadowing(p, false)
		defer C.spry_linker_allow_shadowing(p, true)
	}
	for _, imp := range m.Imports() {
		if imp.Type.Kind != ExternFunc || imp.Type.Func.hasRefs() {
			continue
		}
		unknown := &UnknownImportError{Module: imp.Module, Name: imp.Name}
		hf, err := newRawHostFunc(imp.Type.Func, func(*Caller, []uint64) error { return unknown })
		if err != nil {
			return fmt.Errorf("%w (defining %s.%s)", err, imp.Module, imp.Name)
		}
		err = l.defineHostLocked(p, imp.Module, imp.Name, hf)
		if err != nil && !strings.Contains(err.Error(), "is already defined") {
			return err
		}
	}
	return nil
}

// Define defines module.name as an item of a store (a function, memory, global or table). Modules
// instantiated with it must be instantiated in that store.
func (l *Linker) Define(module, name string, item Extern) error {
	if item == nil {
		return fmt.Errorf("%w: nil item", ErrType)
	}
	r := item.item()
	if _, err := r.store.ptr(); err != nil {
		return err
	}
	p, err := l.acquire()
	if err != nil {
		return err
	}
	defer l.release()
	l.mu.Lock()
	defer l.mu.Unlock()
	mp, mn := cString(module)
	np, nn := cString(name)
	ext := C.spry_extern_t{kind: C.spry_externkind_t(r.kind), store_id: C.uint64_t(r.storeID), index: C.uint32_t(r.index)}
	err = takeError(C.spry_linker_define(p, mp, mn, np, nn, ext))
	runtime.KeepAlive(module)
	runtime.KeepAlive(name)
	return err
}

// DefineInstance defines every export of inst under the module name module. Modules instantiated
// with them must be instantiated in inst's store.
func (l *Linker) DefineInstance(module string, inst *Instance) error {
	if inst == nil {
		return errors.New("spry: nil *Instance")
	}
	sp, owned, err := inst.store.use()
	if err != nil {
		return err
	}
	defer inst.store.unuse(owned)
	p, err := l.acquire()
	if err != nil {
		return err
	}
	defer l.release()
	l.mu.Lock()
	defer l.mu.Unlock()
	mp, mn := cString(module)
	err = takeError(C.spry_linker_define_instance(p, sp, mp, mn, inst.h))
	runtime.KeepAlive(inst.store)
	runtime.KeepAlive(module)
	return err
}

// Instantiate instantiates module in store s, resolving its imports by name in the linker, and
// runs its start function (whose trap is returned as a *Trap; ctx interrupts it as it does calls).
// An import the linker does not define, or defines with another type, is an error.
func (l *Linker) Instantiate(ctx context.Context, s *Store, module *Module) (*Instance, error) {
	if s == nil {
		return nil, errStoreClosed
	}
	p, err := l.acquire()
	if err != nil {
		return nil, err
	}
	defer l.release()
	m, err := module.acquire()
	if err != nil {
		return nil, err
	}
	defer module.release()
	l.mu.RLock()
	defer l.mu.RUnlock()
	h, err := s.instantiateLinked(ctx, p, m)
	if err != nil {
		return nil, err
	}
	return s.newInstance(h), nil
}
