package adashta

import (
	"fmt"
	"log"
	"runtime"
	"sort"
	"sync"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/adashta/adashta-queue/sdk/go/internal/wire"
)

// The mesh member inside a Node: one ROUTER that peers send to, one DEALER per peer that
// this member sends with, membership (Hello, Heartbeat, PeerList, Bye), and with CURVE a
// ZAP handler. Behaviour follows mesh/src/mesh.cpp, the reference.
//
// Ownership: one goroutine, run(), owns every ZeroMQ socket and every field below marked
// "mesh goroutine" (ZeroMQ sockets are not safe for concurrent use). Other goroutines
// reach it only through post(), which queues a function for it to run and wakes it over an
// inproc PAIR socket (wakeSend, guarded by tasksMu). The Node's callbacks (meshHandler)
// run on the mesh goroutine too.

const (
	meshTick        = 100 * time.Millisecond // dial and expiry granularity
	meshRedial      = 250 * time.Millisecond // between Hellos to one endpoint
	meshGiveUp      = 30 * time.Second       // on a non-seed endpoint
	maxMessageBytes = 16 << 20
	highWaterMark   = 100000
	zapDomain       = "adashta"
)

// peer is a live mesh member as this member knows it.
type peer struct {
	id, endpoint, name string
	key                string // with CURVE: the key its connection authenticated with
	role               roleKind
	queues             []string // sorted
	version            uint32
	heartbeat          time.Duration
	reads              wire.Reads
	lastSeen           time.Time
	knowsUs            bool // it has shown it counts us in: only then do we route to it
}

// meshHandler is what the mesh tells its Node, on the mesh goroutine.
type meshHandler interface {
	peerUp(p *peer) // joined, or changed (knowsUs, queues, ...)
	peerDown(p *peer)
	deliver(from *peer, d *deliverFrame)
	clientEvent(from *peer, e *clientEventFrame)
	responses(from *peer, rs []responseFrame)
}

type wanted struct {
	forever bool // a seed: dialed until it answers, and again whenever it is lost
	since   time.Time
}

type mesh struct {
	id       string // immutable after newMesh
	endpoint string // immutable after start: where our ROUTER is reached
	opts     Options
	role     roleKind
	handler  meshHandler

	// mesh goroutine
	zctx           *zmq.Context
	router         *zmq.Socket
	zap            *zmq.Socket // nil without CURVE
	wakeRecv       *zmq.Socket
	dealers        map[string]*zmq.Socket // by endpoint
	peers          map[string]*peer       // by id
	wanted         map[string]*wanted     // endpoints to dial until reached
	lastDial       map[string]time.Time
	reachedVia     map[string]string // an endpoint we dialed -> the id that answered there
	endpointKeys   map[string]string // with CURVE: endpoint -> public key to dial it with
	queues         []string          // what we consume, sorted
	version        uint32            // bumps with queues
	curve          *keyPair
	allowed        allowList
	lastBeat       time.Time
	refusedSaid    map[string]time.Time // log rate limit for refusals
	ignoredBeacons map[string]bool      // keys whose beacons were logged as ignored
	beacon         *beacon              // nil without Options.Beacon; its socket is its goroutine's
	pendingCalls   []requestFrame       // requests posted since the last flush
	stopping       bool

	beaconOnce sync.Once

	tasksMu  sync.Mutex // guards tasks, wakeSend, closed
	tasks    []func()
	wakeSend *zmq.Socket
	closed   bool

	done       chan struct{} // closed when run() has returned and closed its sockets
	beaconStop chan struct{} // closed at stop: the beacon stops publishing
}

