package main

// The WASI instantiation figure (-wasi): new store + WASI state (args, env, stdout to a buffer) +
// instantiate + close of workload (c) with an InstancePre, per runtime, next to the same cycle
// without WASI (the imports as host stubs, as in the main table) on the same engine, so that
// "WASI adds X µs" reads per runtime.

/*
#include "wasmtime_capi.h"
*/
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"time"
	"unsafe"

	spry "github.com/spry-wasm/spry/go"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// wasiCycles is one runtime's three instantiate + close cycles of the WASI figure.
type wasiCycles struct {
	name, config string
	// stubs: imports as host stubs, no WASI state; shared: WASI with one configuration (and one
	// stdout buffer) made once and given to every store; own: WASI with a stdout of its own per
	// store (a per-request output), made per store.
	stubs, shared, own func() error
	// first(n): new store + the shared WASI state + instantiate wasiio.wasm + clock_loop(n) +
	// close; first(1) - first(0) is the cost of a store's first WASI call (one clock_time_get plus
	// whatever the runtime does lazily on the first call). nil when wasiio.wasm is missing.
	first func(n int32) error
	close func()
}

// wasiioWasm returns workloads/wasi/wasiio.wasm, or nil when it was not built.
func wasiioWasm() []byte {
	b, err := os.ReadFile(wasiioPath)
	if err != nil {
		return nil
	}
	return b
}

// wasiRounds is how many rounds, alternating between the runtimes, the fd_write and clock figures
// are measured in; the best round is recorded (the machine is shared: the best of interleaved
// rounds is the least disturbed).
const wasiRounds = 5

// wasiInstantiateFigures measures the WASI instantiation figure on workload (c).
func wasiInstantiateFigures(w *Workload) {
	makers := []struct {
		name, config string
		make         func(*Workload) (*wasiCycles, error)
	}{
		{"spry", "pooling", spryWASICycles},
		{"wasmtime-capi", "pooling+cow+pre", wasmtimeCAPIWASICycles},
		{"wazero", "compiler", wazeroWASICycles},
	}
	for _, mk := range makers {
		if !selected(mk.name, mk.config) {
			continue
		}
		c, err := mk.make(w)
		if err != nil {
			fmt.Fprintf(progress, "  %s/%s WASI instantiate: %v\n", mk.name, mk.config, err)
			continue
		}
		if err := measureWASICycles(c, w); err != nil {
			fmt.Fprintf(progress, "  %s/%s WASI instantiate: %v\n", mk.name, mk.config, err)
		}
		c.close()
	}
}

func measureWASICycles(c *wasiCycles, w *Workload) error {
	figs := []struct {
		fig string
		op  func() error
	}{
		{"instantiate, stubs", c.stubs},
		{"instantiate+WASI", c.shared},
		{"instantiate+WASI own stdout", c.own},
	}
	if c.first != nil {
		figs = append(figs, struct {
			fig string
			op  func() error
		}{"wasiio: +WASI+call(0)", func() error { return c.first(0) }}, struct {
			fig string
			op  func() error
		}{"wasiio: +WASI+call(1)", func() error { return c.first(1) }})
	}
	ops := make([]func() error, len(figs))
	for i, f := range figs {
		ops[i] = f.op
	}
	iv, err := interleave(ops, time.Duration(len(ops))*2*target)
	if err != nil {
		return err
	}
	rd := runnerDef{name: c.name, config: c.config}
	for i, f := range figs {
		recordW(rd, w.Name+" wasi", f.fig, us(iv.median(i)), "µs")
	}
	recordW(rd, w.Name+" wasi", "WASI adds", us(iv.diff(1, 0)), "µs")
	recordW(rd, w.Name+" wasi", "WASI adds, own stdout", us(iv.diff(2, 0)), "µs")
	if c.first != nil {
		recordW(rd, w.Name+" wasi", "first WASI call", us(iv.diff(4, 3)), "µs")
	}
	return nil
}

// interleaved is the result of interleave: times[round][op], the time per iteration of each op's
// block in each round.
type interleaved struct{ times [][]time.Duration }

// interleave measures ops in blocks of a few milliseconds each (one iteration when one takes
// longer), in rounds (every op's block once, in a random order), so that block i of every op runs
// next to block i of the others, for about total (and at least 20 rounds).
func interleave(ops []func() error, total time.Duration) (*interleaved, error) {
	const block = 2 * time.Millisecond
	n := make([]int, len(ops))
	for i, op := range ops {
		// Calibrate the block on 5 iterations, after a warm-up one.
		if err := op(); err != nil {
			return nil, err
		}
		start := time.Now()
		for k := 0; k < 5; k++ {
			if err := op(); err != nil {
				return nil, err
			}
		}
		per := time.Since(start) / 5
		n[i] = max(1, int(block/max(per, 1)))
	}
	iv := &interleaved{}
	deadline := time.Now().Add(total)
	for len(iv.times) < 20 || time.Now().Before(deadline) {
		row := make([]time.Duration, len(ops))
		// In a random order: an op's block must not always follow the same one (whose garbage a
		// GC would collect during it).
		for _, i := range rand.Perm(len(ops)) {
			op := ops[i]
			start := time.Now()
			for k := 0; k < n[i]; k++ {
				if err := op(); err != nil {
					return nil, err
				}
			}
			row[i] = time.Since(start) / time.Duration(n[i])
		}
		iv.times = append(iv.times, row)
	}
	return iv, nil
}

