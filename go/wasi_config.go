package spry

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// WASIConfig is the WASI state a program runs with (wasi_snapshot_preview1): its arguments,
// environment, stdio, mounted directories and file trees, clocks and random source. Give it to a
// store with Store.SetWASI, after defining WASI in the store's linker with Linker.DefineWASI.
//
// A WASIConfig is immutable: every With method returns a new config and leaves the receiver as it
// was, so one base config can serve every request of a service and each request add its own stdout.
// It is safe for concurrent use; the stores set up with it share what it holds (the descriptors of
// its directories, its writers, readers and file trees: a writer shared by stores running at once
// must be safe for concurrent use).
//
// The native configuration is built once per WASIConfig, by the first SetWASI that uses it (this is
// when mount directories are opened and *os.File descriptors duplicated, and when a configuration
// error is reported); later stores only take a reference to it. A cleanup releases it once the
// WASIConfig is unreachable (Close releases it earlier); stores already set up keep what they use.
//
// A config made from another only by WithStdin, WithStdout, WithStderr and WithInheritStdio (any
// number of them) builds nothing: it shares the native configuration of the config it was made
// from, and SetWASI gives each store the derived config's streams on top of it. So a service's
// per-request base.WithStdout(&buf) costs about what base itself does. Such a stream belongs to the
// store: a reader or writer is released when the store is closed (or set up again), an *os.File
// is duplicated by each SetWASI and the duplicate closed with the store.
type WASIConfig struct {
	o wasiOptions
	b *wasiBuild // the native configuration, built on first use (wasi.go)

	// base, when set, is the config whose native configuration c shares: c was made from it by
	// stdio changes only (see withStdio); stdio says which of c's streams differ from base's (bit
	// i for stream i: stdin, stdout, stderr).
	base  *WASIConfig
	stdio uint8
}

// wasiOptions is what a WASIConfig says, in Go terms.
type wasiOptions struct {
	args               []string
	env                []string // name, value, name, value...
	stdin              wasiStream
	stdout, stderr     wasiStream
	mounts             []wasiMount
	walltime           func() (sec int64, nsec int32)
	walltimeResolution time.Duration
	nanotime           func() int64
	nanotimeResolution time.Duration
	rand               io.Reader
}

// wasiStream is one of stdin, stdout, stderr: nothing (the zero value), the process's own, an
// *os.File (passed as a descriptor), or a Go reader or writer (called back, through obj).
type wasiStream struct {
	inherit bool
	file    *os.File
	r       io.Reader
	w       io.Writer
	obj     *wasiObj // r or w, made once: what each native configuration or store registers
}

// wasiObj is a Go object a native configuration or a store calls back, registered in a handle
// table (wasi.go): its handle is the callback's env, released by the callback's finalizer once
// nothing native uses it. One object may be registered under several handles at once.
type wasiObj struct {
	r        io.Reader // stdin
	w        io.Writer // stdout or stderr
	rand     io.Reader
	walltime func() (int64, int32)
	nanotime func() int64
	fs       *wasiFS
}

// Bits of WASIConfig.stdio.
const (
	stdinBit uint8 = 1 << iota
	stdoutBit
	stderrBit
)

// wasiMount is a preopened directory: a host directory (host) or an fs.FS (fsys).
type wasiMount struct {
	host     string
	fsys     fs.FS
	guest    string
	readOnly bool
}

// NewWASIConfig returns an empty configuration: no arguments or environment, stdin at end of input,
// stdout and stderr discarded, no directories, the system's clocks and random source.
func NewWASIConfig() *WASIConfig {
	return &WASIConfig{b: new(wasiBuild)}
}

// with returns a copy of c changed by f (c nil is the empty configuration).
func (c *WASIConfig) with(f func(o *wasiOptions)) *WASIConfig {
	n := &WASIConfig{b: new(wasiBuild)}
	if c != nil {
		n.o = c.o
		n.o.args = slices.Clip(n.o.args)
		n.o.env = slices.Clip(n.o.env)
		n.o.mounts = slices.Clip(n.o.mounts)
	}
	f(&n.o)
	return n
}

// withStdio is with for a change of the streams named by bits only: the copy shares the native
// configuration of c's base (c itself, or the config c shares) and sets those streams per store.
func (c *WASIConfig) withStdio(bits uint8, f func(o *wasiOptions)) *WASIConfig {
	n := c.with(f)
	switch {
	case c == nil:
	case c.base != nil:
		n.base, n.stdio = c.base, c.stdio|bits
	default:
		n.base, n.stdio = c, bits
	}
	return n
}

// WithArgs returns a copy of c whose program arguments are args (replacing earlier ones); args[0]
// is, by convention, the program's name.
func (c *WASIConfig) WithArgs(args ...string) *WASIConfig {
	return c.with(func(o *wasiOptions) { o.args = slices.Clone(args) })
}

// WithEnv returns a copy of c with the environment variable name=value, replacing an earlier value
// of name. A name containing '=' or a NUL byte is reported by SetWASI.
func (c *WASIConfig) WithEnv(name, value string) *WASIConfig {
	return c.with(func(o *wasiOptions) {
		for i := 0; i+1 < len(o.env); i += 2 {
			if o.env[i] == name {
				o.env = slices.Clone(o.env)
				o.env[i+1] = value
				return
			}
		}
		o.env = append(o.env, name, value)
	})
}

// WithStdin returns a copy of c whose guest reads its stdin from r: an *os.File is read directly
// through its descriptor (duplicated by SetWASI: closing the file later does not affect stores,
// and, as os.File.Fd does, the file is put in blocking mode); any other reader is called from the
// store's goroutine, a Read returning io.EOF ends the input and another error is EIO to the guest.
// nil is an empty stdin. The copy shares c's native configuration (see WASIConfig).
func (c *WASIConfig) WithStdin(r io.Reader) *WASIConfig {
	return c.withStdio(stdinBit, func(o *wasiOptions) { o.stdin = readerStream(r) })
}