// newMesh loads keys, binds the ROUTER (and ZAP handler) and learns the seeds; start()
// then runs the mesh goroutine.
func newMesh(o Options, role roleKind, h meshHandler) (*mesh, error) {
	m := &mesh{id: newNodeID(), opts: o, role: role, handler: h,
		dealers: map[string]*zmq.Socket{}, peers: map[string]*peer{}, wanted: map[string]*wanted{},
		lastDial: map[string]time.Time{}, reachedVia: map[string]string{}, endpointKeys: map[string]string{},
		refusedSaid: map[string]time.Time{}, ignoredBeacons: map[string]bool{}, done: make(chan struct{}),
		beaconStop: make(chan struct{})}
	if err := m.loadKeys(); err != nil {
		return nil, err
	}
	if o.Beacon != "" {
		port := o.BeaconPort
		if port == 0 {
			port = 5670
		}
		b, err := openBeacon(o.Beacon, port)
		if err != nil {
			return nil, err
		}
		m.beacon = b
	}
	var err error
	if m.zctx, err = zmq.NewContext(); err != nil {
		return nil, errorf(ErrBindFailed, "ZeroMQ context: %v", err)
	}
	fail := func(e error) (*mesh, error) {
		if m.beacon != nil {
			_ = m.beacon.conn.Close()
		}
		m.closeSockets()
		return nil, e
	}
	if m.curve != nil {
		// Bound before the ROUTER: libzmq asks inproc://zeromq.zap.01 of the ROUTER's
		// context about every CURVE handshake. Our own handler (not zmq4's AuthStart) so the
		// client's key becomes the User-Id of its frames, as the C++ mesh does.
		if m.zap, err = m.zctx.NewSocket(zmq.REP); err == nil {
			_ = m.zap.SetLinger(0)
			err = m.zap.Bind("inproc://zeromq.zap.01")
		}
		if err != nil {
			return fail(errorf(ErrBindFailed, "ZAP handler: %v", err))
		}
	}
	bind, err := normalizeEndpoint(o.Bind)
	if err != nil {
		return fail(err)
	}
	if m.beacon != nil {
		// Peers find us on the beacon's interface, so we must listen there: a loopback bind
		// moves to the interface's address; a wildcard bind already covers it.
		if h := hostOf(bind); h == "127.0.0.1" || h == "localhost" {
			bind = withHost(bind, m.beacon.address)
		}
	}
	if m.router, err = m.zctx.NewSocket(zmq.ROUTER); err != nil {
		return fail(errorf(ErrBindFailed, "%v", err))
	}
	if m.curve != nil {
		_ = m.router.SetCurveServer(1)
		_ = m.router.SetCurveSecretkey(m.curve.secret)
		_ = m.router.SetZapDomain(zapDomain)
	}
	_ = m.router.SetRouterMandatory(1)
	_ = m.router.SetRouterHandover(true)
	_ = m.router.SetMaxmsgsize(maxMessageBytes)
	_ = m.router.SetRcvhwm(highWaterMark)
	_ = m.router.SetHeartbeatIvl(time.Second)
	_ = m.router.SetHeartbeatTimeout(3 * time.Second)
	_ = m.router.SetLinger(0)
	if err := m.router.Bind(bind); err != nil {
		return fail(errorf(ErrBindFailed, "%s: %v", bind, err))
	}
	m.endpoint, _ = m.router.GetLastEndpoint()
	if o.Advertise != "" {
		if m.endpoint, err = normalizeEndpoint(o.Advertise); err != nil {
			return fail(err)
		}
	} else if h := hostOf(m.endpoint); h == "0.0.0.0" || h == "*" {
		host := "127.0.0.1"
		if m.beacon != nil {
			host = m.beacon.address
		}
		m.endpoint = withHost(m.endpoint, host)
	}
	wakeAt := "inproc://adashta-wake-" + m.id
	if m.wakeRecv, err = m.zctx.NewSocket(zmq.PAIR); err == nil {
		err = m.wakeRecv.Bind(wakeAt)
	}
	if err == nil {
		if m.wakeSend, err = m.zctx.NewSocket(zmq.PAIR); err == nil {
			err = m.wakeSend.Connect(wakeAt)
		}
	}
	if err != nil {
		return fail(errorf(ErrBindFailed, "wake-up socket: %v", err))
	}
	for _, seed := range o.Seeds {
		at, key, err := splitSeed(seed)
		if err != nil {
			return fail(err)
		}
		endpoint, err := normalizeEndpoint(at)
		if err != nil {
			return fail(err)
		}
		m.learnKey(endpoint, key, true)
		if m.curve != nil && m.keyOf(endpoint) == "" {
			return fail(errorf(ErrBadKey, "seed %s: its public key is unknown; list its endpoint in %s, or write the seed as %s|KEY", endpoint, o.MeshAllow, endpoint))
		}
		if endpoint != m.endpoint {
			m.want(endpoint, true)
		}
	}
	return m, nil
}

func hostOf(endpoint string) string {
	rest := endpoint[len("tcp://"):]
	return rest[:len(rest)-len(portOf(endpoint))-1]
}

