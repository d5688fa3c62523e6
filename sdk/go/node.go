package adashta

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Node is a server application's member of an Adashta mesh: it consumes the queues browser
// clients produce to, produces to clients, and calls the edges' stores (fetch, cancel,
// work queues). Every method is safe for concurrent use.
//
//	node, err := adashta.Connect(ctx, adashta.OptionsFromEnv())
//	if err != nil { log.Fatal(err) }
//	defer node.Close()
//	node.Consume("echo", func(ctx context.Context, m *adashta.Message) error {
//		_, err := node.Produce(ctx, "echo", m.Data, adashta.ProduceOptions{To: m.Client})
//		return err
//	})
//
// Goroutines: the mesh goroutine (mesh.go) owns the sockets and every field marked "mesh
// goroutine" here; handlers run on their queue's lanes (consume.go); client events on one
// events lane, in the order the node saw them. Callers reach the mesh goroutine through
// mesh.post and wait on channels.
type Node struct {
	opts   Options
	mesh   *mesh
	ctx    context.Context // handlers' context: ends at Close
	cancel context.CancelFunc

	// mesh goroutine
	consumers  map[string]*consumer
	edges      map[string]bool   // live edges that count us in
	clientEdge map[string]string // client id -> the edge that holds it

	edgesMu   sync.Mutex // guards edgeCount, edgesWake
	edgeCount int
	edgesWake chan struct{} // closed and replaced whenever edgeCount changes

	callsMu  sync.Mutex // guards nextCorr, waiting
	nextCorr uint64
	waiting  map[uint64]chan responseFrame

	events    *lane          // client events, one goroutine
	workers   sync.WaitGroup // lane goroutines
	lanesMu   sync.Mutex     // guards laneIDs
	laneIDs   map[uint64]bool // ids of the lane goroutines, so Close knows a handler called it
	closeOnce sync.Once
}

// ClientEvent says that a browser client connected to an edge or left it.
type ClientEvent struct {
	Client  string // client (session) id
	User    string // its user (token sub); empty when anonymous
	Resumed bool   // a connection that resumed an existing session
}

// Peer is a live mesh member, as Peers lists them.
type Peer struct {
	ID       string
	Name     string
	Endpoint string
	Role     string // "node", "edge" or "tool"
	Queues   []string
}

// Connect joins the mesh and returns once at least one edge counts the node in. Without a
// deadline on ctx it waits Options.ConnectWait (10 s). Errors: ErrNoEdge (no edge in time;
// the node is closed), ErrBadOption, ErrBadEndpoint, ErrBindFailed, ErrBadKey.
func Connect(ctx context.Context, opts Options) (*Node, error) {
	if opts.envError != "" {
		return nil, errorf(ErrBadOption, "%s", opts.envError)
	}
	opts = opts.withDefaults()
	n := &Node{opts: opts, consumers: map[string]*consumer{}, edges: map[string]bool{},
		clientEdge: map[string]string{}, edgesWake: make(chan struct{}), waiting: map[uint64]chan responseFrame{},
		events: newLane()}
	role := roleNode
	if opts.Tool {
		role = roleTool
	}
	m, err := newMesh(opts, role, n)
	if err != nil {
		return nil, err
	}
	n.mesh = m
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.workers.Add(1)
	go func() {
		defer n.workers.Done()
		defer n.handlerGoroutine()()
		n.events.run(func(item func()) { item() })
	}()
	m.setQueues(nil) // version 1: heartbeats carry it
	m.start()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.ConnectWait)
		defer cancel()
	}
	if err := n.WaitForEdges(ctx, 1); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// ID is this node's mesh id; Endpoint where its ROUTER is reached.
func (n *Node) ID() string       { return n.mesh.id }
func (n *Node) Endpoint() string { return n.mesh.endpoint }

