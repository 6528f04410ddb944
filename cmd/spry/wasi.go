package main

import (
	"errors"

	spry "github.com/spry-wasm/spry/go"
)

// wasiOptions are the WASI state of the program's store.
type wasiOptions struct {
	args   []string
	env    envFlag
	mounts []mount
}

// defineWASI defines wasi_snapshot_preview1 in the linker.
func defineWASI(l *spry.Linker) error { return l.DefineWASI() }

// setWASI gives the store the program's WASI state: its arguments, environment, directories, and
// the process's stdin, stdout and stderr (as descriptors: the program writes to them directly).
func setWASI(s *spry.Store, o wasiOptions) error {
	cfg := spry.NewWASIConfig().WithArgs(o.args...).WithInheritStdio()
	for _, e := range o.env {
		cfg = cfg.WithEnv(e.name, e.value)
	}
	for _, m := range o.mounts {
		if m.readOnly {
			cfg = cfg.WithReadOnlyDirMount(m.host, m.guest)
		} else {
			cfg = cfg.WithDirMount(m.host, m.guest)
		}
	}
	return s.SetWASI(cfg)
}

// exitCodeOf returns the exit code of a program that called proc_exit.
func exitCodeOf(err error) (int, bool) {
	var exit *spry.ExitError
	if errors.As(err, &exit) {
		return int(exit.ExitCode()), true
	}
	return 0, false
}
