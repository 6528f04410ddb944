// Command bench measures Spry, wasmtime-go, wasmtime through its C API (pooling allocator,
// copy-on-write images, InstancePre) and wazero side by side on the same workloads in one run.
// Run it through run.sh, which points cgo at the wasmtime C headers inside the wasmtime-go module.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Runner is one runtime in one configuration, made fresh for each workload.
type Runner interface {
	Compile(w *Workload) (Module, error)
	Close()
}

// Module is a compiled workload.
type Module interface {
	// Serialize returns errUnsupported when the runner has no serialized form.
	Serialize() ([]byte, error)
	Deserialize(b []byte) (Module, error)
	// Prepare defines the host stubs and readies instantiation (InstancePre where there is one).
	Prepare() error
	// Instantiate makes a new store and instantiates the module in it; with write, it also
	// writes 4 bytes to the exported memory.
	Instantiate(write bool) (Instance, error)
	Close()
}

// fileDeserializer is a Module whose runtime loads a serialized module from a file.
type fileDeserializer interface {
	DeserializeFile(path string) (Module, error)
}

// Instance is a live instance with its own store.
type Instance interface {
	// Calls returns the empty call and the host round trip (Go → Wasm → Go → Wasm).
	Calls() (empty, roundTrip func() error, err error)
	Close() // closes the store
}

var errUnsupported = errors.New("unsupported")

type runnerDef struct {
	name, config string
	make         func() (Runner, error)
}

type result struct {
	runtime, config, workload, figure string
	value                             float64
	unit                              string
}

var (
	quick    = flag.Bool("quick", false, "workloads (a) and (b) only, shorter measurements (under two minutes)")
	outFile  = flag.String("o", "", "write the results as TSV to `FILE`")
	only     = flag.String("runtimes", "", "comma-separated runtimes (name or name/config) to run (default all)")
	wlFlag   = flag.String("workloads", "", "comma-separated workloads to run (default a,b,c,d; -quick: a,b)")
	liveN    = flag.Int("live", 10000, "live instances for the resident-memory figure")
	cycleFor = flag.Duration("cycle", 0, "for profiling (perf record): only run the new store + instantiate + close cycle, for this long per runtime and workload, and print its time")
	cycleG   = flag.Int("cycle-goroutines", 1, "with -cycle: run the cycle on this many goroutines at once (the time printed is per cycle of one goroutine)")
	target   time.Duration
	results  []result
	progress = os.Stderr
)

