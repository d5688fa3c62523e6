package adashta

import (
	"fmt"

	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/adashta/adashta-queue/sdk/go/internal/wire"
)

// The mesh's frames (proto/mesh.fbs) as Go values, and their encoding: one Envelope per
// ZeroMQ frame. The FlatBuffers Go runtime has no verifier, so decode reads every field of
// a frame into plain values at once, under recover: a malformed buffer (one that would
// index out of range) becomes an error, never a crash, and nothing keeps pointing into it.

type roleKind = wire.Role

const (
	roleNode = wire.RoleNode
	roleEdge = wire.RoleEdge
	roleTool = wire.RoleTool
)

func roleName(r roleKind) string {
	switch r {
	case roleNode:
		return "node"
	case roleEdge:
		return "edge"
	case roleTool:
		return "tool"
	}
	return "unknown"
}

// What this SDK reads beyond the first protocol, told to every peer in Hello.
const ourReads = wire.ReadsResponses | wire.ReadsRequests

type helloFrame struct {
	nodeID, endpoint, name, via, answerTo, publicKey string
	role                                             roleKind
	queues                                           []string
	version, heartbeatMs                             uint32
	reply                                            bool
	reads                                            wire.Reads
}

type heartbeatFrame struct {
	nodeID, endpoint string
	version          uint32
}

type peerListFrame struct {
	endpoints, keys []string
}

type deliverFrame struct {
	id, queue, client, user string
	data                    []byte
	createdMs, offset       int64
	deliverAtMs             int64
	fanout                  bool
	receiveCount            uint32
}

type clientEventFrame struct {
	connected bool
	client    string
	resumed   bool
	user      string
}

type requestFrame struct {
	corr     uint64
	op, args string
}

type responseFrame struct {
	corr           uint64
	code           int
	detail, result string
}

// frame is one decoded envelope: exactly one of its fields is set.
type frame struct {
	kind      wire.Body
	hello     *helloFrame
	heartbeat *heartbeatFrame
	peerList  *peerListFrame
	byeID     string
	deliver   *deliverFrame
	event     *clientEventFrame
	responses []responseFrame // Response or Responses
	requests  []requestFrame  // Request or Requests (nodes do not serve these; read to be complete)
	ackID     string
}

