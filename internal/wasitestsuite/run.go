package wasitestsuite

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// ExpectedTests is the number of tests in the suite's wasm32-wasip1 binaries; Run fails when it
// finds fewer.
const ExpectedTests = 72

// DefaultTimeout bounds one test's run (a hung program fails its test instead of the whole run).
const DefaultTimeout = 2 * time.Minute

// Runner says how to run a WASI program with a runtime's command line:
//
//	Command... [Dir(host, guest)...] [Env(name, value)...] [Proposal(p)...] prog.wasm args...
type Runner struct {
	// Command is the prefix, e.g. {"/path/to/spry", "run"}. Required.
	Command []string
	// Dir spells one preopened directory; nil means WasmtimeDir (--dir=HOST::GUEST).
	Dir func(host, guest string) []string
	// Env spells one environment variable; nil means WasmtimeEnv (--env NAME=VALUE).
	Env func(name, value string) []string
	// Proposal spells the flags that enable a WASI proposal a test needs; nil (or an error)
	// fails such a test with the reason. No test of the wasip1 suite needs one today.
	Proposal func(name string) ([]string, error)
	// Timeout bounds each test; 0 means DefaultTimeout.
	Timeout time.Duration
	// Jobs is how many tests run at once; 0 means 1.
	Jobs int
}

// WasmtimeDir is wasmtime's (and spry run's) spelling of a preopen: --dir=HOST::GUEST.
func WasmtimeDir(host, guest string) []string { return []string{"--dir=" + host + "::" + guest} }

// WasmtimeEnv is wasmtime's (and spry run's) spelling of a variable: --env NAME=VALUE.
func WasmtimeEnv(name, value string) []string { return []string{"--env", name + "=" + value} }

// WazeroDir is wazero run's spelling of a preopen: -mount=HOST:GUEST.
func WazeroDir(host, guest string) []string { return []string{"-mount=" + host + ":" + guest} }

// WazeroEnv is wazero run's spelling of a variable: -env=NAME=VALUE.
func WazeroEnv(name, value string) []string { return []string{"-env=" + name + "=" + value} }

// WazeroRunner runs the suite with `wazero run` (the wazero CLI at path).
func WazeroRunner(path string) Runner {
	return Runner{Command: []string{path, "run"}, Dir: WazeroDir, Env: WazeroEnv}
}

// Test is one test case of the suite.
type Test struct {
	Name string // e.g. "rust/fd_readdir": the language directory and the program's base name
	Wasm string // absolute path of the program
	Dir  string // the directory holding it (roots and dirs are relative to it)
	Spec Spec   // from NAME.json, or DefaultSpec
	// SpecErr is set when NAME.json could not be read or is invalid; the test then fails with it.
	SpecErr error
}

// Result is the outcome of one test.
type Result struct {
	Name     string
	Argv     []string // the last command line run
	Passed   bool
	Reasons  []string // why it failed, one per failed expectation; empty when it passed
	ExitCode int      // of the last run; -1 if it did not exit normally
	Stdout   string   // everything the last run wrote
	Stderr   string
	Duration time.Duration
}

// Results is the outcome of a run of the suite, in the order of the tests' names.
type Results struct {
	Tests []Result
}

// Passed counts the tests that passed.
func (r Results) Passed() int {
	n := 0
	for _, t := range r.Tests {
		if t.Passed {
			n++
		}
	}
	return n
}

// Failed returns the tests that did not pass.
func (r Results) Failed() []Result {
	var out []Result
	for _, t := range r.Tests {
		if !t.Passed {
			out = append(out, t)
		}
	}
	return out
}

// Summary is the closing line: "wasi-testsuite: P/N passed".
func (r Results) Summary() string {
	return fmt.Sprintf("wasi-testsuite: %d/%d passed", r.Passed(), len(r.Tests))
}

// Report lists every failing test with its reasons, then the summary line.
func (r Results) Report() string {
	var b strings.Builder
	for _, t := range r.Failed() {
		fmt.Fprintf(&b, "FAIL %s\n", t.Name)
		for _, reason := range t.Reasons {
			fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(strings.TrimRight(reason, "\n"), "\n", "\n    "))
		}
	}
	b.WriteString(r.Summary())
	b.WriteString("\n")
	return b.String()
}

