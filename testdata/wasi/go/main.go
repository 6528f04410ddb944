// Command wasiprog is a WASI test program built with GOOS=wasip1 GOARCH=wasm: args, environment,
// stdin, stdout and stderr, files and directories on the directory preopened as /data, sleeping
// through poll_oneoff, and the exit code named by the environment variable EXIT_CODE.
//
// Everything it prints is deterministic under a correct runtime, so that two runtimes can be
// compared byte for byte; directory listings are sorted.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	fmt.Printf("args: %q\n", os.Args)
	env := os.Environ()
	sort.Strings(env)
	fmt.Printf("environ: %q\n", env)
	v, ok := os.LookupEnv("GREETING")
	fmt.Printf("GREETING=%q set=%v\n", v, ok)

	in, err := io.ReadAll(os.Stdin)
	fmt.Printf("stdin: %d bytes, err=%v: %q\n", len(in), err, bytes.ToUpper(in))
	fmt.Fprintln(os.Stderr, "stderr: hello from Go")

	start := time.Now()
	time.Sleep(20 * time.Millisecond)
	fmt.Printf("time.Sleep(20ms) slept>=20ms: %v\n", time.Since(start) >= 20*time.Millisecond)

	if _, err := os.Stat("/data"); err == nil {
		files()
	} else {
		fmt.Printf("no /data: %v\n", errName(err))
	}

	code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
	fmt.Printf("exiting with %d\n", code)
	os.Exit(code)
}

func files() {
	b, err := os.ReadFile("/data/in.txt")
	fmt.Printf("read in.txt: %q %v\n", b, errName(err))
	step("write out.txt", os.WriteFile("/data/out.txt", []byte("written by Go\n"), 0o644))
	f, err := os.OpenFile("/data/out.txt", os.O_APPEND|os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString("appended\n")
		f.Close()
	}
	step("append out.txt", err)
	b, err = os.ReadFile("/data/out.txt")
	fmt.Printf("read out.txt: %q %v\n", b, errName(err))
	step("truncate out.txt 5", os.Truncate("/data/out.txt", 5))

	f, err = os.Open("/data/in.txt")
	if err == nil {
		buf := make([]byte, 4)
		n, err := f.ReadAt(buf, 6)
		fmt.Printf("ReadAt(4 @ 6): %q %v\n", buf[:n], errName(err))
		off, err := f.Seek(0, io.SeekEnd)
		fmt.Printf("Seek(0, end) = %d %v\n", off, errName(err))
		f.Close()
	}

	step("mkdir newdir/inner/deeper", os.MkdirAll("/data/newdir/inner/deeper", 0o755))
	step("mkdir newdir again", os.Mkdir("/data/newdir", 0o755))
	step("write deep.txt", os.WriteFile("/data/newdir/inner/deeper/deep.txt", []byte("deep\n"), 0o644))
	step("rename out.txt -> newdir/moved.txt", os.Rename("/data/out.txt", "/data/newdir/moved.txt"))
	step("rename old -> renamed", os.Rename("/data/old", "/data/renamed"))
	step("remove doomed.txt", os.Remove("/data/doomed.txt"))
	_, err = os.Stat("/data/doomed.txt")
	step("stat doomed.txt", err)
	step("remove sub (not empty)", syscall.Rmdir("/data/sub"))
	step("remove sub/a.txt", os.Remove("/data/sub/a.txt"))
	step("remove all sub", os.RemoveAll("/data/sub"))
	_, err = os.ReadFile("/data/missing/x.txt")
	step("read missing/x.txt", err)
	_, err = os.OpenFile("/data/in.txt", os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	step("create exclusive in.txt", err)

	fmt.Println("tree of /data:")
	tree("/data", 1)
}

func tree(dir string, depth int) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Printf("%sReadDir %s: %v\n", strings.Repeat("  ", depth), dir, errName(err))
		return
	}
	// os.ReadDir sorts by name already; sort again so that the order is this program's.
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		info, err := os.Stat(p)
		switch {
		case err != nil:
			fmt.Printf("%s%s: %v\n", strings.Repeat("  ", depth), e.Name(), errName(err))
		case info.IsDir():
			fmt.Printf("%s%s/ (entry type dir: %v)\n", strings.Repeat("  ", depth), e.Name(), e.IsDir())
			tree(p, depth+1)
		default:
			fmt.Printf("%s%s (%d bytes, regular: %v)\n", strings.Repeat("  ", depth), e.Name(), info.Size(), e.Type().IsRegular())
		}
	}
}

func step(what string, err error) { fmt.Printf("%s: %s\n", what, errName(err)) }

// errName names an error by its errno, so that the output does not depend on message wording.
func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		for name, e := range map[string]syscall.Errno{
			"ENOENT": syscall.ENOENT, "EEXIST": syscall.EEXIST, "ENOTEMPTY": syscall.ENOTEMPTY,
			"ENOTDIR": syscall.ENOTDIR, "EISDIR": syscall.EISDIR, "EBADF": syscall.EBADF,
			"EACCES": syscall.EACCES, "EPERM": syscall.EPERM, "EINVAL": syscall.EINVAL,
			"ENOTCAPABLE": syscall.ENOTCAPABLE,
		} {
			if errno == e {
				return name
			}
		}
		return fmt.Sprintf("errno %d", uintptr(errno))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "not exist"
	}
	return "error: " + err.Error()
}