// WaitForEdges waits until at least count edges count the node in. ErrNoEdge (wrapping
// ctx's error) when ctx ends first.
func (n *Node) WaitForEdges(ctx context.Context, count int) error {
	for {
		n.edgesMu.Lock()
		have, wake := n.edgeCount, n.edgesWake
		n.edgesMu.Unlock()
		if have >= count {
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			e := errorf(ErrNoEdge, "%d of %d edges count this node in after waiting (seeds %v)", have, count, n.opts.Seeds)
			e.cause = ctx.Err()
			return e
		}
	}
}

// Close leaves the mesh (Bye to every peer), fails calls still waiting with ErrNotStarted,
// waits for the handlers that are running (ctx of each is cancelled) and stops; messages not
// handled yet are dropped unacknowledged and come again, to another node. Idempotent. From
// a handler (or a client event callback) it does the same but does not wait for the
// handlers: the one that called it is still running; the others end on their own.
func (n *Node) Close() error {
	n.closeOnce.Do(n.shutdown)
	if !n.onHandlerGoroutine() {
		n.workers.Wait()
	}
	return nil
}

// handlerGoroutine records the calling goroutine as a lane's; the function it returns
// forgets it. Deferred at the top of each lane goroutine.
func (n *Node) handlerGoroutine() func() {
	id := goroutineID()
	n.lanesMu.Lock()
	if n.laneIDs == nil {
		n.laneIDs = map[uint64]bool{}
	}
	n.laneIDs[id] = true
	n.lanesMu.Unlock()
	return func() {
		n.lanesMu.Lock()
		delete(n.laneIDs, id)
		n.lanesMu.Unlock()
	}
}

func (n *Node) onHandlerGoroutine() bool {
	id := goroutineID()
	n.lanesMu.Lock()
	defer n.lanesMu.Unlock()
	return n.laneIDs[id]
}

// goroutineID is the runtime's number of the calling goroutine, read from the first line of
// its stack ("goroutine 17 [running]:"). Only Close and the lanes' start use it.
func goroutineID() uint64 {
	var buf [64]byte
	line := buf[:runtime.Stack(buf[:], false)]
	line = bytes.TrimPrefix(line, []byte("goroutine "))
	if i := bytes.IndexByte(line, ' '); i > 0 {
		line = line[:i]
	}
	id, _ := strconv.ParseUint(string(line), 10, 64)
	return id
}

// shutdown is Close without the wait for the handlers.
func (n *Node) shutdown() {
	n.mesh.stop()
	n.cancel()
	n.events.stop()
	for _, c := range n.consumers { // the mesh goroutine has ended: ours now
		c.stop()
	}
	n.callsMu.Lock()
	for corr, ch := range n.waiting {
		ch <- responseFrame{corr: corr, code: ErrNotStarted.Code, detail: "the node closed"}
		delete(n.waiting, corr)
	}
	n.callsMu.Unlock()
}

