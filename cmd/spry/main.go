// Command spry runs WebAssembly programs with the Spry runtime: WASI preview 1 command and reactor
// modules, in the binary (.wasm) or text (.wat) format or compiled ahead of time (.cwasm).
//
// Usage:
//
//	spry run [options] prog.wasm|prog.wat|prog.cwasm [args...]
//	spry compile [options] prog.wasm -o prog.cwasm
//	spry version
//
// The options of spry run follow wasmtime run's names (--dir, --env, --invoke, --fuel...), so that
// scripts written for it carry over; wazero run's -mount form is accepted too. Run "spry help run"
// for the full list.
//
// Exit status: the program's exit code (proc_exit), 0 when _start returns; 134 (128+SIGABRT, as
// wasmtime, which aborts) when the program traps; 130 when interrupted by a signal; 2 for a usage
// error; 1 for any other error (a file that cannot be read, a module that does not validate or link).
//
// Compiled modules are cached under the user's cache directory (os.UserCacheDir()/spry, for
// example ~/.cache/spry on Linux), so that the second run of a large module starts in milliseconds;
// --no-cache skips the cache.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	spry "github.com/spry-wasm/spry/go"
)

// Exit statuses of the command itself (a program's own exit code is passed through).
const (
	exitError  = 1   // an error before or around the program: unreadable file, invalid module, link error
	exitUsage  = 2   // a command line that does not parse
	exitTrap   = 134 // the program trapped: 128 + SIGABRT, the status wasmtime's abort gives on Unix
	exitSigInt = 130 // interrupted by SIGINT or SIGTERM: 128 + SIGINT, as a shell reports it
)

// usageError is a command-line error: reported with a pointer to the help, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitStatus is an error that carries the status the process must exit with, after its message (if
// any) was printed.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

const mainUsage = `Spry runs WebAssembly programs (WASI preview 1) compiled to native code.

Usage:
  spry <command> [arguments]

Commands:
  run       run a WebAssembly program (.wasm, .wat or a .cwasm from spry compile)
  compile   compile a module ahead of time into a .cwasm artifact
  version   print the versions of spry and of its engine
  help      show the help of a command

Examples:
  spry run hello.wasm
  spry run --dir .::/ --env HOME=/ prog.wasm --its-own-flag arg
  spry run --invoke add math.wat 1 2
  spry compile prog.wasm -o prog.cwasm && spry run prog.cwasm

Run "spry help <command>" (or "spry <command> --help") for a command's options.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the command with its arguments (without the program name); it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "run":
		err = runCommand(rest, stdout, stderr)
	case "compile":
		err = compileCommand(rest, stdout, stderr)
	case "version", "--version", "-version":
		err = versionCommand(rest, stdout)
	case "help", "-h", "-help", "--help":
		err = helpCommand(rest, stdout)
	default:
		err = usagef("unknown command %q", cmd)
	}
	var status *exitStatus
	var usage *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &status):
		return status.code
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "spry: %s\nRun 'spry help' for usage.\n", usage.msg)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "Error: %s\n", message(err))
		return exitError
	}
}

// message is err's text without the Go package's "spry: " prefixes, which the command's own
// "Error: " replaces.
func message(err error) string {
	return strings.ReplaceAll(err.Error(), "spry: ", "")
}

func helpCommand(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, mainUsage)
		return nil
	}
	switch args[0] {
	case "run":
		newRunFlags(stdout).fs.Usage()
	case "compile":
		newCompileFlags(stdout).fs.Usage()
	case "version":
		fmt.Fprint(stdout, versionUsage)
	default:
		return usagef("unknown help topic %q", args[0])
	}
	return nil
}

const versionUsage = `Usage: spry version

Prints the versions of spry, of its engine and of the Go toolchain that built it.
`

func versionCommand(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
			fmt.Fprint(stdout, versionUsage)
			return nil
		}
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(stdout, "spry %s (engine %s, %s %s/%s)\n", commandVersion(), spry.Version(),
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

// commandVersion is the command's module version, or the VCS revision it was built from.
func commandVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified == "true" {
		rev += "+dirty"
	}
	return "devel " + rev
}
