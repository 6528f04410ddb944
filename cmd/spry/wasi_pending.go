//go:build !spry_wasi

package main

// Until the Go package has WASI (issue 10): modules that import wasi_snapshot_preview1 fail to link.

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

var errNoWASI = errors.New("WASI is not available in this build")

func defineWASI(l *spry.Linker) error { return nil }

func setWASI(s *spry.Store, o wasiOptions) error {
	if len(o.env) > 0 || len(o.mounts) > 0 {
		return errNoWASI
	}
	return nil
}

func exitCodeOf(err error) (int, bool) { return 0, false }

// haveWASI says whether this build has WASI.
const haveWASI = false
