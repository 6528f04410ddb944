package main

import (
	"context"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// wazeroRunner: wazero v1.12 with the compiler. wazero has no store: an instance is a module
// instantiated anonymously in the runtime, and closing it is closing the "store". A runtime caches
// what it compiled by the module's hash, so each compilation gets a runtime of its own (its
// creation, a few microseconds, is counted in the compile time).
type wazeroRunner struct{}

func newWazero() (Runner, error) { return wazeroRunner{}, nil }

func (wazeroRunner) Close() {}

func (wazeroRunner) Compile(w *Workload) (Module, error) {
	rt := wazero.NewRuntimeWithConfig(bg, wazero.NewRuntimeConfigCompiler())
	m, err := rt.CompileModule(bg, w.Wasm)
	if err != nil {
		rt.Close(bg)
		return nil, err
	}
	return &wazeroModule{rt: rt, w: w, m: m}, nil
}

type wazeroModule struct {
	rt  wazero.Runtime
	w   *Workload
	m   wazero.CompiledModule
	cfg wazero.ModuleConfig
}

func (m *wazeroModule) Serialize() ([]byte, error)         { return nil, errUnsupported }
func (m *wazeroModule) Deserialize([]byte) (Module, error) { return nil, errUnsupported }

func wzTypes(b []byte) []api.ValueType {
	out := make([]api.ValueType, len(b))
	for i, t := range b {
		switch t {
		case vI32:
			out[i] = api.ValueTypeI32
		case vI64:
			out[i] = api.ValueTypeI64
		case vF32:
			out[i] = api.ValueTypeF32
		case vF64:
			out[i] = api.ValueTypeF64
		case vFuncRef:
			out[i] = api.ValueType(0x70)
		case vExternRef:
			out[i] = api.ValueTypeExternref
		}
	}
	return out
}

func (m *wazeroModule) Prepare() error {
	// No _start, no name (so that instances can coexist).
	m.cfg = wazero.NewModuleConfig().WithStartFunctions().WithName("")
	builders := map[string]wazero.HostModuleBuilder{}
	var order []string
	for _, im := range m.w.Imports {
		b, ok := builders[im.Module]
		if !ok {
			b = m.rt.NewHostModuleBuilder(im.Module)
			builders[im.Module] = b
			order = append(order, im.Module)
		}
		nr := len(im.Results)
		var fn api.GoModuleFunc
		if im.RoundTrip {
			fn = func(ctx context.Context, mod api.Module, stack []uint64) {
				if err := mod.ExportedFunction("empty").CallWithStack(ctx, nil); err != nil {
					panic(err)
				}
			}
		} else {
			fn = func(ctx context.Context, mod api.Module, stack []uint64) { clear(stack[:nr]) }
		}
		b.NewFunctionBuilder().WithGoModuleFunction(fn, wzTypes(im.Params), wzTypes(im.Results)).Export(im.Name)
	}
	for _, name := range order {
		if _, err := builders[name].Instantiate(bg); err != nil {
			return fmt.Errorf("host module %s: %w", name, err)
		}
	}
	return nil
}

func (m *wazeroModule) Instantiate(write bool) (Instance, error) {
	mod, err := m.rt.InstantiateModule(bg, m.m, m.cfg)
	if err != nil {
		return nil, err
	}
	if write {
		if !mod.ExportedMemory("memory").WriteUint32Le(0, 0x04030201) {
			mod.Close(bg)
			return nil, fmt.Errorf("write out of range")
		}
	}
	return &wazeroInstance{m: mod}, nil
}

func (m *wazeroModule) Close() { m.rt.Close(bg) }

type wazeroInstance struct{ m api.Module }

func (i *wazeroInstance) Calls() (func() error, func() error, error) {
	e := i.m.ExportedFunction("empty")
	if e == nil {
		return nil, nil, fmt.Errorf("no export empty")
	}
	empty := func() error { return e.CallWithStack(bg, nil) }
	rt := i.m.ExportedFunction("roundtrip")
	if rt == nil {
		return empty, nil, nil
	}
	return empty, func() error { return rt.CallWithStack(bg, nil) }, nil
}

func (i *wazeroInstance) Close() { i.m.Close(bg) }
