package main

// The figures beyond the main table, each selected by a flag: -wasi (WASI instantiation of workload
// (c); fd_write throughput and clock_time_get cost), -fuel (fuel accounting on compute kernels),
// -cli (`spry run` against `wazero run`). Without any of these flags, a full run measures the main
// table and all of them; -quick measures the main table only. They print a table of their own.

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

var (
	wasiFlag = flag.Bool("wasi", false, "measure the WASI figures (instantiation with WASI state, fd_write, clock_time_get); with -fuel or -cli only the flagged groups run, without the main table")
	fuelFlag = flag.Bool("fuel", false, "measure fuel accounting's cost on compute kernels (Spry, wasmtime-go)")
	cliFlag  = flag.Bool("cli", false, "measure `spry run` against `wazero run` of a hello-world program (process start to exit)")
)

// extrasOnly reports whether a group flag was given (then the main table is not measured).
func extrasOnly() bool { return *wasiFlag || *fuelFlag || *cliFlag }

// selected reports whether -runtimes lets runtime name (in configuration config) run.
func selected(name, config string) bool {
	if *only == "" {
		return true
	}
	return strings.Contains(","+*only+",", ","+name+",") || strings.Contains(","+*only+",", ","+name+"/"+config+",")
}

// recordW records a figure of a runtime on the workload (or figure group) named wl.
func recordW(rd runnerDef, wl, fig string, v float64, unit string) {
	record(rd, &Workload{Name: wl}, fig, v, unit)
}

// runExtras measures the selected groups (all of them on a full run) and returns the index in
// results where their figures start.
func runExtras(wlC *Workload) int {
	first := len(results)
	all := !extrasOnly() && !*quick
	if *wasiFlag || all {
		if wlC != nil {
			fmt.Fprintln(progress, "WASI instantiation, workload c:")
			wasiInstantiateFigures(wlC)
		} else {
			fmt.Fprintln(progress, "skipping the WASI instantiation figure: no workload c (run workloads/build-c.sh)")
		}
		fmt.Fprintln(progress, "WASI fd_write and clock_time_get:")
		wasiIOFigures()
	}
	if *fuelFlag || all {
		fmt.Fprintln(progress, "fuel:")
		fuelFigures()
	}
	if *cliFlag || all {
		fmt.Fprintln(progress, "spry run vs wazero run:")
		cliFigures()
	}
	return first
}

// printExtras prints the figures of results[first:] as a table: one row per group and figure, in
// the order measured, one column per runtime/config.
func printExtras(out io.Writer, first int) {
	rs := results[first:]
	if len(rs) == 0 {
		return
	}
	type key struct{ wl, fig string }
	var cols []string
	var keys []key
	vals := map[key]map[string]result{}
	for _, r := range rs {
		col := r.runtime + "/" + r.config
		found := false
		for _, c := range cols {
			found = found || c == col
		}
		if !found {
			cols = append(cols, col)
		}
		k := key{r.workload, r.figure}
		if vals[k] == nil {
			vals[k] = map[string]result{}
			keys = append(keys, k)
		}
		vals[k][col] = r
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "group\tfigure\t")
	for _, c := range cols {
		fmt.Fprintf(tw, "%s\t", c)
	}
	fmt.Fprint(tw, "unit\t\n")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t", k.wl, k.fig)
		unit := ""
		for _, c := range cols {
			r, ok := vals[k][c]
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
}
