//go:build cgo

package spry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	spry "github.com/spry-wasm/spry/go"
)

// Per-store stdio: a config made from a base by WithStdin/WithStdout/WithStderr/WithInheritStdio
// shares the base's native configuration, and SetWASI gives each store its own streams.

// stdioBase is a base config whose native configuration is visible to the guest: a file tree at
// descriptor 3 holding base.txt.
func stdioBase() *spry.WASIConfig {
	return spry.NewWASIConfig().WithArgs("prog", "x").WithEnv("K", "V").
		WithFSMount(fstest.MapFS{"base.txt": {Data: []byte("from the base")}}, "/base")
}

func TestWASIStdioSharesTheBase(t *testing.T) {
	e := newWASIEnv(t, nil)
	base := stdioBase()
	builds := spry.WASIBuildCount()
	var outs [3]bytes.Buffer
	for i := range outs {
		r := e.run(t, base.WithStdout(&outs[i]))
		if _, err := r.callErr(context.Background(), "_start"); err != nil {
			t.Fatal(err)
		}
		if got := r.readFile(3, "base.txt"); got != "from the base" {
			t.Errorf("store %d reads %q from the base's file tree", i, got)
		}
	}
	for i := range outs {
		if got := outs[i].String(); got != "hello\n" {
			t.Errorf("store %d: stdout %q, want %q", i, got, "hello\n")
		}
	}
	if n := spry.WASIBuildCount() - builds; n != 1 {
		t.Errorf("%d native configurations built for three stores of base.WithStdout, want 1 (the base's)", n)
	}

	// A chain of stdio changes shares the base too; each stream goes where the last change says.
	var first, out, errOut bytes.Buffer
	builds = spry.WASIBuildCount()
	r := e.run(t, base.WithStdout(&first).WithStderr(&errOut).WithStdout(&out))
	if _, err := r.callErr(context.Background(), "_start"); err != nil {
		t.Fatal(err)
	}
	r.put(scratch, []byte("oops"))
	if errno := r.call("write", int32(2), int32(scratch), int32(4)); errno != 0 {
		t.Fatalf("fd_write to stderr: errno %d", errno)
	}
	if out.String() != "hello\n" || errOut.String() != "oops" || first.Len() != 0 {
		t.Errorf("stdout %q, stderr %q, replaced stdout %q", out.String(), errOut.String(), first.String())
	}
	if n := spry.WASIBuildCount() - builds; n != 0 {
		t.Errorf("%d native configurations built for a chain of stdio changes, want 0", n)
	}

	// Stdin, and the process's own stdio, are streams like the others.
	r = e.run(t, base.WithStdin(strings.NewReader("input")))
	if errno := r.call("read", int32(0), int32(scratch), int32(16)); errno != 0 || r.u32(8) != 5 {
		t.Fatalf("fd_read: errno %d, %d bytes", errno, r.u32(8))
	}
	if got := string(r.get(scratch, 5)); got != "input" {
		t.Errorf("stdin %q", got)
	}
	e.run(t, base.WithInheritStdio())
	if n := spry.WASIBuildCount() - builds; n != 0 {
		t.Errorf("%d native configurations built for stdin and inherited stdio, want 0", n)
	}

	// Any other change builds a configuration of its own, stdio included.
	var own bytes.Buffer
	r = e.run(t, base.WithStdout(&own).WithEnv("K2", "V2"))
	if _, err := r.callErr(context.Background(), "_start"); err != nil {
		t.Fatal(err)
	}
	if own.String() != "hello\n" {
		t.Errorf("stdout of a config built on its own: %q", own.String())
	}
	if n := spry.WASIBuildCount() - builds; n != 1 {
		t.Errorf("%d native configurations built for base.WithStdout(w).WithEnv(...), want 1", n)
	}
}