func decodeFrame(buf []byte) (f frame, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed mesh frame: %v", r)
		}
	}()
	if len(buf) < 8 {
		return f, fmt.Errorf("frame of %d bytes is too short for an envelope", len(buf))
	}
	env := wire.GetRootAsEnvelope(buf, 0)
	f.kind = env.BodyType()
	var t flatbuffers.Table
	if f.kind == wire.BodyNONE || !env.Body(&t) {
		return f, fmt.Errorf("envelope has no body")
	}
	str := func(b []byte) string { return string(b) }
	switch f.kind {
	case wire.BodyHello:
		var h wire.Hello
		h.Init(t.Bytes, t.Pos)
		hf := &helloFrame{nodeID: str(h.NodeId()), endpoint: str(h.Endpoint()), name: str(h.Name()),
			via: str(h.Via()), answerTo: str(h.AnswerTo()), publicKey: str(h.PublicKey()), role: h.Role(),
			version: h.Version(), heartbeatMs: h.HeartbeatMs(), reply: h.Reply(), reads: h.Reads()}
		for i := 0; i < h.QueuesLength(); i++ {
			hf.queues = append(hf.queues, str(h.Queues(i)))
		}
		f.hello = hf
	case wire.BodyHeartbeat:
		var h wire.Heartbeat
		h.Init(t.Bytes, t.Pos)
		f.heartbeat = &heartbeatFrame{nodeID: str(h.NodeId()), endpoint: str(h.Endpoint()), version: h.Version()}
	case wire.BodyPeerList:
		var p wire.PeerList
		p.Init(t.Bytes, t.Pos)
		pl := &peerListFrame{}
		for i := 0; i < p.EndpointsLength(); i++ {
			pl.endpoints = append(pl.endpoints, str(p.Endpoints(i)))
		}
		for i := 0; i < p.KeysLength(); i++ {
			pl.keys = append(pl.keys, str(p.Keys(i)))
		}
		f.peerList = pl
	case wire.BodyBye:
		var b wire.Bye
		b.Init(t.Bytes, t.Pos)
		f.byeID = str(b.NodeId())
	case wire.BodyDeliver:
		var d wire.Deliver
		d.Init(t.Bytes, t.Pos)
		f.deliver = &deliverFrame{id: str(d.Id()), queue: str(d.Queue()), client: str(d.Client()),
			user: str(d.User()), data: append([]byte(nil), d.DataBytes()...), createdMs: d.CreatedMs(),
			offset: d.Offset(), deliverAtMs: d.DeliverAtMs(), fanout: d.Fanout(), receiveCount: d.ReceiveCount()}
	case wire.BodyClientEvent:
		var e wire.ClientEvent
		e.Init(t.Bytes, t.Pos)
		f.event = &clientEventFrame{connected: e.Kind() == wire.ClientEventKindConnected,
			client: str(e.Client()), resumed: e.Resumed(), user: str(e.User())}
	case wire.BodyAck:
		var a wire.Ack
		a.Init(t.Bytes, t.Pos)
		f.ackID = str(a.Id())
	case wire.BodyRequest:
		var r wire.Request
		r.Init(t.Bytes, t.Pos)
		f.requests = []requestFrame{{corr: r.Corr(), op: str(r.Op()), args: str(r.Args())}}
	case wire.BodyRequests:
		var rs wire.Requests
		rs.Init(t.Bytes, t.Pos)
		var r wire.Request
		for i := 0; i < rs.ItemsLength(); i++ {
			if rs.Items(&r, i) {
				f.requests = append(f.requests, requestFrame{corr: r.Corr(), op: str(r.Op()), args: str(r.Args())})
			}
		}
	case wire.BodyResponse:
		var r wire.Response
		r.Init(t.Bytes, t.Pos)
		f.responses = []responseFrame{{corr: r.Corr(), code: int(r.Code()), detail: str(r.Detail()), result: str(r.Result())}}
	case wire.BodyResponses:
		var rs wire.Responses
		rs.Init(t.Bytes, t.Pos)
		var r wire.Response
		for i := 0; i < rs.ItemsLength(); i++ {
			if rs.Items(&r, i) {
				f.responses = append(f.responses, responseFrame{corr: r.Corr(), code: int(r.Code()), detail: str(r.Detail()), result: str(r.Result())})
			}
		}
	default:
		return f, fmt.Errorf("unknown body type %d", f.kind)
	}
	return f, nil
}

func finishEnvelope(b *flatbuffers.Builder, kind wire.Body, body flatbuffers.UOffsetT) []byte {
	wire.EnvelopeStart(b)
	wire.EnvelopeAddBodyType(b, kind)
	wire.EnvelopeAddBody(b, body)
	b.Finish(wire.EnvelopeEnd(b))
	return b.FinishedBytes()
}

func stringVector(b *flatbuffers.Builder, items []string, start func(*flatbuffers.Builder, int) flatbuffers.UOffsetT) flatbuffers.UOffsetT {
	offsets := make([]flatbuffers.UOffsetT, len(items))
	for i, s := range items {
		offsets[i] = b.CreateString(s)
	}
	start(b, len(items))
	for i := len(offsets) - 1; i >= 0; i-- {
		b.PrependUOffsetT(offsets[i])
	}
	return b.EndVector(len(items))
}

func encodeHello(h *helloFrame) []byte {
	b := flatbuffers.NewBuilder(256)
	id, ep, name := b.CreateString(h.nodeID), b.CreateString(h.endpoint), b.CreateString(h.name)
	queues := stringVector(b, h.queues, wire.HelloStartQueuesVector)
	via, answer, key := b.CreateString(h.via), b.CreateString(h.answerTo), b.CreateString(h.publicKey)
	wire.HelloStart(b)
	wire.HelloAddNodeId(b, id)
	wire.HelloAddEndpoint(b, ep)
	wire.HelloAddRole(b, h.role)
	wire.HelloAddName(b, name)
	wire.HelloAddQueues(b, queues)
	wire.HelloAddVersion(b, h.version)
	wire.HelloAddReply(b, h.reply)
	wire.HelloAddVia(b, via)
	wire.HelloAddAnswerTo(b, answer)
	wire.HelloAddHeartbeatMs(b, h.heartbeatMs)
	wire.HelloAddReads(b, h.reads)
	if h.publicKey != "" {
		wire.HelloAddPublicKey(b, key)
	}
	return finishEnvelope(b, wire.BodyHello, wire.HelloEnd(b))
}