// SuiteDir finds the suite: $WASI_TESTSUITE_DIR, else testdata/wasi-testsuite (vendored) in the
// repository root (the nearest directory above the working directory whose go.mod declares
// module github.com/spry-wasm/spry). The error says where it looked.
func SuiteDir() (string, error) {
	if d := os.Getenv("WASI_TESTSUITE_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "tests")); err != nil {
			return "", fmt.Errorf("WASI_TESTSUITE_DIR=%s: no tests directory: %w", d, err)
		}
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(mod, []byte("module github.com/spry-wasm/spry\n")) {
			suite := filepath.Join(dir, "testdata", "wasi-testsuite")
			if _, err := os.Stat(filepath.Join(suite, "tests")); err != nil {
				return "", fmt.Errorf("the WASI test suite is missing: expected the precompiled wasi-testsuite at %s "+
					"(testdata/wasi-testsuite in the repository; or set WASI_TESTSUITE_DIR): %w", suite, err)
			}
			return suite, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("wasitestsuite: no repository root (go.mod of github.com/spry-wasm/spry) above the working directory; set WASI_TESTSUITE_DIR")
		}
		dir = parent
	}
}

// Find lists the suite's tests: every *.wasm under suiteDir/tests, sorted by name, with its
// specification. It does not run anything.
func Find(suiteDir string) ([]Test, error) {
	root, err := filepath.Abs(filepath.Join(suiteDir, "tests"))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("wasitestsuite: %w", err)
	}
	var tests []Test
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(p, ".wasm") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		lang := strings.Split(filepath.ToSlash(rel), "/")[0]
		base := strings.TrimSuffix(filepath.Base(p), ".wasm")
		t := Test{Name: lang + "/" + base, Wasm: p, Dir: filepath.Dir(p)}
		t.Spec, t.SpecErr = ReadSpec(strings.TrimSuffix(p, ".wasm") + ".json")
		tests = append(tests, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(tests, func(i, j int) bool { return tests[i].Name < tests[j].Name })
	return tests, nil
}

// Run runs every test of the suite at suiteDir with r. It returns an error (and no results)
// when the suite cannot be read or has fewer than ExpectedTests tests; a failing test is a
// Result, not an error.
func Run(suiteDir string, r Runner) (Results, error) {
	if len(r.Command) == 0 {
		return Results{}, errors.New("wasitestsuite: Runner.Command is empty")
	}
	tests, err := Find(suiteDir)
	if err != nil {
		return Results{}, err
	}
	if len(tests) < ExpectedTests {
		return Results{}, fmt.Errorf("wasitestsuite: found %d tests under %s, want %d", len(tests), suiteDir, ExpectedTests)
	}
	return RunTests(tests, r), nil
}

// RunTests runs the given tests with r.
func RunTests(tests []Test, r Runner) Results {
	jobs := r.Jobs
	if jobs < 1 {
		jobs = 1
	}
	res := Results{Tests: make([]Result, len(tests))}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res.Tests[i] = RunTest(tests[i], r)
			}
		}()
	}
	for i := range tests {
		next <- i
	}
	close(next)
	wg.Wait()
	return res
}

// RunTest runs one test with r: each run gets fresh copies of its directories (with *.cleanup
// files removed), and the operations are carried out in order; the first failed expectation
// ends the test, as in the specification's reference executor.
func RunTest(t Test, r Runner) Result {
	start := time.Now()
	res := Result{Name: t.Name, ExitCode: -1}
	if t.SpecErr != nil {
		res.Reasons = []string{"specification: " + t.SpecErr.Error()}
		return res
	}
	tmp, err := os.MkdirTemp("", "wasi-testsuite-")
	if err != nil {
		res.Reasons = []string{err.Error()}
		return res
	}
	defer os.RemoveAll(tmp)
	x := &execution{test: t, runner: r, tmp: tmp, res: &res}
	x.run()
	res.Passed = len(res.Reasons) == 0
	res.Duration = time.Since(start)
	return res
}

