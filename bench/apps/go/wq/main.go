// adashta-bench-go-wq: the full work-queue cycle (send -> receive -> delete) through the Go
// SDK's WorkQueues, the twin of adashta-bench-wq (bench/apps/bench_wq.cpp; bench/CONTRACT.md,
// "Other Adashta tools") and of RSMQ's bench/peers/rsmq_wq.mjs.
//
//	ADASHTA_SEEDS=tcp://127.0.0.1:7700 adashta-bench-go-wq --producers 8 --consumers 8 --messages 20000
//
// One node, 8 producer and 8 consumer goroutines, one job per call and one call in flight
// per goroutine: each producer sends its share one SendMessage after another, each consumer
// loops a long-poll ReceiveMessage and a DeleteMessage. A job's body starts with the time its
// send started (µs on this process's monotonic clock); its latency ends when its delete has
// returned.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	adashta "github.com/adashta/adashta-queue/sdk/go"

	"github.com/adashta/adashta-queue/bench/apps/go/internal/benchkit"
)

const tool = "adashta-bench-go-wq"
const usage = "usage: adashta-bench-go-wq --messages N [--producers 8] [--consumers 8] [--size 64]\n" +
	"                           [--queue benchwq] [--seeds tcp://HOST:PORT] [--wait-ms 1000] [--max-s 300] [--cpu-profile FILE]"

var origin = time.Now()

// nowUs: microseconds on the monotonic clock since the process started.
func nowUs() int64 { return int64(time.Since(origin) / time.Microsecond) }

type run struct {
	queues   *adashta.WorkQueues
	queue    string
	messages int64
	size     int
	wait     time.Duration
	deadline time.Time // hard cap: every goroutine stops here

	deleted      atomic.Int64
	errors       atomic.Int64
	lastDeleteUs atomic.Int64
	stop         atomic.Bool

	mu      sync.Mutex // guards latency
	latency benchkit.Latency
}

func (r *run) over() bool { return r.stop.Load() || time.Now().After(r.deadline) }

func (r *run) error(what string, err error) {
	if r.errors.Add(1) <= 5 {
		fmt.Fprintf(os.Stderr, "%s: %s: %v\n", tool, what, err)
	}
}

// body: "<send start µs>:" then 'x' up to size bytes.
func (r *run) body(sendUs int64) string {
	b := strconv.FormatInt(sendUs, 10) + ":"
	if len(b) < r.size {
		b += strings.Repeat("x", r.size-len(b))
	}
	return b
}

