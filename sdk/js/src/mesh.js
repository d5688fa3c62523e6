// Mesh: one member of the Adashta mesh (docs/protocol.md section 3), as mesh/src/mesh.cpp
// does it: a ROUTER that peers send to, one DEALER per peer (routing id = our node id),
// Hello / Heartbeat / PeerList / Bye, seeds dialed forever, peers expired after
// max(peerTimeout, 3 x their heartbeat), and with CURVE a ZAP handler that admits only
// allow-listed keys.
//
//   const mesh = new Mesh({ bind, seeds, name, role: Role.Node, heartbeatMs, peerTimeoutMs, curve });
//   mesh.onData = (peer, type, body) => ...;  mesh.onPeer = (peer, change) => ...;
//   await mesh.start();  mesh.send(peerId, encode('Ack', {...}));  await mesh.stop();
//
// Ownership: everything here belongs to the event loop. The receive loop (receiveLoop) is
// the only reader of the ROUTER; it updates `peers` and calls onData/onPeer synchronously,
// so a handler sees membership as of the frame it handles. `dealers` (endpoint -> Dealer
// link) is written only by dealerFor/closeDealer; sends go through a link's own promise
// chain, because a zeromq.js socket takes one send at a time. The tick timer dials,
// heartbeats and expires. No locks: nothing here runs off the event loop.

import * as zmq from 'zeromq';
import { encode, decode, Role, Reads } from './codec.js';
import { AdashtaError } from './errors.js';
import { hostOf, normalizeEndpoint, withHost } from './endpoint.js';
import { newNodeId } from './ids.js';
import { splitSeed } from './keys.js';
import { z85Encode } from './z85.js';

const kTickMs = 100;     // dial and expiry granularity
const kRedialMs = 250;   // between Hellos to one endpoint
const kGiveUpMs = 30000; // on a non-seed endpoint
const kMaxMessage = 16 * 1024 * 1024;
const kReads = Reads.Responses | Reads.Requests;

export const roleName = (role) => ({ [Role.Node]: 'node', [Role.Edge]: 'edge', [Role.Tool]: 'tool' })[role] ?? 'unknown';

/** A DEALER to one endpoint, with its send chain. */
class Link {
  constructor(socket) {
    this.socket = socket;
    this.chain = Promise.resolve();
    this.closed = false;
  }

  /** Queues bytes; resolves true once ZeroMQ took them, false if it could not (peer down). */
  send(bytes) {
    if (this.closed) return Promise.resolve(false);
    const sent = this.chain.then(() => {
      if (this.closed) return false;
      return this.socket.send(bytes).then(() => true, () => false);
    });
    this.chain = sent;
    return sent;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.chain.finally(() => { try { this.socket.close(); } catch { /* already closed */ } });
  }
}

export class Mesh {
  /**
   * @param {object} o bind, advertise, seeds ([string]), name, role, heartbeatMs, peerTimeoutMs,
   *   curve ({ publicKey, secretKey, allowed: Map }) or null, log (line) => void
   */
  constructor(o) {
    this.options = o;
    this.id = newNodeId();
    this.context = new zmq.Context({ blocky: false }); // our own: one ZAP handler per context
    this.endpoint = '';
    this.peers = new Map();        // id -> PeerInfo { id, endpoint, name, role, queues, version, heartbeatMs, reads, key, lastSeen, knowsUs }
    this.dealers = new Map();      // endpoint -> Link
    this.wanted = new Map();       // endpoint -> { forever, since }
    this.lastDial = new Map();     // endpoint -> ms
    this.endpointKeys = new Map(); // endpoint -> public key (CURVE)
    this.reachedVia = new Map();   // endpoint we dialed -> id of the member that answered there
    this.queues = [];
    this.version = 0;
    this.running = false;
    this.onData = () => {};        // (peer, type, body): Deliver, ClientEvent, Response(s), ...
    this.onPeer = () => {};        // (peer, 'up' | 'changed' | 'down')
    this.log = o.log ?? (() => {});
  }