// onMesh runs fn on the mesh goroutine and waits for it; ErrNotStarted once closed.
func (n *Node) onMesh(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	if !n.mesh.post(func() { fn(); close(done) }) {
		return errorf(ErrNotStarted, "the node is closed")
	}
	select {
	case <-done:
		return nil
	case <-n.mesh.done:
		return errorf(ErrNotStarted, "the node is closed")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Consume routes clients' messages on queue to h (sticky per client) and returns once the
// node has announced the queue to its peers. It replaces an earlier handler of the queue.
// Errors: ErrBadQueue, ErrNotStarted.
func (n *Node) Consume(queue string, h Handler, opts ...ConsumeOption) error {
	if !validQueueName(queue) {
		return errorf(ErrBadQueue, "%q", queue)
	}
	if h == nil {
		return errorf(ErrBadOption, "Consume(%q) needs a handler", queue)
	}
	cfg := consumeConfig{concurrency: 1}
	for _, o := range opts {
		o(&cfg)
	}
	c := newConsumer(n, queue, h, cfg)
	err := n.onMesh(context.Background(), func() {
		if old := n.consumers[queue]; old != nil {
			old.stop()
		}
		n.consumers[queue] = c
		n.mesh.setQueues(n.queueNames())
	})
	if err != nil {
		c.stop()
	}
	return err
}

// Unconsume stops consuming queue; messages not yet handled come again elsewhere.
func (n *Node) Unconsume(queue string) error {
	return n.onMesh(context.Background(), func() {
		if c := n.consumers[queue]; c != nil {
			c.stop()
			delete(n.consumers, queue)
		}
		n.mesh.setQueues(n.queueNames())
	})
}

func (n *Node) queueNames() []string {
	out := make([]string, 0, len(n.consumers))
	for q := range n.consumers {
		out = append(out, q)
	}
	return out
}

// ack tells the edge that delivered m that it was handled (any goroutine).
func (n *Node) ack(m *Message) {
	if m.edge == "" {
		return
	}
	frame := encodeAck(m.ID, m.Queue)
	n.mesh.post(func() { n.mesh.send(m.edge, frame) })
}

// Peers is a snapshot of the live mesh members.
func (n *Node) Peers(ctx context.Context) ([]Peer, error) {
	var out []Peer
	err := n.onMesh(ctx, func() {
		for _, p := range n.mesh.peers {
			out = append(out, Peer{ID: p.id, Name: p.name, Endpoint: p.endpoint, Role: roleName(p.role),
				Queues: append([]string{}, p.queues...)})
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// ProduceOptions say where and when a message goes.
type ProduceOptions struct {
	To        string        // one client (session) id; empty: every client consuming the queue
	ToUser    string        // or every session of this user (token sub); not with To
	Delay     time.Duration // hold it at the edge this long (up to 365 days)
	DeliverAt time.Time     // or until then; not with Delay
	// Confirm waits until the edge stored it and returns the edge's error (ErrStorageFull,
	// ErrMessageTooLarge, ...) if it could not. Without it Produce returns once the message
	// is handed to the mesh, and a refusal is only logged by the edge.
	Confirm bool
}

// Produce sends data on queue to one client, a user's sessions, or every client consuming
// the queue, now or later, and returns the message id (for Cancel). The edge stores it: an
// offline client gets it when it resumes.
//
// data is []byte or json.RawMessage holding JSON text (sent as it is; not JSON:
// ErrBadData), or any other value, which is marshalled with encoding/json (a Go string
// becomes a JSON string). Errors: ErrBadQueue, ErrBadData, ErrBadTimeout, ErrBadOption,
// ErrNoEdge, ErrNotStarted; with Confirm also the edge's error or ErrTimedOut.
func (n *Node) Produce(ctx context.Context, queue string, data interface{}, o ProduceOptions) (string, error) {
	if !validQueueName(queue) {
		return "", errorf(ErrBadQueue, "%q", queue)
	}
	text, err := jsonText(data)
	if err != nil {
		return "", err
	}
	const year = 365 * 24 * time.Hour
	if o.Delay < 0 || o.Delay > year {
		return "", errorf(ErrBadTimeout, "delay must be 0 to 365 days, not %v", o.Delay)
	}
	if o.Delay > 0 && !o.DeliverAt.IsZero() {
		return "", errorf(ErrBadTimeout, "give Delay or DeliverAt, not both")
	}
	if o.To != "" && o.ToUser != "" {
		return "", errorf(ErrBadOption, "give To (one client) or ToUser (a user), not both")
	}
	var deliverAt int64
	if o.Delay > 0 {
		deliverAt = time.Now().Add(o.Delay).UnixMilli()
	} else if !o.DeliverAt.IsZero() {
		if deliverAt = o.DeliverAt.UnixMilli(); deliverAt < 0 {
			return "", errorf(ErrBadTimeout, "DeliverAt is before 1970")
		}
	}
	n.edgesMu.Lock()
	edges := n.edgeCount
	n.edgesMu.Unlock()
	if edges == 0 {
		return "", errorf(ErrNoEdge, "no edge counts this node in now")
	}
	id := newMessageID()
	if o.Confirm {
		args := map[string]interface{}{"id": id, "queue": queue, "data": json.RawMessage(text)}
		if o.To != "" {
			args["to"] = o.To
		}
		if o.ToUser != "" {
			args["toUser"] = o.ToUser
		}
		if deliverAt > 0 {
			args["deliverAt"] = deliverAt
		}
		if _, err := n.Call(ctx, "produce", args, 0); err != nil {
			return "", err
		}
		return id, nil
	}
	d := &deliverFrame{id: id, queue: queue, client: o.To, user: o.ToUser, data: text,
		createdMs: time.Now().UnixMilli(), fanout: o.To == "" && o.ToUser == "", deliverAtMs: deliverAt}
	frame := encodeDeliver(d)
	if !n.mesh.post(func() { n.sendProduce(o.To, frame) }) {
		return "", errorf(ErrNotStarted, "the node is closed")
	}
	return id, nil
}

// sendProduce (mesh goroutine): one client through the edge that holds it, or every edge
// when that is unknown; a user's sessions and fan-outs through every edge.
func (n *Node) sendProduce(to string, frame []byte) {
	if to != "" {
		if edge, ok := n.clientEdge[to]; ok && n.mesh.send(edge, frame) {
			return
		}
	}
	for edge := range n.edges {
		n.mesh.send(edge, frame)
	}
}

func jsonText(data interface{}) ([]byte, error) {
	switch d := data.(type) {
	case []byte:
		if !json.Valid(d) {
			return nil, errorf(ErrBadData, "%.60q is not JSON text (pass a Go value to have it marshalled)", d)
		}
		return append([]byte(nil), d...), nil
	case json.RawMessage:
		return jsonText([]byte(d))
	}
	text, err := json.Marshal(data)
	if err != nil {
		return nil, errorf(ErrBadData, "%v", err)
	}
	return text, nil
}

// Call makes a call to the store of the edge with the lowest id: op and its arguments
// (marshalled to a JSON object), answered with the JSON result (docs/protocol.md section 3
// lists the ops; Fetch, Cancel and WorkQueues are typed wrappers). wait is how long the
// edge may hold the call (long poll): without a deadline on ctx the call gives up after
// Options.CallTimeout plus wait. Errors: ErrNoEdge, ErrTimedOut (wrapping
// context.DeadlineExceeded), context.Canceled, or the edge's error.
func (n *Node) Call(ctx context.Context, op string, args interface{}, wait time.Duration) (json.RawMessage, error) {
	text, err := json.Marshal(args)
	if err != nil {
		return nil, errorf(ErrBadOption, "%s arguments: %v", op, err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.opts.CallTimeout+wait)
		defer cancel()
	}
	answer := make(chan responseFrame, 1)
	n.callsMu.Lock()
	n.nextCorr++
	corr := n.nextCorr
	n.waiting[corr] = answer
	n.callsMu.Unlock()
	forget := func() {
		n.callsMu.Lock()
		delete(n.waiting, corr)
		n.callsMu.Unlock()
	}
	req := requestFrame{corr: corr, op: op, args: string(text)}
	if !n.mesh.post(func() { n.mesh.queueCall(req) }) {
		forget()
		return nil, errorf(ErrNotStarted, "the node is closed")
	}
	select {
	case r := <-answer:
		if r.code != 0 {
			return nil, errorOfCode(r.code, r.detail)
		}
		if r.result == "" {
			return json.RawMessage("{}"), nil
		}
		return json.RawMessage(r.result), nil
	case <-ctx.Done():
		forget()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			e := errorf(ErrTimedOut, "%s got no answer in time", op)
			e.cause = ctx.Err()
			return nil, e
		}
		return nil, ctx.Err()
	}
}

// Cancel drops a scheduled message before its time; ErrUnknownMessage when it was
// delivered already or never existed.
func (n *Node) Cancel(ctx context.Context, id string) error {
	_, err := n.Call(ctx, "cancel", map[string]string{"id": id}, 0)
	return err
}

// FetchOptions select what Fetch reads.
type FetchOptions struct {
	From  int64     // first offset (0: the oldest kept)
	Since time.Time // or: created at or after; not with From
	Limit int       // at most this many, 1 to 1000 (0: 100)
}

// StoredMessage is a message the edge keeps, as Fetch returns it.
type StoredMessage struct {
	ID     string          `json:"id"`
	Offset int64           `json:"offset"`
	Client string          `json:"client"` // the sender (client -> server) or receiver (server -> one client)
	Data   json.RawMessage `json:"data"`
	TsMs   int64           `json:"ts"` // created, ms since the epoch
}

// FetchResult is one page of a queue's stream.
type FetchResult struct {
	Messages []StoredMessage `json:"messages"` // in offset order
	Next     int64           `json:"next"`     // fetch From this for what follows
}

// Fetch reads what the edge keeps of queue (retention), even after it was consumed.
func (n *Node) Fetch(ctx context.Context, queue string, o FetchOptions) (*FetchResult, error) {
	if !validQueueName(queue) {
		return nil, errorf(ErrBadQueue, "%q", queue)
	}
	if o.Limit == 0 {
		o.Limit = 100
	}
	args := map[string]interface{}{"queue": queue, "limit": o.Limit}
	if !o.Since.IsZero() {
		args["since"] = o.Since.UnixMilli()
	} else {
		args["from"] = o.From
	}
	raw, err := n.Call(ctx, "fetch", args, 0)
	if err != nil {
		return nil, err
	}
	var out FetchResult
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, errorf(ErrBadFrame, "the edge's fetch answer: %v", err)
	}
	if out.Messages == nil {
		out.Messages = []StoredMessage{}
	}
	return &out, nil
}

// --- meshHandler: the mesh goroutine tells the node ---

func (n *Node) peerUp(p *peer) {
	if p.role != roleEdge || !p.knowsUs || n.edges[p.id] {
		return
	}
	n.edges[p.id] = true
	n.edgesChanged()
}

func (n *Node) peerDown(p *peer) {
	if p.role != roleEdge {
		return
	}
	delete(n.edges, p.id)
	for c, e := range n.clientEdge {
		if e == p.id {
			delete(n.clientEdge, c)
		}
	}
	n.edgesChanged()
}

func (n *Node) edgesChanged() {
	n.edgesMu.Lock()
	n.edgeCount = len(n.edges)
	close(n.edgesWake)
	n.edgesWake = make(chan struct{})
	n.edgesMu.Unlock()
}

func (n *Node) deliver(from *peer, d *deliverFrame) {
	if from.role == roleEdge && d.client != "" {
		n.clientEdge[d.client] = from.id
	}
	c := n.consumers[d.queue]
	if c == nil {
		return // a queue this node no longer consumes: it comes again elsewhere
	}
	m := &Message{ID: d.id, Queue: d.queue, Client: d.client, User: d.user, Data: json.RawMessage(d.data),
		Created: time.UnixMilli(d.createdMs), Offset: d.offset, ReceiveCount: int(d.receiveCount), node: n}
	if d.receiveCount > 0 {
		m.edge = from.id // stored at the edge: ack it
	}
	c.push(n, m)
}

func (n *Node) clientEvent(from *peer, e *clientEventFrame) {
	ev := ClientEvent{Client: e.client, User: e.user, Resumed: e.resumed}
	var h func(ClientEvent)
	if e.connected {
		n.clientEdge[e.client] = from.id
		h = n.opts.OnConnection
	} else {
		if n.clientEdge[e.client] == from.id {
			delete(n.clientEdge, e.client)
		}
		h = n.opts.OnDisconnection
	}
	if h != nil {
		n.events.push(func() { h(ev) })
	}
}

func (n *Node) responses(_ *peer, rs []responseFrame) {
	n.callsMu.Lock()
	defer n.callsMu.Unlock()
	for _, r := range rs {
		if ch, ok := n.waiting[r.corr]; ok {
			ch <- r // buffered: never blocks
			delete(n.waiting, r.corr)
		}
	}
}

var _ meshHandler = (*Node)(nil)

func (e ClientEvent) String() string {
	return fmt.Sprintf("%s (user %q, resumed %v)", e.Client, e.User, e.Resumed)
}