func portOf(endpoint string) string {
	for i := len(endpoint) - 1; i >= 0; i-- {
		if endpoint[i] == ':' {
			return endpoint[i+1:]
		}
	}
	return ""
}

func withHost(endpoint, host string) string { return "tcp://" + host + ":" + portOf(endpoint) }

func (m *mesh) loadKeys() error {
	o := m.opts
	hasKey := o.MeshKey != "" || o.MeshSecret != ""
	if !hasKey && o.MeshAllow == "" {
		return nil
	}
	if !hasKey {
		return errorf(ErrBadKey, "a mesh allow-list (%s) needs this member's own key too (MeshKey or MeshSecret)", o.MeshAllow)
	}
	if o.MeshAllow == "" {
		return errorf(ErrBadKey, "a mesh key needs the allow-list of the members' keys (MeshAllow)")
	}
	var pair keyPair
	var err error
	if o.MeshKey != "" {
		pair, err = loadKeyPair(o.MeshKey)
	} else {
		pair, err = keyPairFromSecret(o.MeshSecret)
	}
	if err != nil {
		return err
	}
	allowed, err := loadAllowList(o.MeshAllow)
	if err != nil {
		return err
	}
	own := allowed[pair.public]
	if own == nil || !own.may(m.role) {
		return errorf(ErrBadKey, "this member's own key %s is not allowed as %s in %s; add it there", pair.public, roleName(m.role), o.MeshAllow)
	}
	m.curve, m.allowed = &pair, allowed
	return nil
}

// post queues fn for the mesh goroutine; false once the mesh is closed.
func (m *mesh) post(fn func()) bool {
	m.tasksMu.Lock()
	defer m.tasksMu.Unlock()
	if m.closed {
		return false
	}
	m.tasks = append(m.tasks, fn)
	if len(m.tasks) == 1 { // one wake-up per batch: run() takes every task when it wakes
		_, _ = m.wakeSend.Send("", zmq.DONTWAIT)
	}
	return true
}

// start runs the mesh goroutine (and the beacon's).
func (m *mesh) start() {
	go m.run()
	if m.beacon != nil {
		payload := beaconPrefix + m.id + " " + m.endpoint
		if m.curve != nil {
			payload += " " + m.curve.public
		}
		go m.beacon.run(payload, func(from, heard string) {
			m.post(func() { m.heardBeacon(from, heard) })
		}, m.beaconStop)
	}
}

// stop says Bye to the peers and closes every socket; idempotent, not from the mesh goroutine.
func (m *mesh) stop() {
	if m.post(func() { m.stopping = true }) {
		<-m.done
	}
	m.tasksMu.Lock()
	if !m.closed {
		m.closed = true
	}
	m.tasksMu.Unlock()
	<-m.done
	if m.beacon != nil {
		m.beaconOnce.Do(func() {
			close(m.beaconStop)
			_ = m.beacon.conn.Close()
		})
	}
}

func (m *mesh) run() {
	// Not required by libzmq (a socket may move between threads with a full barrier), but
	// it keeps every call on the sockets on one OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(m.done)
	poller := zmq.NewPoller()
	poller.Add(m.router, zmq.POLLIN)
	poller.Add(m.wakeRecv, zmq.POLLIN)
	if m.zap != nil {
		poller.Add(m.zap, zmq.POLLIN)
	}
	nextTick := time.Now()
	for !m.stopping {
		wait := time.Until(nextTick)
		if wait < 0 {
			wait = 0
		}
		polled, err := poller.Poll(wait)
		if err != nil && zmq.AsErrno(err) != zmq.Errno(4) { // EINTR
			log.Printf("adashta: mesh poll failed: %v", err)
		}
		for _, p := range polled {
			switch p.Socket {
			case m.router:
				m.drainRouter()
			case m.wakeRecv:
				m.drainTasks()
			case m.zap:
				m.drainZap()
			}
		}
		if now := time.Now(); !now.Before(nextTick) {
			m.tick(now)
			nextTick = now.Add(meshTick)
		}
	}
	m.tasksMu.Lock()
	m.closed = true
	m.tasksMu.Unlock()
	bye := encodeBye(m.id)
	for _, p := range m.peers {
		if d := m.dealerFor(p.endpoint); d != nil {
			_, _ = d.SendBytes(bye, zmq.DONTWAIT)
			_ = d.SetLinger(200 * time.Millisecond)
		}
	}
	m.closeSockets()
}

