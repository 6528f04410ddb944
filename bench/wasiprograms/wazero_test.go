package wasiprograms

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
)

var (
	wazeroCacheOnce sync.Once
	wazeroCache     wazero.CompilationCache
)

// runWazero runs c through wazero v1.12's WASI with real clocks, sleeps and random (wazero's
// defaults are fake ones).
func runWazero(t *testing.T, wasm string, c Case, dir string) Result {
	t.Helper()
	wazeroCacheOnce.Do(func() { wazeroCache = wazero.NewCompilationCache() })
	ctx := context.Background()
	bin, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	r := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCompilationCache(wazeroCache))
	defer r.Close(ctx)
	wasi_snapshot_preview1.MustInstantiate(ctx, r)
	compiled, err := r.CompileModule(ctx, bin)
	if err != nil {
		t.Fatalf("wazero: compile %s: %v", wasm, err)
	}
	var stdout, stderr bytes.Buffer
	cfg := wazero.NewModuleConfig().
		WithArgs(c.Args...).
		WithStdin(strings.NewReader(c.Stdin)).
		WithStdout(&stdout).WithStderr(&stderr).
		WithSysWalltime().WithSysNanotime().WithSysNanosleep().
		WithRandSource(rand.Reader)
	for _, kv := range c.Env {
		cfg = cfg.WithEnv(kv[0], kv[1])
	}
	if dir != "" {
		cfg = cfg.WithFSConfig(wazero.NewFSConfig().WithDirMount(dir, "/data"))
	}
	res := Result{}
	mod, err := r.InstantiateModule(ctx, compiled, cfg)
	if mod != nil {
		mod.Close(ctx)
	}
	var exit *sys.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = int(exit.ExitCode())
	default:
		res.ExitCode = -1
		res.Err = err.Error()
	}
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	return res
}
