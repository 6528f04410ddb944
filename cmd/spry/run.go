package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

const runUsage = `Usage: spry run [options] prog.wasm|prog.wat|prog.cwasm [args...]

Runs a WebAssembly program: a WASI preview 1 command (its _start), a reactor (its _initialize,
then the function --invoke names) or any module's export with --invoke. The format of the file is
told by its contents. Options end at the program's name: what follows is the program's arguments.
The program's argv[0] is its file name.

Options:
  --dir HOST[::GUEST]       give the program the host directory HOST, as GUEST (default: HOST)
  -mount HOST[:GUEST][:ro]  the same in wazero's form; :ro makes it read-only
  --env NAME=VALUE          set an environment variable of the program
  --env NAME                pass the host's NAME (if set) to the program
  --invoke FUNC             call the export FUNC with the arguments (parsed by its parameter
                            types) instead of _start, and print its results, one per line
  --argv0 NAME              the program's argv[0] (default: the file's base name)
  --fuel N                  run with N units of fuel; running out traps (deterministic)
  --timeout D               interrupt the program after the duration D (300ms, 2s, 1m...)
  --max-memory BYTES        limit each linear memory to BYTES (64K, 16MiB, 2G...); a memory.grow
                            past it returns -1
  --max-wasm-stack BYTES    the stack Wasm code may use (default 512K); past it, the program
                            traps with a stack overflow
  --trap-unknown-imports    define imports no one provides as functions that trap when called
  --no-cache                do not use or fill the compile cache (os.UserCacheDir()/spry)

Exit status: the program's exit code (0 when _start returns); 134 when it traps (the message and
the Wasm backtrace go to stderr); 130 when interrupted; 2 for a usage error; 1 for other errors.

Examples:
  spry run hello.wasm
  spry run --dir .::/ --env HOME=/ --env TERM prog.wasm -v input.txt
  spry run -mount=/srv/data:/data:ro prog.wasm
  spry run --invoke fib --fuel 1000000 fib.wat 30
  spry run --timeout 5s --max-memory 256M prog.cwasm
`

// runFlags are the options of spry run.
type runFlags struct {
	fs           *flag.FlagSet
	mounts       []mount // --dir and -mount, in command-line order
	env          envFlag
	invoke       string
	argv0        string
	fuel         fuelFlag
	timeout      time.Duration
	maxMemory    byteSize
	maxWasmStack byteSize
	trapUnknown  bool
	noCache      bool
}

func newRunFlags(help io.Writer) *runFlags {
	f := &runFlags{fs: flag.NewFlagSet("run", flag.ContinueOnError)}
	f.fs.SetOutput(help)
	f.fs.Usage = func() { fmt.Fprint(help, runUsage) }
	f.fs.Var(mountFlag{&f.mounts, parseDir}, "dir", "")
	f.fs.Var(mountFlag{&f.mounts, parseMount}, "mount", "")
	f.fs.Var(&f.env, "env", "")
	f.fs.StringVar(&f.invoke, "invoke", "", "")
	f.fs.StringVar(&f.argv0, "argv0", "", "")
	f.fs.Var(&f.fuel, "fuel", "")
	f.fs.DurationVar(&f.timeout, "timeout", 0, "")
	f.fs.Var(&f.maxMemory, "max-memory", "")
	f.fs.Var(&f.maxWasmStack, "max-wasm-stack", "")
	f.fs.BoolVar(&f.trapUnknown, "trap-unknown-imports", false, "")
	f.fs.BoolVar(&f.noCache, "no-cache", false, "")
	return f
}

// mount is one preopened host directory.
type mount struct {
	host, guest string
	readOnly    bool
}

// mountFlag adds each --dir or -mount to a shared list, parsed by parse.
type mountFlag struct {
	list  *[]mount
	parse func(string) (mount, error)
}

func (f mountFlag) String() string { return "" }

func (f mountFlag) Set(v string) error {
	m, err := f.parse(v)
	if err != nil {
		return err
	}
	*f.list = append(*f.list, m)
	return nil
}

