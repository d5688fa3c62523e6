// Command adashta-conformance-driver embeds one Go SDK node and does what the conformance
// runner tells it, as tests/conformance/DRIVER.md specifies: JSON commands on stdin, one
// JSON answer or event per line on stdout, logs on stderr.
//
//	ADASHTA_SEEDS=tcp://127.0.0.1:7700 adashta-conformance-driver
//	{"cmd":"connect","ref":1}
//	{"ref":1,"ok":true,"result":{"id":"…","endpoint":"tcp://127.0.0.1:41234"}}
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adashta/adashta-queue/sdk/go"
)

type command struct {
	Cmd         string                     `json:"cmd"`
	Ref         *int64                     `json:"ref"`
	Options     map[string]json.RawMessage `json:"options"`
	Queue       string                     `json:"queue"`
	Behavior    string                     `json:"behavior"`
	Concurrency int                        `json:"concurrency"`
	Data        json.RawMessage            `json:"data"`
	Text        *string                    `json:"text"`
	To          string                     `json:"to"`
	ToUser      string                     `json:"toUser"`
	Delay       int64                      `json:"delay"`
	DeliverAt   int64                      `json:"deliverAt"`
	Confirm     bool                       `json:"confirm"`
	From        int64                      `json:"from"`
	Since       int64                      `json:"since"`
	Limit       int                        `json:"limit"`
	ID          string                     `json:"id"`
	OK          bool                       `json:"ok"`
	Op          string                     `json:"op"`
	Args        wqArgs                     `json:"args"`
}

type wqArgs struct {
	Qname      string   `json:"qname"`
	VT         *int64   `json:"vt"`
	Delay      *int64   `json:"delay"`
	MaxSize    *int64   `json:"maxsize"`
	MaxReceive *int64   `json:"maxReceive"`
	DeadLetter *string  `json:"deadLetter"`
	Message    string   `json:"message"`
	Messages   []string `json:"messages"`
	ID         string   `json:"id"`
	IDs        []string `json:"ids"`
	Max        int      `json:"max"`
	Wait       int64    `json:"wait"`
}

// driver: the command loop's goroutine owns node (set by connect before any command that
// uses it runs); held and out are shared and locked.
type driver struct {
	node *adashta.Node
	name string

	outMu sync.Mutex // guards out: one line at a time
	out   *bufio.Writer

	heldMu sync.Mutex // guards held
	held   map[string]*adashta.Held

	pending sync.WaitGroup // commands running on their own goroutines
}

func main() {
	log.SetOutput(os.Stderr)
	d := &driver{out: bufio.NewWriter(os.Stdout), held: map[string]*adashta.Held{}}
	d.emit(map[string]interface{}{"event": "ready"})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 32<<20)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		var c command
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			log.Printf("driver: not a command: %v", err)
			continue
		}
		if c.Cmd == "close" {
			d.pending.Wait()
			d.close()
			d.answer(c.Ref, map[string]interface{}{}, nil)
			os.Exit(0)
		}
		if d.blocks(&c) {
			d.pending.Add(1)
			go func() { defer d.pending.Done(); d.run(&c) }()
		} else {
			d.run(&c)
		}
	}
	d.pending.Wait()
	d.close()
}

// blocks: long polls (work-queue receives with a wait) run on their own goroutine, so they
// hold up nothing; every other command runs in order, so that its request reaches the edge
// before the next command's.
func (d *driver) blocks(c *command) bool {
	return c.Cmd == "wq" && c.Args.Wait > 0
}

func (d *driver) close() {
	if d.node != nil {
		d.node.Close()
	}
}

func (d *driver) emit(v interface{}) {
	text, err := json.Marshal(v)
	if err != nil {
		log.Printf("driver: cannot encode %v: %v", v, err)
		return
	}
	d.outMu.Lock()
	defer d.outMu.Unlock()
	d.out.Write(text)
	d.out.WriteByte('\n')
	d.out.Flush()
}

