package wasitestsuite

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as a fake runtime (WASITESTSUITE_FAKE set): `BIN run [--dir=H::G]...
// [--env N=V]... prog.wasm args...`. A prog.wasm that starts with "#fake" is a script for it (see
// fakeScript); a real test program makes it act out the program's specification ("right") or
// get chosen tests wrong ("wrong"), after checking that it was given the specification's args,
// env and a fresh, writable copy of the root directory.
func TestMain(m *testing.M) {
	if mode := os.Getenv("WASITESTSUITE_FAKE"); mode != "" {
		os.Exit(fakeRuntime(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeRunner(t *testing.T, mode string) Runner {
	t.Helper()
	t.Setenv("WASITESTSUITE_FAKE", mode)
	// A -race binary sleeps a second at a clean exit by default; the fake exits hundreds of times.
	t.Setenv("GORACE", "atexit_sleep_ms=0")
	return Runner{Command: []string{os.Args[0], "run"}, Jobs: 2}
}

func fakeRuntime(mode string, argv []string) int {
	if len(argv) == 0 || argv[0] != "run" {
		fmt.Fprintln(os.Stderr, "fake: want run")
		return 90
	}
	argv = argv[1:]
	dirs := map[string]string{}
	var env [][2]string
	for len(argv) > 0 && strings.HasPrefix(argv[0], "-") {
		a := argv[0]
		argv = argv[1:]
		switch {
		case strings.HasPrefix(a, "--dir="):
			host, guest, ok := strings.Cut(strings.TrimPrefix(a, "--dir="), "::")
			if !ok {
				fmt.Fprintln(os.Stderr, "fake: bad --dir", a)
				return 91
			}
			dirs[guest] = host
		case a == "--env" && len(argv) > 0:
			k, v, _ := strings.Cut(argv[0], "=")
			env = append(env, [2]string{k, v})
			argv = argv[1:]
		default:
			fmt.Fprintln(os.Stderr, "fake: unknown option", a)
			return 92
		}
	}
	if len(argv) == 0 {
		fmt.Fprintln(os.Stderr, "fake: no program")
		return 93
	}
	wasm, args := argv[0], argv[1:]
	data, err := os.ReadFile(wasm)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		return 94
	}
	if strings.HasPrefix(string(data), "#fake\n") {
		return fakeScript(string(data), dirs, args)
	}
	spec, err := ReadSpec(strings.TrimSuffix(wasm, ".wasm") + ".json")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake:", err)
		return 95
	}
	run := spec.Operations[0]
	var problems []string
	if !reflect.DeepEqual(args, run.Args) && !(len(args) == 0 && len(run.Args) == 0) {
		problems = append(problems, fmt.Sprintf("args %q, want %q", args, run.Args))
	}
	if !reflect.DeepEqual(env, run.Env) && !(len(env) == 0 && len(run.Env) == 0) {
		problems = append(problems, fmt.Sprintf("env %q, want %q", env, run.Env))
	}
	if run.Root == "" && len(dirs) != 0 || run.Root != "" && len(dirs) != 1 {
		problems = append(problems, fmt.Sprintf("preopens %q for root %q", dirs, run.Root))
	}
	if host, ok := dirs["/"]; ok {
		abs, _ := filepath.Abs(filepath.Join(filepath.Dir(wasm), run.Root))
		if host == abs {
			problems = append(problems, "the root is the suite's directory, not a copy")
		}
		if err := os.WriteFile(filepath.Join(host, "fake-was-here"), nil, 0o644); err != nil {
			problems = append(problems, "root copy not writable: "+err.Error())
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(os.Stderr, "fake:", strings.Join(problems, "; "))
		return 96
	}
	name := filepath.Base(wasm)
	code := 0
	for _, op := range spec.Operations {
		switch op.Type {
		case "read":
			payload := op.Payload
			if mode == "wrong" && strings.HasPrefix(name, "fd_write-to-stdout") {
				payload = "wrong"
			}
			if op.ID == "stderr" {
				fmt.Fprint(os.Stderr, payload)
			} else {
				fmt.Print(payload)
			}
		case "wait":
			code = op.ExitCode
		}
	}
	if mode == "wrong" && strings.HasPrefix(name, "proc_exit") {
		code++
	}
	return code
}

// fakeScript carries out a script, one command per line: "out TEXT", "err TEXT" (with \n for a
// newline), "exit N", "echo" (copy stdin to stdout), "sleep DURATION", "args" (print the args,
// one a line), "ls" (print the root preopen's entries, sorted).
func fakeScript(script string, dirs map[string]string, args []string) int {
	for _, line := range strings.Split(script, "\n")[1:] {
		cmd, arg, _ := strings.Cut(line, " ")
		arg = strings.ReplaceAll(arg, `\n`, "\n")
		switch cmd {
		case "out":
			fmt.Print(arg)
		case "err":
			fmt.Fprint(os.Stderr, arg)
		case "exit":
			n, _ := strconv.Atoi(arg)
			return n
		case "echo":
			sc := bufio.NewScanner(os.Stdin)
			for sc.Scan() {
				fmt.Println(sc.Text())
			}
		case "sleep":
			d, _ := time.ParseDuration(arg)
			time.Sleep(d)
		case "args":
			for _, a := range args {
				fmt.Println(a)
			}
		case "ls":
			entries, err := os.ReadDir(dirs["/"])
			if err != nil {
				fmt.Println("ls:", err)
			}
			for _, e := range entries {
				fmt.Println(e.Name())
			}
		}
	}
	return 0
}

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       Spec
	}{
		{"legacy empty", `{}`, Spec{Legacy: true, Operations: []Operation{{Type: "run"}, {Type: "wait"}}}},
		{"legacy full", `{"args": ["a", "b c"], "env": {"z": "1", "a": "2"}, "root": "fs-tests.dir", "exit_code": 3, "stdout": "out", "stderr": "err"}`,
			Spec{Legacy: true, Operations: []Operation{
				{Type: "run", Args: []string{"a", "b c"}, Env: [][2]string{{"z", "1"}, {"a", "2"}}, Root: "fs-tests.dir"},
				{Type: "read", ID: "stdout", Payload: "out", Whole: true},
				{Type: "read", ID: "stderr", Payload: "err", Whole: true},
				{Type: "wait", ExitCode: 3}}}},
		{"legacy dirs", `{"dirs": ["fs-tests.dir"]}`, Spec{Legacy: true, Operations: []Operation{
			{Type: "run", Dirs: []string{"fs-tests.dir"}}, {Type: "wait"}}}},
		{"operations", `{"operations": [{"type": "run", "args": ["x"], "root": "d"}, {"type": "write", "payload": "in"}, {"type": "read", "payload": "hi"},
			{"type": "read", "id": "stderr"}, {"type": "connect"}, {"type": "send", "id": "server", "payload": "p"}, {"type": "recv", "id": "server", "payload": "q"},
			{"type": "wait", "exit_code": 1}]}`,
			Spec{Operations: []Operation{
				{Type: "run", Args: []string{"x"}, Root: "d"},
				{Type: "write", ID: "stdin", Payload: "in"},
				{Type: "read", ID: "stdout", Payload: "hi"},
				{Type: "read", ID: "stderr"},
				{Type: "connect", ID: "server", ProtocolType: "tcp"},
				{Type: "send", ID: "server", Payload: "p"},
				{Type: "recv", ID: "server", Payload: "q"},
				{Type: "wait", ExitCode: 1}}}},
		{"proposals only", `{"proposals": ["sockets"]}`, Spec{Proposals: []string{"sockets"}, Operations: []Operation{{Type: "run"}, {Type: "wait"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSpec([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{
		`{"args": [], "operations": []}`,
		`{"colour": "red"}`,
		`{"operations": [{"type": "run"}]}`,
		`{"operations": [{"type": "wait"}]}`,
		`{"operations": [{"type": "read"}, {"type": "run"}, {"type": "wait"}]}`,
		`{"operations": [{"type": "run"}, {"type": "dance"}, {"type": "wait"}]}`,
		`{"operations": [{"type": "run"}, {"type": "send", "id": "nobody"}, {"type": "wait"}]}`,
		`{"operations": [{"type": "run"}, {"type": "connect"}, {"type": "connect"}, {"type": "wait"}]}`,
		`{"operations": [{"type": "run"}, {"type": "connect", "protocol_type": "udp"}, {"type": "wait"}]}`,
		`{"operations": [{"type": "run"}, {"type": "wait"}, {"type": "run"}]}`,
		`{"exit_code": "zero"}`,
	} {
		if _, err := ParseSpec([]byte(bad)); err == nil {
			t.Errorf("ParseSpec(%s): no error", bad)
		}
	}
}

func suite(t *testing.T) string {
	t.Helper()
	dir, err := SuiteDir()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestFind: the suite has its 72 tests (12 AssemblyScript, 14 C, 46 Rust), each specification
// parses, and the ones with a root name an existing directory.
func TestFind(t *testing.T) {
	tests, err := Find(suite(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(tests) != ExpectedTests {
		t.Fatalf("found %d tests, want %d", len(tests), ExpectedTests)
	}
	per := map[string]int{}
	roots := 0
	for _, tt := range tests {
		per[strings.Split(tt.Name, "/")[0]]++
		if tt.SpecErr != nil {
			t.Errorf("%s: %v", tt.Name, tt.SpecErr)
			continue
		}
		if r := tt.Spec.Operations[0].Root; r != "" {
			roots++
			if st, err := os.Stat(filepath.Join(tt.Dir, r)); err != nil || !st.IsDir() {
				t.Errorf("%s: root %q: %v", tt.Name, r, err)
			}
		}
	}
	if want := map[string]int{"assemblyscript": 12, "c": 14, "rust": 46}; !reflect.DeepEqual(per, want) {
		t.Errorf("tests per language %v, want %v", per, want)
	}
	if roots == 0 {
		t.Error("no test with a root directory")
	}
}

// TestFakeRuntimeOnSuite runs the whole suite with the fake runtime: acting out every
// specification passes 72/72 (which also checks that each run got its args, env and a fresh,
// writable copy of its root); getting four tests wrong fails exactly those, with reasons.
func TestFakeRuntimeOnSuite(t *testing.T) {
	dir := suite(t)
	res, err := Run(dir, fakeRunner(t, "right"))
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Summary(); got != "wasi-testsuite: 72/72 passed" {
		t.Errorf("%s\n%s", got, res.Report())
	}

	res, err = Run(dir, fakeRunner(t, "wrong"))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range res.Failed() {
		failed = append(failed, f.Name)
		if len(f.Reasons) == 0 {
			t.Errorf("%s failed without a reason", f.Name)
		}
	}
	want := []string{"assemblyscript/fd_write-to-stdout", "assemblyscript/proc_exit-failure", "assemblyscript/proc_exit-success"}
	if !reflect.DeepEqual(failed, want) {
		t.Errorf("failed %q, want %q\n%s", failed, want, res.Report())
	}
	if got := res.Summary(); got != "wasi-testsuite: 69/72 passed" {
		t.Errorf("summary %q", got)
	}
	report := res.Report()
	for _, s := range []string{"exit code: want 33, got exit code 34", `stdout: want "hello", got "wrong"`} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
}

// writeSuite makes a small suite of fake programs: name -> script, json (or "" for none).
func writeSuite(t *testing.T, tests map[string][2]string) []Test {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tests", "fake", "testsuite")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "fs.dir", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "fs.dir", "kept"), nil, 0o644))
	must(os.WriteFile(filepath.Join(dir, "fs.dir", "old.cleanup"), nil, 0o644))
	must(os.MkdirAll(filepath.Join(dir, "fs.dir", "olddir.cleanup", "x"), 0o755))
	for name, tc := range tests {
		must(os.WriteFile(filepath.Join(dir, name+".wasm"), []byte("#fake\n"+tc[0]), 0o644))
		if tc[1] != "" {
			must(os.WriteFile(filepath.Join(dir, name+".json"), []byte(tc[1]), 0o644))
		}
	}
	found, err := Find(filepath.Dir(filepath.Dir(filepath.Dir(dir))))
	must(err)
	return found
}

// TestRunSemantics: outputs compared whole in the legacy form and by prefix in reads, stdin
// writes, *.cleanup files left out of the copy, exit codes, timeouts, a missing program.
func TestRunSemantics(t *testing.T) {
	tests := writeSuite(t, map[string][2]string{
		"pass_default":     {"out anything\nexit 0", ""},
		"fail_default":     {"exit 1", ""},
		"pass_legacy":      {"out hello\\n\nerr warn\nexit 4", `{"stdout": "hello\n", "stderr": "warn", "exit_code": 4}`},
		"fail_legacy_more": {"out hello and more", `{"stdout": "hello"}`},
		"fail_legacy_err":  {"err oops", `{"stderr": ""}`},
		"pass_crlf":        {"out a\r\\nb", `{"stdout": "a\nb"}`},
		"pass_ops_prefix":  {"out hello and more\nerr e1e2", `{"operations": [{"type": "run"}, {"type": "read", "payload": "hello"}, {"type": "read", "payload": " and"}, {"type": "read", "id": "stderr", "payload": "e1"}, {"type": "wait"}]}`},
		"fail_ops_read":    {"out goodbye", `{"operations": [{"type": "run"}, {"type": "read", "payload": "hello"}, {"type": "wait"}]}`},
		"pass_stdin":       {"echo", `{"operations": [{"type": "run"}, {"type": "write", "payload": "ping\n"}, {"type": "read", "payload": "ping\n"}, {"type": "write", "payload": "pong\n"}, {"type": "read", "payload": "pong\n"}, {"type": "wait"}]}`},
		"pass_root":        {"ls", `{"root": "fs.dir", "stdout": "kept\nsub\n"}`},
		"pass_args_env":    {"args", `{"args": ["-a", "b c", ""], "env": {"K": "V"}, "stdout": "-a\nb c\n\n"}`},
		"fail_timeout":     {"sleep 1m", ""},
		"fail_proposal":    {"", `{"proposals": ["http"]}`},
		"fail_bad_spec":    {"", `{"operations": [{"type": "run"}]}`},
	})
	r := fakeRunner(t, "script")
	r.Timeout = 3 * time.Second
	res := RunTests(tests, r)
	for _, tr := range res.Tests {
		base := strings.TrimPrefix(tr.Name, "fake/")
		wantPass := strings.HasPrefix(base, "pass_")
		if tr.Passed != wantPass {
			t.Errorf("%s: passed=%v, want %v; reasons %q; stdout %q stderr %q", tr.Name, tr.Passed, wantPass, tr.Reasons, tr.Stdout, tr.Stderr)
		}
		if !tr.Passed && len(tr.Reasons) == 0 {
			t.Errorf("%s failed without a reason", tr.Name)
		}
	}
	reasons := map[string]string{}
	for _, tr := range res.Tests {
		reasons[tr.Name] = strings.Join(tr.Reasons, "; ")
	}
	for name, want := range map[string]string{
		"fake/fail_timeout":     "timed out after 3s",
		"fake/fail_proposal":    `needs the WASI proposal "http"`,
		"fake/fail_bad_spec":    "specification:",
		"fake/fail_legacy_more": `stdout: want "hello", got "hello and more"`,
		"fake/fail_default":     "exit code: want 0, got exit code 1",
	} {
		if !strings.Contains(reasons[name], want) {
			t.Errorf("%s: reasons %q lack %q", name, reasons[name], want)
		}
	}
	if got := res.Summary(); got != fmt.Sprintf("wasi-testsuite: 7/%d passed", len(tests)) {
		t.Errorf("summary %q", got)
	}

	// A command that does not exist fails every test, with the reason.
	var pass []Test
	for _, tt := range tests {
		if tt.Name == "fake/pass_default" {
			pass = append(pass, tt)
		}
	}
	res = RunTests(pass, Runner{Command: []string{filepath.Join(t.TempDir(), "no-such-runtime"), "run"}})
	if res.Passed() != 0 || !strings.Contains(strings.Join(res.Tests[0].Reasons, ""), "starting") {
		t.Errorf("missing command: %+v", res.Tests[0])
	}
}

// TestRunNeedsTheWholeSuite: a suite with fewer than 72 tests is an error, not a low score.
func TestRunNeedsTheWholeSuite(t *testing.T) {
	tests := writeSuite(t, map[string][2]string{"only": {"exit 0", ""}})
	suiteDir := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(tests[0].Wasm))))
	_, err := Run(suiteDir, fakeRunner(t, "script"))
	if err == nil || !strings.Contains(err.Error(), "found 1 tests") {
		t.Errorf("err = %v", err)
	}
	if _, err := Run(t.TempDir(), fakeRunner(t, "script")); err == nil {
		t.Error("no error for a directory without tests")
	}
}

// TestCommand runs the suite through a real runtime's command line, named by
// WASI_TESTSUITE_CMD (e.g. "/tmp/wz/wazero run" or "spry run"; split at spaces); its options
// are spelled as wazero's when the command's first word contains "wazero", else as wasmtime's.
// WASI_TESTSUITE_EXPECT_FAIL (comma-separated test names, e.g. "rust/dangling_fd") makes the
// test require exactly those failures; without it, any failure fails the test.
func TestCommand(t *testing.T) {
	cmd := strings.Fields(os.Getenv("WASI_TESTSUITE_CMD"))
	if len(cmd) == 0 {
		t.Skip("WASI_TESTSUITE_CMD is not set (e.g. WASI_TESTSUITE_CMD='/tmp/wz/wazero run')")
	}
	r := Runner{Command: cmd, Jobs: 2}
	if strings.Contains(filepath.Base(cmd[0]), "wazero") {
		r.Dir, r.Env = WazeroDir, WazeroEnv
	}
	res, err := Run(suite(t), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", res.Report())
	fmt.Println(res.Summary())
	var failed []string
	for _, f := range res.Failed() {
		failed = append(failed, f.Name)
	}
	var want []string
	if s := os.Getenv("WASI_TESTSUITE_EXPECT_FAIL"); s != "" {
		want = strings.Split(s, ",")
		sort.Strings(want)
	}
	if !reflect.DeepEqual(failed, want) {
		t.Errorf("failed: %q\nexpected to fail: %q", failed, want)
	}
}