// parseDir parses wasmtime's --dir HOST[::GUEST].
func parseDir(v string) (mount, error) {
	host, guest, ok := strings.Cut(v, "::")
	if !ok {
		guest = host
	}
	if host == "" || guest == "" {
		return mount{}, errors.New("want HOST or HOST::GUEST")
	}
	return mount{host: host, guest: guest}, nil
}

// parseMount parses wazero's -mount HOST[:GUEST][:ro]: an optional ":ro" suffix, then the last ':'
// separates the guest path.
func parseMount(v string) (mount, error) {
	ro := strings.HasSuffix(v, ":ro")
	v = strings.TrimSuffix(v, ":ro")
	host, guest := v, v
	if i := strings.LastIndexByte(v, ':'); i >= 0 {
		host, guest = v[:i], v[i+1:]
	}
	if host == "" || guest == "" {
		return mount{}, errors.New("want HOST[:GUEST][:ro]")
	}
	return mount{host: host, guest: guest, readOnly: ro}, nil
}

// checkMounts checks that each host directory exists.
func checkMounts(mounts []mount) error {
	for _, m := range mounts {
		fi, err := os.Stat(m.host)
		if err != nil {
			return fmt.Errorf("cannot give the program the directory %s: %w", m.host, err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("cannot give the program %s: not a directory", m.host)
		}
	}
	return nil
}

func runCommand(args []string, stdout, stderr io.Writer) error {
	f := newRunFlags(stdout)
	if err := parseFlags(f.fs, runUsage, args, stdout); err != nil {
		return err
	}
	if f.fs.NArg() == 0 {
		return usagef("run: missing the program (a .wasm, .wat or .cwasm file)")
	}
	prog, progArgs := f.fs.Arg(0), f.fs.Args()[1:]
	if err := checkMounts(f.mounts); err != nil {
		return err
	}

	if uint64(f.maxWasmStack) > math.MaxInt32 {
		return usagef("run: --max-wasm-stack %d is too large", f.maxWasmStack)
	}
	opts := loadOptions{
		cfg:     spry.Config{MaxWasmStack: int(f.maxWasmStack), ConsumeFuel: f.fuel.set},
		noCache: f.noCache,
	}
	if file, ok := stderr.(*os.File); ok && isTerminal(file) {
		opts.progress = stderr
	}
	engine, module, err := loadModule(prog, opts, f.fuel.set)
	if err != nil {
		return err
	}
	// The engine, module, linker and store are not closed: the process exits once the program has
	// run, which releases them faster than closing them would (unmapping the store's memory
	// reservation alone costs 0.1 to 0.4 ms, a tenth of a hello-world run). keepAlive holds them
	// until then, so that no cleanup closes one while the program runs.
	defer keepAlive(engine, module)

	linker, err := spry.NewLinker(engine)
	if err != nil {
		return err
	}
	defer keepAlive(linker)
	if err := defineWASI(linker); err != nil {
		return err
	}
	if f.trapUnknown {
		if err := linker.DefineUnknownImportsAsTraps(module); err != nil {
			return err
		}
	}
	store, err := spry.NewStore(engine)
	if err != nil {
		return err
	}
	defer keepAlive(store)
	argv0 := f.argv0
	if argv0 == "" {
		argv0 = filepath.Base(prog)
	}
	wasiArgs := append([]string{argv0}, progArgs...)
	if f.invoke != "" {
		wasiArgs = []string{argv0} // the arguments are the function's
	}
	if err := setWASI(store, wasiOptions{args: wasiArgs, env: f.env, mounts: f.mounts}); err != nil {
		return err
	}
	if f.maxMemory != 0 {
		if err := store.SetLimits(spry.StoreLimits{MaxMemoryBytes: uint64(f.maxMemory)}); err != nil {
			return err
		}
	}
	if engine.Config().ConsumeFuel {
		fuel := uint64(math.MaxUint64) // an artifact compiled with fuel accounting, run without --fuel
		if f.fuel.set {
			fuel = f.fuel.n
		}
		if err := store.SetFuel(fuel); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	signalled := ctx
	if f.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout)
		defer cancel()
	}
	err = execute(ctx, linker, store, module, f.invoke, progArgs, stdout)
	return programOutcome(err, signalled, f.timeout, stderr)
}

