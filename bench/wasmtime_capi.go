package main

// wasmtime through its C API, from the libwasmtime.a that wasmtime-go ships (wasmtime-go links it;
// run.sh points CGO_CFLAGS at its headers): the pooling allocator, copy-on-write memory images and
// InstancePre, the best wasmtime setup a Go program can have today. Host functions are "unchecked"
// (raw slots); the round-trip host function is Go, reached through a C trampoline.

/*
#include "wasmtime_capi.h"
*/
import "C"

import (
	"errors"
	"runtime/debug"
	"unsafe"
)

func cerr(msg *C.char) error {
	if msg == nil {
		return nil
	}
	defer C.free(unsafe.Pointer(msg))
	return errors.New(C.GoString(msg))
}

//export benchGoRoundTrip
func benchGoRoundTrip(caller *C.wasmtime_caller_t) *C.wasm_trap_t {
	return C.bench_call_empty_from_caller(caller)
}

type wasmtimeCAPIRunner struct {
	engine *C.wasm_engine_t
}

func newWasmtimeCAPI() (Runner, error) {
	n := *liveN + 64
	if *cycleFor > 0 {
		n = 1000 // the cycle keeps few instances alive
	}
	e := C.bench_engine(C.uint32_t(n))
	if e == nil {
		return nil, errors.New("wasm_engine_new_with_config failed")
	}
	return &wasmtimeCAPIRunner{engine: e}, nil
}

func (r *wasmtimeCAPIRunner) Close() { C.wasm_engine_delete(r.engine) }

func (r *wasmtimeCAPIRunner) Compile(w *Workload) (Module, error) {
	var m *C.wasmtime_module_t
	if err := cerr(C.bench_compile(r.engine, (*C.uint8_t)(unsafe.Pointer(&w.Wasm[0])), C.size_t(len(w.Wasm)), &m)); err != nil {
		return nil, err
	}
	return &wasmtimeCAPIModule{r: r, w: w, m: m}, nil
}

type wasmtimeCAPIModule struct {
	r   *wasmtimeCAPIRunner
	w   *Workload
	m   *C.wasmtime_module_t
	l   *C.wasmtime_linker_t
	pre *C.wasmtime_instance_pre_t
}

func (m *wasmtimeCAPIModule) Serialize() ([]byte, error) {
	var p *C.uint8_t
	var n C.size_t
	if err := cerr(C.bench_serialize(m.m, &p, &n)); err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(p))
	return C.GoBytes(unsafe.Pointer(p), C.int(n)), nil
}

func (m *wasmtimeCAPIModule) Deserialize(b []byte) (Module, error) {
	var mm *C.wasmtime_module_t
	if err := cerr(C.bench_deserialize(m.r.engine, (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b)), &mm)); err != nil {
		return nil, err
	}
	return &wasmtimeCAPIModule{r: m.r, w: m.w, m: mm}, nil
}

func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

func (m *wasmtimeCAPIModule) Prepare() error {
	m.l = C.wasmtime_linker_new(m.r.engine)
	for _, im := range m.w.Imports {
		mod, name := C.CString(im.Module), C.CString(im.Name)
		rt := C.int(0)
		if im.RoundTrip {
			rt = 1
		}
		err := cerr(C.bench_define(m.l, mod, C.size_t(len(im.Module)), name, C.size_t(len(im.Name)),
			bytesPtr(im.Params), C.size_t(len(im.Params)), bytesPtr(im.Results), C.size_t(len(im.Results)), rt))
		C.free(unsafe.Pointer(mod))
		C.free(unsafe.Pointer(name))
		if err != nil {
			return err
		}
	}
	return cerr(C.bench_pre(m.l, m.m, &m.pre))
}

func (m *wasmtimeCAPIModule) Instantiate(write bool) (Instance, error) {
	i := &wasmtimeCAPIInstance{}
	w := C.int(0)
	if write {
		w = 1
	}
	if err := cerr(C.bench_instantiate(m.r.engine, m.pre, w, &i.i)); err != nil {
		return nil, err
	}
	return i, nil
}

func (m *wasmtimeCAPIModule) Close() {
	if m.pre != nil {
		C.wasmtime_instance_pre_delete(m.pre)
	}
	if m.l != nil {
		C.wasmtime_linker_delete(m.l)
	}
	C.wasmtime_module_delete(m.m)
}

type wasmtimeCAPIInstance struct {
	i         C.bench_inst_t
	empty, rt C.wasmtime_func_t
}

func (i *wasmtimeCAPIInstance) Calls() (func() error, func() error, error) {
	en, rn := C.CString("empty"), C.CString("roundtrip")
	defer C.free(unsafe.Pointer(en))
	defer C.free(unsafe.Pointer(rn))
	if err := cerr(C.bench_get_func(&i.i, en, &i.empty)); err != nil {
		return nil, nil, err
	}
	empty := func() error { return cerr(C.bench_call(&i.i, &i.empty)) }
	if err := cerr(C.bench_get_func(&i.i, rn, &i.rt)); err != nil {
		return empty, nil, nil
	}
	return empty, func() error { return cerr(C.bench_call(&i.i, &i.rt)) }, nil
}

func (i *wasmtimeCAPIInstance) Close() { C.wasmtime_store_delete(i.i.store) }

// trimHeaps returns the free memory of the Go heap and of the C heap (malloc) to the kernel.
func trimHeaps() {
	debug.FreeOSMemory()
	C.bench_malloc_trim()
}
