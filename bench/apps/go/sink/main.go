// adashta-bench-go-sink: the server application of the load generator's adashta scenarios on
// the Go SDK, the twin of adashta-bench-node (bench/apps/bench_node.cpp; bench/CONTRACT.md,
// "Server applications"). It joins the mesh through ADASHTA_SEEDS and either counts what
// browsers produce to "bench" (sink) or answers every message on "echo" to its sender (echo).
// On SIGTERM or SIGINT it prints the result line.
//
//	ADASHTA_SEEDS=tcp://127.0.0.1:7700 adashta-bench-go-sink --mode sink
//	{"event":"ready"}
//	... kill -TERM ...
//	{"tool":"adashta-bench-go-sink","mode":"sink","received":N,"first_ms":..,"last_ms":..,"rate":..}
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	adashta "github.com/adashta/adashta-queue/sdk/go"

	"github.com/adashta/adashta-queue/bench/apps/go/internal/benchkit"
)

const tool = "adashta-bench-go-sink"
const usage = "usage: adashta-bench-go-sink --mode sink|echo [--name N] [--cpu-profile FILE]"

// counts is written by the queue's one handler lane and read by main after the signal.
type counts struct {
	received      atomic.Int64
	firstMs       atomic.Int64
	lastMs        atomic.Int64
	replyFailures atomic.Int64
}

func (c *counts) countOne() {
	now := time.Now().UnixMilli()
	if c.received.Add(1) == 1 {
		c.firstMs.Store(now)
	}
	c.lastMs.Store(now)
}

func main() {
	fs := benchkit.Flags(tool, usage)
	mode := fs.String("mode", "", "sink | echo")
	name := fs.String("name", "", "the node's name (default bench-go-MODE)")
	profile := fs.String("cpu-profile", "", "write a CPU profile here (go tool pprof)")
	benchkit.Parse(fs)
	stopProfile := benchkit.Profile(*profile)
	if *mode != "sink" && *mode != "echo" {
		benchkit.Fail(fs, "--mode must be sink or echo")
	}
	if *name == "" {
		*name = "bench-go-" + *mode
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	options := adashta.OptionsFromEnv()
	options.Name = *name
	node, err := adashta.Connect(context.Background(), options)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v (ADASHTA_SEEDS=%q; start an edge, e.g. `adashta edge --mesh 127.0.0.1:7700`)\n",
			tool, err, os.Getenv("ADASHTA_SEEDS"))
		os.Exit(1)
	}
	var c counts
	if *mode == "sink" {
		err = node.Consume("bench", func(context.Context, *adashta.Message) error { c.countOne(); return nil })
		// The durable-publish scenario produces to "durable", and the edge refuses a queue no
		// node consumes: the sink takes it too, without counting it.
		if err == nil {
			err = node.Consume("durable", func(context.Context, *adashta.Message) error { return nil })
		}
	} else {
		err = node.Consume("echo", func(ctx context.Context, m *adashta.Message) error {
			c.countOne()
			if _, err := node.Produce(ctx, "echo", m.Data, adashta.ProduceOptions{To: m.Client}); err != nil {
				c.replyFailures.Add(1)
			}
			return nil
		})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		os.Exit(1)
	}
	queue := map[string]string{"sink": "bench", "echo": "echo"}[*mode]
	fmt.Fprintf(os.Stderr, "%s: %s node %s at %s consuming %q\n", tool, *mode, *name, node.Endpoint(), queue)
	benchkit.PrintJSON(map[string]string{"event": "ready"})

	sig := <-signals
	received, first, last := c.received.Load(), c.firstMs.Load(), c.lastMs.Load()
	rate := int64(0)
	if last > first {
		rate = received * 1000 / (last - first)
	}
	if failed := c.replyFailures.Load(); failed > 0 {
		fmt.Fprintf(os.Stderr, "%s: %d replies could not be sent\n", tool, failed)
	}
	stopProfile()
	fmt.Fprintf(os.Stderr, "%s: stopped by signal %v\n", tool, sig)
	benchkit.PrintJSON(map[string]interface{}{"tool": tool, "mode": *mode, "received": received,
		"first_ms": first, "last_ms": last, "rate": rate})
	node.Close()
}