  /** Binds, starts the ZAP handler (CURVE) and the receive loop, dials the seeds. Throws AdashtaError. */
  async start() {
    const o = this.options;
    const curve = o.curve;
    let bindAt = normalizeEndpoint(o.bind);
    if (curve) {
      this.zap = new zmq.Reply({ context: this.context, linger: 0 });
      try {
        await this.zap.bind('inproc://zeromq.zap.01');
      } catch (err) {
        throw new AdashtaError('bind_failed', `ZAP handler: ${err.message}`);
      }
      this.zapLoop();
    }
    this.router = new zmq.Router({
      context: this.context, mandatory: true, handover: true, maxMessageSize: kMaxMessage,
      receiveHighWaterMark: o.highWaterMark ?? 100000, heartbeatInterval: 1000, heartbeatTimeout: 3000, linger: 0,
      ...(curve ? { curveServer: true, curveSecretKey: curve.secretKey, zapDomain: 'adashta' } : {}),
    });
    try {
      await this.router.bind(bindAt);
    } catch (err) {
      this.router.close();
      this.zap?.close();
      throw new AdashtaError('bind_failed', `${bindAt}: ${err.message}`);
    }
    this.endpoint = this.router.lastEndpoint;
    if (o.advertise) this.endpoint = normalizeEndpoint(o.advertise);
    else if (['*', '0.0.0.0'].includes(hostOf(this.endpoint))) this.endpoint = withHost(this.endpoint, '127.0.0.1');

    for (const seed of o.seeds) {
      const [address, key] = splitSeed(seed);
      const endpoint = normalizeEndpoint(address);
      this.learnKey(endpoint, key, true);
      if (curve && !this.keyOf(endpoint)) {
        this.closeSockets();
        throw new AdashtaError('bad_key', `seed ${endpoint}: its public key is unknown; list its endpoint in ${o.meshAllow}, or write the seed as ${endpoint}|KEY`);
      }
      if (endpoint !== this.endpoint) this.want(endpoint, true);
    }
    this.running = true;
    this.receiveLoop();
    this.lastHeartbeat = 0;
    this.timer = setInterval(() => this.tick(), kTickMs);
    this.dialUnreached();
  }

