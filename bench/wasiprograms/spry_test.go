package wasiprograms

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	spry "github.com/spry-wasm/spry/go"
)

// Spry's half of the comparison: the same cases through Spry's Go API (docs/wasi.md), one engine
// and one linker with WASI defined for every case, a store with its own WASI state per run.
func init() { runners["spry"] = runSpry }

var spryState struct {
	once    sync.Once
	err     error
	engine  *spry.Engine
	linker  *spry.Linker
	mu      sync.Mutex
	modules map[string]*spry.Module
}

func spryModule(t *testing.T, wasm string) (*spry.Engine, *spry.Linker, *spry.Module) {
	t.Helper()
	s := &spryState
	s.once.Do(func() {
		s.engine, s.err = spry.NewEngine(nil)
		if s.err != nil {
			return
		}
		s.linker, s.err = spry.NewLinker(s.engine)
		if s.err != nil {
			return
		}
		s.err = s.linker.DefineWASI()
		s.modules = map[string]*spry.Module{}
	})
	if s.err != nil {
		t.Fatalf("spry: engine and linker with WASI: %v", s.err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.modules[wasm]; ok {
		return s.engine, s.linker, m
	}
	bin, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	m, err := spry.Compile(s.engine, bin)
	if err != nil {
		t.Fatalf("spry: compile %s: %v", wasm, err)
	}
	s.modules[wasm] = m
	return s.engine, s.linker, m
}

// runSpry runs c through Spry's WASI: args, env, stdin from a reader, stdout and stderr into
// buffers, dir preopened read-write as /data.
func runSpry(t *testing.T, wasm string, c Case, dir string) Result {
	t.Helper()
	ctx := context.Background()
	engine, linker, module := spryModule(t, wasm)
	var stdout, stderr bytes.Buffer
	cfg := spry.NewWASIConfig().
		WithArgs(c.Args...).
		WithStdin(strings.NewReader(c.Stdin)).
		WithStdout(&stdout).WithStderr(&stderr)
	for _, kv := range c.Env {
		cfg = cfg.WithEnv(kv[0], kv[1])
	}
	if dir != "" {
		cfg = cfg.WithDirMount(dir, "/data")
	}
	store, err := spry.NewStore(engine)
	if err != nil {
		t.Fatalf("spry: store: %v", err)
	}
	defer store.Close()
	if err := store.SetWASI(cfg); err != nil {
		t.Fatalf("spry: SetWASI: %v", err)
	}
	res := Result{}
	inst, err := linker.Instantiate(ctx, store, module)
	if err == nil {
		var start *spry.Func
		start, err = inst.Func("_start")
		if err == nil {
			_, err = start.Call(ctx)
		}
	}
	var exit *spry.ExitError
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