func (m *mesh) closeSockets() {
	for _, d := range m.dealers {
		_ = d.Close()
	}
	m.dealers = map[string]*zmq.Socket{}
	for _, s := range []*zmq.Socket{m.router, m.zap, m.wakeRecv, m.wakeSend} {
		if s != nil {
			_ = s.Close()
		}
	}
	if m.zctx != nil {
		_ = m.zctx.Term()
	}
}

func (m *mesh) drainTasks() {
	for {
		if _, err := m.wakeRecv.RecvBytes(zmq.DONTWAIT); err != nil {
			break
		}
	}
	m.tasksMu.Lock()
	batch := m.tasks
	m.tasks = nil
	m.tasksMu.Unlock()
	for _, task := range batch {
		task()
	}
	m.flushCalls()
}

func (m *mesh) drainRouter() {
	now := time.Now()
	for i := 0; i < 4096; i++ {
		from, err := m.router.RecvBytes(zmq.DONTWAIT)
		if err != nil {
			return
		}
		if more, _ := m.router.GetRcvmore(); !more {
			continue
		}
		// With CURVE every frame carries the key its connection authenticated with (the
		// User-Id our ZAP handler gave it): that, not the routing id, says who sent it. The
		// ROUTER's routing-id part carries no metadata, so it is read from the frame itself.
		body, meta, err := m.router.RecvBytesWithMetadata(zmq.DONTWAIT, "User-Id")
		if err != nil {
			return
		}
		extra := false
		for more, _ := m.router.GetRcvmore(); more; more, _ = m.router.GetRcvmore() {
			extra = true // our peers send one frame; anything more is not ours
			if _, err := m.router.RecvBytes(zmq.DONTWAIT); err != nil {
				break
			}
		}
		if extra {
			continue
		}
		f, err := decodeFrame(body)
		if err != nil {
			continue
		}
		m.handle(string(from), &f, now, meta["User-Id"])
	}
}

func (m *mesh) handle(from string, f *frame, now time.Time, key string) {
	if f.kind == wire.BodyHello {
		if f.hello.nodeID != from {
			return // a Hello must come from the node it names
		}
		if p := m.peers[from]; p != nil {
			p.lastSeen = now
		}
		m.handleHello(f.hello, key)
		return
	}
	p := m.peers[from]
	if m.curve != nil && p != nil && p.key != key {
		return // another member's routing id over a connection with another key
	}
	if p != nil {
		p.lastSeen = now
	}
	switch f.kind {
	case wire.BodyHeartbeat:
		m.handleHeartbeat(from, f.heartbeat)
	case wire.BodyPeerList:
		m.handlePeerList(f.peerList)
	case wire.BodyBye:
		if p != nil {
			delete(m.peers, from)
			m.dropPeer(p)
		}
	default:
		if p == nil {
			return // data from a stranger
		}
		if !p.knowsUs {
			m.confirm(p)
		}
		switch {
		case f.deliver != nil:
			m.handler.deliver(p, f.deliver)
		case f.event != nil:
			m.handler.clientEvent(p, f.event)
		case f.responses != nil:
			m.handler.responses(p, f.responses)
		}
	}
}

// refusal says why a Hello is refused, or "".
func (m *mesh) refusal(h *helloFrame, endpoint, key string) string {
	same := m.peers[h.nodeID]
	if m.curve == nil {
		if same != nil && same.endpoint != endpoint {
			return "its id " + h.nodeID + " is live at " + same.endpoint
		}
		return ""
	}
	allowed := m.allowed[key]
	if allowed == nil {
		return "key " + key + " is not in the allow-list"
	}
	if !allowed.may(h.role) {
		return "key " + key + " may join as " + allowed.roles() + " only"
	}
	if h.publicKey != key {
		return "it names key " + h.publicKey + " but its connection authenticated with " + key
	}
	if same != nil && same.key != key {
		return "its id " + h.nodeID + " belongs to the live member with key " + same.key
	}
	for _, p := range m.peers {
		if p.endpoint == endpoint && p.key != key {
			return "endpoint " + endpoint + " belongs to the live member with key " + p.key
		}
	}
	return ""
}

