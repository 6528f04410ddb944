package main

// The workloads: (a) and (b) are generated here as binary Wasm by a tiny encoder; (c) and (d) are
// read from files that the scripts in workloads/ make or fetch.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Value types in the binary format.
const (
	vI32       = 0x7f
	vI64       = 0x7e
	vF32       = 0x7d
	vF64       = 0x7c
	vFuncRef   = 0x70
	vExternRef = 0x6f
)

// Import is one function import of a workload: every runner satisfies it with a host stub that
// returns zeros, except env.f0 of the generated workloads, which calls back the export "empty"
// (the host round trip).
type Import struct {
	Module, Name    string
	Params, Results []byte // binary value types
	RoundTrip       bool   // the host function calls the instance's "empty" export
}

// Workload is a module to measure.
type Workload struct {
	Name     string // "a", "b", "c", "d"
	Desc     string
	Wasm     []byte
	Imports  []Import
	Exports  map[string]byte // export name -> kind (0 func, 1 table, 2 memory, 3 global)
	Calls    bool            // has the exports "empty" and "roundtrip"
	HasEmpty bool            // has the export "empty" () -> ()
	SkipRSS  bool            // too large for 10,000 live instances
}

func leb(n uint64) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n != 0 {
			b = append(b, c|0x80)
		} else {
			return append(b, c)
		}
	}
}

