package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

// wasmOf is the binary encoding of a text-format module.
func wasmOf(text string) ([]byte, error) { return spry.Wat2Wasm(text) }

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]uint64{
		"0": 0, "65536": 65536, "64K": 64 << 10, "64k": 64 << 10, "16MiB": 16 << 20, "1G": 1 << 30,
		"2GB": 2e9, "3kb": 3000, "100B": 100, " 7 M ": 7 << 20,
	} {
		got, err := parseByteSize(in)
		if err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "K", "-1", "1.5G", "lots", "99999999999999999999", "20000000T"} {
		if got, err := parseByteSize(in); err == nil {
			t.Errorf("parseByteSize(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseMounts(t *testing.T) {
	for in, want := range map[string]mount{
		"data":          {host: "data", guest: "data"},
		"/srv/x::/":     {host: "/srv/x", guest: "/"},
		"./a::/b/c":     {host: "./a", guest: "/b/c"},
		"C:\\x::/x":     {host: "C:\\x", guest: "/x"},
		"/tmp::/tmp::x": {host: "/tmp", guest: "/tmp::x"},
		"rel::relative": {host: "rel", guest: "relative"},
	} {
		if got, err := parseDir(in); err != nil || got != want {
			t.Errorf("parseDir(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for in, want := range map[string]mount{
		"/srv/data":       {host: "/srv/data", guest: "/srv/data"},
		"/srv/data:/":     {host: "/srv/data", guest: "/"},
		"/srv/data:/d:ro": {host: "/srv/data", guest: "/d", readOnly: true},
		"/srv/data:ro":    {host: "/srv/data", guest: "/srv/data", readOnly: true},
		"c:\\data:/data":  {host: "c:\\data", guest: "/data"},
	} {
		if got, err := parseMount(in); err != nil || got != want {
			t.Errorf("parseMount(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"::/x", "/x::"} {
		if _, err := parseDir(in); err == nil {
			t.Errorf("parseDir(%q) succeeded", in)
		}
	}
	for _, in := range []string{":/x", "/x:", ":ro"} {
		if _, err := parseMount(in); err == nil {
			t.Errorf("parseMount(%q) succeeded", in)
		}
	}
}

func TestEnvFlag(t *testing.T) {
	t.Setenv("SPRY_TEST_HOST_VAR", "from host")
	var e envFlag
	for _, v := range []string{"A=1", "B=x=y", "EMPTY=", "SPRY_TEST_HOST_VAR", "SPRY_TEST_UNSET_VAR"} {
		if err := e.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	want := envFlag{{"A", "1"}, {"B", "x=y"}, {"EMPTY", ""}, {"SPRY_TEST_HOST_VAR", "from host"}}
	if len(e) != len(want) {
		t.Fatalf("got %v, want %v", e, want)
	}
	for i := range want {
		if e[i] != want[i] {
			t.Errorf("got %v, want %v", e, want)
		}
	}
	if err := e.Set("=x"); err == nil {
		t.Error(`"=x" accepted`)
	}
}

func TestDetectFormat(t *testing.T) {
	for in, want := range map[string]int{
		"\x00asm\x01\x00\x00\x00": formatBinary,
		"SPRYAOT\x00\x01":         formatArtifact,
		"(module)":                formatText,
		"SPRYAOT":                 formatText,
		"":                        formatText,
	} {
		if got := detectFormat([]byte(in)); got != want {
			t.Errorf("detectFormat(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestBuildKey(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	id := elfBuildID(exe)
	if strings.Count(id, "/") < 1 {
		t.Errorf("elfBuildID(test binary) = %q, want a Go build ID", id)
	}
	if elfBuildID(spryBin) == id || elfBuildID(spryBin) == "" {
		t.Errorf("the spry binary's build ID %q is empty or the test binary's", elfBuildID(spryBin))
	}
	// The fast path (a read of the first 4 KiB) finds what debug/elf finds, in both binaries.
	for _, bin := range []string{exe, spryBin} {
		if fast, ok := elfBuildIDFast(bin); !ok || fast != elfBuildIDSection(bin) {
			t.Errorf("elfBuildIDFast(%s) = %q, %v; debug/elf finds %q", bin, fast, ok, elfBuildIDSection(bin))
		}
	}
	if k := buildKey(); len(k) != 16 {
		t.Errorf("buildKey() = %q", k)
	}
	if elfBuildID("/nonexistent") != "" {
		t.Error("a build ID for a missing file")
	}
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case s.wrote <- struct{}{}:
	default:
	}
	return s.b.Write(p)
}

func TestProgress(t *testing.T) {
	old := progressDelay
	progressDelay = 0
	defer func() { progressDelay = old }()
	out := &syncBuffer{wrote: make(chan struct{}, 1)}
	// The "compilation" lasts until the spinner has drawn: no timing involved.
	m, err := withProgress("big.wasm", out, func() (*spry.Module, error) {
		<-out.wrote
		return nil, nil
	})
	if m != nil || err != nil {
		t.Fatal(m, err)
	}
	s := out.b.String()
	if !strings.Contains(s, "compiling big.wasm") || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("progress output %q: want a spinner line, then the line cleared", s)
	}
	// Without a terminal, nothing is written.
	if _, err := withProgress("x", nil, func() (*spry.Module, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
}

func TestFormatResult(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{int32(-5), "-5"}, {int64(1) << 40, "1099511627776"}, {float32(0.1), "0.1"}, {0.1, "0.1"},
		{float32(3), "3"}, {(*spry.Func)(nil), "null"}, {(*spry.HostRef)(nil), "null"},
	} {
		if got := formatResult(c.v); got != c.want {
			t.Errorf("formatResult(%#v) = %q, want %q", c.v, got, c.want)
		}
	}
}

// validate checks that wasm is a valid module.
func validate(wasm []byte) error {
	engine, err := spry.NewEngine(nil)
	if err != nil {
		return err
	}
	defer engine.Close()
	return spry.Validate(engine, wasm)
}

func TestPruneCache(t *testing.T) {
	root := t.TempDir()
	old := time.Now().Add(-2 * staleAfter)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "x.spryaot"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := mk("0123456789abcdef", old)
	current := mk("fedcba9876543210", old)
	recent := mk("00000000000000aa", time.Now())
	other := mk("not-a-build-key", old)
	pruneCache(root, "fedcba9876543210")
	for p, keep := range map[string]bool{stale: false, current: true, recent: true, other: true} {
		if _, err := os.Stat(p); (err == nil) != keep {
			t.Errorf("%s: kept %v, want %v", filepath.Base(p), err == nil, keep)
		}
	}
}

// A binary module of mapThreshold bytes or more is mapped, not read: the same bytes, and the text
// format of that size still goes through Wat2Wasm.
func TestReadWasmMapsLargeModules(t *testing.T) {
	dir := t.TempDir()
	// A valid module padded by a custom section to past the threshold.
	payload := bytes.Repeat([]byte{0xab}, mapThreshold)
	name := "pad"
	body := append(uleb(uint64(len(name))), name...)
	body = append(body, payload...)
	wasm := append([]byte("\x00asm\x01\x00\x00\x00\x00"), uleb(uint64(len(body)))...)
	wasm = append(wasm, body...)
	path := filepath.Join(dir, "big.wasm")
	if err := os.WriteFile(path, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	m, unmap, err := mapFile(path, int64(len(wasm)))
	if err != nil || !bytes.Equal(m, wasm) {
		t.Fatalf("mapFile: %v (equal: %v)", err, bytes.Equal(m, wasm))
	}
	unmap()
	got, release, err := readWasm(path)
	if err != nil || !bytes.Equal(got, wasm) {
		t.Fatalf("readWasm of a large binary module: %v", err)
	}
	release()
	wat := "(module)" + strings.Repeat(" ", mapThreshold)
	watPath := filepath.Join(dir, "big.wat")
	if err := os.WriteFile(watPath, []byte(wat), 0o644); err != nil {
		t.Fatal(err)
	}
	got, release, err = readWasm(watPath)
	if err != nil || !bytes.HasPrefix(got, wasmMagic) {
		t.Fatalf("readWasm of a large text module: %v", err)
	}
	release()
}

// uleb is the unsigned LEB128 encoding of v.
func uleb(v uint64) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
