//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Module is a compiled WebAssembly module, ready to be instantiated in any store of its engine.
// A Module is safe for concurrent use.
type Module struct {
	native shared[*C.spry_module_t]
	engine *Engine

	name    string
	imports []ImportType
	exports []ExportType
}

// Compile validates and compiles a module from its binary encoding.
func Compile(engine *Engine, wasm []byte) (*Module, error) {
	return compile(engine, wasm, "Module")
}

// compile is Compile; kind names the module in leak reports ("" for internal modules, which are
// released by their cleanup on purpose).
func compile(engine *Engine, wasm []byte, kind string) (*Module, error) {
	return newModule(engine, kind, func(e *C.spry_engine_t, out **C.spry_module_t) error {
		p, n := cBytes(wasm)
		err := takeError(C.spry_module_new(e, p, n, out))
		runtime.KeepAlive(wasm)
		return err
	})
}

// newModule wraps the native module that create makes with the engine's native engine.
func newModule(engine *Engine, kind string, create func(*C.spry_engine_t, **C.spry_module_t) error) (*Module, error) {
	e, err := engine.acquire()
	if err != nil {
		return nil, err
	}
	defer engine.release()
	var ptr *C.spry_module_t
	if err := create(e, &ptr); err != nil {
		return nil, err
	}
	m := &Module{engine: engine}
	initShared(m, &m.native, ptr, "module", kind, func(p *C.spry_module_t) { C.spry_module_delete(p) })
	m.describe()
	return m, nil
}

// Serialize returns the module's compiled form, an artifact that DeserializeModule loads without
// compiling, in an engine with the same code-shaping settings (guard pages, interrupts), of the
// same Spry version, on a CPU with the same features. It fails with ErrClosed after Close.
func (m *Module) Serialize() ([]byte, error) {
	p, err := m.acquire()
	if err != nil {
		return nil, err
	}
	defer m.release()
	var b *C.uint8_t
	var n C.size_t
	if err := takeError(C.spry_module_serialize(p, &b, &n)); err != nil {
		return nil, err
	}
	defer C.spry_bytes_delete(b, n)
	out := make([]byte, int(n))
	copy(out, unsafe.Slice((*byte)(unsafe.Pointer(b)), int(n)))
	return out, nil
}

// DeserializeModule loads a module from b, an artifact of Module.Serialize, without compiling it.
// An artifact that is truncated, corrupt (a 64-bit checksum is checked), or was written by another
// Spry version, for other code-shaping engine settings or for another CPU, is an error.
//
// Security: the artifact's machine code runs as is. b must come from a trusted source: Spry's own
// Serialize, with an engine of matching settings, through storage that only trusted parties can
// write. The checks catch accidents, not malice: a crafted artifact can run arbitrary code.
func DeserializeModule(engine *Engine, b []byte) (*Module, error) {
	return newModule(engine, "Module", func(e *C.spry_engine_t, out **C.spry_module_t) error {
		p, n := cBytes(b)
		err := takeError(C.spry_module_deserialize(e, p, n, out))
		runtime.KeepAlive(b)
		return err
	})
}

// DeserializeModuleFile is DeserializeModule of the contents of the file at path, which is mapped
// rather than read: the module's code runs from the file's pages (shared with the page cache), so
// loading costs the checks and the module's tables, not a copy of its code. The same trust
// requirement applies: the file must hold an artifact of Spry's own Serialize with a matching
// engine and be writable only by trusted users; in addition it must not be modified while the
// module (or anything made from it) is alive. Replace such a file by renaming a new one over it.
func DeserializeModuleFile(engine *Engine, path string) (*Module, error) {
	return newModule(engine, "Module", func(e *C.spry_engine_t, out **C.spry_module_t) error {
		p, n := cString(path)
		err := takeError(C.spry_module_deserialize_file(e, p, n, out))
		runtime.KeepAlive(path)
		return err
	})
}

// Validate checks that wasm is a valid module for the engine, without compiling it.
func Validate(engine *Engine, wasm []byte) error {
	e, err := engine.acquire()
	if err != nil {
		return err
	}
	defer engine.release()
	p, n := cBytes(wasm)
	err = takeError(C.spry_module_validate(e, p, n))
	runtime.KeepAlive(wasm)
	return err
}

// describe copies the module's name, imports and exports into Go (once, at compile time).
func (m *Module) describe() {
	var p *C.char
	var n C.size_t
	if C.spry_module_name(m.native.ptr, &p, &n) {
		m.name = goString(p, n)
	}
	var it C.spry_importtype_t
	for i := C.size_t(0); i < C.spry_module_imports_len(m.native.ptr); i++ {
		if !C.spry_module_import(m.native.ptr, i, &it) {
			break
		}
		m.imports = append(m.imports, ImportType{
			Module: goString(it.module, it.module_len),
			Name:   goString(it.name, it.name_len),
			Type:   goExternType(&it._type),
		})
	}
	var et C.spry_exporttype_t
	for i := C.size_t(0); i < C.spry_module_exports_len(m.native.ptr); i++ {
		if !C.spry_module_export(m.native.ptr, i, &et) {
			break
		}
		m.exports = append(m.exports, ExportType{
			Name: goString(et.name, et.name_len),
			Type: goExternType(&et._type),
		})
	}
}

// Name returns the module's name from its name section, or "" when it has none.
func (m *Module) Name() string {
	if m == nil {
		return ""
	}
	return m.name
}

// Imports returns the module's imports, in order.
func (m *Module) Imports() []ImportType {
	if m == nil {
		return nil
	}
	return append([]ImportType(nil), m.imports...)
}

// Exports returns the module's exports, in order.
func (m *Module) Exports() []ExportType {
	if m == nil {
		return nil
	}
	return append([]ExportType(nil), m.exports...)
}

// Engine returns the engine the module was compiled by.
func (m *Module) Engine() *Engine {
	if m == nil {
		return nil
	}
	return m.engine
}

// acquire returns the native module for one use, to be followed by release; it fails after Close.
func (m *Module) acquire() (*C.spry_module_t, error) {
	if m == nil {
		return nil, closedError("module")
	}
	return m.native.acquire()
}

func (m *Module) release() { m.native.release() }

// Close releases the compiled module. Instances made from it stay usable. Close is idempotent and
// always returns nil.
func (m *Module) Close() error {
	if m != nil {
		m.native.close()
	}
	return nil
}
