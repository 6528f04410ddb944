package main

// The command-line figure (-cli): `spry run hello.wasm` against `wazero run hello.wasm`, process
// start (exec) to exit, measured from Go (os/exec: Start to Wait), with each command's compile
// cache warmed by one run (spry: its default cache under XDG_CACHE_HOME, pointed at a temporary
// directory; wazero: -cachedir) and, for reference, without a cache (spry --no-cache; wazero
// without -cachedir). The runs of the commands alternate, so that both see the same load.
// wasmtime's CLI is not measured: it is not installed here and no prebuilt binary is in the Go
// module cache (wasmtime-go ships only libwasmtime.a).

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

var (
	cliRuns   = flag.Int("cli-runs", 50, "runs of each command for the `spry run` figure")
	spryCLI   = flag.String("spry-cli", "./spry-cli", "the spry command for the `spry run` figure (run.sh builds it from ../cmd/spry)")
	wazeroCLI = flag.String("wazero-cli", "./.bin/wazero", "the wazero command (v1.12.0) for the `spry run` figure (run.sh installs it)")
)

const helloPath = "workloads/wasi/hello.wasm"

// cliCommand is one way of running hello.wasm.
type cliCommand struct {
	rd   runnerDef
	fig  string
	args []string
	env  []string
}

func cliFigures() {
	hello, err := filepath.Abs(helloPath)
	if err == nil {
		_, err = os.Stat(hello)
	}
	if err != nil {
		fmt.Fprintf(progress, "skipping the `spry run` figure: %v (run workloads/build-wasi.sh)\n", err)
		return
	}
	tmp, err := os.MkdirTemp("", "spry-bench-cli-*")
	if err != nil {
		fmt.Fprintln(progress, "cli:", err)
		return
	}
	defer os.RemoveAll(tmp)
	spryCache, wazeroCache := filepath.Join(tmp, "xdg"), filepath.Join(tmp, "wazero")
	for _, d := range []string{spryCache, wazeroCache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			fmt.Fprintln(progress, "cli:", err)
			return
		}
	}
	spryEnv := []string{"XDG_CACHE_HOME=" + spryCache}
	var cmds []cliCommand
	var caches []string
	if selected("spry", "cli") {
		caches = append(caches, spryCache)
		rd := runnerDef{name: "spry", config: "cli"}
		cmds = append(cmds,
			cliCommand{rd, "run, cached", []string{*spryCLI, "run", hello}, spryEnv},
			cliCommand{rd, "run, no cache", []string{*spryCLI, "run", "--no-cache", hello}, spryEnv})
	}
	if selected("wazero", "cli") {
		caches = append(caches, wazeroCache)
		rd := runnerDef{name: "wazero", config: "cli"}
		cmds = append(cmds,
			cliCommand{rd, "run, cached", []string{*wazeroCLI, "run", "-cachedir", wazeroCache, hello}, nil},
			cliCommand{rd, "run, no cache", []string{*wazeroCLI, "run", hello}, nil})
	}
	// One run each: checks the output and fills the caches.
	for _, c := range cmds {
		if _, err := runHello(c); err != nil {
			fmt.Fprintf(progress, "skipping the `spry run` figure: %v\n", err)
			return
		}
	}
	// The caches must have been filled, or "cached" would not be.
	for _, d := range caches {
		if filesUnder(d) == 0 {
			fmt.Fprintf(progress, "skipping the `spry run` figure: no compile cache was written under %s\n", d)
			return
		}
	}
	times := make([][]time.Duration, len(cmds))
	for i := 0; i < *cliRuns; i++ {
		for j, c := range cmds {
			d, err := runHello(c)
			if err != nil {
				fmt.Fprintf(progress, "`spry run` figure: %v\n", err)
				return
			}
			times[j] = append(times[j], d)
		}
	}
	for j, c := range cmds {
		med, p90 := medianP90(times[j])
		wl := fmt.Sprintf("hello.wasm, %d runs", *cliRuns)
		recordW(c.rd, wl, c.fig+" median", ms(med), "ms")
		recordW(c.rd, wl, c.fig+" p90", ms(p90), "ms")
	}
}

// runHello runs one command and returns the time from its start to its exit; its output must be
// hello.c's line and its exit status 0.
func runHello(c cliCommand) (time.Duration, error) {
	cmd := exec.Command(c.args[0], c.args[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	err := cmd.Wait()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %v: %s", c.args, err, errOut.Bytes())
	}
	if out.String() != "hello, world\n" {
		return 0, fmt.Errorf("%v: output %q", c.args, out.String())
	}
	return d, nil
}

func filesUnder(dir string) int {
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}