func (m *mesh) handleHello(h *helloFrame, key string) {
	endpoint, err := normalizeEndpoint(h.endpoint)
	if err != nil || h.nodeID == "" || h.nodeID == m.id {
		return
	}
	if why := m.refusal(h, endpoint, key); why != "" {
		said := h.nodeID + why
		if time.Since(m.refusedSaid[said]) > time.Second {
			m.refusedSaid[said] = time.Now()
			log.Printf("adashta: refused a Hello from %s (id %s, role %s): %s", endpoint, h.nodeID, roleName(h.role), why)
		}
		return
	}
	m.learnKey(endpoint, key, true)
	queues := append([]string(nil), h.queues...)
	sort.Strings(queues)
	queues = uniq(queues)
	info := &peer{id: h.nodeID, endpoint: endpoint, name: h.name, key: key, role: h.role, queues: queues,
		version: h.version, heartbeat: time.Duration(h.heartbeatMs) * time.Millisecond, reads: h.reads, lastSeen: time.Now()}

	// One endpoint, one live member: a new id there is the same process restarted.
	for id, p := range m.peers {
		if p.endpoint == endpoint && id != info.id {
			delete(m.peers, id)
			m.handler.peerDown(p)
			break
		}
	}
	if h.answerTo != "" {
		m.reachedVia[h.answerTo] = info.id
	}
	answer := !h.reply // a Hello that answers ours means its sender has taken us in
	known := m.peers[info.id]
	joined := known == nil
	if joined {
		info.knowsUs = answer
		m.peers[info.id] = info
		m.handler.peerUp(info)
		if answer { // tell it at once that we took it in: it routes nothing to us until then
			m.sendTo(endpoint, encodeHeartbeat(m.id, m.endpoint, m.version))
		}
	} else if h.version >= known.version {
		changed := !equalStrings(known.queues, info.queues) || known.role != info.role || known.endpoint != info.endpoint || known.name != info.name
		info.knowsUs = known.knowsUs || answer
		confirmNow := !known.knowsUs && info.knowsUs
		m.peers[info.id] = info
		if changed || confirmNow {
			m.handler.peerUp(info)
		}
	} else if answer {
		m.confirm(known)
	}
	// Every answer carries the list: our first can be lost while the connection back is made.
	if joined || h.reply {
		var endpoints, keys []string
		for id, p := range m.peers {
			if id != info.id {
				endpoints = append(endpoints, p.endpoint)
				if m.curve != nil {
					keys = append(keys, p.key)
				}
			}
		}
		if h.reply {
			m.sendHello(endpoint, false, h.via)
		}
		if len(endpoints) > 0 {
			m.sendTo(endpoint, encodePeerList(endpoints, keys))
		}
	}
}

func (m *mesh) handleHeartbeat(from string, b *heartbeatFrame) {
	p := m.peers[from]
	if p == nil {
		// It knows us but we dropped it (or never heard its Hello): ask who it is.
		if endpoint, err := normalizeEndpoint(b.endpoint); err == nil && endpoint != m.endpoint {
			m.sendHello(endpoint, true, "")
		}
		return
	}
	if b.version != p.version {
		m.sendHello(p.endpoint, true, "")
	}
	m.confirm(p)
}

func (m *mesh) confirm(p *peer) {
	if p.knowsUs {
		return
	}
	p.knowsUs = true
	m.handler.peerUp(p)
}

func (m *mesh) handlePeerList(l *peerListFrame) {
	for i, at := range l.endpoints {
		endpoint, err := normalizeEndpoint(at)
		if err != nil || endpoint == m.endpoint || m.peerAt(endpoint) != nil {
			continue
		}
		if m.curve != nil {
			key := ""
			if i < len(l.keys) {
				key = l.keys[i]
			}
			if m.allowed[key] == nil {
				continue // only keys of the allow-list are worth dialing
			}
			m.learnKey(endpoint, key, false)
		}
		m.want(endpoint, false)
	}
	m.dialUnreached()
}

func (m *mesh) peerAt(endpoint string) *peer {
	for _, p := range m.peers {
		if p.endpoint == endpoint {
			return p
		}
	}
	return nil
}

func (m *mesh) dropPeer(p *peer) {
	if w := m.wanted[p.endpoint]; w == nil || !w.forever {
		m.closeDealer(p.endpoint)
	}
	m.handler.peerDown(p)
}