func sleb(n int64) []byte {
	var b []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if (n == 0 && c&0x40 == 0) || (n == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func str(s string) []byte { return append(leb(uint64(len(s))), s...) }

func vec(items ...[]byte) []byte {
	b := leb(uint64(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func section(id byte, body []byte) []byte {
	return append(append([]byte{id}, leb(uint64(len(body)))...), body...)
}

type dataSeg struct {
	offset uint32
	bytes  []byte
}

// genModule encodes a module whose imports are the given functions (env.*), with one memory of
// pages pages exported as "memory", the exports "empty" (no body) and "roundtrip" (calls import
// 0), and the given active data segments.
func genModule(imports []Import, pages uint32, data []dataSeg) []byte {
	// Type section: one type per import, then () -> () for the two defined functions.
	var types [][]byte
	for _, im := range imports {
		types = append(types, append(append([]byte{0x60}, vec(bytesOf(im.Params)...)...), vec(bytesOf(im.Results)...)...))
	}
	voidType := uint64(len(types))
	types = append(types, []byte{0x60, 0, 0})
	var imps [][]byte
	for i, im := range imports {
		e := append(str(im.Module), str(im.Name)...)
		e = append(e, 0x00)
		e = append(e, leb(uint64(i))...)
		imps = append(imps, e)
	}
	nimp := uint64(len(imports))
	funcs := vec(leb(voidType), leb(voidType))
	mem := vec(append([]byte{0x00}, leb(uint64(pages))...))
	exports := vec(
		append(str("memory"), 0x02, 0x00),
		append(append(str("empty"), 0x00), leb(nimp)...),
		append(append(str("roundtrip"), 0x00), leb(nimp+1)...),
	)
	emptyBody := []byte{0x00, 0x0b}                               // no locals; end
	rtBody := append(append([]byte{0x00, 0x10}, leb(0)...), 0x0b) // call 0; end
	code := vec(append(leb(uint64(len(emptyBody))), emptyBody...), append(leb(uint64(len(rtBody))), rtBody...))
	var segs [][]byte
	for _, d := range data {
		s := []byte{0x00, 0x41} // active, memory 0, i32.const
		s = append(s, sleb(int64(int32(d.offset)))...)
		s = append(s, 0x0b)
		s = append(s, leb(uint64(len(d.bytes)))...)
		s = append(s, d.bytes...)
		segs = append(segs, s)
	}
	m := []byte{0x00, 'a', 's', 'm', 0x01, 0x00, 0x00, 0x00}
	m = append(m, section(1, vec(types...))...)
	m = append(m, section(2, vec(imps...))...)
	m = append(m, section(3, funcs)...)
	m = append(m, section(5, mem)...)
	m = append(m, section(7, exports)...)
	m = append(m, section(10, code)...)
	if len(segs) > 0 {
		m = append(m, section(11, vec(segs...))...)
	}
	return m
}

func bytesOf(b []byte) [][]byte {
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = b[i : i+1]
	}
	return out
}

// workloadA: 24 imported host functions of four shapes, a 1-page memory, a small data segment.
func workloadA() *Workload {
	shapes := []struct{ p, r []byte }{
		{nil, nil}, {[]byte{vI32}, []byte{vI32}}, {[]byte{vI32, vI32}, []byte{vI32}}, {[]byte{vI64}, []byte{vI64}},
	}
	var ims []Import
	for i := 0; i < 24; i++ {
		s := shapes[i%4]
		ims = append(ims, Import{Module: "env", Name: fmt.Sprintf("f%d", i), Params: s.p, Results: s.r, RoundTrip: i == 0})
	}
	wasm := genModule(ims, 1, []dataSeg{{16, []byte("spry bench: a small data segment of 64 bytes, give or take....")}})
	return finish(&Workload{Name: "a", Desc: "24 host imports, 1-page memory, small data segment", Wasm: wasm})
}

// workloadB: 1 MiB of data segments (16 x 64 KiB) at constant offsets in a 32-page memory.
func workloadB() *Workload {
	ims := []Import{{Module: "env", Name: "f0", RoundTrip: true}}
	var data []dataSeg
	x := uint32(0x9e3779b9)
	for i := 0; i < 16; i++ {
		b := make([]byte, 64<<10)
		for j := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[j] = byte(x)
		}
		data = append(data, dataSeg{uint32(i) * 128 << 10, b})
	}
	wasm := genModule(ims, 32, data)
	return finish(&Workload{Name: "b", Desc: "1 MiB of data segments in a 32-page memory", Wasm: wasm})
}

// fileWorkload reads (c) or (d); the imports are parsed from the module and all become stubs.
func fileWorkload(name, desc, path, hint string) (*Workload, error) {
	wasm, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w (run %s)", name, err, hint)
	}
	return finish(&Workload{Name: name, Desc: desc + " (" + filepath.Base(path) + ")", Wasm: wasm}), nil
}

func finish(w *Workload) *Workload {
	ims, exps, err := parseModule(w.Wasm)
	if err != nil {
		panic(fmt.Sprintf("workload %s: %v", w.Name, err))
	}
	w.Imports, w.Exports = ims, exps
	if w.Name == "a" || w.Name == "b" {
		w.Imports[0].RoundTrip = true
	}
	_, w.HasEmpty = exps["empty"]
	_, rt := exps["roundtrip"]
	w.Calls = w.HasEmpty && rt
	return w
}

// parseModule reads the function imports (with their types) and the export names of a module.
func parseModule(b []byte) ([]Import, map[string]byte, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, nil, errors.New("not a wasm module")
	}
	r := &reader{b: b, p: 8}
	var types [][2][]byte
	var ims []Import
	exps := map[string]byte{}
	for r.p < len(r.b) {
		id := r.byte()
		size := int(r.u())
		end := r.p + size
		switch id {
		case 1:
			n := r.u()
			for i := uint64(0); i < n; i++ {
				if f := r.byte(); f != 0x60 {
					return nil, nil, fmt.Errorf("type form %#x not supported", f)
				}
				p := r.bytes(int(r.u()))
				res := r.bytes(int(r.u()))
				types = append(types, [2][]byte{p, res})
			}
		case 2:
			n := r.u()
			for i := uint64(0); i < n; i++ {
				mod, name := r.name(), r.name()
				switch k := r.byte(); k {
				case 0:
					t := types[r.u()]
					ims = append(ims, Import{Module: mod, Name: name, Params: t[0], Results: t[1]})
				default:
					return nil, nil, fmt.Errorf("import %s.%s of kind %d not supported (only function imports)", mod, name, k)
				}
			}
		case 7:
			n := r.u()
			for i := uint64(0); i < n; i++ {
				name := r.name()
				k := r.byte()
				r.u()
				exps[name] = k
			}
		}
		r.p = end
	}
	return ims, exps, nil
}

type reader struct {
	b []byte
	p int
}

func (r *reader) byte() byte { c := r.b[r.p]; r.p++; return c }
func (r *reader) u() uint64 {
	var n uint64
	for s := 0; ; s += 7 {
		c := r.byte()
		n |= uint64(c&0x7f) << s
		if c&0x80 == 0 {
			return n
		}
	}
}
func (r *reader) bytes(n int) []byte {
	out := append([]byte(nil), r.b[r.p:r.p+n]...)
	r.p += n
	return out
}
func (r *reader) name() string { return string(r.bytes(int(r.u()))) }
