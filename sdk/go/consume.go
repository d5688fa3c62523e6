package adashta

import (
	"context"
	"fmt"
	"hash/fnv"
	"runtime/debug"
	"sync"
)

// Handler handles one message. Returning nil acknowledges it (unless it was Deferred, or
// the queue is at-most-once); returning an error or panicking leaves it unacknowledged: it
// is reported to Options.OnError and comes again after the queue's visibility timeout with
// a higher ReceiveCount. ctx ends when the node closes.
type Handler func(ctx context.Context, m *Message) error

// ConsumeOption tunes Consume.
type ConsumeOption func(*consumeConfig)

type consumeConfig struct {
	concurrency int
}

// WithConcurrency runs up to n handlers of the queue at once. Messages of one client always
// run on the same one of the n lanes, one after another, so each client's order is kept.
func WithConcurrency(n int) ConsumeOption {
	return func(c *consumeConfig) {
		if n > 0 {
			c.concurrency = n
		}
	}
}

// consumer runs one queue's handler on its lanes. The mesh goroutine pushes; each lane's
// goroutine pops and owns the messages it pops.
type consumer struct {
	queue   string
	handler Handler
	lanes   []*lane
}

func newConsumer(n *Node, queue string, h Handler, cfg consumeConfig) *consumer {
	c := &consumer{queue: queue, handler: h}
	for i := 0; i < cfg.concurrency; i++ {
		l := newLane()
		c.lanes = append(c.lanes, l)
		n.workers.Add(1)
		go func() {
			defer n.workers.Done()
			defer n.handlerGoroutine()()
			l.run(func(item func()) { item() })
		}()
	}
	return c
}

// push hands m to the lane of its client (mesh goroutine).
func (c *consumer) push(n *Node, m *Message) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(m.Client))
	l := c.lanes[int(h.Sum32()%uint32(len(c.lanes)))]
	l.push(func() { n.runHandler(c.handler, m) })
}

func (c *consumer) stop() {
	for _, l := range c.lanes {
		l.stop()
	}
}

// lane is an unbounded FIFO of work run by one goroutine, so the mesh goroutine never
// waits for a handler. Unrun work is dropped on stop (unacked messages come again).
type lane struct {
	mu      sync.Mutex // guards items, stopped
	items   []func()
	stopped bool
	wake    chan struct{} // one pending wake-up
}

func newLane() *lane { return &lane{wake: make(chan struct{}, 1)} }

func (l *lane) push(item func()) {
	l.mu.Lock()
	if !l.stopped {
		l.items = append(l.items, item)
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lane) stop() {
	l.mu.Lock()
	l.stopped = true
	l.items = nil
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *lane) run(do func(func())) {
	for range l.wake {
		for {
			l.mu.Lock()
			if l.stopped {
				l.mu.Unlock()
				return
			}
			if len(l.items) == 0 {
				l.mu.Unlock()
				break
			}
			item := l.items[0]
			l.items[0] = nil
			l.items = l.items[1:]
			l.mu.Unlock()
			do(item)
		}
	}
}

// PanicError is what Options.OnError gets when a handler panicked: the node recovered and
// goes on; the message stays unacknowledged.
type PanicError struct {
	Value interface{} // what the handler panicked with
	Stack []byte      // the handler's stack at the panic
}

func (p *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", p.Value) }

// runHandler runs h on m and acks it when h returns nil; an error or panic is reported.
func (n *Node) runHandler(h Handler, m *Message) {
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = &PanicError{Value: r, Stack: debug.Stack()}
			}
		}()
		return h(n.ctx, m)
	}()
	if err != nil {
		n.opts.OnError(err, m)
		return
	}
	if !m.deferred.Load() {
		n.ack(m)
	}
}