  /** Sends Bye to every peer, closes every socket. */
  async stop() {
    if (!this.running) return;
    this.running = false;
    clearInterval(this.timer);
    const bye = encode('Bye', { nodeId: this.id });
    const sends = [];
    for (const peer of this.peers.values()) {
      const link = this.dealerFor(peer.endpoint);
      if (link) sends.push(link.send(bye));
    }
    // Give the byes a moment on the wire, as the C++ mesh does (200 ms linger).
    await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, 200))]);
    if (sends.length) await new Promise((r) => setTimeout(r, 20));
    this.closeSockets();
  }

  closeSockets() {
    for (const link of this.dealers.values()) link.close();
    this.dealers.clear();
    try { this.router?.close(); } catch { /* closed */ }
    try { this.zap?.close(); } catch { /* closed */ }
  }

  /** Sends bytes to a live peer; resolves false when it could not. */
  send(peerId, bytes) {
    const peer = this.peers.get(peerId);
    if (!peer) return Promise.resolve(false);
    return this.sendToEndpoint(peer.endpoint, bytes);
  }

  sendToEndpoint(endpoint, bytes) {
    const link = this.dealerFor(endpoint);
    return link ? link.send(bytes) : Promise.resolve(false);
  }

  /** Announces the queues this node consumes (Hello to every peer when they change). */
  setQueues(queues) {
    const sorted = [...new Set(queues)].sort();
    if (sorted.join('\n') === this.queues.join('\n')) return;
    this.queues = sorted;
    this.version++;
    if (this.running) for (const peer of this.peers.values()) this.sendHello(peer.endpoint, false, '');
  }

  // --- receiving ---------------------------------------------------------------------------

  async receiveLoop() {
    try {
      for await (const [from, ...frames] of this.router) {
        if (frames.length !== 1) continue; // our peers send one frame
        let message;
        try {
          message = decode(frames[0]);
        } catch {
          this.log('dropped a frame that is not a valid mesh envelope');
          continue;
        }
        try {
          this.handle(from.toString('latin1'), message.type, message.body);
        } catch (err) {
          this.log(`handling a ${message.type} failed: ${err.stack}`);
        }
      }
    } catch (err) {
      if (this.running) this.log(`mesh receive loop ended: ${err.message}`);
    }
  }

  async zapLoop() {
    // RFC 27: version, request id, domain, address, routing id, mechanism, credentials.
    // The answer makes the client's key the connection's User-Id (zeromq.js cannot read it
    // back per frame; see handleHello).
    try {
      for await (const request of this.zap) {
        const text = (i) => (request[i] ? request[i].toString() : '');
        let key = '';
        if (text(5) === 'CURVE' && request[6]?.length === 32) key = z85Encode(request[6]);
        const allowed = key && this.options.curve.allowed.get(key);
        if (!allowed) this.log(`refused a mesh connection from ${text(3)}: ${key ? `key ${key} is not in the allow-list` : 'it does not speak CURVE'}`);
        await this.zap.send(['1.0', text(1), allowed ? '200' : '400', allowed ? 'OK' : 'key not allowed', allowed ? key : '', '']);
      }
    } catch {
      // closed
    }
  }

  handle(from, type, body) {
    const now = Date.now();
    if (type === 'Hello') {
      if (body.nodeId !== from) return; // a Hello must come from the node it names
      const known = this.peers.get(from);
      if (known) known.lastSeen = now;
      this.handleHello(body);
      return;
    }
    const peer = this.peers.get(from);
    if (peer) peer.lastSeen = now;
    switch (type) {
      case 'Heartbeat': return this.handleHeartbeat(from, body);
      case 'PeerList': return this.handlePeerList(body);
      case 'Bye': return this.handleBye(from);
      default:
        if (!peer) return; // a stranger: it must say Hello first
        if (!peer.knowsUs) this.confirm(peer);
        this.onData(peer, type, body);
    }
  }

  refusal(hello, endpoint) {
    const sameId = this.peers.get(hello.nodeId);
    const curve = this.options.curve;
    if (!curve) return sameId && sameId.endpoint !== endpoint ? `its id ${hello.nodeId} is live at ${sameId.endpoint}` : '';
    // The ZAP handler admitted only allow-listed keys; zeromq.js does not show which key a
    // frame came with, so the Hello's own key is checked against the allow-list and the
    // live members.
    const allowed = curve.allowed.get(hello.publicKey);
    if (!allowed) return `key ${hello.publicKey} is not in the allow-list`;
    if (!allowed.roles.has(roleName(hello.role))) return `key ${hello.publicKey} may join as ${[...allowed.roles].join(',')} only`;
    if (sameId && sameId.key !== hello.publicKey) return `its id ${hello.nodeId} belongs to the live member with key ${sameId.key}`;
    const sameEndpoint = this.findByEndpoint(endpoint);
    if (sameEndpoint && sameEndpoint.key !== hello.publicKey) return `endpoint ${endpoint} belongs to the live member with key ${sameEndpoint.key}`;
    return '';
  }

  handleHello(hello) {
    const endpoint = normalizeEndpoint(hello.endpoint, { quiet: true });
    const id = hello.nodeId;
    if (!endpoint || !id || id === this.id) return;
    const why = this.refusal(hello, endpoint);
    if (why) {
      this.log(`refused a Hello from ${endpoint} (id ${id}): ${why}`);
      return;
    }
    if (this.options.curve) this.learnKey(endpoint, hello.publicKey, true);
    const now = Date.now();
    // One endpoint, one live member: a new id there is the same process restarted.
    for (const other of this.peers.values()) {
      if (other.endpoint === endpoint && other.id !== id) {
        this.peers.delete(other.id);
        this.log(`peer at ${endpoint} restarted`);
        this.onPeer(other, 'down');
      }
    }
    const info = {
      id, endpoint, name: hello.name, role: hello.role, queues: [...new Set(hello.queues)].sort(),
      version: hello.version, heartbeatMs: hello.heartbeatMs, reads: hello.reads, key: hello.publicKey,
      lastSeen: now, knowsUs: false,
    };
    const answer = !hello.reply; // a Hello that answers ours: its sender has taken us in
    if (hello.answerTo) this.reachedVia.set(hello.answerTo, id);
    let peer = this.peers.get(id);
    let joined = false;
    if (!peer) {
      info.knowsUs = answer;
      this.peers.set(id, info);
      peer = info;
      joined = true;
      this.onPeer(peer, 'up');
      // Tell it at once that we count it in: it routes nothing to us until it knows.
      if (answer) this.sendToEndpoint(endpoint, encode('Heartbeat', { nodeId: this.id, endpoint: this.endpoint, version: this.version }));
    } else if (hello.version >= peer.version) {
      const changed = peer.queues.join('\n') !== info.queues.join('\n') || peer.role !== info.role || peer.name !== info.name;
      Object.assign(peer, { ...info, knowsUs: peer.knowsUs });
      if (changed) this.onPeer(peer, 'changed');
      if (answer) this.confirm(peer);
    } else if (answer) {
      this.confirm(peer);
    }
    // Every answer carries our peer list, so that joining one member is enough.
    if (joined || hello.reply) {
      const others = [...this.peers.values()].filter((p) => p.id !== id);
      if (hello.reply) this.sendHello(endpoint, false, hello.via);
      if (others.length) {
        this.sendToEndpoint(endpoint, encode('PeerList', {
          endpoints: others.map((p) => p.endpoint),
          keys: this.options.curve ? others.map((p) => p.key) : [],
        }));
      }
    }
  }

  handleHeartbeat(from, beat) {
    const peer = this.peers.get(from);
    if (!peer) {
      // It knows us, but we dropped it (or never heard its Hello): ask who it is.
      const endpoint = normalizeEndpoint(beat.endpoint, { quiet: true });
      if (endpoint && endpoint !== this.endpoint) this.sendHello(endpoint, true, '');
      return;
    }
    if (beat.version !== peer.version) this.sendHello(peer.endpoint, true, '');
    this.confirm(peer);
  }

  confirm(peer) {
    if (peer.knowsUs) return;
    peer.knowsUs = true;
    this.onPeer(peer, 'changed');
  }

  handlePeerList(list) {
    list.endpoints.forEach((raw, i) => {
      const endpoint = normalizeEndpoint(raw, { quiet: true });
      if (!endpoint || endpoint === this.endpoint || this.findByEndpoint(endpoint)) return;
      if (this.options.curve) {
        const key = list.keys[i] ?? '';
        if (!this.options.curve.allowed.has(key)) return; // a wrong key never completes
        this.learnKey(endpoint, key, false);
      }
      this.want(endpoint, false);
    });
    this.dialUnreached();
  }

  handleBye(from) {
    const gone = this.peers.get(from);
    if (!gone) return;
    this.peers.delete(from);
    this.log(`peer ${gone.name || gone.id} left`);
    this.dropPeer(gone);
  }

  dropPeer(peer) {
    const wanted = this.wanted.get(peer.endpoint);
    if (!wanted || !wanted.forever) this.closeDealer(peer.endpoint);
    this.onPeer(peer, 'down');
  }

  // --- the tick: heartbeats, expiry, dialing -------------------------------------------------

  tick() {
    const now = Date.now();
    if (now - this.lastHeartbeat >= this.options.heartbeatMs) {
      this.lastHeartbeat = now;
      const beat = encode('Heartbeat', { nodeId: this.id, endpoint: this.endpoint, version: this.version });
      for (const peer of this.peers.values()) this.sendToEndpoint(peer.endpoint, beat);
    }
    for (const peer of [...this.peers.values()]) {
      if (now - peer.lastSeen > Math.max(this.options.peerTimeoutMs, 3 * peer.heartbeatMs)) {
        this.peers.delete(peer.id);
        this.log(`peer ${peer.name || peer.id} at ${peer.endpoint} went silent; removed`);
        this.dropPeer(peer);
      }
    }
    this.dialUnreached();
  }

  want(endpoint, forever) {
    const known = this.wanted.get(endpoint);
    if (!known) this.wanted.set(endpoint, { forever, since: Date.now() });
    else if (forever) known.forever = true;
  }

  reached(endpoint) {
    if (this.findByEndpoint(endpoint)) return true;
    const id = this.reachedVia.get(endpoint);
    return !!id && this.peers.has(id);
  }

  dialUnreached() {
    if (!this.running) return;
    const now = Date.now();
    for (const [endpoint, wanted] of this.wanted) {
      if (this.reached(endpoint)) {
        if (!wanted.forever) this.wanted.delete(endpoint);
        continue;
      }
      if (!wanted.forever && now - wanted.since > kGiveUpMs) {
        this.closeDealer(endpoint);
        this.lastDial.delete(endpoint);
        this.wanted.delete(endpoint);
        continue;
      }
      if (now - (this.lastDial.get(endpoint) ?? 0) >= kRedialMs) {
        this.lastDial.set(endpoint, now);
        this.sendHello(endpoint, true, '');
      }
    }
  }

  sendHello(endpoint, reply, answerTo) {
    const o = this.options;
    this.sendToEndpoint(endpoint, encode('Hello', {
      nodeId: this.id, endpoint: this.endpoint, role: o.role, name: o.name, queues: this.queues,
      version: this.version, reply, via: endpoint, answerTo, heartbeatMs: o.heartbeatMs, reads: kReads,
      publicKey: o.curve ? o.curve.publicKey : '',
    }));
  }

  // --- dealers and keys ---------------------------------------------------------------------

  findByEndpoint(endpoint) {
    for (const peer of this.peers.values()) if (peer.endpoint === endpoint) return peer;
    return null;
  }

  keyOf(endpoint) {
    const known = this.endpointKeys.get(endpoint);
    if (known) return known;
    if (this.options.curve) {
      for (const entry of this.options.curve.allowed.values()) if (entry.endpoint === endpoint) return entry.key;
    }
    return '';
  }

  learnKey(endpoint, key, authoritative) {
    if (!key) return;
    if (!authoritative && this.keyOf(endpoint)) return;
    const old = this.endpointKeys.get(endpoint);
    this.endpointKeys.set(endpoint, key);
    // A new key at a known endpoint: the DEALER made for the old one can never handshake.
    if (old && old !== key) this.closeDealer(endpoint);
  }

  dealerFor(endpoint) {
    const known = this.dealers.get(endpoint);
    if (known) return known;
    if (!this.router || this.router.closed) return null;
    const curve = this.options.curve;
    const key = curve ? this.keyOf(endpoint) : '';
    if (curve && !key) return null;
    const socket = new zmq.Dealer({
      context: this.context, routingId: this.id, immediate: true, sendTimeout: 0,
      sendHighWaterMark: this.options.highWaterMark ?? 100000, maxMessageSize: kMaxMessage,
      heartbeatInterval: 1000, heartbeatTimeout: 3000, reconnectInterval: 100, reconnectMaxInterval: 1000, linger: 0,
      ...(curve ? { curveServerKey: key, curvePublicKey: curve.publicKey, curveSecretKey: curve.secretKey } : {}),
    });
    try {
      socket.connect(endpoint);
    } catch (err) {
      socket.close();
      this.log(`cannot dial ${endpoint}: ${err.message}`);
      return null;
    }
    const link = new Link(socket);
    this.dealers.set(endpoint, link);
    return link;
  }

  closeDealer(endpoint) {
    const link = this.dealers.get(endpoint);
    if (!link) return;
    link.close();
    this.dealers.delete(endpoint);
  }
}
