package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	spry "github.com/spry-wasm/spry/go"
)

const compileUsage = `Usage: spry compile [options] prog.wasm|prog.wat [-o prog.cwasm]

Compiles a module ahead of time into an artifact that spry run loads without compiling. The
artifact runs only with this build of spry on a CPU with the same features.

Options:
  -o FILE            write the artifact to FILE (default: the input's name with .cwasm)
  --consume-fuel     compile fuel accounting in, for spry run --fuel
  --no-cache         do not use or fill the compile cache

Examples:
  spry compile prog.wasm -o prog.cwasm
  spry run prog.cwasm arg1 arg2
`

// compileFlags are the options of spry compile.
type compileFlags struct {
	fs          *flag.FlagSet
	output      string
	consumeFuel bool
	noCache     bool
}

func newCompileFlags(help io.Writer) *compileFlags {
	f := &compileFlags{fs: flag.NewFlagSet("compile", flag.ContinueOnError)}
	f.fs.SetOutput(help)
	f.fs.Usage = func() { fmt.Fprint(help, compileUsage) }
	f.fs.StringVar(&f.output, "o", "", "")
	f.fs.BoolVar(&f.consumeFuel, "consume-fuel", false, "")
	f.fs.BoolVar(&f.noCache, "no-cache", false, "")
	return f
}

func compileCommand(args []string, stdout, stderr io.Writer) error {
	f := newCompileFlags(stdout)
	// Options may come after the input too (spry compile prog.wasm -o prog.cwasm).
	var inputs []string
	for {
		if err := parseFlags(f.fs, compileUsage, args, stdout); err != nil {
			return err
		}
		if f.fs.NArg() == 0 {
			break
		}
		inputs = append(inputs, f.fs.Arg(0))
		args = f.fs.Args()[1:]
	}
	if len(inputs) != 1 {
		return usagef("compile: want one input module, got %d", len(inputs))
	}
	input := inputs[0]
	head, err := fileHead(input)
	if err != nil {
		return err
	}
	if detectFormat(head) == formatArtifact {
		return fmt.Errorf("%s is already compiled", input)
	}
	output := f.output
	if output == "" {
		output = strings.TrimSuffix(input, filepath.Ext(input)) + ".cwasm"
		if output == input {
			return usagef("compile: give the output file with -o")
		}
	}
	opts := loadOptions{cfg: spry.Config{ConsumeFuel: f.consumeFuel}, noCache: f.noCache}
	if file, ok := stderr.(*os.File); ok && isTerminal(file) {
		opts.progress = stderr
	}
	engine, module, err := loadModule(input, opts, false)
	if err != nil {
		return err
	}
	defer engine.Close()
	defer module.Close()
	b, err := module.Serialize()
	if err != nil {
		return err
	}
	return writeFileAtomic(output, b)
}

// writeFileAtomic writes b to path through a temporary file renamed over it, so that a program
// running the old artifact (mapped from the file) is unaffected and no reader sees a partial one.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