func (m *mesh) tick(now time.Time) {
	if now.Sub(m.lastBeat) >= m.opts.Heartbeat {
		m.lastBeat = now
		beat := encodeHeartbeat(m.id, m.endpoint, m.version)
		for _, p := range m.peers {
			m.sendTo(p.endpoint, beat)
		}
	}
	for id, p := range m.peers {
		limit := m.opts.PeerTimeout
		if 3*p.heartbeat > limit {
			limit = 3 * p.heartbeat
		}
		if now.Sub(p.lastSeen) > limit {
			delete(m.peers, id)
			m.dropPeer(p)
		}
	}
	m.dialUnreached()
}

func (m *mesh) want(endpoint string, forever bool) {
	if w := m.wanted[endpoint]; w != nil {
		w.forever = w.forever || forever
		return
	}
	m.wanted[endpoint] = &wanted{forever: forever, since: time.Now()}
}

func (m *mesh) reached(endpoint string) bool {
	if m.peerAt(endpoint) != nil {
		return true
	}
	id, ok := m.reachedVia[endpoint]
	return ok && m.peers[id] != nil
}

func (m *mesh) dialUnreached() {
	now := time.Now()
	for endpoint, w := range m.wanted {
		if m.reached(endpoint) {
			if !w.forever {
				delete(m.wanted, endpoint)
			}
			continue
		}
		if !w.forever && now.Sub(w.since) > meshGiveUp {
			m.closeDealer(endpoint)
			delete(m.lastDial, endpoint)
			delete(m.wanted, endpoint)
			continue
		}
		if now.Sub(m.lastDial[endpoint]) >= meshRedial {
			m.lastDial[endpoint] = now
			m.sendHello(endpoint, true, "")
		}
	}
}

func (m *mesh) keyOf(endpoint string) string {
	if k, ok := m.endpointKeys[endpoint]; ok {
		return k
	}
	if m.allowed != nil {
		if k := m.allowed.byEndpoint(endpoint); k != nil {
			return k.key
		}
	}
	return ""
}

func (m *mesh) learnKey(endpoint, key string, authoritative bool) {
	if key == "" || (!authoritative && m.keyOf(endpoint) != "") {
		return
	}
	old, had := m.endpointKeys[endpoint]
	m.endpointKeys[endpoint] = key
	if had && old != key {
		m.closeDealer(endpoint) // the DEALER made for the old key can never complete its handshake
	}
}

func (m *mesh) dealerFor(endpoint string) *zmq.Socket {
	if d := m.dealers[endpoint]; d != nil {
		return d
	}
	key := ""
	if m.curve != nil {
		if key = m.keyOf(endpoint); !isZ85Key(key) {
			return nil // its public key is unknown: cannot dial it
		}
	}
	d, err := m.zctx.NewSocket(zmq.DEALER)
	if err != nil {
		log.Printf("adashta: cannot make a socket for %s: %v", endpoint, err)
		return nil
	}
	if m.curve != nil {
		_ = d.SetCurveServerkey(key)
		_ = d.SetCurvePublickey(m.curve.public)
		_ = d.SetCurveSecretkey(m.curve.secret)
	}
	_ = d.SetIdentity(m.id)
	_ = d.SetImmediate(true)
	_ = d.SetSndhwm(highWaterMark)
	_ = d.SetMaxmsgsize(maxMessageBytes)
	_ = d.SetHeartbeatIvl(time.Second)
	_ = d.SetHeartbeatTimeout(3 * time.Second)
	_ = d.SetReconnectIvl(100 * time.Millisecond)
	_ = d.SetReconnectIvlMax(time.Second)
	_ = d.SetLinger(0)
	if err := d.Connect(endpoint); err != nil {
		_ = d.Close()
		log.Printf("adashta: cannot dial %s: %v", endpoint, err)
		return nil
	}
	m.dealers[endpoint] = d
	return d
}

func (m *mesh) closeDealer(endpoint string) {
	if d := m.dealers[endpoint]; d != nil {
		_ = d.Close()
		delete(m.dealers, endpoint)
	}
}

// sendTo sends one frame; false when the peer's connection is down (ZMQ_IMMEDIATE) or full.
func (m *mesh) sendTo(endpoint string, frame []byte) bool {
	d := m.dealerFor(endpoint)
	if d == nil {
		return false
	}
	_, err := d.SendBytes(frame, zmq.DONTWAIT)
	return err == nil
}

