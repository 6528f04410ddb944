package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// envVar is one --env: NAME=VALUE, or NAME for the host's value.
type envVar struct{ name, value string }

// envFlag collects --env NAME=VALUE and --env NAME (the host's value; skipped when the host has
// none), in order.
type envFlag []envVar

func (e *envFlag) String() string {
	var b strings.Builder
	for i, v := range *e {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(v.name + "=" + v.value)
	}
	return b.String()
}

func (e *envFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if name == "" {
		return errors.New("want NAME=VALUE or NAME")
	}
	if !ok {
		host, present := os.LookupEnv(name)
		if !present {
			return nil // as wasmtime: a variable the host does not have is not passed
		}
		value = host
	}
	*e = append(*e, envVar{name, value})
	return nil
}

// byteSize is a size in bytes: a number with an optional suffix K, M, G, T (powers of 1024, also
// written KiB, MiB...) or KB, MB, GB, TB (powers of 1000). 0 means unset.
type byteSize uint64

func (b *byteSize) String() string { return strconv.FormatUint(uint64(*b), 10) }

func (b *byteSize) Set(v string) error {
	n, err := parseByteSize(v)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

func parseByteSize(v string) (uint64, error) {
	s := strings.TrimSpace(v)
	mult := uint64(1)
	upper := strings.ToUpper(s)
	for _, u := range []struct {
		suffix string
		mult   uint64
	}{
		{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
	} {
		if strings.HasSuffix(upper, u.suffix) {
			s, mult = s[:len(s)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size in bytes (examples: 65536, 64K, 16MiB, 1G)", v)
	}
	if n > math.MaxUint64/mult {
		return 0, fmt.Errorf("%q is too large", v)
	}
	return n * mult, nil
}

// parseFlags parses args with fs (whose output is discarded): -h or --help print usage to help
// and return errHelp; any other error is a usage error.
func parseFlags(fs *flag.FlagSet, usage string, args []string, help io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(help, usage)
			return errHelp
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// errHelp ends a command after its help was printed, with status 0.
var errHelp = &exitStatus{code: 0}

// fuelFlag is --fuel N: set or not (0 is a valid amount).
type fuelFlag struct {
	n   uint64
	set bool
}

func (f *fuelFlag) String() string { return strconv.FormatUint(f.n, 10) }

func (f *fuelFlag) Set(v string) error {
	n, err := strconv.ParseUint(strings.ReplaceAll(v, "_", ""), 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a non-negative integer", v)
	}
	f.n, f.set = n, true
	return nil
}