func TestWASIStdioWriterReleasedWithTheStore(t *testing.T) {
	e := newWASIEnv(t, nil)
	base := stdioBase()
	w := &countingWriter{}
	cfg := base.WithStdout(w)
	s1 := e.run(t, cfg)
	s2 := e.run(t, cfg)
	if n := spry.WASIRegistrations(w); n != 2 {
		t.Fatalf("the writer has %d registrations with two stores, want 2 (one per store)", n)
	}
	for _, r := range []*wasiRun{s1, s2} {
		if _, err := r.callErr(context.Background(), "_start"); err != nil {
			t.Fatal(err)
		}
	}
	if w.n != 12 {
		t.Errorf("the writer got %d bytes from two stores, want 12", w.n)
	}
	s1.store.Close()
	if n := spry.WASIRegistrations(w); n != 1 {
		t.Errorf("after closing one store: %d registrations, want 1", n)
	}
	// Setting the store up again releases its earlier streams.
	if err := s2.store.SetWASI(base); err != nil {
		t.Fatal(err)
	}
	if n := spry.WASIRegistrations(w); n != 0 {
		t.Errorf("after setting the last store up again: %d registrations, want 0", n)
	}
	// A failed SetWASI releases what it registered.
	s3 := must(spry.NewStore(e.engine))(t)
	defer s3.Close()
	bad := spry.NewWASIConfig().WithDirMount(filepath.Join(t.TempDir(), "missing"), "/m")
	if err := s3.SetWASI(bad.WithStdout(w)); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a base that cannot be built: %v", err)
	}
	if n := spry.WASIRegistrations(w); n != 0 {
		t.Errorf("after a failed SetWASI: %d registrations, want 0", n)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func TestWASIStdioConcurrentStores(t *testing.T) {
	e := newWASIEnv(t, nil)
	base := stdioBase()
	var shared lockedBuffer
	sharedCfg := base.WithStderr(&shared) // one writer for every store, several at once
	const goroutines, runs = 4, 40
	builds := spry.WASIBuildCount()
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- func() error {
				for i := range runs {
					var out bytes.Buffer
					s, err := spry.NewStore(e.engine)
					if err != nil {
						return err
					}
					defer s.Close()
					if err := s.SetWASI(base.WithStdout(&out)); err != nil {
						return err
					}
					inst, err := e.linker.Instantiate(context.Background(), s, e.module)
					if err != nil {
						return err
					}
					start, err := inst.Func("_start")
					if err != nil {
						return err
					}
					if _, err := start.Call(context.Background()); err != nil {
						return err
					}
					if out.String() != "hello\n" {
						return fmt.Errorf("goroutine %d, run %d: stdout %q", g, i, out.String())
					}
					// The same guest output, to the shared writer through stderr.
					s2, err := spry.NewStore(e.engine)
					if err != nil {
						return err
					}
					defer s2.Close()
					if err := s2.SetWASI(sharedCfg); err != nil {
						return err
					}
					inst2, err := e.linker.Instantiate(context.Background(), s2, e.module)
					if err != nil {
						return err
					}
					write, err := inst2.Func("write")
					if err != nil {
						return err
					}
					if res, err := write.Call(context.Background(), int32(2), int32(256), int32(6)); err != nil || res[0] != int32(0) {
						return fmt.Errorf("fd_write to the shared stderr: %v, %v", res, err)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got, want := shared.Len(), goroutines*runs*6; got != want {
		t.Errorf("the shared writer got %d bytes, want %d", got, want)
	}
	if n := spry.WASIBuildCount() - builds; n != 1 {
		t.Errorf("%d native configurations built, want 1 (the base's)", n)
	}
	if n := spry.WASIRegistrations(&shared); n != 0 {
		t.Errorf("%d registrations of the shared writer after every store closed, want 0", n)
	}
}

func TestWASIStdioFileIsADescriptor(t *testing.T) {
	e := newWASIEnv(t, nil)
	base := stdioBase()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := base.WithStdout(f)
	builds, callbacks := spry.WASIBuildCount(), spry.WASICallbackCount()
	for range 2 {
		r := e.run(t, cfg)
		if _, err := r.callErr(context.Background(), "_start"); err != nil {
			t.Fatal(err)
		}
		r.store.Close()
	}
	if n := spry.WASICallbackCount() - callbacks; n != 0 {
		t.Errorf("%d Go callbacks ran for an *os.File stdout, want 0", n)
	}
	if b, _ := os.ReadFile(f.Name()); string(b) != "hello\nhello\n" {
		t.Errorf("file holds %q, want two greetings", b)
	}
	if n := spry.WASIBuildCount() - builds; n != 1 {
		t.Errorf("%d native configurations built, want 1 (the base's)", n)
	}

	// The store owns its duplicate: the pipe's last write end closes with the store, while the
	// derived config is still alive.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	pcfg := base.WithStderr(pw)
	r := e.run(t, pcfg)
	pw.Close()
	r.put(scratch, []byte("to the pipe"))
	if errno := r.call("write", int32(2), int32(scratch), int32(11)); errno != 0 {
		t.Fatalf("fd_write to the pipe: errno %d", errno)
	}
	r.store.Close()
	// A guard against a hang if the write end stayed open, not a timing assertion.
	pr.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(pr); string(b) != "to the pipe" || err != nil {
		t.Errorf("pipe got %q, %v", b, err)
	}
	runtime.KeepAlive(pcfg)
}

func TestWASIStdioClose(t *testing.T) {
	e := newWASIEnv(t, nil)
	s := must(spry.NewStore(e.engine))(t)
	defer s.Close()
	// A derived config closed: its SetWASI fails; its base is not affected.
	base := stdioBase()
	var out bytes.Buffer
	derived := base.WithStdout(&out)
	derived.Close()
	if err := s.SetWASI(derived); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("SetWASI with a closed derived config: %v, want ErrClosed", err)
	}
	if err := s.SetWASI(base); err != nil {
		t.Errorf("the base of a closed config: %v", err)
	}
	// The base closed: the derived config builds its own and still works.
	derived = base.WithStdout(&out)
	base.Close()
	if err := s.SetWASI(base); !errors.Is(err, spry.ErrClosed) {
		t.Errorf("SetWASI with a closed base: %v, want ErrClosed", err)
	}
	builds := spry.WASIBuildCount()
	r := e.run(t, derived)
	if _, err := r.callErr(context.Background(), "_start"); err != nil {
		t.Fatal(err)
	}
	if got := r.readFile(3, "base.txt"); got != "from the base" || out.String() != "hello\n" {
		t.Errorf("a config whose base was closed: file %q, stdout %q", got, out.String())
	}
	if n := spry.WASIBuildCount() - builds; n != 1 {
		t.Errorf("%d native configurations built after the base was closed, want 1", n)
	}
}

func TestWASIStdioSetWASIAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	e := newWASIEnv(t, nil)
	s := must(spry.NewStore(e.engine))(t)
	defer s.Close()
	var w countingWriter
	cfg := stdioBase().WithStdout(&w).WithStderr(&w)
	allocs := testing.AllocsPerRun(100, func() {
		if err := s.SetWASI(cfg); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("SetWASI with per-store writers allocates %v times, want 0", allocs)
	}
	if n := spry.WASIRegistrations(&w); n != 2 {
		t.Errorf("%d registrations of the writer after 101 SetWASI on one store, want 2 (its stdout and stderr)", n)
	}
}