// send sends to a live peer by id.
func (m *mesh) send(id string, frame []byte) bool {
	p := m.peers[id]
	return p != nil && m.sendTo(p.endpoint, frame)
}

func (m *mesh) sendHello(endpoint string, reply bool, answerTo string) {
	h := &helloFrame{nodeID: m.id, endpoint: m.endpoint, role: m.role, name: m.opts.Name, queues: m.queues,
		version: m.version, reply: reply, via: endpoint, answerTo: answerTo,
		heartbeatMs: uint32(m.opts.Heartbeat / time.Millisecond), reads: ourReads}
	if m.curve != nil {
		h.publicKey = m.curve.public
	}
	m.sendTo(endpoint, encodeHello(h))
}

// setQueues announces what this node consumes to every peer (mesh goroutine).
func (m *mesh) setQueues(queues []string) {
	queues = append([]string(nil), queues...)
	sort.Strings(queues)
	queues = uniq(queues)
	if equalStrings(queues, m.queues) && m.version > 0 {
		return
	}
	m.queues = queues
	m.version++
	for _, p := range m.peers {
		m.sendHello(p.endpoint, false, "")
	}
}

// call queues a request for the next flush to the call edge (mesh goroutine).
func (m *mesh) queueCall(r requestFrame) { m.pendingCalls = append(m.pendingCalls, r) }

// flushCalls sends the requests queued during one drain to the live edge with the lowest id
// that counts us in, in one Requests frame when it reads them; no edge: each fails no_edge.
func (m *mesh) flushCalls() {
	if len(m.pendingCalls) == 0 {
		return
	}
	calls := m.pendingCalls
	m.pendingCalls = nil
	edge := m.callEdge()
	var failed []requestFrame
	if edge == nil {
		failed = calls
	} else if edge.reads&wire.ReadsRequests != 0 {
		const frameBytes = 1 << 20 // far below a receiver's 16 MiB cap
		for start := 0; start < len(calls); {
			end, size := start, 0
			for end < len(calls) && (end == start || size+len(calls[end].args) < frameBytes) {
				size += len(calls[end].args) + len(calls[end].op) + 64
				end++
			}
			if !m.sendTo(edge.endpoint, encodeRequests(calls[start:end])) {
				failed = append(failed, calls[start:end]...)
			}
			start = end
		}
	} else {
		for _, c := range calls {
			if !m.sendTo(edge.endpoint, encodeRequests([]requestFrame{c})) {
				failed = append(failed, c)
			}
		}
	}
	if len(failed) > 0 {
		rs := make([]responseFrame, len(failed))
		for i, c := range failed {
			rs[i] = responseFrame{corr: c.corr, code: ErrNoEdge.Code, detail: fmt.Sprintf("%s could not be sent to an edge", c.op)}
		}
		m.handler.responses(nil, rs)
	}
}

// callEdge is the live edge with the lowest id that counts us in, so every node calls the
// same edge and work queues are one queue however many edges there are.
func (m *mesh) callEdge() *peer {
	var best *peer
	for _, p := range m.peers {
		if p.role == roleEdge && p.knowsUs && (best == nil || p.id < best.id) {
			best = p
		}
	}
	return best
}

func (m *mesh) drainZap() {
	// RFC 27: version, request id, domain, address, routing id, mechanism, credentials; the
	// answer: version, request id, status code, status text, user id, metadata. The client's
	// public key (Z85) becomes the User-Id of every frame of its connection.
	for {
		req, err := m.zap.RecvMessageBytes(zmq.DONTWAIT)
		if err != nil {
			return
		}
		text := func(i int) string {
			if i < len(req) {
				return string(req[i])
			}
			return ""
		}
		key := ""
		if text(5) == "CURVE" && len(req) >= 7 && len(req[6]) == 32 {
			key = zmq.Z85encode(string(req[6]))
		}
		allowed := key != "" && m.allowed[key] != nil
		status, statusText, userID := "400", "key not allowed", ""
		if allowed {
			status, statusText, userID = "200", "OK", key
		} else if key == "" {
			log.Printf("adashta: refused a mesh connection from %s: it does not speak CURVE", text(3))
		} else {
			log.Printf("adashta: refused a mesh connection from %s: key %s is not in the allow-list (%s)", text(3), key, m.opts.MeshAllow)
		}
		_, _ = m.zap.SendMessage("1.0", text(1), status, statusText, userID, "")
	}
}

func uniq(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
