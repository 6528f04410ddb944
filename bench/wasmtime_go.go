package main

import (
	"fmt"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// wasmtimeGoRunner: wasmtime-go v39 with its default config and Linker.Instantiate, the only
// instantiation path its Go API has.
type wasmtimeGoRunner struct {
	engine *wasmtime.Engine
}

func newWasmtimeGo() (Runner, error) {
	return &wasmtimeGoRunner{engine: wasmtime.NewEngine()}, nil
}

func (r *wasmtimeGoRunner) Close() { r.engine.Close() }

func (r *wasmtimeGoRunner) Compile(w *Workload) (Module, error) {
	m, err := wasmtime.NewModule(r.engine, w.Wasm)
	if err != nil {
		return nil, err
	}
	return &wasmtimeGoModule{r: r, w: w, m: m}, nil
}

type wasmtimeGoModule struct {
	r *wasmtimeGoRunner
	w *Workload
	m *wasmtime.Module
	l *wasmtime.Linker
}

func (m *wasmtimeGoModule) Serialize() ([]byte, error) { return m.m.Serialize() }

func (m *wasmtimeGoModule) DeserializeFile(path string) (Module, error) {
	mm, err := wasmtime.NewModuleDeserializeFile(m.r.engine, path)
	if err != nil {
		return nil, err
	}
	return &wasmtimeGoModule{r: m.r, w: m.w, m: mm}, nil
}

func (m *wasmtimeGoModule) Deserialize(b []byte) (Module, error) {
	mm, err := wasmtime.NewModuleDeserialize(m.r.engine, b)
	if err != nil {
		return nil, err
	}
	return &wasmtimeGoModule{r: m.r, w: m.w, m: mm}, nil
}

func wtValTypes(b []byte) []*wasmtime.ValType {
	out := make([]*wasmtime.ValType, len(b))
	for i, t := range b {
		k := wasmtime.KindI32
		switch t {
		case vI64:
			k = wasmtime.KindI64
		case vF32:
			k = wasmtime.KindF32
		case vF64:
			k = wasmtime.KindF64
		case vFuncRef:
			k = wasmtime.KindFuncref
		case vExternRef:
			k = wasmtime.KindExternref
		}
		out[i] = wasmtime.NewValType(k)
	}
	return out
}

func wtZero(t byte) wasmtime.Val {
	switch t {
	case vI64:
		return wasmtime.ValI64(0)
	case vF32:
		return wasmtime.ValF32(0)
	case vF64:
		return wasmtime.ValF64(0)
	case vFuncRef:
		return wasmtime.ValFuncref(nil)
	case vExternRef:
		return wasmtime.ValExternref(nil)
	}
	return wasmtime.ValI32(0)
}

func (m *wasmtimeGoModule) Prepare() error {
	l := wasmtime.NewLinker(m.r.engine)
	m.l = l
	for _, im := range m.w.Imports {
		var err error
		if im.RoundTrip {
			err = l.FuncWrap(im.Module, im.Name, func(c *wasmtime.Caller) *wasmtime.Trap {
				if _, err := c.GetExport("empty").Func().Call(c); err != nil {
					return wasmtime.NewTrap(err.Error())
				}
				return nil
			})
		} else {
			zeros := make([]wasmtime.Val, len(im.Results))
			for i, t := range im.Results {
				zeros[i] = wtZero(t)
			}
			ft := wasmtime.NewFuncType(wtValTypes(im.Params), wtValTypes(im.Results))
			err = l.FuncNew(im.Module, im.Name, ft, func(*wasmtime.Caller, []wasmtime.Val) ([]wasmtime.Val, *wasmtime.Trap) {
				return zeros, nil
			})
		}
		if err != nil {
			return fmt.Errorf("define %s.%s: %w", im.Module, im.Name, err)
		}
	}
	return nil
}

func (m *wasmtimeGoModule) Instantiate(write bool) (Instance, error) {
	s := wasmtime.NewStore(m.r.engine)
	inst, err := m.l.Instantiate(s, m.m)
	if err != nil {
		s.Close()
		return nil, err
	}
	if write {
		mem := inst.GetExport(s, "memory").Memory()
		b := mem.UnsafeData(s)
		b[0], b[1], b[2], b[3] = 1, 2, 3, 4
	}
	return &wasmtimeGoInstance{s: s, i: inst}, nil
}

func (m *wasmtimeGoModule) Close() {
	if m.l != nil {
		m.l.Close()
	}
	m.m.Close()
}

type wasmtimeGoInstance struct {
	s *wasmtime.Store
	i *wasmtime.Instance
}

func (i *wasmtimeGoInstance) Calls() (func() error, func() error, error) {
	e := i.i.GetFunc(i.s, "empty")
	if e == nil {
		return nil, nil, fmt.Errorf("no export empty")
	}
	empty := func() error { _, err := e.Call(i.s); return err }
	rt := i.i.GetFunc(i.s, "roundtrip")
	if rt == nil {
		return empty, nil, nil
	}
	return empty, func() error { _, err := rt.Call(i.s); return err }, nil
}

func (i *wasmtimeGoInstance) Close() { i.s.Close() }
