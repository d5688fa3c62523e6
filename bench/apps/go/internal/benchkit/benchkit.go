// Package benchkit holds what the Go benchmark tools share (bench/CONTRACT.md): flags with
// the contract's exit codes, the JSON result line on stdout, and exact latency percentiles.
//
//	fs := benchkit.Flags("adashta-bench-go-wq", "usage: ...")
//	messages := fs.Int("messages", 0, "cycles to run")
//	benchkit.Parse(fs)                      // bad flag: usage, exit 2
//	benchkit.PrintJSON(map[string]any{...}) // one line on stdout
package benchkit

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
)

// Profile starts a CPU profile into file (for `go tool pprof`) when file is not empty; the
// returned function stops it. A file that cannot be written is reported and ignored.
func Profile(file string) (stop func()) {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpu profile:", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// Flags is a flag set that prints usage to stderr and exits 2 on a bad flag, as the
// contract asks. Go's flag package takes --name value as well as -name value.
func Flags(tool, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(tool, flag.ExitOnError)
	fs.Usage = func() { fmt.Fprintln(os.Stderr, usage) }
	return fs
}

// Parse parses os.Args[1:]; positional arguments are a usage error.
func Parse(fs *flag.FlagSet) {
	_ = fs.Parse(os.Args[1:]) // ExitOnError: exits 2 itself
	if fs.NArg() > 0 {
		Fail(fs, "unexpected argument "+fs.Arg(0))
	}
}

// Fail prints why and the usage line, and exits 2.
func Fail(fs *flag.FlagSet, why string) {
	fmt.Fprintln(os.Stderr, fs.Name()+": "+why)
	fs.Usage()
	os.Exit(2)
}

// PrintJSON writes v as one JSON line on stdout.
func PrintJSON(v interface{}) {
	line, err := json.Marshal(v)
	if err != nil {
		panic(err) // the tools print maps of numbers and strings
	}
	os.Stdout.Write(append(line, '\n'))
}

// Latency keeps every sample (the tools record at most a few hundred thousand), so the
// percentiles are exact (nearest rank): within the contract's 1 % by construction.
// Not safe for concurrent use: each goroutine keeps its own and Merge joins them.
type Latency struct {
	values []int64 // microseconds
}

// Record adds one sample in microseconds.
func (l *Latency) Record(us int64) { l.values = append(l.values, us) }

// Merge adds other's samples.
func (l *Latency) Merge(other *Latency) { l.values = append(l.values, other.values...) }

// Summary is the contract's latency object: p50, p90, p99, p999, max, count.
func (l *Latency) Summary() map[string]int64 {
	sorted := append([]int64(nil), l.values...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	at := func(fraction float64) int64 {
		if len(sorted) == 0 {
			return 0
		}
		rank := int(fraction*float64(len(sorted)) + 0.999999) // ceil, 1-based
		if rank < 1 {
			rank = 1
		}
		if rank > len(sorted) {
			rank = len(sorted)
		}
		return sorted[rank-1]
	}
	return map[string]int64{"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p999": at(0.999),
		"max": at(1), "count": int64(len(sorted))}
}
