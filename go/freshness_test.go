package spry_test

// Freshness: what is generated or restated in the Go package must match its source. The
// reflection-free host-function adapters (hostfunc_fast.go) and their test shapes
// (hostfunc_shapes_test.go) must be what gen_hostfunc_fast.go writes, and the Go constants that
// restate include/spry.h (trap codes, value kinds, extern kinds) must have the header's values;
// every other constant of the header must be read through cgo (C.SPRY_X).

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// goTool returns the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no go command to run the generator (not on PATH, not at %s)", p)
	}
	return p
}

func TestGeneratedHostFuncsAreFresh(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(goTool(t), "run", "gen_hostfunc_fast.go", "-o", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_hostfunc_fast.go: %v\n%s", err, out)
	}
	for _, name := range []string{"hostfunc_fast.go", "hostfunc_shapes_test.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("the generator did not write %s: %v", name, err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale (line %d differs from the generator's output): run `go generate` in go/", name, firstDifferentLine(got, want))
		}
	}
}

// firstDifferentLine returns the 1-based number of the first line where a and b differ.
func firstDifferentLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}

// headerConstants returns the integer constants (#define SPRY_X n) of include/spry.h.
func headerConstants(t *testing.T) map[string]int64 {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "include", "spry.h"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	define := regexp.MustCompile(`^#define\s+(SPRY_\w+)\s+(-?\d+)\s*$`)
	consts := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := define.FindStringSubmatch(sc.Text()); m != nil {
			v, err := strconv.ParseInt(m[2], 10, 64)
			if err != nil {
				t.Fatalf("spry.h: %s: %v", m[1], err)
			}
			consts[m[1]] = v
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return consts
}

// goConstant is a constant of the Go package that restates the header.
type goConstant struct {
	name  string
	typ   string // TrapCode, ValueType or ExternKind
	value int64
}

// restatingTypes are the Go types whose constants restate header constants.
var restatingTypes = map[string]bool{"TrapCode": true, "ValueType": true, "ExternKind": true}

// goConstants reads, from the package's source, every constant of a restating type. Each must be
// declared with its type and a literal value, so that this test reads it without evaluating Go.
func goConstants(t *testing.T) []goConstant {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var consts []goConstant
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name.Name != "spry" {
			continue // the generator (package main)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			prevType := ""
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				typ := prevType
				if vs.Type != nil || len(vs.Values) > 0 {
					typ = ""
					if id, ok := vs.Type.(*ast.Ident); ok {
						typ = id.Name
					}
				}
				prevType = typ
				if !restatingTypes[typ] {
					continue
				}
				for i, name := range vs.Names {
					var lit *ast.BasicLit
					if i < len(vs.Values) {
						lit, _ = vs.Values[i].(*ast.BasicLit)
					}
					if lit == nil || lit.Kind != token.INT {
						t.Errorf("%s: constant %s of type %s has no literal value: give it one, so that this test can compare it with spry.h", fset.Position(name.Pos()), name.Name, typ)
						continue
					}
					v, err := strconv.ParseInt(lit.Value, 0, 64)
					if err != nil {
						t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
					}
					consts = append(consts, goConstant{name.Name, typ, v})
				}
			}
		}
	}
	return consts
}

// normalize is the name both sides share: SPRY_TRAP_STACK_OVERFLOW and TrapStackOverflow are
// "trapstackoverflow", SPRY_FUNCREF and FuncRef "funcref", SPRY_EXTERN_FUNC and ExternFunc
// "externfunc".
func normalize(name string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(name, "SPRY_"), "_", ""))
}

// headerType is the Go type that restates a header constant.
func headerType(name string) string {
	switch {
	case strings.HasPrefix(name, "SPRY_TRAP_"):
		return "TrapCode"
	case strings.HasPrefix(name, "SPRY_EXTERN_"):
		return "ExternKind"
	default:
		return "ValueType"
	}
}

// notRestated are the prefixes of header constant families that Go does not restate: it reads them
// through cgo (the error kinds: C.SPRY_ERROR_* in reserve.go; SPRY_ERROR_OTHER is their default).
// A new family of constants fails the test until it is restated in Go or listed here.
var notRestated = []string{"SPRY_ERROR_"}

// cgoReferences returns the header constants the package's source reads through cgo (C.SPRY_X):
// those come from the header itself, so they need no Go restatement.
func cgoReferences(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	ref := regexp.MustCompile(`\bC\.(SPRY_\w+)`)
	refs := map[string]bool{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ref.FindAllSubmatch(src, -1) {
			refs[string(m[1])] = true
		}
	}
	return refs
}

func TestHeaderConstantsMatchGo(t *testing.T) {
	header := headerConstants(t)
	// Constants the package reads through cgo (the error kinds, say) are the header's own values.
	for name := range cgoReferences(t) {
		delete(header, name)
	}
	for name := range header {
		for _, prefix := range notRestated {
			if strings.HasPrefix(name, prefix) {
				delete(header, name)
			}
		}
	}
	goConsts := goConstants(t)
	// The families must be there at all: a parser that found nothing would compare nothing.
	families := map[string]int{}
	for _, c := range goConsts {
		families[c.typ]++
	}
	for typ := range restatingTypes {
		if families[typ] < 4 {
			t.Errorf("found %d Go constants of type %s, want at least 4 (the parser is broken?)", families[typ], typ)
		}
	}
	if len(header) < 20 {
		t.Fatalf("found %d integer constants in spry.h, want at least 20 (the parser is broken?)", len(header))
	}

	byName := map[string]goConstant{}
	for _, c := range goConsts {
		byName[normalize(c.name)] = c
	}
	matched := map[string]bool{}
	for name, v := range header {
		c, ok := byName[normalize(name)]
		switch {
		case !ok:
			t.Errorf("spry.h defines %s = %d, which no Go constant restates (want %s in go/) and the package does not read as C.%s", name, v, headerType(name), name)
		case c.typ != headerType(name):
			t.Errorf("spry.h's %s is restated by %s of type %s, want type %s", name, c.name, c.typ, headerType(name))
		case c.value != v:
			t.Errorf("%s = %d in Go, but spry.h defines %s = %d", c.name, c.value, name, v)
		default:
			matched[c.name] = true
		}
	}
	for _, c := range goConsts {
		if !matched[c.name] {
			t.Errorf("Go constant %s (%s = %d) has no counterpart in spry.h", c.name, c.typ, c.value)
		}
	}

	// What the package does with each header value: every trap code has its sentinel error and
	// message, every value and extern kind its name.
	for name, v := range header {
		var s, unnamed string
		switch headerType(name) {
		case "TrapCode":
			code := spry.TrapCode(v)
			if code.Err() == nil {
				t.Errorf("trap code %s (%d) has no sentinel error in trap.go", name, v)
			}
			s, unnamed = code.String(), "trap code "
		case "ValueType":
			s, unnamed = spry.ValueType(v).String(), "valtype("
		case "ExternKind":
			s, unnamed = spry.ExternKind(v).String(), "externkind("
		}
		if strings.HasPrefix(s, unnamed) {
			t.Errorf("%s (%d) has no name in Go: %q", name, v, s)
		}
	}
}