type execution struct {
	test   Test
	runner Runner
	tmp    string
	res    *Result
	runs   int

	cmd      *exec.Cmd
	stdin    io.WriteCloser
	stdout   *stream
	stderr   *stream
	done     chan struct{} // closed when cmd has exited (and its output is read)
	waitErr  error
	deadline time.Time
	conns    map[string]net.Conn
}

func (x *execution) fail(format string, args ...any) {
	x.res.Reasons = append(x.res.Reasons, fmt.Sprintf(format, args...))
}

func (x *execution) run() {
	defer x.cleanup()
	for _, op := range x.test.Spec.Operations {
		if len(x.res.Reasons) > 0 {
			return
		}
		switch op.Type {
		case "run":
			x.start(op)
		case "wait":
			x.wait(op)
		case "read":
			x.read(op)
		case "write":
			x.write(op)
		case "connect":
			x.connect(op)
		case "send":
			x.send(op)
		case "recv":
			x.recv(op)
		default:
			x.fail("unsupported operation %q", op.Type)
		}
	}
}

func (x *execution) timeout() time.Duration {
	if x.runner.Timeout > 0 {
		return x.runner.Timeout
	}
	return DefaultTimeout
}

// preopen copies the test's directory rel into a fresh directory and returns the copy's path.
func (x *execution) preopen(rel string) (string, error) {
	src := filepath.Join(x.test.Dir, rel)
	x.runs++
	dst := filepath.Join(x.tmp, fmt.Sprintf("run%d", x.runs), filepath.Base(filepath.Clean(src)))
	if err := copyTree(src, dst); err != nil {
		return "", fmt.Errorf("copying %s: %w", rel, err)
	}
	return dst, nil
}

func (x *execution) start(op Operation) {
	r := x.runner
	argv := append([]string(nil), r.Command...)
	dir, env := r.Dir, r.Env
	if dir == nil {
		dir = WasmtimeDir
	}
	if env == nil {
		env = WasmtimeEnv
	}
	if op.Root != "" {
		host, err := x.preopen(op.Root)
		if err != nil {
			x.fail("%v", err)
			return
		}
		argv = append(argv, dir(host, "/")...)
	}
	for _, d := range op.Dirs {
		host, err := x.preopen(d)
		if err != nil {
			x.fail("%v", err)
			return
		}
		argv = append(argv, dir(host, d)...)
	}
	for _, kv := range op.Env {
		argv = append(argv, env(kv[0], kv[1])...)
	}
	for _, p := range x.test.Spec.Proposals {
		if r.Proposal == nil {
			x.fail("needs the WASI proposal %q, which this runner does not enable", p)
			return
		}
		flags, err := r.Proposal(p)
		if err != nil {
			x.fail("proposal %q: %v", p, err)
			return
		}
		argv = append(argv, flags...)
	}
	argv = append(argv, x.test.Wasm)
	argv = append(argv, op.Args...)
	x.res.Argv = argv

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = x.tmp
	if os.Getenv("GORACE") == "" {
		// A runtime built with -race (a Go command under `go test -race`) would otherwise sleep
		// a second at each clean exit.
		cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		x.fail("%v", err)
		return
	}
	outR, err := cmd.StdoutPipe()
	if err != nil {
		x.fail("%v", err)
		return
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		x.fail("%v", err)
		return
	}
	if err := cmd.Start(); err != nil {
		x.fail("starting %q: %v", argv[0], err)
		return
	}
	x.cmd, x.stdin = cmd, stdin
	x.stdout, x.stderr = newStream(outR), newStream(errR)
	x.deadline = time.Now().Add(x.timeout())
	x.done = make(chan struct{})
	go func() {
		// Wait only once both streams reached EOF (the os/exec rule for pipes).
		x.stdout.waitEOF()
		x.stderr.waitEOF()
		x.waitErr = cmd.Wait()
		close(x.done)
	}()
}

