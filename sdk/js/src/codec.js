// Mesh frames (proto/mesh.fbs) <-> plain objects. One Envelope per ZeroMQ frame.
//
//   const bytes = encode('Heartbeat', { nodeId, endpoint, version });
//   const { type, body } = decode(bytes);   // type: 'Heartbeat', body: { nodeId, ... }
//
// The JavaScript FlatBuffers runtime has no verifier: decode reads every field of the frame
// at once inside a try, so a malformed frame throws here (and is dropped by the caller)
// rather than later in a handler. Reads stay inside the buffer (a DataView), so a hostile
// frame can give wrong values, never read memory outside it.

import * as flatbuffers from 'flatbuffers';
import * as wire from '../generated/mesh.js';

export const { Role, Reads, ClientEventKind } = wire;

const bodyNames = Object.fromEntries(Object.entries(wire.Body).filter(([k]) => Number.isNaN(Number(k))).map(([k, v]) => [v, k]));

// One builder, reused: encoding is synchronous and the event loop owns it.
const builder = new flatbuffers.Builder(1024);

const str = (b, s) => (s ? b.createString(s) : 0);
const strings = (b, list) => {
  const offsets = list.map((s) => b.createString(s));
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
};

function request(b, r) {
  const op = str(b, r.op);
  const args = str(b, r.args);
  wire.Request.startRequest(b);
  wire.Request.addCorr(b, BigInt(r.corr));
  if (op) wire.Request.addOp(b, op);
  if (args) wire.Request.addArgs(b, args);
  return wire.Request.endRequest(b);
}

const encoders = {
  Hello(b, h) {
    const nodeId = str(b, h.nodeId);
    const endpoint = str(b, h.endpoint);
    const name = str(b, h.name);
    const queues = strings(b, h.queues ?? []);
    const via = str(b, h.via);
    const answerTo = str(b, h.answerTo);
    const publicKey = str(b, h.publicKey);
    const H = wire.Hello;
    H.startHello(b);
    H.addNodeId(b, nodeId);
    H.addEndpoint(b, endpoint);
    H.addRole(b, h.role);
    if (name) H.addName(b, name);
    H.addQueues(b, queues);
    H.addVersion(b, h.version);
    H.addReply(b, !!h.reply);
    if (via) H.addVia(b, via);
    if (answerTo) H.addAnswerTo(b, answerTo);
    H.addHeartbeatMs(b, h.heartbeatMs);
    H.addReads(b, h.reads);
    if (publicKey) H.addPublicKey(b, publicKey);
    return H.endHello(b);
  },
  Heartbeat(b, h) {
    const nodeId = str(b, h.nodeId);
    const endpoint = str(b, h.endpoint);
    wire.Heartbeat.startHeartbeat(b);
    wire.Heartbeat.addNodeId(b, nodeId);
    wire.Heartbeat.addEndpoint(b, endpoint);
    wire.Heartbeat.addVersion(b, h.version);
    return wire.Heartbeat.endHeartbeat(b);
  },
  PeerList(b, p) {
    const endpoints = strings(b, p.endpoints);
    const keys = p.keys?.length ? strings(b, p.keys) : 0;
    wire.PeerList.startPeerList(b);
    wire.PeerList.addEndpoints(b, endpoints);
    if (keys) wire.PeerList.addKeys(b, keys);
    return wire.PeerList.endPeerList(b);
  },
  Bye(b, p) {
    const nodeId = str(b, p.nodeId);
    wire.Bye.startBye(b);
    wire.Bye.addNodeId(b, nodeId);
    return wire.Bye.endBye(b);
  },
  Deliver(b, d) {
    const id = str(b, d.id);
    const queue = str(b, d.queue);
    const client = str(b, d.client);
    const data = wire.Deliver.createDataVector(b, d.data);
    const user = str(b, d.user);
    const D = wire.Deliver;
    D.startDeliver(b);
    D.addId(b, id);
    D.addQueue(b, queue);
    if (client) D.addClient(b, client);
    D.addData(b, data);
    D.addCreatedMs(b, BigInt(d.createdMs));
    D.addFanout(b, !!d.fanout);
    if (d.deliverAtMs) D.addDeliverAtMs(b, BigInt(d.deliverAtMs));
    if (user) D.addUser(b, user);
    return D.endDeliver(b);
  },
  Ack(b, a) {
    const id = str(b, a.id);
    const queue = str(b, a.queue);
    wire.Ack.startAck(b);
    wire.Ack.addId(b, id);
    wire.Ack.addQueue(b, queue);
    return wire.Ack.endAck(b);
  },
  Request: request,
  Requests(b, r) {
    const items = r.items.map((item) => request(b, item));
    const vector = wire.Requests.createItemsVector(b, items);
    wire.Requests.startRequests(b);
    wire.Requests.addItems(b, vector);
    return wire.Requests.endRequests(b);
  },
};