func main() {
	flag.Parse()
	target = time.Second
	if *quick {
		target = 300 * time.Millisecond
	}
	runners := allRunners()
	if *only != "" {
		var keep []runnerDef
		for _, r := range runners {
			if strings.Contains(","+*only+",", ","+r.name+",") || strings.Contains(","+*only+",", ","+r.name+"/"+r.config+",") {
				keep = append(keep, r)
			}
		}
		runners = keep
	}
	names := "a,b,c,d"
	if *quick {
		names = "a,b"
	}
	if *wlFlag != "" {
		names = *wlFlag
	}
	var wls []*Workload
	for _, n := range strings.Split(names, ",") {
		switch n {
		case "a":
			wls = append(wls, workloadA())
		case "b":
			wls = append(wls, workloadB())
		case "c":
			w, err := fileWorkload("c", "C program, clang wasm32-wasi", "workloads/c/program.wasm", "workloads/build-c.sh")
			if err != nil {
				fmt.Fprintln(progress, "skipping:", err)
				continue
			}
			wls = append(wls, w)
		case "d":
			w, err := fileWorkload("d", "ruby.wasm, @ruby/3.4-wasm-wasi@2.10.1", "workloads/ruby/ruby.wasm", "workloads/fetch-ruby.sh")
			if err != nil {
				fmt.Fprintln(progress, "skipping:", err)
				continue
			}
			w.SkipRSS = true
			wls = append(wls, w)
		}
	}
	fmt.Fprintf(progress, "%s %s/%s, %d CPUs, target %v per figure, load average %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), target, loadavg())
	if !extrasOnly() {
		for _, w := range wls {
			fmt.Fprintf(progress, "workload %s: %s, %d bytes, %d imports\n", w.Name, w.Desc, len(w.Wasm), len(w.Imports))
			for _, rd := range runners {
				if err := runOne(rd, w); err != nil {
					fmt.Fprintf(progress, "  %s/%s on %s: %v\n", rd.name, rd.config, w.Name, err)
				}
			}
		}
	}
	first := runExtras(workloadC(wls))
	fmt.Fprintf(progress, "load average at the end: %s\n", loadavg())
	if !extrasOnly() {
		printTable(os.Stdout, runners, wls, results[:first])
	}
	printExtras(os.Stdout, first)
	if *outFile != "" {
		if err := writeTSV(*outFile); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

// workloadC returns workload (c) from wls, or read from its file (nil when it is missing).
func workloadC(wls []*Workload) *Workload {
	for _, w := range wls {
		if w.Name == "c" {
			return w
		}
	}
	w, err := fileWorkload("c", "C program, clang wasm32-wasi", "workloads/c/program.wasm", "workloads/build-c.sh")
	if err != nil {
		return nil
	}
	return w
}

func record(rd runnerDef, w *Workload, figure string, value float64, unit string) {
	results = append(results, result{rd.name, rd.config, w.Name, figure, value, unit})
	fmt.Fprintf(progress, "  %-14s %-16s %s %-18s %12.4g %s\n", rd.name, rd.config, w.Name, figure, value, unit)
}

// measure runs op in a loop calibrated to take about target and returns the time per op.
func measure(op func() error) (time.Duration, error) {
	run := func(n int) (time.Duration, error) {
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := op(); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	n := 1
	for {
		el, err := run(n)
		if err != nil {
			return 0, err
		}
		if el >= target {
			return el / time.Duration(n), nil
		}
		if el >= target/10 || n >= 1<<30 {
			m := int(float64(n) * float64(target) / float64(max(el, 1)))
			el, err = run(m)
			if err != nil {
				return 0, err
			}
			return el / time.Duration(m), nil
		}
		n *= 10
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
func us(d time.Duration) float64 { return float64(d) / 1e3 }

func runOne(rd runnerDef, w *Workload) error {
	r, err := rd.make()
	if err != nil {
		return err
	}
	defer r.Close()

	if *cycleFor > 0 {
		mod, err := r.Compile(w)
		if err != nil {
			return fmt.Errorf("compile: %w", err)
		}
		defer mod.Close()
		return cycleOnly(rd, w, mod)
	}
	// Compile time.
	var mod Module
	d, err := measure(func() error {
		m, err := r.Compile(w)
		if err != nil {
			return err
		}
		if mod == nil {
			mod = m
		} else {
			m.Close()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("compile: %w", err)
	}
	defer mod.Close()
	record(rd, w, "compile", ms(d), "ms")

	// Deserialize time.
	if ser, err := mod.Serialize(); err == nil {
		d, err := measure(func() error {
			m, err := mod.Deserialize(ser)
			if err != nil {
				return err
			}
			m.Close()
			return nil
		})
		if err != nil {
			return fmt.Errorf("deserialize: %w", err)
		}
		record(rd, w, "deserialize", ms(d), "ms")
		if fd, ok := mod.(fileDeserializer); ok {
			if err := measureFile(rd, w, fd, ser); err != nil {
				return fmt.Errorf("deserialize file: %w", err)
			}
		}
	} else if !errors.Is(err, errUnsupported) {
		return fmt.Errorf("serialize: %w", err)
	}

	if err := mod.Prepare(); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	cycle := func(write bool) func() error {
		return func() error {
			inst, err := mod.Instantiate(write)
			if err != nil {
				return err
			}
			inst.Close()
			return nil
		}
	}
	// New store + instantiate + close, sequential; then with one 4-byte write.
	for _, write := range []bool{false, true} {
		d, err := measure(cycle(write))
		fig := "instantiate"
		if write {
			fig = "instantiate+write"
		}
		if err != nil {
			return fmt.Errorf("%s: %w", fig, err)
		}
		record(rd, w, fig, us(d), "µs")
	}
	// Instances per second with one and two goroutines.
	for _, g := range []int{1, 2} {
		n, err := throughput(g, cycle(false))
		if err != nil {
			return fmt.Errorf("throughput: %w", err)
		}
		record(rd, w, fmt.Sprintf("inst/s %dg", g), n, "inst/s")
	}
	// Resident memory with many live instances.
	if !w.SkipRSS {
		mib, err := liveRSS(mod, *liveN)
		if err != nil {
			return fmt.Errorf("rss: %w", err)
		}
		record(rd, w, fmt.Sprintf("rss %dk live", *liveN/1000), mib, "MiB")
	}
	// Calls.
	if w.HasEmpty {
		inst, err := mod.Instantiate(false)
		if err != nil {
			return err
		}
		defer inst.Close()
		empty, rt, err := inst.Calls()
		if err != nil {
			return fmt.Errorf("calls: %w", err)
		}
		d, err := measure(empty)
		if err != nil {
			return fmt.Errorf("empty call: %w", err)
		}
		record(rd, w, "call empty", float64(d), "ns")
		if w.Calls && rt != nil {
			d, err := measure(rt)
			if err != nil {
				return fmt.Errorf("round trip: %w", err)
			}
			record(rd, w, "call host roundtrip", float64(d), "ns")
		}
	}
	return nil
}

// measureFile records the time to load the serialized module ser from a file.
func measureFile(rd runnerDef, w *Workload, fd fileDeserializer, ser []byte) error {
	f, err := os.CreateTemp("", "spry-bench-*.bin")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(ser); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	d, err := measure(func() error {
		m, err := fd.DeserializeFile(f.Name())
		if err != nil {
			return err
		}
		m.Close()
		return nil
	})
	if err != nil {
		return err
	}
	record(rd, w, "deserialize file", ms(d), "ms")
	return nil
}

// cycleOnly runs new store + instantiate + close for *cycleFor and records its time (-cycle).
func cycleOnly(rd runnerDef, w *Workload, mod Module) error {
	if err := mod.Prepare(); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, *cycleG)
	start := time.Now()
	for g := 0; g < *cycleG; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for time.Since(start) < *cycleFor {
				for i := 0; i < 1000; i++ {
					inst, err := mod.Instantiate(false)
					if err != nil {
						errs <- err
						return
					}
					inst.Close()
				}
				n += 1000
			}
			total.Add(int64(n))
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	per := time.Since(start) * time.Duration(*cycleG) / time.Duration(total.Load())
	record(rd, w, "instantiate", us(per), "µs")
	return nil
}

func throughput(g int, op func() error) (float64, error) {
	var stop atomic.Bool
	var total atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(0)
			for !stop.Load() {
				if err := op(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					break
				}
				n++
			}
			total.Add(n)
		}()
	}
	time.Sleep(target)
	stop.Store(true)
	wg.Wait()
	el := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(total.Load()) / el.Seconds(), nil
}

func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return res * int64(os.Getpagesize())
}

// rssCap bounds the growth of the resident set in liveRSS; past it, the figure is extrapolated.
const rssCap = 6 << 30

// liveRSS returns the growth of the resident set, in MiB, while n instances are alive (the
// instances, their stores and the Go objects that hold them). When the growth passes rssCap first,
// it stops there and extrapolates linearly to n, saying so on stderr.
func liveRSS(mod Module, n int) (float64, error) {
	// One instance first, so that lazily made per-module state is not counted.
	if in, err := mod.Instantiate(false); err == nil {
		in.Close()
	} else {
		return 0, err
	}
	trimHeaps()
	before := rssBytes()
	insts := make([]Instance, 0, n)
	defer func() {
		for _, in := range insts {
			in.Close()
		}
		runtime.GC()
	}()
	for i := 0; i < n; i++ {
		in, err := mod.Instantiate(false)
		if err != nil {
			return 0, fmt.Errorf("instance %d: %w", i, err)
		}
		insts = append(insts, in)
		if i%500 == 499 && i+1 < n && rssBytes()-before > rssCap {
			break
		}
	}
	trimHeaps()
	after := rssBytes()
	mib := float64(after-before) / (1 << 20)
	if len(insts) < n {
		fmt.Fprintf(progress, "  (resident memory passed %d GiB at %d live instances: extrapolated to %d)\n", rssCap>>30, len(insts), n)
		mib *= float64(n) / float64(len(insts))
	}
	return mib, nil
}

var figureOrder = []string{"compile", "deserialize file", "deserialize", "instantiate", "instantiate+write", "inst/s 1g", "inst/s 2g", "rss", "call empty", "call host roundtrip"}

func figureRank(f string) int {
	for i, p := range figureOrder {
		if strings.HasPrefix(f, p) {
			return i
		}
	}
	return len(figureOrder)
}

// printTable prints one row per workload and figure, one column per runtime/config.
func printTable(out *os.File, runners []runnerDef, wls []*Workload, rs []result) {
	type key struct{ wl, fig string }
	vals := map[key]map[string]result{}
	var keys []key
	for _, r := range rs {
		k := key{r.workload, r.figure}
		if vals[k] == nil {
			vals[k] = map[string]result{}
			keys = append(keys, k)
		}
		vals[k][r.runtime+"/"+r.config] = r
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].wl != keys[j].wl {
			return keys[i].wl < keys[j].wl
		}
		return figureRank(keys[i].fig) < figureRank(keys[j].fig)
	})
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "workload\tfigure\t")
	for _, rd := range runners {
		fmt.Fprintf(tw, "%s\t", rd.name+"/"+rd.config)
	}
	fmt.Fprint(tw, "unit\t\n")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t", k.wl, k.fig)
		unit := ""
		for _, rd := range runners {
			r, ok := vals[k][rd.name+"/"+rd.config]
			if !ok {
				fmt.Fprint(tw, "-\t")
				continue
			}
			unit = r.unit
			fmt.Fprintf(tw, "%s\t", format(r.value))
		}
		fmt.Fprintf(tw, "%s\t\n", unit)
	}
	tw.Flush()
	fmt.Fprintln(out)
	for _, w := range wls {
		fmt.Fprintf(out, "%s: %s\n", w.Name, w.Desc)
	}
}

func format(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	case v >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func writeTSV(path string) error {
	var b strings.Builder
	b.WriteString("runtime\tconfig\tworkload\tfigure\tvalue\tunit\n")
	for _, r := range results {
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\t%g\t%s\n", r.runtime, r.config, r.workload, r.figure, r.value, r.unit)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