// wait waits for the process to exit, before the test's deadline, and checks its exit code.
func (x *execution) wait(op Operation) {
	if x.cmd == nil {
		x.fail("wait: no process")
		return
	}
	x.stdin.Close()
	select {
	case <-x.done:
	case <-time.After(time.Until(x.deadline)):
		x.cmd.Process.Kill()
		<-x.done
		x.finish()
		x.fail("timed out after %v (killed)%s", x.timeout(), x.outputs())
		return
	}
	x.finish()
	if x.res.ExitCode != op.ExitCode {
		how := fmt.Sprintf("exit code %d", x.res.ExitCode)
		if x.res.ExitCode < 0 {
			how = x.waitErr.Error()
		}
		x.fail("exit code: want %d, got %s%s", op.ExitCode, how, x.outputs())
	}
}

// finish records the ended process's exit code and output.
func (x *execution) finish() {
	x.res.ExitCode = x.cmd.ProcessState.ExitCode()
	x.res.Stdout, x.res.Stderr = x.stdout.all(), x.stderr.all()
	x.cmd = nil
}

// outputs shows the run's stdout and stderr for a reason (their first 2000 bytes each; the
// Result has them whole).
func (x *execution) outputs() string {
	var b strings.Builder
	for _, s := range []struct{ name, text string }{{"STDOUT", x.res.Stdout}, {"STDERR", x.res.Stderr}} {
		if s.text == "" {
			continue
		}
		text := s.text
		if len(text) > 2000 {
			text = text[:2000] + fmt.Sprintf("... (%d bytes more)", len(text)-2000)
		}
		fmt.Fprintf(&b, "\n==%s==\n%s", s.name, text)
	}
	return b.String()
}

// read takes as many bytes from the stream as the payload has (blocking until they came, the
// stream ended or the deadline passed) and compares: the reference executor's read, on
// text-mode streams (so "\r\n" and "\r" read as "\n"). A Whole read takes the rest of the
// stream, up to its end.
func (x *execution) read(op Operation) {
	if x.cmd == nil {
		x.fail("read: no process")
		return
	}
	s := x.stdout
	switch op.ID {
	case "stdout":
	case "stderr":
		s = x.stderr
	default:
		c, ok := x.conns[op.ID]
		if !ok {
			x.fail("read: no stream %q", op.ID)
			return
		}
		x.recvFrom(c, op)
		return
	}
	var got string
	var timedOut bool
	if op.Whole {
		// The whole stream needs the process's end: close stdin first, as wait does (a legacy
		// specification, the only kind with whole reads, never writes to stdin).
		x.stdin.Close()
		got, timedOut = s.rest(x.deadline)
	} else {
		got, timedOut = s.read(len(op.Payload), x.deadline)
	}
	if got != op.Payload {
		how := ""
		if timedOut {
			how = " (timed out waiting for it)"
		}
		x.fail("%s: want %q, got %q%s", op.ID, op.Payload, got, how)
	}
}

func (x *execution) write(op Operation) {
	if x.cmd == nil {
		x.fail("write: no process")
		return
	}
	if op.ID == "stdin" {
		if _, err := io.WriteString(x.stdin, op.Payload); err != nil {
			x.fail("write to stdin: %v", err)
		}
		return
	}
	x.send(op)
}

// connect reads a "host:port" line from stdout (the program, a server, prints it) and connects.
func (x *execution) connect(op Operation) {
	if x.cmd == nil {
		x.fail("connect: no process")
		return
	}
	line, _ := x.stdout.readLine(x.deadline)
	addr := strings.TrimSpace(line)
	conn, err := net.DialTimeout("tcp", addr, time.Until(x.deadline))
	if err != nil {
		x.fail("connect %s: want <host>:<port> on stdout, got %q: %v", op.ID, line, err)
		return
	}
	if x.conns == nil {
		x.conns = map[string]net.Conn{}
	}
	x.conns[op.ID] = conn
}

func (x *execution) send(op Operation) {
	c, ok := x.conns[op.ID]
	if !ok {
		x.fail("send: no connection %q", op.ID)
		return
	}
	c.SetWriteDeadline(x.deadline)
	if _, err := io.WriteString(c, op.Payload); err != nil {
		x.fail("send %s: %v", op.ID, err)
	}
}

func (x *execution) recv(op Operation) {
	c, ok := x.conns[op.ID]
	if !ok {
		x.fail("recv: no connection %q", op.ID)
		return
	}
	x.recvFrom(c, op)
}

