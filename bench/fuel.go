package main

// The fuel figure (-fuel): the compute kernels of workloads/wasi/kernels.wasm (no imports, built by
// workloads/build-wasi.sh) called from Go on an engine without fuel and on one with fuel
// accounting (Spry Config.ConsumeFuel + Store.SetFuel(MaxInt64); wasmtime-go, for reference,
// Config.SetConsumeFuel + Store.SetFuel). Each side keeps its other defaults (Spry's interrupt
// checks are on in both engines; wasmtime-go has no epoch or fuel check without fuel).

import (
	"fmt"
	"math"
	"os"

	"github.com/bytecodealliance/wasmtime-go/v39"
	spry "github.com/spry-wasm/spry/go"
)

const kernelsPath = "workloads/wasi/kernels.wasm"

// kernels are the exports of kernels.wasm and their arguments (a few milliseconds each).
var kernels = []struct {
	name string
	arg  int32
}{
	{"fib", 25},
	{"sieve", 1 << 20},
	{"matmul", 128},
	{"sort", 1 << 16},
	{"hash", 10_000_000},
}

// kernelInstance calls a kernel and returns its result's raw bits; fuel returns the fuel left.
type kernelInstance struct {
	call  func(name string, arg int32) (uint64, error)
	fuel  func() (uint64, error)
	close func()
}

func fuelFigures() {
	wasm, err := os.ReadFile(kernelsPath)
	if err != nil {
		fmt.Fprintf(progress, "skipping the fuel figure: %v (run workloads/build-wasi.sh)\n", err)
		return
	}
	makers := []struct {
		name, config string
		make         func(wasm []byte, fuel bool) (*kernelInstance, error)
	}{
		{"spry", "default", spryKernels},
		{"wasmtime-go", "default", wasmtimeGoKernels},
	}
	for _, mk := range makers {
		if !selected(mk.name, mk.config) {
			continue
		}
		if err := measureFuel(runnerDef{name: mk.name, config: mk.config}, mk.make, wasm); err != nil {
			fmt.Fprintf(progress, "  %s/%s fuel: %v\n", mk.name, mk.config, err)
		}
	}
}

func measureFuel(rd runnerDef, mk func([]byte, bool) (*kernelInstance, error), wasm []byte) error {
	off, err := mk(wasm, false)
	if err != nil {
		return err
	}
	defer off.close()
	on, err := mk(wasm, true)
	if err != nil {
		return err
	}
	defer on.close()
	for _, k := range kernels {
		want, err := off.call(k.name, k.arg)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		before, err := on.fuel()
		if err != nil {
			return err
		}
		got, err := on.call(k.name, k.arg)
		if err != nil {
			return fmt.Errorf("%s with fuel: %w", k.name, err)
		}
		after, err := on.fuel()
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s: %#x with fuel, %#x without", k.name, got, want)
		}
		// The accounting must have run: a call consumes fuel.
		if after >= before {
			return fmt.Errorf("%s: no fuel consumed (%d before, %d after)", k.name, before, after)
		}
		var ops []func() error
		for _, inst := range []*kernelInstance{off, on} {
			ops = append(ops, func() error { _, err := inst.call(k.name, k.arg); return err })
		}
		iv, err := interleave(ops, 4*target)
		if err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
		wl := fmt.Sprintf("fuel %s(%d)", k.name, k.arg)
		recordW(rd, wl, "time, no fuel", ms(iv.median(0)), "ms")
		recordW(rd, wl, "time, fuel", ms(iv.median(1)), "ms")
		recordW(rd, wl, "fuel overhead", 100*(iv.ratio(1, 0)-1), "%")
		recordW(rd, wl, "fuel per call", float64(before-after), "units")
	}
	return nil
}

// spryKernels: a Spry engine (default config, or ConsumeFuel) with kernels.wasm instantiated in a
// store (given math.MaxInt64 fuel); calls through Func.CallRaw.
func spryKernels(wasm []byte, fuel bool) (*kernelInstance, error) {
	e, err := spry.NewEngine(&spry.Config{ConsumeFuel: fuel})
	if err != nil {
		return nil, err
	}
	m, err := spry.Compile(e, wasm)
	if err != nil {
		e.Close()
		return nil, err
	}
	s, err := spry.NewStore(e)
	closeAll := func() { s.Close(); m.Close(); e.Close() }
	if err != nil {
		m.Close()
		e.Close()
		return nil, err
	}
	if fuel {
		if err := s.SetFuel(math.MaxInt64); err != nil {
			closeAll()
			return nil, err
		}
	}
	l, err := spry.NewLinker(e)
	if err != nil {
		closeAll()
		return nil, err
	}
	defer l.Close()
	inst, err := l.Instantiate(bg, s, m)
	if err != nil {
		closeAll()
		return nil, err
	}
	funcs := map[string]*spry.Func{}
	for _, k := range kernels {
		if funcs[k.name], err = inst.Func(k.name); err != nil {
			closeAll()
			return nil, err
		}
	}
	slots := make([]uint64, 1)
	return &kernelInstance{
		call: func(name string, arg int32) (uint64, error) {
			slots[0] = uint64(uint32(arg))
			err := funcs[name].CallRaw(bg, slots)
			return slots[0], err
		},
		fuel: func() (uint64, error) {
			if !fuel {
				return 0, nil
			}
			return s.Fuel()
		},
		close: closeAll,
	}, nil
}

// wasmtimeGoKernels: a wasmtime-go engine (default config, or SetConsumeFuel(true)) with
// kernels.wasm instantiated in a store (given math.MaxInt64 fuel); calls through Func.Call.
func wasmtimeGoKernels(wasm []byte, fuel bool) (*kernelInstance, error) {
	cfg := wasmtime.NewConfig()
	cfg.SetConsumeFuel(fuel)
	e := wasmtime.NewEngineWithConfig(cfg)
	m, err := wasmtime.NewModule(e, wasm)
	if err != nil {
		e.Close()
		return nil, err
	}
	s := wasmtime.NewStore(e)
	closeAll := func() { s.Close(); m.Close(); e.Close() }
	if fuel {
		if err := s.SetFuel(math.MaxInt64); err != nil {
			closeAll()
			return nil, err
		}
	}
	inst, err := wasmtime.NewInstance(s, m, nil)
	if err != nil {
		closeAll()
		return nil, err
	}
	funcs := map[string]*wasmtime.Func{}
	for _, k := range kernels {
		if funcs[k.name] = inst.GetFunc(s, k.name); funcs[k.name] == nil {
			closeAll()
			return nil, fmt.Errorf("no export %s", k.name)
		}
	}
	return &kernelInstance{
		call: func(name string, arg int32) (uint64, error) {
			r, err := funcs[name].Call(s, arg)
			if err != nil {
				return 0, err
			}
			switch v := r.(type) {
			case int32:
				return uint64(uint32(v)), nil
			case int64:
				return uint64(v), nil
			case float64:
				return math.Float64bits(v), nil
			case float32:
				return uint64(math.Float32bits(v)), nil
			}
			return 0, fmt.Errorf("%s: result of type %T", name, r)
		},
		fuel: func() (uint64, error) {
			if !fuel {
				return 0, nil
			}
			return s.GetFuel()
		},
		close: closeAll,
	}, nil
}