func (d *driver) answer(ref *int64, result interface{}, err error) {
	var r int64
	if ref != nil {
		r = *ref
	}
	if err == nil {
		d.emit(map[string]interface{}{"ref": r, "ok": true, "result": result})
		return
	}
	e := map[string]interface{}{"code": 0, "name": "error", "message": err.Error()}
	var ae *adashta.Error
	if errors.As(err, &ae) {
		e["code"], e["name"] = ae.Code, ae.Name
	} else if errors.Is(err, context.DeadlineExceeded) {
		e["code"], e["name"] = adashta.ErrTimedOut.Code, adashta.ErrTimedOut.Name
	}
	d.emit(map[string]interface{}{"ref": r, "ok": false, "error": e})
}

func (d *driver) run(c *command) {
	ctx := context.Background()
	if c.Cmd != "connect" && d.node == nil {
		d.answer(c.Ref, nil, fmt.Errorf("%s before connect: %w", c.Cmd, adashta.ErrNotStarted))
		return
	}
	switch c.Cmd {
	case "connect":
		result, err := d.connect(c)
		d.answer(c.Ref, result, err)
	case "consume":
		err := d.node.Consume(c.Queue, d.handler(c.Queue, c.Behavior), adashta.WithConcurrency(c.Concurrency))
		d.answer(c.Ref, map[string]interface{}{}, err)
	case "unconsume":
		d.answer(c.Ref, map[string]interface{}{}, d.node.Unconsume(c.Queue))
	case "produce", "produceRaw":
		var data interface{} = []byte(c.Data)
		if c.Cmd == "produceRaw" && c.Text != nil {
			data = []byte(*c.Text)
		} else if len(c.Data) == 0 {
			data = []byte("null")
		}
		o := adashta.ProduceOptions{To: c.To, ToUser: c.ToUser, Delay: time.Duration(c.Delay) * time.Millisecond, Confirm: c.Confirm}
		if c.DeliverAt > 0 {
			o.DeliverAt = time.UnixMilli(c.DeliverAt)
		}
		id, err := d.node.Produce(ctx, c.Queue, data, o)
		d.answer(c.Ref, map[string]interface{}{"id": id}, err)
	case "fetch":
		o := adashta.FetchOptions{From: c.From, Limit: c.Limit}
		if c.Since > 0 {
			o.Since = time.UnixMilli(c.Since)
		}
		r, err := d.node.Fetch(ctx, c.Queue, o)
		d.answer(c.Ref, r, err)
	case "cancel":
		d.answer(c.Ref, map[string]interface{}{}, d.node.Cancel(ctx, c.ID))
	case "peers":
		peers, err := d.node.Peers(ctx)
		list := []map[string]interface{}{}
		for _, p := range peers {
			list = append(list, map[string]interface{}{"id": p.ID, "name": p.Name, "endpoint": p.Endpoint, "role": p.Role, "queues": p.Queues})
		}
		d.answer(c.Ref, map[string]interface{}{"peers": list}, err)
	case "settle":
		d.heldMu.Lock()
		h := d.held[c.ID]
		delete(d.held, c.ID)
		d.heldMu.Unlock()
		if h == nil {
			d.answer(c.Ref, nil, fmt.Errorf("no held message %s: %w", c.ID, adashta.ErrUnknownMessage))
			return
		}
		if c.OK {
			h.Ack()
		} else {
			h.Release()
		}
		d.answer(c.Ref, map[string]interface{}{}, nil)
	case "wq":
		r, err := d.workQueue(ctx, c.Op, &c.Args)
		d.answer(c.Ref, r, err)
	default:
		d.answer(c.Ref, nil, fmt.Errorf("unknown command %q: %w", c.Cmd, adashta.ErrBadOption))
	}
}