// median returns op i's median block time.
func (iv *interleaved) median(i int) time.Duration {
	col := make([]time.Duration, len(iv.times))
	for r := range iv.times {
		col[r] = iv.times[r][i]
	}
	m, _ := medianP90(col)
	return m
}

// diff returns the median over rounds of op j's time minus op k's in the same round, which cancels
// the drift of a shared machine's load (a difference of medians would not).
func (iv *interleaved) diff(j, k int) time.Duration {
	d := make([]time.Duration, len(iv.times))
	for r := range iv.times {
		d[r] = iv.times[r][j] - iv.times[r][k]
	}
	m, _ := medianP90(d)
	return m
}

// ratio returns the median over rounds of op j's time divided by op k's in the same round.
func (iv *interleaved) ratio(j, k int) float64 {
	d := make([]time.Duration, len(iv.times))
	for r := range iv.times {
		// In parts per million, to reuse medianP90.
		d[r] = time.Duration(1e6 * float64(iv.times[r][j]) / float64(max(iv.times[r][k], 1)))
	}
	m, _ := medianP90(d)
	return float64(m) / 1e6
}

// coreCycle is the main table's cycle (new store + instantiate + close, imports as stubs) of a
// prepared module.
func coreCycle(m Module) func() error {
	return func() error {
		inst, err := m.Instantiate(false)
		if err != nil {
			return err
		}
		inst.Close()
		return nil
	}
}

// spryWASICycles: Spry with the engine of spry/pooling; the WASI state of a store is
// Store.SetWASI with a WASIConfig (args, env, stdout to a bytes.Buffer) made once, or, for own,
// the base configuration's WithStdout(a new buffer) per store.
func spryWASICycles(w *Workload) (*wasiCycles, error) {
	r, err := newSpry(true)
	if err != nil {
		return nil, err
	}
	sr := r.(*spryRunner)
	closers := []func(){r.Close}
	fail := func(err error) (*wasiCycles, error) {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
		return nil, err
	}
	mod, err := r.Compile(w)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, mod.Close)
	if err := mod.Prepare(); err != nil {
		return fail(err)
	}
	l, err := spry.NewLinker(sr.engine)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { l.Close() })
	if err := l.DefineWASI(); err != nil {
		return fail(err)
	}
	pre, err := l.InstantiatePre(mod.(*spryModule).m)
	if err != nil {
		return fail(err)
	}
	closers = append(closers, func() { pre.Close() })
	var out bytes.Buffer
	base := spry.NewWASIConfig().WithArgs("prog", "x").WithEnv("K", "V")
	shared := base.WithStdout(&out)
	cycle := func(cfg *spry.WASIConfig) error {
		s, err := spry.NewStore(sr.engine)
		if err != nil {
			return err
		}
		if err := s.SetWASI(cfg); err != nil {
			s.Close()
			return err
		}
		if _, err := pre.Instantiate(bg, s); err != nil {
			s.Close()
			return err
		}
		s.Close()
		return nil
	}
	var first func(int32) error
	if ww := wasiioWasm(); ww != nil {
		m2, err := spry.Compile(sr.engine, ww)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { m2.Close() })
		pre2, err := l.InstantiatePre(m2)
		if err != nil {
			return fail(err)
		}
		closers = append(closers, func() { pre2.Close() })
		slots := make([]uint64, 1)
		first = func(n int32) error {
			s, err := spry.NewStore(sr.engine)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.SetWASI(shared); err != nil {
				return err
			}
			inst, err := pre2.Instantiate(bg, s)
			if err != nil {
				return err
			}
			f, err := inst.Func("clock_loop")
			if err != nil {
				return err
			}
			slots[0] = uint64(uint32(n))
			return f.CallRaw(bg, slots)
		}
	}
	return &wasiCycles{
		name: "spry", config: "pooling", first: first,
		stubs:  coreCycle(mod),
		shared: func() error { return cycle(shared) },
		own: func() error {
			cfg := base.WithStdout(new(bytes.Buffer))
			err := cycle(cfg)
			cfg.Close()
			return err
		},
		close: func() { fail(nil) },
	}, nil
}