func encodeHeartbeat(id, endpoint string, version uint32) []byte {
	b := flatbuffers.NewBuilder(96)
	i, e := b.CreateString(id), b.CreateString(endpoint)
	wire.HeartbeatStart(b)
	wire.HeartbeatAddNodeId(b, i)
	wire.HeartbeatAddEndpoint(b, e)
	wire.HeartbeatAddVersion(b, version)
	return finishEnvelope(b, wire.BodyHeartbeat, wire.HeartbeatEnd(b))
}

func encodePeerList(endpoints, keys []string) []byte {
	b := flatbuffers.NewBuilder(256)
	eps := stringVector(b, endpoints, wire.PeerListStartEndpointsVector)
	var ks flatbuffers.UOffsetT
	if len(keys) > 0 {
		ks = stringVector(b, keys, wire.PeerListStartKeysVector)
	}
	wire.PeerListStart(b)
	wire.PeerListAddEndpoints(b, eps)
	if len(keys) > 0 {
		wire.PeerListAddKeys(b, ks)
	}
	return finishEnvelope(b, wire.BodyPeerList, wire.PeerListEnd(b))
}

func encodeBye(id string) []byte {
	b := flatbuffers.NewBuilder(64)
	i := b.CreateString(id)
	wire.ByeStart(b)
	wire.ByeAddNodeId(b, i)
	return finishEnvelope(b, wire.BodyBye, wire.ByeEnd(b))
}

func encodeDeliver(d *deliverFrame) []byte {
	b := flatbuffers.NewBuilder(128 + len(d.data))
	id, q, c, u := b.CreateString(d.id), b.CreateString(d.queue), b.CreateString(d.client), b.CreateString(d.user)
	data := b.CreateByteVector(d.data)
	wire.DeliverStart(b)
	wire.DeliverAddId(b, id)
	wire.DeliverAddQueue(b, q)
	wire.DeliverAddClient(b, c)
	wire.DeliverAddData(b, data)
	wire.DeliverAddCreatedMs(b, d.createdMs)
	wire.DeliverAddFanout(b, d.fanout)
	wire.DeliverAddDeliverAtMs(b, d.deliverAtMs)
	wire.DeliverAddUser(b, u)
	return finishEnvelope(b, wire.BodyDeliver, wire.DeliverEnd(b))
}

func encodeAck(id, queue string) []byte {
	b := flatbuffers.NewBuilder(96)
	i, q := b.CreateString(id), b.CreateString(queue)
	wire.AckStart(b)
	wire.AckAddId(b, i)
	wire.AckAddQueue(b, q)
	return finishEnvelope(b, wire.BodyAck, wire.AckEnd(b))
}

func buildRequest(b *flatbuffers.Builder, r requestFrame) flatbuffers.UOffsetT {
	op, args := b.CreateString(r.op), b.CreateString(r.args)
	wire.RequestStart(b)
	wire.RequestAddCorr(b, r.corr)
	wire.RequestAddOp(b, op)
	wire.RequestAddArgs(b, args)
	return wire.RequestEnd(b)
}

// encodeRequests makes one Request, or a Requests of several (only for edges that read it).
func encodeRequests(rs []requestFrame) []byte {
	size := 64
	for _, r := range rs {
		size += len(r.op) + len(r.args) + 32
	}
	b := flatbuffers.NewBuilder(size)
	if len(rs) == 1 {
		return finishEnvelope(b, wire.BodyRequest, buildRequest(b, rs[0]))
	}
	items := make([]flatbuffers.UOffsetT, len(rs))
	for i, r := range rs {
		items[i] = buildRequest(b, r)
	}
	wire.RequestsStartItemsVector(b, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		b.PrependUOffsetT(items[i])
	}
	vec := b.EndVector(len(items))
	wire.RequestsStart(b)
	wire.RequestsAddItems(b, vec)
	return finishEnvelope(b, wire.BodyRequests, wire.RequestsEnd(b))
}