func (d *driver) connect(c *command) (interface{}, error) {
	o := adashta.OptionsFromEnv()
	for k, v := range c.Options {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(v, &o.Name)
		case "seeds":
			err = json.Unmarshal(v, &o.Seeds)
		case "bind":
			err = json.Unmarshal(v, &o.Bind)
		case "advertise":
			err = json.Unmarshal(v, &o.Advertise)
		case "meshKey":
			err = json.Unmarshal(v, &o.MeshKey)
		case "meshSecret":
			err = json.Unmarshal(v, &o.MeshSecret)
		case "meshAllow":
			err = json.Unmarshal(v, &o.MeshAllow)
		case "heartbeatMs", "peerTimeoutMs":
			var n int64
			err = json.Unmarshal(v, &n)
			if k == "heartbeatMs" {
				o.Heartbeat = time.Duration(n) * time.Millisecond
			} else {
				o.PeerTimeout = time.Duration(n) * time.Millisecond
			}
		default:
			log.Printf("driver: option %q is not known; ignored", k)
		}
		if err != nil {
			return nil, fmt.Errorf("option %s: %v: %w", k, err, adashta.ErrBadOption)
		}
	}
	d.name = o.Name
	o.OnError = func(err error, m *adashta.Message) {
		ev := map[string]interface{}{"event": "handlerError", "message": err.Error()}
		if m != nil {
			ev["queue"], ev["id"] = m.Queue, m.ID
		}
		d.emit(ev)
	}
	o.OnConnection = func(e adashta.ClientEvent) {
		d.emit(map[string]interface{}{"event": "connection", "client": e.Client, "user": e.User, "resumed": e.Resumed})
	}
	o.OnDisconnection = func(e adashta.ClientEvent) {
		d.emit(map[string]interface{}{"event": "disconnection", "client": e.Client, "user": e.User})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	node, err := adashta.Connect(ctx, o)
	if err != nil {
		return nil, err
	}
	d.node = node
	return map[string]interface{}{"id": node.ID(), "endpoint": node.Endpoint()}, nil
}

// handler does what DRIVER.md's behaviors say, after reporting the message.
func (d *driver) handler(queue, behavior string) adashta.Handler {
	return func(ctx context.Context, m *adashta.Message) error {
		data := m.Data
		if len(data) == 0 {
			data = json.RawMessage("null")
		}
		if behavior == "hold" {
			// Held before it is reported: a settle that follows the report finds it.
			h := m.Defer()
			d.heldMu.Lock()
			d.held[m.ID] = h
			d.heldMu.Unlock()
		}
		d.emit(map[string]interface{}{"event": "message", "queue": m.Queue, "id": m.ID, "client": m.Client,
			"user": m.User, "data": data, "offset": m.Offset, "receiveCount": m.ReceiveCount})
		switch {
		case behavior == "" || behavior == "ack":
			return nil
		case behavior == "echo":
			_, err := d.node.Produce(ctx, m.Queue, map[string]interface{}{"node": d.name, "data": data},
				adashta.ProduceOptions{To: m.Client})
			return err
		case behavior == "throw":
			return fmt.Errorf("the driver's handler fails every time (behavior throw)")
		case behavior == "panic":
			panic("the driver's handler panics (behavior panic)")
		case behavior == "throwOnce":
			if m.ReceiveCount == 1 {
				return fmt.Errorf("the driver's handler fails on the first delivery (behavior throwOnce)")
			}
			return nil
		case behavior == "hold":
			return nil
		case strings.HasPrefix(behavior, "sleep:"):
			n, _ := strconv.Atoi(strings.TrimPrefix(behavior, "sleep:"))
			select {
			case <-time.After(time.Duration(n) * time.Millisecond):
			case <-ctx.Done():
			}
			d.emit(map[string]interface{}{"event": "done", "id": m.ID})
			return nil
		}
		return fmt.Errorf("unknown behavior %q", behavior)
	}
}

func msPtr(v *int64) *time.Duration {
	if v == nil {
		return nil
	}
	return adashta.Duration(time.Duration(*v) * time.Millisecond)
}