/** One Envelope holding body (fields in camelCase) as type; returns a fresh Buffer. */
export function encode(type, body) {
  builder.clear();
  const offset = encoders[type](builder, body);
  wire.Envelope.startEnvelope(builder);
  wire.Envelope.addBodyType(builder, wire.Body[type]);
  wire.Envelope.addBody(builder, offset);
  builder.finish(wire.Envelope.endEnvelope(builder));
  return Buffer.from(builder.asUint8Array());
}

const list = (n, get) => Array.from({ length: n }, (_, i) => get(i));
const response = (r) => ({ corr: r.corr(), code: r.code(), detail: r.detail() ?? '', result: r.result() ?? '' });

const decoders = {
  Hello: (h) => ({
    nodeId: h.nodeId() ?? '', endpoint: h.endpoint() ?? '', role: h.role(), name: h.name() ?? '',
    queues: list(h.queuesLength(), (i) => h.queues(i)), version: h.version(), reply: h.reply(),
    via: h.via() ?? '', answerTo: h.answerTo() ?? '', heartbeatMs: h.heartbeatMs(), reads: h.reads(),
    publicKey: h.publicKey() ?? '',
  }),
  Heartbeat: (h) => ({ nodeId: h.nodeId() ?? '', endpoint: h.endpoint() ?? '', version: h.version() }),
  PeerList: (p) => ({ endpoints: list(p.endpointsLength(), (i) => p.endpoints(i)), keys: list(p.keysLength(), (i) => p.keys(i)) }),
  Bye: (p) => ({ nodeId: p.nodeId() ?? '' }),
  Deliver: (d) => ({
    id: d.id() ?? '', queue: d.queue() ?? '', client: d.client() ?? '',
    data: Buffer.from(d.dataArray() ?? []).toString('utf8'), createdMs: Number(d.createdMs()),
    fanout: d.fanout(), offset: Number(d.offset()), receiveCount: d.receiveCount(), user: d.user() ?? '',
  }),
  ClientEvent: (e) => ({ kind: e.kind(), client: e.client() ?? '', resumed: e.resumed(), user: e.user() ?? '' }),
  Ack: (a) => ({ id: a.id() ?? '', queue: a.queue() ?? '' }),
  Request: (r) => ({ corr: r.corr(), op: r.op() ?? '', args: r.args() ?? '' }),
  Response: response,
  Responses: (r) => ({ items: list(r.itemsLength(), (i) => response(r.items(i))) }),
  Requests: (r) => ({ items: list(r.itemsLength(), (i) => { const q = r.items(i); return { corr: q.corr(), op: q.op() ?? '' }; }) }),
};

/** { type, body } of one frame; throws on a frame that is not a mesh Envelope. */
export function decode(bytes) {
  const envelope = wire.Envelope.getRootAsEnvelope(new flatbuffers.ByteBuffer(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)));
  const type = bodyNames[envelope.bodyType()];
  if (!type || type === 'NONE') throw new Error('not a mesh envelope');
  const Table = wire[type];
  const table = envelope.body(new Table());
  if (!table) throw new Error('envelope without body');
  return { type, body: decoders[type](table) };
}