func (x *execution) recvFrom(c net.Conn, op Operation) {
	c.SetReadDeadline(x.deadline)
	buf := make([]byte, len(op.Payload))
	n, err := io.ReadFull(c, buf)
	if string(buf[:n]) != op.Payload {
		x.fail("recv %s: want %q, got %q (%v)", op.ID, op.Payload, buf[:n], err)
	}
}

// cleanup ends what a failed test left: connections, and a process never waited for.
func (x *execution) cleanup() {
	for _, c := range x.conns {
		c.Close()
	}
	if x.cmd != nil {
		x.stdin.Close()
		x.cmd.Process.Kill()
		<-x.done
		x.finish()
		if len(x.res.Reasons) == 0 {
			x.fail("the process was still running at the end of the test")
		}
	}
}

// stream collects a pipe's bytes in the background, so that a program never blocks on a full
// pipe, and lets read wait for a number of bytes.
type stream struct {
	mu   sync.Mutex
	cond *sync.Cond
	raw  []byte
	eof  bool
	pos  int // bytes of the normalized text consumed by read
}

func newStream(r io.Reader) *stream {
	s := &stream{}
	s.cond = sync.NewCond(&s.mu)
	go func() {
		br := bufio.NewReader(r)
		buf := make([]byte, 32<<10)
		for {
			n, err := br.Read(buf)
			s.mu.Lock()
			s.raw = append(s.raw, buf[:n]...)
			if err != nil {
				s.eof = true
			}
			s.cond.Broadcast()
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return s
}

// text is the bytes so far with universal newlines (Python's text mode).
func (s *stream) text() string {
	t := strings.ReplaceAll(string(s.raw), "\r\n", "\n")
	return strings.ReplaceAll(t, "\r", "\n")
}

func (s *stream) waitEOF() {
	s.mu.Lock()
	for !s.eof {
		s.cond.Wait()
	}
	s.mu.Unlock()
}

// waitFor waits until ready() holds, the stream ended or the deadline passed; s.mu is held.
func (s *stream) waitFor(ready func() bool, deadline time.Time) (timedOut bool) {
	timer := time.AfterFunc(time.Until(deadline), func() {
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	for !ready() && !s.eof {
		if !time.Now().Before(deadline) {
			return true
		}
		s.cond.Wait()
	}
	return false
}

func (s *stream) read(n int, deadline time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	timedOut := s.waitFor(func() bool { return len(s.text())-s.pos >= n }, deadline)
	t := s.text()
	end := min(s.pos+n, len(t))
	out := t[s.pos:end]
	s.pos = end
	return out, timedOut
}

// rest waits for the end of the stream and returns what read has not taken.
func (s *stream) rest(deadline time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	timedOut := s.waitFor(func() bool { return false }, deadline)
	t := s.text()
	out := t[s.pos:]
	s.pos = len(t)
	return out, timedOut
}

func (s *stream) readLine(deadline time.Time) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	timedOut := s.waitFor(func() bool { return strings.Contains(s.text()[s.pos:], "\n") }, deadline)
	t := s.text()[s.pos:]
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = t[:i+1]
	}
	s.pos += len(t)
	return t, timedOut
}

func (s *stream) all() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.raw)
}

// copyTree copies a test's directory for a run, leaving out *.cleanup files and directories (a
// previous run's artifacts, which the specification says to remove).
func copyTree(src, dst string) error {
	return CopyTree(src, dst, func(rel string, d fs.DirEntry) bool {
		return rel != "." && strings.HasSuffix(d.Name(), ".cleanup")
	})
}

// CopyTree copies the directory src to dst (which must not exist): directories, regular files
// and symlinks (as links), writable by the owner whatever the source's modes (the suite's copy is
// read-only). An entry for which skip (when not nil) returns true is left out, with everything
// below it.
func CopyTree(src, dst string, skip func(rel string, d fs.DirEntry) bool) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if skip != nil && skip(rel, d) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			in, err := os.Open(p)
			if err != nil {
				return err
			}
			defer in.Close()
			out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, in); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, d.Type())
		}
	})
}
