package wasiprograms

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/spry-wasm/spry/internal/wasitestsuite"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from wazero's results")

// wasiDir is testdata/wasi at the repository root: sources, fixture and build script.
const wasiDir = "../../testdata/wasi"

// Case is one run of one program: what it is given.
type Case struct {
	Name    string      // also the golden file's name
	Program string      // file name in the build output, e.g. "c_stdio.wasm"
	Args    []string    // argv, argv[0] included
	Env     [][2]string // in this order
	Stdin   string
	Mount   bool // preopen a fresh copy of testdata/wasi/fixture as /data
}

// Result is what a run produced.
type Result struct {
	Stdout   string
	Stderr   string
	ExitCode int
	Err      string // an error other than an exit (a trap, a failed instantiation); "" if none
	Tree     string // the mounted directory afterwards (see snapshotTree); "" without a mount
}

func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit: %d\n", r.ExitCode)
	if r.Err != "" {
		fmt.Fprintf(&b, "error: %s\n", r.Err)
	}
	fmt.Fprintf(&b, "--- stdout\n%s", r.Stdout)
	if r.Stdout != "" && !strings.HasSuffix(r.Stdout, "\n") {
		b.WriteString("\n[no newline at the end]\n")
	}
	fmt.Fprintf(&b, "--- stderr\n%s", r.Stderr)
	if r.Stderr != "" && !strings.HasSuffix(r.Stderr, "\n") {
		b.WriteString("\n[no newline at the end]\n")
	}
	fmt.Fprintf(&b, "--- tree\n%s", r.Tree)
	return b.String()
}

// A Runner runs c's program (the .wasm file at wasm) with its args, env and stdin, and with dir
// (a fresh copy of the fixture, or "" when c.Mount is false) preopened as /data.
type Runner func(t *testing.T, wasm string, c Case, dir string) Result

// runners besides wazero, compared with wazero's results; spry_test.go adds Spry's.
var runners = map[string]Runner{}

var env2 = [][2]string{{"GREETING", "hello, world"}, {"EXIT_CODE", "7"}}

// cases: every program with and without its inputs; exit codes 0 and not 0.
var cases = []Case{
	{Name: "c_stdio", Program: "c_stdio.wasm", Args: []string{"stdio", "one", "two words", "ümlaut", ""},
		Env: env2, Stdin: "first line\nsecond line, no newline"},
	{Name: "c_stdio_bare", Program: "c_stdio.wasm", Args: []string{"stdio"}},
	{Name: "c_files", Program: "c_files.wasm", Args: []string{"files"}, Mount: true},
	{Name: "c_clock", Program: "c_clock.wasm", Args: []string{"clock"}},
	{Name: "go_wasiprog", Program: "go_wasiprog.wasm", Args: []string{"wasiprog", "-x", "a b"},
		Env: [][2]string{{"GREETING", "hi"}, {"EXIT_CODE", "3"}, {"EMPTY", ""}}, Stdin: "from stdin\n", Mount: true},
	{Name: "go_wasiprog_bare", Program: "go_wasiprog.wasm", Args: []string{"wasiprog"}},
	{Name: "as_main", Program: "as_main.wasm", Args: []string{"main", "x", "y z"},
		Env: [][2]string{{"GREETING", "hey"}, {"EXIT_CODE", "9"}}, Stdin: "assemblyscript input\n", Mount: true},
	{Name: "as_main_bare", Program: "as_main.wasm", Args: []string{"main"}},
}

// TestPrograms runs every case through wazero (held to its golden file) and through every other
// runner (held to wazero's result).
func TestPrograms(t *testing.T) {
	if _, ok := runners["spry"]; !ok {
		t.Fatal("no Spry runner registered: the comparison would hold wazero to its golden files only")
	}
	bin := programs(t)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			wasm := filepath.Join(bin, c.Program)
			want := runOnFixture(t, runWazero, wasm, c)
			checkGolden(t, c.Name, want)
			names := make([]string, 0, len(runners))
			for name := range runners {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				got := runOnFixture(t, runners[name], wasm, c)
				if got.String() != want.String() {
					t.Errorf("%s differs from wazero:\n%s", name, diff(want.String(), got.String()))
				}
			}
		})
	}
}

// runOnFixture gives run a fresh copy of the fixture (when c.Mount) and records the tree after.
func runOnFixture(t *testing.T, run Runner, wasm string, c Case) Result {
	t.Helper()
	dir := ""
	if c.Mount {
		dir = filepath.Join(t.TempDir(), "data")
		if err := wasitestsuite.CopyTree(filepath.Join(wasiDir, "fixture"), dir, nil); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, wasm, c, dir)
	if dir != "" {
		r.Tree = snapshotTree(t, dir)
	}
	return r
}

func checkGolden(t *testing.T, name string, r Result) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(r.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(want) != r.String() {
		t.Errorf("wazero's result differs from %s:\n%s", path, diff(string(want), r.String()))
	}
}

// diff shows the first differing line of two results and both in full.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	first := ""
	if i < len(wl) || i < len(gl) {
		w, g := "<end>", "<end>"
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		first = fmt.Sprintf("first difference, line %d:\n  want %q\n  got  %q\n", i+1, w, g)
	}
	return fmt.Sprintf("%s--- want\n%s\n--- got\n%s", first, want, got)
}

// snapshotTree lists dir recursively, sorted: "d path", "f path size content-or-hash", "l path ->
// target", with the permission bits left out (runtimes create files with different modes).
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "l %s -> %s\n", rel, target)
		case d.IsDir():
			fmt.Fprintf(&b, "d %s\n", rel)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if len(data) <= 64 {
				fmt.Fprintf(&b, "f %s %d %q\n", rel, len(data), data)
			} else {
				sum := sha256.Sum256(data)
				fmt.Fprintf(&b, "f %s %d sha256:%s\n", rel, len(data), hex.EncodeToString(sum[:8]))
			}
		default:
			fmt.Fprintf(&b, "? %s %v\n", rel, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// programs builds the programs with testdata/wasi/build.sh once per test binary, into a cache
// directory named by a hash of the sources and the Go version (so an unchanged tree is not
// rebuilt), and returns that directory. A failed build fails the test with the script's output.
func programs(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() { buildDir, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("building the WASI test programs (testdata/wasi/build.sh; scripts/ci-deps.sh installs the toolchains): %v", buildErr)
	}
	return buildDir
}

func build() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", runtime.Version())
	err := filepath.WalkDir(wasiDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(p), len(data))
		h.Write(data)
		return nil
	})
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "spry", "wasi-programs", hex.EncodeToString(h.Sum(nil)[:12]))
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("bash", filepath.Join(wasiDir, "build.sh"), tmp)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("%v\n%s", err, out.String())
	}
	if err := os.WriteFile(filepath.Join(tmp, "done"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		// Another test binary may have built the same tree at the same time.
		if _, serr := os.Stat(filepath.Join(dir, "done")); serr == nil {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}