// wasmtimeCAPIWASICycles: wasmtime's C API with pooling, copy-on-write images and InstancePre, on
// an engine whose keep-resident sizes are Spry's (spry.DefaultPoolingConfig().KeepResidentBytes,
// for memories and tables), so that both sides reset slots the same way; its WASI state is a
// wasi_config_t made per store (wasmtime_context_set_wasi takes it over: wasmtime has no shared
// form) with stdout to a C callback.
func wasmtimeCAPIWASICycles(w *Workload) (*wasiCycles, error) {
	keep := spry.DefaultPoolingConfig().KeepResidentBytes
	e := C.bench_engine_keep(C.uint32_t(*liveN+64), C.size_t(keep))
	if e == nil {
		return nil, errors.New("wasm_engine_new_with_config failed")
	}
	r := &wasmtimeCAPIRunner{engine: e}
	mod, err := r.Compile(w)
	if err != nil {
		r.Close()
		return nil, err
	}
	if err := mod.Prepare(); err != nil {
		mod.Close()
		r.Close()
		return nil, err
	}
	l := C.wasmtime_linker_new(e)
	var pre *C.wasmtime_instance_pre_t
	err = cerr(C.bench_define_wasi(l))
	if err == nil {
		err = cerr(C.bench_pre(l, mod.(*wasmtimeCAPIModule).m, &pre))
	}
	var pre2 *C.wasmtime_instance_pre_t
	var m2 Module
	if ww := wasiioWasm(); err == nil && ww != nil {
		if m2, err = r.Compile(&Workload{Name: "wasiio", Wasm: ww}); err == nil {
			err = cerr(C.bench_pre(l, m2.(*wasmtimeCAPIModule).m, &pre2))
		}
	}
	closeAll := func() {
		if pre2 != nil {
			C.wasmtime_instance_pre_delete(pre2)
		}
		if m2 != nil {
			m2.Close()
		}
		if pre != nil {
			C.wasmtime_instance_pre_delete(pre)
		}
		C.wasmtime_linker_delete(l)
		mod.Close()
		r.Close()
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	cycle := func(own C.int) func() error {
		return func() error {
			var i C.bench_inst_t
			if err := cerr(C.bench_instantiate_wasi(e, pre, own, &i)); err != nil {
				return err
			}
			C.wasmtime_store_delete(i.store)
			return nil
		}
	}
	var first func(int32) error
	if pre2 != nil {
		fn := C.CString("clock_loop")
		closeFirst := closeAll
		closeAll = func() { C.free(unsafe.Pointer(fn)); closeFirst() }
		first = func(n int32) error {
			var i C.bench_inst_t
			if err := cerr(C.bench_instantiate_wasi(e, pre2, 0, &i)); err != nil {
				return err
			}
			defer C.wasmtime_store_delete(i.store)
			return cerr(C.bench_call_i32(&i, fn, C.int32_t(n)))
		}
	}
	return &wasiCycles{
		name: "wasmtime-capi", config: "pooling+cow+pre",
		stubs: coreCycle(mod), shared: cycle(0), own: cycle(1), first: first, close: closeAll,
	}, nil
}

// wazeroWASICycles: wazero with the compiler; the stubs in one runtime (as in the main table), WASI
// in another, where wasi_snapshot_preview1 is instantiated once; each instance gets a ModuleConfig
// with args, env and stdout (made once; for own, WithStdout(a new buffer) per instance).
func wazeroWASICycles(w *Workload) (*wasiCycles, error) {
	var r wazeroRunner
	mod, err := r.Compile(w)
	if err != nil {
		return nil, err
	}
	if err := mod.Prepare(); err != nil {
		mod.Close()
		return nil, err
	}
	rt := wazero.NewRuntimeWithConfig(bg, wazero.NewRuntimeConfigCompiler())
	closeAll := func() {
		rt.Close(bg)
		mod.Close()
	}
	if _, err := wasi_snapshot_preview1.Instantiate(bg, rt); err != nil {
		closeAll()
		return nil, err
	}
	cm, err := rt.CompileModule(bg, w.Wasm)
	if err != nil {
		closeAll()
		return nil, err
	}
	var out bytes.Buffer
	base := wazero.NewModuleConfig().WithStartFunctions().WithName("").WithArgs("prog", "x").WithEnv("K", "V")
	shared := base.WithStdout(&out)
	cycle := func(cfg wazero.ModuleConfig) error {
		m, err := rt.InstantiateModule(bg, cm, cfg)
		if err != nil {
			return err
		}
		return m.Close(bg)
	}
	var first func(int32) error
	if ww := wasiioWasm(); ww != nil {
		cm2, err := rt.CompileModule(bg, ww)
		if err != nil {
			closeAll()
			return nil, err
		}
		stack := make([]uint64, 1)
		first = func(n int32) error {
			m, err := rt.InstantiateModule(bg, cm2, shared)
			if err != nil {
				return err
			}
			defer m.Close(bg)
			f := m.ExportedFunction("clock_loop")
			if f == nil {
				return errors.New("no export clock_loop")
			}
			stack[0] = api.EncodeI32(n)
			return f.CallWithStack(bg, stack)
		}
	}
	return &wasiCycles{
		name: "wazero", config: "compiler", first: first,
		stubs:  coreCycle(mod),
		shared: func() error { return cycle(shared) },
		own:    func() error { return cycle(base.WithStdout(io.Writer(new(bytes.Buffer)))) },
		close:  closeAll,
	}, nil
}

// medianP90 returns the median and the 90th percentile of ds.
func medianP90(ds []time.Duration) (time.Duration, time.Duration) {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s) == 0 {
		return 0, 0
	}
	p90 := (len(s)*9+9)/10 - 1
	return s[len(s)/2], s[min(p90, len(s)-1)]
}