// execute instantiates module and runs it: --invoke's function (after _initialize, if exported), or
// _start, or _initialize for a reactor.
func execute(ctx context.Context, linker *spry.Linker, store *spry.Store, module *spry.Module,
	invoke string, args []string, stdout io.Writer) error {
	inst, err := linker.Instantiate(ctx, store, module)
	if err != nil {
		return err
	}
	exports := map[string]bool{}
	for _, e := range module.Exports() {
		if e.Type.Kind == spry.ExternFunc {
			exports[e.Name] = true
		}
	}
	call := func(name string) error {
		fn, err := inst.Func(name)
		if err != nil {
			return err
		}
		_, err = fn.Call(ctx)
		return err
	}
	if invoke == "" {
		switch {
		case exports["_start"]:
			return call("_start")
		case exports["_initialize"]:
			return call("_initialize")
		}
		return nil // a module without either: instantiating it (its start function) was the run
	}
	if exports["_initialize"] && !exports["_start"] {
		if err := call("_initialize"); err != nil {
			return err
		}
	}
	if !exports[invoke] {
		return fmt.Errorf("the module exports no function %q%s", invoke, exportList(module))
	}
	fn, err := inst.Func(invoke)
	if err != nil {
		return err
	}
	callArgs, err := parseArgs(fn.Type(), args)
	if err != nil {
		return usagef("run: --invoke %s: %v", invoke, err)
	}
	results, err := fn.Call(ctx, callArgs...)
	if err != nil {
		return err
	}
	for _, r := range results {
		fmt.Fprintln(stdout, formatResult(r))
	}
	return nil
}

// exportList is " (it exports: a, b)", the module's exported functions, or "".
func exportList(m *spry.Module) string {
	var names []string
	for _, e := range m.Exports() {
		if e.Type.Kind == spry.ExternFunc {
			names = append(names, e.Name)
		}
	}
	if len(names) == 0 {
		return " (it exports no functions)"
	}
	return " (it exports: " + strings.Join(names, ", ") + ")"
}

// programOutcome turns the result of running the program into the command's result: the program's
// exit code, or a trap reported (message and backtrace) with status 134, or an interruption.
func programOutcome(err error, signalled context.Context, timeout time.Duration, stderr io.Writer) error {
	if err == nil {
		return nil
	}
	if code, ok := exitCodeOf(err); ok {
		if code == 0 {
			return nil
		}
		return &exitStatus{code: code}
	}
	var trap *spry.Trap
	if !errors.As(err, &trap) {
		return err
	}
	if trap.Code() == spry.TrapInterrupt {
		if signalled.Err() != nil {
			return &exitStatus{code: exitSigInt}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			fmt.Fprintf(stderr, "Error: timed out: the program ran longer than --timeout %v\n", timeout)
			printBacktrace(stderr, trap)
			return &exitStatus{code: exitTrap}
		}
	}
	fmt.Fprintf(stderr, "Error: %s\n", message(trap))
	printBacktrace(stderr, trap)
	return &exitStatus{code: exitTrap}
}

// printBacktrace prints the trap's Wasm frames, innermost first, as wasmtime does.
func printBacktrace(w io.Writer, trap *spry.Trap) {
	frames := trap.Frames()
	if len(frames) == 0 {
		return
	}
	fmt.Fprintln(w, "wasm backtrace:")
	for i, f := range frames {
		fmt.Fprintf(w, "  %3d: %s\n", i, f)
	}
}

// keepAlive keeps objects reachable (from their cleanups) until it runs.
func keepAlive(objects ...any) {
	for _, o := range objects {
		runtime.KeepAlive(o)
	}
}
