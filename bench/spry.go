package main

import (
	"context"
	"fmt"

	spry "github.com/spry-wasm/spry/go"
)

// spryRunner: Spry with an InstancePre per module and a store per instance; pooling selects the
// pooling instance allocator (spry.DefaultPoolingConfig with room for the live instances).
type spryRunner struct {
	engine *spry.Engine
}

func newSpry(pooling bool) (Runner, error) {
	cfg := &spry.Config{}
	if pooling {
		p := spry.DefaultPoolingConfig()
		n := uint32(*liveN + 64)
		if *cycleFor > 0 {
			n = 0 // the cycle keeps few instances alive: no need to reserve room for -live of them
		}
		p.TotalInstances = max(p.TotalInstances, n)
		p.TotalMemories = max(p.TotalMemories, n)
		p.TotalTables = max(p.TotalTables, n)
		cfg.Pooling = &p
	}
	e, err := spry.NewEngine(cfg)
	if err != nil {
		return nil, err
	}
	return &spryRunner{engine: e}, nil
}

func (r *spryRunner) Close() { r.engine.Close() }

func (r *spryRunner) Compile(w *Workload) (Module, error) {
	m, err := spry.Compile(r.engine, w.Wasm)
	if err != nil {
		return nil, err
	}
	return &spryModule{r: r, w: w, m: m}, nil
}

type spryModule struct {
	r   *spryRunner
	w   *Workload
	m   *spry.Module
	l   *spry.Linker
	pre *spry.InstancePre
}

func (m *spryModule) Serialize() ([]byte, error) { return m.m.Serialize() }

func (m *spryModule) Deserialize(b []byte) (Module, error) {
	mm, err := spry.DeserializeModule(m.r.engine, b)
	if err != nil {
		return nil, err
	}
	return &spryModule{r: m.r, w: m.w, m: mm}, nil
}

func (m *spryModule) DeserializeFile(path string) (Module, error) {
	mm, err := spry.DeserializeModuleFile(m.r.engine, path)
	if err != nil {
		return nil, err
	}
	return &spryModule{r: m.r, w: m.w, m: mm}, nil
}

func spryTypes(b []byte) []spry.ValueType {
	out := make([]spry.ValueType, len(b))
	for i, t := range b {
		switch t {
		case vI32:
			out[i] = spry.I32
		case vI64:
			out[i] = spry.I64
		case vF32:
			out[i] = spry.F32
		case vF64:
			out[i] = spry.F64
		case vFuncRef:
			out[i] = spry.FuncRef
		case vExternRef:
			out[i] = spry.ExternRef
		}
	}
	return out
}

func (m *spryModule) Prepare() error {
	l, err := spry.NewLinker(m.r.engine)
	if err != nil {
		return err
	}
	m.l = l
	for _, im := range m.w.Imports {
		ft := spry.FuncType{Params: spryTypes(im.Params), Results: spryTypes(im.Results)}
		nr := len(im.Results)
		var fn spry.RawFunc
		if im.RoundTrip {
			fn = func(c *spry.Caller, slots []uint64) error {
				f, err := c.Func("empty")
				if err != nil {
					return err
				}
				return f.CallRaw(c.Context(), nil)
			}
		} else {
			fn = func(c *spry.Caller, slots []uint64) error {
				clear(slots[:nr])
				return nil
			}
		}
		if err := l.DefineRawFunc(im.Module, im.Name, ft, fn); err != nil {
			return fmt.Errorf("define %s.%s: %w", im.Module, im.Name, err)
		}
	}
	m.pre, err = l.InstantiatePre(m.m)
	return err
}

var bg = context.Background()

func (m *spryModule) Instantiate(write bool) (Instance, error) {
	s, err := spry.NewStore(m.r.engine)
	if err != nil {
		return nil, err
	}
	inst, err := m.pre.Instantiate(bg, s)
	if err != nil {
		s.Close()
		return nil, err
	}
	if write {
		mem, err := inst.Memory("memory")
		if err != nil {
			s.Close()
			return nil, err
		}
		b := mem.Bytes()
		b[0], b[1], b[2], b[3] = 1, 2, 3, 4
	}
	return &spryInstance{s: s, i: inst}, nil
}

func (m *spryModule) Close() {
	if m.pre != nil {
		m.pre.Close()
	}
	if m.l != nil {
		m.l.Close()
	}
	m.m.Close()
}

type spryInstance struct {
	s *spry.Store
	i *spry.Instance
}

func (i *spryInstance) Calls() (func() error, func() error, error) {
	e, err := i.i.Func("empty")
	if err != nil {
		return nil, nil, err
	}
	empty := func() error { return e.CallRaw(bg, nil) }
	rtf, err := i.i.Func("roundtrip")
	if err != nil {
		return empty, nil, nil
	}
	return empty, func() error { return rtf.CallRaw(bg, nil) }, nil
}

func (i *spryInstance) Close() { i.s.Close() }