func stampOf(body string) int64 {
	i := strings.IndexByte(body, ':')
	if i < 0 {
		return -1
	}
	v, err := strconv.ParseInt(body[:i], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

func (r *run) produce(ctx context.Context, count int64) {
	for i := int64(0); i < count && !r.over(); i++ {
		if _, err := r.queues.SendMessage(ctx, r.queue, r.body(nowUs()), 0); err != nil {
			r.error("SendMessage", err)
		}
	}
}

func (r *run) consume(ctx context.Context) {
	var latency benchkit.Latency
	for r.deleted.Load() < r.messages && !r.over() {
		job, err := r.queues.ReceiveMessage(ctx, r.queue, adashta.ReceiveOptions{Wait: r.wait})
		if err != nil {
			r.error("ReceiveMessage", err)
			time.Sleep(10 * time.Millisecond) // a failing edge: do not spin
			continue
		}
		if job == nil {
			continue
		}
		sent := stampOf(job.Message)
		if _, err := r.queues.DeleteMessage(ctx, r.queue, job.ID); err != nil {
			r.error("DeleteMessage", err)
			continue
		}
		done := nowUs()
		if sent < 0 {
			r.error("a job without a send time", errors.New(job.Message[:min(len(job.Message), 40)]))
			continue
		}
		latency.Record(done - sent)
		r.lastDeleteUs.Store(done)
		if r.deleted.Add(1) >= r.messages {
			r.stop.Store(true)
		}
	}
	r.mu.Lock()
	r.latency.Merge(&latency)
	r.mu.Unlock()
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func main() {
	fs := benchkit.Flags(tool, usage)
	messages := fs.Int64("messages", 0, "cycles to run (required)")
	producers := fs.Int("producers", 8, "producer goroutines")
	consumers := fs.Int("consumers", 8, "consumer goroutines")
	size := fs.Int("size", 64, "body bytes")
	queue := fs.String("queue", "benchwq", "work queue (deleted and created empty first)")
	seeds := fs.String("seeds", "", "edges to join (default ADASHTA_SEEDS)")
	waitMs := fs.Int("wait-ms", 1000, "long poll of each receive")
	maxS := fs.Int("max-s", 300, "hard cap on the run")
	profile := fs.String("cpu-profile", "", "write a CPU profile here (go tool pprof)")
	benchkit.Parse(fs)
	stopProfile := benchkit.Profile(*profile)
	if *messages < 1 || *producers < 1 || *producers > 256 || *consumers < 1 || *consumers > 256 ||
		*size < 1 || *size > 60000 || *waitMs < 0 || *waitMs > 20000 || *maxS < 1 || *maxS > 3600 {
		benchkit.Fail(fs, "--messages is required; --producers and --consumers 1-256, --size 1-60000, --wait-ms 0-20000, --max-s 1-3600")
	}

	options := adashta.OptionsFromEnv()
	if *seeds != "" {
		options.Seeds = strings.Split(*seeds, ",")
	}
	options.Name = "bench-go-wq"
	ctx := context.Background()
	node, err := adashta.Connect(ctx, options)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v (seeds %v; start an edge, e.g. `adashta edge --mesh 127.0.0.1:7700`, and give its mesh endpoint in ADASHTA_SEEDS or --seeds)\n",
			tool, err, options.Seeds)
		os.Exit(1)
	}
	r := &run{queues: node.WorkQueues(), queue: *queue, messages: *messages, size: *size,
		wait: time.Duration(*waitMs) * time.Millisecond}
	if err := r.queues.DeleteQueue(ctx, r.queue); err != nil && !errors.Is(err, adashta.ErrUnknownQueue) {
		fmt.Fprintf(os.Stderr, "%s: DeleteQueue %s: %v\n", tool, r.queue, err)
		os.Exit(1)
	}
	if err := r.queues.CreateQueue(ctx, r.queue, adashta.QueueOptions{VT: adashta.Duration(30 * time.Second)}); err != nil {
		fmt.Fprintf(os.Stderr, "%s: CreateQueue %s: %v\n", tool, r.queue, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%s: %d messages of %d bytes, %d producers, %d consumers, 1 node, queue %s, 1 job per call\n",
		tool, *messages, *size, *producers, *consumers, r.queue)

	startUs := nowUs()
	r.deadline = time.Now().Add(time.Duration(*maxS) * time.Second)
	var workers sync.WaitGroup
	for c := 0; c < *consumers; c++ {
		workers.Add(1)
		go func() { defer workers.Done(); r.consume(ctx) }()
	}
	for p := 0; p < *producers; p++ {
		share := *messages / int64(*producers)
		if int64(p) < *messages%int64(*producers) {
			share++
		}
		workers.Add(1)
		go func() { defer workers.Done(); r.produce(ctx, share) }()
	}
	workers.Wait()
	stopProfile()

	done := r.deleted.Load()
	durationS := float64(r.lastDeleteUs.Load()-startUs) / 1e6
	rate := 0.0
	if durationS > 0 {
		rate = float64(done) / durationS
	}
	fmt.Fprintf(os.Stderr, "%s: %d cycles in %.3f s, %d errors\n", tool, done, durationS, r.errors.Load())
	benchkit.PrintJSON(map[string]interface{}{"tool": tool, "producers": *producers, "batch": 1,
		"consumers": *consumers, "nodes": 1, "messages": *messages, "completed": done,
		"errors": r.errors.Load(), "duration_s": durationS, "rate": int64(rate),
		"latency_us": r.latency.Summary()})
	if done < *messages {
		fmt.Fprintf(os.Stderr, "%s: stopped after %d s with %d of %d messages done\n", tool, *maxS, done, *messages)
		os.Exit(1)
	}
	node.Close()
}