// WithStdout returns a copy of c whose guest writes its stdout to w: an *os.File is written
// directly through its descriptor (duplicated by SetWASI, as for WithStdin), without a call into
// Go; any other writer is called from the store's goroutine with a slice of the guest's memory
// (valid only during the call, as io.Writer's contract says), and an error it returns is EIO to the
// guest. nil discards the output. The copy shares c's native configuration (see WASIConfig), so
// base.WithStdout(&buf) per request is cheap; w serves every store set up with the copy, possibly
// several at once.
func (c *WASIConfig) WithStdout(w io.Writer) *WASIConfig {
	return c.withStdio(stdoutBit, func(o *wasiOptions) { o.stdout = writerStream(w) })
}

// WithStderr is WithStdout for stderr.
func (c *WASIConfig) WithStderr(w io.Writer) *WASIConfig {
	return c.withStdio(stderrBit, func(o *wasiOptions) { o.stderr = writerStream(w) })
}

// WithInheritStdio returns a copy of c whose guest uses the process's own stdin, stdout and stderr
// (descriptors 0, 1 and 2, directly). The copy shares c's native configuration.
func (c *WASIConfig) WithInheritStdio() *WASIConfig {
	return c.withStdio(stdinBit|stdoutBit|stderrBit, func(o *wasiOptions) {
		o.stdin = wasiStream{inherit: true}
		o.stdout = wasiStream{inherit: true}
		o.stderr = wasiStream{inherit: true}
	})
}

// WithDirMount returns a copy of c in which the host directory hostDir is the guest's directory
// guestPath ("/", "/data", "."...), read-write. The guest cannot reach outside it (no "..",
// symbolic link or race escapes it). The directory is opened by the first SetWASI, which reports
// an error if it cannot be.
func (c *WASIConfig) WithDirMount(hostDir, guestPath string) *WASIConfig {
	return c.with(func(o *wasiOptions) {
		o.mounts = append(o.mounts, wasiMount{host: hostDir, guest: guestPath})
	})
}

// WithReadOnlyDirMount is WithDirMount for a read-only directory: every change (creating, writing,
// renaming, removing, setting times) fails, and files cannot be opened for writing.
func (c *WASIConfig) WithReadOnlyDirMount(hostDir, guestPath string) *WASIConfig {
	return c.with(func(o *wasiOptions) {
		o.mounts = append(o.mounts, wasiMount{host: hostDir, guest: guestPath, readOnly: true})
	})
}

// WithFSMount returns a copy of c in which fsys (an embed.FS, an fstest.MapFS, os.DirFS...) is the
// guest's read-only directory guestPath. The guest lists directories (fs.ReadDir), stats (fs.Stat)
// and reads files: through io.ReaderAt when the opened file has it, else io.Seeker, else by
// reading from the start. fsys is called from the goroutines running the stores, possibly several
// at once.
func (c *WASIConfig) WithFSMount(fsys fs.FS, guestPath string) *WASIConfig {
	return c.with(func(o *wasiOptions) {
		o.mounts = append(o.mounts, wasiMount{fsys: fsys, guest: guestPath, readOnly: true})
	})
}

// WithWalltime returns a copy of c whose wall clock (CLOCK_REALTIME) is walltime, which returns
// the seconds and nanoseconds since the Unix epoch, with the given resolution (deterministic tests).
// nil restores the system clock.
func (c *WASIConfig) WithWalltime(walltime func() (sec int64, nsec int32), resolution time.Duration) *WASIConfig {
	return c.with(func(o *wasiOptions) { o.walltime, o.walltimeResolution = walltime, resolution })
}

// WithNanotime returns a copy of c whose monotonic clock (CLOCK_MONOTONIC) is nanotime, which
// returns nanoseconds since a fixed origin and never decreases, with the given resolution. nil
// restores the system clock.
func (c *WASIConfig) WithNanotime(nanotime func() int64, resolution time.Duration) *WASIConfig {
	return c.with(func(o *wasiOptions) { o.nanotime, o.nanotimeResolution = nanotime, resolution })
}

// WithRandSource returns a copy of c whose random_get reads from r (io.ReadFull; an error is EIO to
// the guest). A seeded generator makes runs repeatable. nil restores the system's source.
func (c *WASIConfig) WithRandSource(r io.Reader) *WASIConfig {
	return c.with(func(o *wasiOptions) { o.rand = r })
}

func readerStream(r io.Reader) wasiStream {
	if f, ok := r.(*os.File); ok && f != nil {
		return wasiStream{file: f}
	}
	if r == nil {
		return wasiStream{}
	}
	return wasiStream{r: r, obj: &wasiObj{r: r}}
}

func writerStream(w io.Writer) wasiStream {
	if f, ok := w.(*os.File); ok && f != nil {
		return wasiStream{file: f}
	}
	if w == nil {
		return wasiStream{}
	}
	return wasiStream{w: w, obj: &wasiObj{w: w}}
}

// ExitError is the error of a call that ended because the guest called proc_exit with a nonzero
// code, or with code 0 where the call had results to return or was an instantiation (see
// Store.SetWASI). Recover it with errors.As.
type ExitError struct {
	code uint32
}

// ExitCode returns the code the guest passed to proc_exit (0 to 255 for programs built by the
// usual toolchains; any uint32 otherwise).
func (e *ExitError) ExitCode() int { return int(e.code) }

// Error returns "spry: exit status N".
func (e *ExitError) Error() string { return fmt.Sprintf("spry: exit status %d", e.code) }