func jobResult(j *adashta.Job) map[string]interface{} {
	if j == nil {
		return map[string]interface{}{}
	}
	return map[string]interface{}{"id": j.ID, "message": j.Message, "rc": j.RC, "fr": j.First.UnixMilli(), "sent": j.Sent.UnixMilli()}
}

func attributesResult(a *adashta.QueueAttributes) map[string]interface{} {
	return map[string]interface{}{"vt": a.VT.Milliseconds(), "delay": a.Delay.Milliseconds(), "maxsize": a.MaxSize,
		"totalrecv": a.TotalRecv, "totalsent": a.TotalSent, "created": a.Created.UnixMilli(), "modified": a.Modified.UnixMilli(),
		"msgs": a.Msgs, "hiddenmsgs": a.HiddenMsgs, "maxReceive": a.MaxReceive, "deadLetter": a.DeadLetter, "totaldead": a.TotalDead}
}

func (d *driver) workQueue(ctx context.Context, op string, a *wqArgs) (interface{}, error) {
	w := d.node.WorkQueues()
	opts := adashta.QueueOptions{VT: msPtr(a.VT), Delay: msPtr(a.Delay), MaxSize: a.MaxSize, MaxReceive: a.MaxReceive, DeadLetter: a.DeadLetter}
	wait := time.Duration(a.Wait) * time.Millisecond
	var delay time.Duration
	if a.Delay != nil {
		delay = time.Duration(*a.Delay) * time.Millisecond
	}
	empty := map[string]interface{}{}
	switch op {
	case "createQueue":
		return empty, w.CreateQueue(ctx, a.Qname, opts)
	case "deleteQueue":
		return empty, w.DeleteQueue(ctx, a.Qname)
	case "listQueues":
		q, err := w.ListQueues(ctx)
		return map[string]interface{}{"queues": q}, err
	case "getQueueAttributes", "setQueueAttributes":
		var attrs *adashta.QueueAttributes
		var err error
		if op == "getQueueAttributes" {
			attrs, err = w.GetQueueAttributes(ctx, a.Qname)
		} else {
			attrs, err = w.SetQueueAttributes(ctx, a.Qname, opts)
		}
		if err != nil {
			return nil, err
		}
		return attributesResult(attrs), nil
	case "sendMessage":
		id, err := w.SendMessage(ctx, a.Qname, a.Message, delay)
		return map[string]interface{}{"id": id}, err
	case "sendMessageBatch":
		ids, err := w.SendMessageBatch(ctx, a.Qname, a.Messages, delay)
		return map[string]interface{}{"ids": ids}, err
	case "receiveMessage":
		j, err := w.ReceiveMessage(ctx, a.Qname, adashta.ReceiveOptions{VT: msPtr(a.VT), Wait: wait})
		return jobResult(j), err
	case "popMessage":
		j, err := w.PopMessage(ctx, a.Qname, wait)
		return jobResult(j), err
	case "receiveMessageBatch":
		jobs, err := w.ReceiveMessageBatch(ctx, a.Qname, a.Max, adashta.ReceiveOptions{VT: msPtr(a.VT), Wait: wait})
		list := []map[string]interface{}{}
		for _, j := range jobs {
			list = append(list, jobResult(j))
		}
		return map[string]interface{}{"jobs": list}, err
	case "deleteMessage":
		ok, err := w.DeleteMessage(ctx, a.Qname, a.ID)
		return map[string]interface{}{"deleted": ok}, err
	case "deleteMessageBatch":
		flags, err := w.DeleteMessageBatch(ctx, a.Qname, a.IDs)
		return map[string]interface{}{"deleted": flags}, err
	case "changeMessageVisibility":
		var vt time.Duration
		if a.VT != nil {
			vt = time.Duration(*a.VT) * time.Millisecond
		}
		return empty, w.ChangeMessageVisibility(ctx, a.Qname, a.ID, vt)
	}
	return nil, fmt.Errorf("unknown work queue op %q: %w", op, adashta.ErrBadOption)
}
