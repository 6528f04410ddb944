//go:build cgo

package spry

/*
#include "spry.h"
*/
import "C"

import (
	"fmt"
	"runtime"
)

// Engine compiles modules and holds what the stores of its modules share. An Engine is safe for
// concurrent use; close it when no longer needed (modules and stores made from it keep what they
// need of it alive).
type Engine struct {
	native shared[*C.spry_engine_t]
	cfg    Config
}

// NewEngine returns an engine with the given configuration (nil for the defaults).
func NewEngine(cfg *Config) (*Engine, error) {
	var c Config
	if cfg != nil {
		c = *cfg
	}
	if c.MaxWasmStack < 0 {
		return nil, fmt.Errorf("spry: negative MaxWasmStack %d", c.MaxWasmStack)
	}
	if p := c.Pooling; p != nil {
		if p.MaxVMContextSize < 0 || p.KeepResidentBytes < 0 {
			return nil, fmt.Errorf("spry: negative MaxVMContextSize %d or KeepResidentBytes %d",
				p.MaxVMContextSize, p.KeepResidentBytes)
		}
		pc := *p
		c.Pooling = &pc // the engine keeps its own copy
	}
	cc := C.spry_config_new()
	if cc == nil {
		return nil, fmt.Errorf("spry: cannot create a configuration")
	}
	defer C.spry_config_delete(cc)
	if c.MaxWasmStack > 0 {
		C.spry_config_max_wasm_stack(cc, C.size_t(c.MaxWasmStack))
	}
	if c.DisableGuardPages {
		C.spry_config_guard_pages(cc, false)
	}
	if c.MemoryReservation != 0 {
		C.spry_config_memory_reservation(cc, C.uint64_t(c.MemoryReservation))
	}
	if c.MemoryGuardSize != 0 {
		C.spry_config_memory_guard_size(cc, C.uint64_t(c.MemoryGuardSize))
	}
	if c.DisableParallelCompilation {
		C.spry_config_parallel_compilation(cc, false)
	}
	if c.DisableInterrupts {
		C.spry_config_interruptible(cc, false)
	}
	if c.DisableMemoryImages {
		C.spry_config_memory_images(cc, false)
	}
	if c.ConsumeFuel {
		C.spry_config_consume_fuel(cc, true)
	}
	if c.CacheDir != "" {
		p, n := cString(c.CacheDir)
		err := takeError(C.spry_config_cache_dir(cc, p, n))
		runtime.KeepAlive(c.CacheDir)
		if err != nil {
			return nil, err
		}
	}
	if p := c.Pooling; p != nil {
		pc := C.spry_pooling_config_t{
			total_instances:     C.uint32_t(p.TotalInstances),
			total_memories:      C.uint32_t(p.TotalMemories),
			total_tables:        C.uint32_t(p.TotalTables),
			max_memory_pages:    C.uint64_t(p.MaxMemoryPages),
			max_table_elements:  C.uint32_t(p.MaxTableElements),
			max_vmctx_size:      C.size_t(p.MaxVMContextSize),
			keep_resident_bytes: C.size_t(p.KeepResidentBytes),
		}
		C.spry_config_pooling(cc, &pc)
	}
	var ptr *C.spry_engine_t
	if err := takeError(C.spry_engine_new(cc, &ptr)); err != nil {
		return nil, err
	}
	e := &Engine{cfg: c}
	initShared(e, &e.native, ptr, "engine", "Engine", func(p *C.spry_engine_t) { C.spry_engine_delete(p) })
	return e, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config {
	if e == nil {
		return Config{}
	}
	c := e.cfg
	if c.Pooling != nil {
		pc := *c.Pooling
		c.Pooling = &pc
	}
	return c
}

// DefaultPoolingConfig returns the default limits of the pooling allocator: 1000 instances,
// memories and tables, memories of up to 65536 pages (4 GiB), tables of up to 100,000 elements.
func DefaultPoolingConfig() PoolingConfig {
	var c C.spry_pooling_config_t
	C.spry_pooling_config_default(&c)
	return PoolingConfig{
		TotalInstances:    uint32(c.total_instances),
		TotalMemories:     uint32(c.total_memories),
		TotalTables:       uint32(c.total_tables),
		MaxMemoryPages:    uint64(c.max_memory_pages),
		MaxTableElements:  uint32(c.max_table_elements),
		MaxVMContextSize:  int(c.max_vmctx_size),
		KeepResidentBytes: int(c.keep_resident_bytes),
	}
}

// acquire returns the native engine for one use, to be followed by release; it fails after Close.
func (e *Engine) acquire() (*C.spry_engine_t, error) {
	if e == nil {
		return nil, closedError("engine")
	}
	return e.native.acquire()
}

func (e *Engine) release() { e.native.release() }

// Close releases the engine. Modules and stores made from it stay usable; new ones cannot be
// made. Close is idempotent and always returns nil.
func (e *Engine) Close() error {
	if e != nil {
		e.native.close()
	}
	return nil
}
