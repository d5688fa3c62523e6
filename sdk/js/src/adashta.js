// Adashta: a server application's node in the Adashta mesh. It joins the edges (seeds),
// consumes queues that browser clients produce to, and produces to one client, one user or
// every client consuming a queue. Message data is any JSON value.
//
//   const adashta = new Adashta({ seeds: ['tcp://127.0.0.1:7700'], name: 'api' });
//   adashta.consume('echo', async (msg) => { await adashta.produce('echo', msg.data, { to: msg.client }); });
//   await adashta.connect();
//
// Ownership (one event loop, no locks): the Mesh owns sockets and membership and calls
// onPeer/onData from its receive loop. This class owns `edges` (live edge ids that count us
// in, the lowest one takes calls), `clientEdge` (client -> the edge that holds it, learnt
// from Deliver and ClientEvent), `pending` (corr -> the caller waiting for a Response;
// entries leave on the answer, on a timeout or when their edge goes), `outgoing` (calls made
// in this turn of the loop, sent together at its end) and, per consumed queue, a Consumer
// that runs handlers. Handlers run as ordinary async functions on the same loop.

import { EventEmitter } from 'node:events';
import { ClientEventKind, Reads, Role, encode } from './codec.js';
import { Consumer } from './consumer.js';
import { AdashtaError } from './errors.js';
import { newMessageId } from './ids.js';
import { keyPairFromSecret, loadAllowList, loadKeyPair } from './keys.js';
import { Mesh, roleName } from './mesh.js';
import { resolveOptions } from './options.js';
import { mintToken, verifyToken } from './tokens.js';
import { WorkQueues } from './work-queues.js';

const kQueueName = /^[A-Za-z0-9._:/-]{1,128}$/;
const kYearMs = 365 * 24 * 3600 * 1000;
const kFrameBytes = 1 << 20; // a Requests frame holds calls up to this size
const kMaxData = 16 * 1024 * 1024 - 64 * 1024; // what fits a 16 MiB frame with the Deliver around it

export function checkQueue(queue) {
  if (typeof queue !== 'string' || !kQueueName.test(queue)) {
    throw new AdashtaError('bad_queue', JSON.stringify(queue));
  }
}

export class Adashta extends EventEmitter {
  /** Options (camelCase) as the C++ SDK's, each defaulting to its ADASHTA_* variable; see README. Throws bad_option. */
  constructor(options = {}) {
    super();
    this.options = resolveOptions(options);
    this.consumers = new Map();   // queue -> Consumer
    this.edges = new Set();       // live edge ids that count us in
    this.clientEdge = new Map();  // client -> edge id
    this.pending = new Map();     // corr -> { resolve, reject, timer, edge }
    this.outgoing = [];           // [{ corr, op, args }] not sent yet
    this.nextCorr = 1n;
    this.edgeWaiters = new Set(); // () => void, woken when an edge appears
    this.mesh = null;
    this.closed = false;
  }

  /** This node's id (32 hex characters), once connect() began. */
  get id() { return this.mesh?.id ?? ''; }
  /** Where this node's ROUTER listens, once connected. */
  get endpoint() { return this.mesh?.endpoint ?? ''; }

  /**
   * Joins the mesh; resolves once an edge counts this node in. Rejects with bad_option,
   * bad_key, bad_endpoint or bind_failed at once, or no_edge after connectTimeoutMs (the
   * node is closed then).
   */
  async connect() {
    if (this.mesh) throw new AdashtaError('not_allowed', 'connect() was called already');
    const o = this.options;
    let curve = null;
    const hasKey = !!(o.meshKey || o.meshSecret);
    if (hasKey || o.meshAllow) {
      if (!hasKey) throw new AdashtaError('bad_key', `a mesh allow-list (${o.meshAllow}) needs this member's own key too (meshKey or meshSecret)`);
      if (!o.meshAllow) throw new AdashtaError('bad_key', 'a mesh key needs the allow-list of the members\' keys (meshAllow)');
      const pair = o.meshKey ? loadKeyPair(o.meshKey) : keyPairFromSecret(o.meshSecret);
      const allowed = loadAllowList(o.meshAllow);
      const own = allowed.get(pair.publicKey);
      if (!own || !own.roles.has('node')) {
        throw new AdashtaError('bad_key', `this member's own key ${pair.publicKey} is not allowed as node in ${o.meshAllow}; add it there`);
      }
      curve = { ...pair, allowed };
    }
    this.mesh = new Mesh({
      bind: o.bind, advertise: o.advertise, seeds: o.seeds, name: o.name, role: Role.Node,
      heartbeatMs: o.heartbeatMs, peerTimeoutMs: o.peerTimeoutMs, curve, meshAllow: o.meshAllow,
      // Diagnostics go to 'log' listeners; without one, refusals (someone is misconfigured
      // or hostile) still reach stderr, as the C++ members log them as warnings.
      log: (line) => {
        if (this.listenerCount('log') > 0) this.emit('log', line);
        else if (/^refused|^cannot/.test(line)) process.stderr.write(`adashta: ${line}\n`);
      },
    });
    this.mesh.onPeer = (peer, change) => this.onPeer(peer, change);
    this.mesh.onData = (peer, type, body) => this.onData(peer, type, body);
    this.mesh.setQueues([...this.consumers.keys()]);
    await this.mesh.start();
    try {
      await this.waitForEdge(o.connectTimeoutMs);
    } catch (err) {
      await this.close();
      throw err;
    }
    return this;
  }

  /** Resolves once at least one edge counts us in; rejects with no_edge after timeoutMs. */
  waitForEdge(timeoutMs = this.options.connectTimeoutMs) {
    if (this.edges.size > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => { clearTimeout(timer); this.edgeWaiters.delete(wake); resolve(); };
      const timer = setTimeout(() => {
        this.edgeWaiters.delete(wake);
        reject(new AdashtaError('no_edge', `none of ${this.options.seeds.join(', ')} answered within ${timeoutMs} ms`));
      }, timeoutMs);
      this.edgeWaiters.add(wake);
    });
  }

  /**
   * Consumes queue: clients' messages to it come to handler(msg), an async function. The
   * message is acknowledged when the handler's promise resolves; a throw or rejection leaves
   * it unacknowledged (it comes again after the queue's visibility timeout) and is reported
   * as an 'error' event. options.concurrency: handlers at once (default: the node's
   * concurrency option, 1); messages of one client always run one after another.
   */
  consume(queue, handler, { concurrency = this.options.concurrency } = {}) {
    checkQueue(queue);
    if (typeof handler !== 'function') throw new AdashtaError('bad_option', 'consume needs a handler function');
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new AdashtaError('bad_option', `concurrency=${concurrency} must be a whole number >= 1`);
    this.consumers.get(queue)?.stop();
    this.consumers.set(queue, new Consumer(queue, handler, concurrency, this));
    this.mesh?.setQueues([...this.consumers.keys()]);
  }

  /** Stops consuming queue (handlers already running finish; their acks still go out). */
  unconsume(queue) {
    this.consumers.get(queue)?.stop();
    this.consumers.delete(queue);
    this.mesh?.setQueues([...this.consumers.keys()]);
  }

  /**
   * Sends data (any JSON-serialisable value) on queue: to one client (to), every session of a
   * user (toUser) or every client consuming the queue; now, after delay ms, or at deliverAt
   * (ms since the epoch). Resolves with the message id (for cancel). With confirm, waits for
   * the edge to store it and rejects with the edge's error (storage_full, ...).
   */
  async produce(queue, data, options = {}) {
    let text;
    try {
      text = JSON.stringify(data);
    } catch (err) {
      throw new AdashtaError('bad_data', err.message);
    }
    if (text === undefined) throw new AdashtaError('bad_data', `${typeof data} is not JSON-serialisable`);
    return this.produceJson(queue, text, options);
  }

  /** produce with data already as JSON text; rejects with bad_data when it is not JSON. */
  async produceJson(queue, text, { to = '', toUser = '', delay = 0, deliverAt = 0, confirm = false } = {}) {
    checkQueue(queue);
    if (typeof text !== 'string') throw new AdashtaError('bad_data', 'produceJson takes JSON text (a string)');
    try {
      JSON.parse(text);
    } catch (err) {
      throw new AdashtaError('bad_data', err.message);
    }
    if (Buffer.byteLength(text) > kMaxData) {
      throw new AdashtaError('message_too_large', `${Buffer.byteLength(text)} bytes of data; a mesh frame holds at most 16 MiB`);
    }
    if (!Number.isInteger(delay) || delay < 0 || delay > kYearMs || !Number.isInteger(deliverAt) || deliverAt < 0) {
      throw new AdashtaError('bad_timeout', 'delay must be 0 to 365 days in ms, deliverAt ms since the epoch');
    }
    if (delay > 0 && deliverAt > 0) throw new AdashtaError('bad_timeout', 'give delay or deliverAt, not both');
    if (to && toUser) throw new AdashtaError('bad_option', 'give to (one client) or toUser (a user), not both');
    if (this.edges.size === 0) throw new AdashtaError('no_edge', this.mesh ? 'no edge counts this node in right now' : 'call connect() first');
    const at = delay > 0 ? Date.now() + delay : deliverAt;
    const id = newMessageId();
    if (confirm) {
      let args = `{"id":${JSON.stringify(id)},"queue":${JSON.stringify(queue)},"data":${text}`;
      if (to) args += `,"to":${JSON.stringify(to)}`;
      if (toUser) args += `,"toUser":${JSON.stringify(toUser)}`;
      if (at > 0) args += `,"deliverAt":${at}`;
      // The store op delivers to the clients of the edge that stores it: a confirmed message
      // goes where an unconfirmed one would (the client's edge, else every edge), and is
      // confirmed once every one of them stored it.
      const holder = to && this.clientEdge.get(to);
      const targets = holder && this.edges.has(holder) ? [holder] : [...this.edges];
      await Promise.all(targets.map((edge) => this.callText('produce', args + '}', { edge })));
      return id;
    }
    const frame = encode('Deliver', {
      id, queue, client: to, data: Buffer.from(text), createdMs: Date.now(),
      fanout: !to && !toUser, deliverAtMs: at, user: toUser,
    });
    const holder = to && this.clientEdge.get(to);
    if (holder && await this.mesh.send(holder, frame)) return id;
    await Promise.all([...this.edges].map((edge) => this.mesh.send(edge, frame)));
    return id;
  }

  /** Drops a scheduled message before its time; unknown_message when it went already. */
  async cancel(id) {
    await this.call('cancel', { id });
  }

  /**
   * Reads what the edge keeps of queue: { messages: [{ id, offset, client, data, ts }], next }
   * (data parsed). options: from (offset) or since (ms since the epoch), limit (default 100).
   */
  async fetch(queue, { from, since, limit = 100 } = {}) {
    checkQueue(queue);
    const args = { queue, limit };
    if (since) args.since = since;
    else args.from = from ?? 0;
    const result = await this.call('fetch', args);
    return {
      messages: (result.messages ?? []).map((m) => ({ ...m, data: typeof m.data === 'string' ? parseMaybe(m.data) : m.data })),
      next: result.next ?? 0,
    };
  }

  /** A snapshot of the live peers: [{ id, name, endpoint, role, queues }]. */
  peers() {
    if (!this.mesh) return [];
    return [...this.mesh.peers.values()].map((p) => ({ id: p.id, name: p.name, endpoint: p.endpoint, role: roleName(p.role), queues: [...p.queues] }));
  }

  /** The work queues (RSMQ's method names). units: 's' (RSMQ's seconds, default) or 'ms'. */
  workQueues({ units = 's' } = {}) {
    return new WorkQueues(this, { units });
  }

  /**
   * A call to the store of the edge with the lowest id (docs/protocol.md section 3): op and
   * an object of arguments; resolves with the parsed result. Rejects with no_edge,
   * timed_out, or the edge's error.
   */
  async call(op, args = {}, { timeoutMs } = {}) {
    const text = await this.callText(op, JSON.stringify(args), { timeoutMs });
    return text ? JSON.parse(text) : {};
  }

  callText(op, args, { timeoutMs = this.options.callTimeoutMs, edge = [...this.edges].sort()[0] } = {}) {
    if (this.edges.size === 0) return Promise.reject(new AdashtaError('no_edge', this.mesh ? 'no edge counts this node in right now' : 'call connect() first'));
    const corr = this.nextCorr++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(corr);
        reject(new AdashtaError('timed_out', `${op} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(corr, { resolve, reject, timer, edge });
      if (this.outgoing.length === 0) setImmediate(() => this.flushCalls());
      this.outgoing.push({ corr, op, args, edge });
    });
  }

  // The calls made in one turn of the event loop go to their edge together: one Requests
  // frame when the edge reads them, else one Request frame each.
  flushCalls() {
    const calls = this.outgoing;
    this.outgoing = [];
    const byEdge = new Map();
    for (const call of calls) {
      if (!byEdge.has(call.edge)) byEdge.set(call.edge, []);
      byEdge.get(call.edge).push(call);
    }
    for (const [edge, list] of byEdge) {
      const peer = this.mesh?.peers.get(edge);
      const batched = peer && (peer.reads & Reads.Requests) === Reads.Requests;
      const frames = [];
      if (batched) {
        // Frames far below a receiver's 16 MiB cap, as the C++ SDK's (1 MiB).
        let group = [];
        let bytes = 0;
        const close = () => {
          if (group.length) frames.push([group.length === 1 ? encode('Request', group[0]) : encode('Requests', { items: group }), group]);
          group = [];
          bytes = 0;
        };
        for (const call of list) {
          const size = call.op.length + Buffer.byteLength(call.args) + 64;
          if (group.length && bytes + size > kFrameBytes) close();
          group.push(call);
          bytes += size;
        }
        close();
      } else {
        for (const call of list) frames.push([encode('Request', call), [call]]);
      }
      for (const [frame, sentCalls] of frames) {
        (this.mesh ? this.mesh.send(edge, frame) : Promise.resolve(false)).then((sent) => {
          if (!sent) for (const call of sentCalls) this.finishCall(call.corr, new AdashtaError('no_edge', `the edge ${edge} could not be reached`));
        });
      }
    }
  }

  finishCall(corr, error, result) {
    const waiter = this.pending.get(corr);
    if (!waiter) return;
    this.pending.delete(corr);
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve(result);
  }

  /** Leaves the mesh: Bye to the peers, sockets closed, timers stopped; the process can exit. */
  async close() {
    if (this.closed) return;
    this.closed = true;
    for (const consumer of this.consumers.values()) consumer.stop();
    for (const [corr] of this.pending) this.finishCall(corr, new AdashtaError('not_started', 'the node was closed'));
    await this.mesh?.stop();
    this.edges.clear();
  }

  // --- from the mesh -------------------------------------------------------------------------

  onPeer(peer, change) {
    if (peer.role !== Role.Edge) return;
    if (change === 'down') {
      if (!this.edges.delete(peer.id)) return;
      for (const [client, edge] of this.clientEdge) if (edge === peer.id) this.clientEdge.delete(client);
      for (const [corr, waiter] of this.pending) {
        if (waiter.edge === peer.id) this.finishCall(corr, new AdashtaError('no_edge', `the edge ${peer.name || peer.id} left before it answered`));
      }
      if (this.edges.size === 0) this.emit('edgeDown', { id: peer.id, name: peer.name });
      return;
    }
    // An edge counts once it knows us: before that it would drop what we send it.
    if (!peer.knowsUs || this.edges.has(peer.id)) return;
    this.edges.add(peer.id);
    this.emit('edgeUp', { id: peer.id, name: peer.name, endpoint: peer.endpoint });
    for (const wake of [...this.edgeWaiters]) wake();
  }

  onData(peer, type, body) {
    switch (type) {
      case 'Deliver': return this.onDeliver(peer, body);
      case 'ClientEvent': return this.onClientEvent(peer, body);
      case 'Response': return this.onResponse(body);
      case 'Responses': for (const r of body.items) this.onResponse(r); return;
      default: return; // Requests and Acks are for edges
    }
  }

  onDeliver(peer, d) {
    if (peer.role === Role.Edge && d.client) this.clientEdge.set(d.client, peer.id);
    const consumer = this.consumers.get(d.queue);
    if (!consumer) return; // a queue this node no longer consumes: it comes again elsewhere
    let data;
    try {
      data = JSON.parse(d.data);
    } catch {
      data = d.data;
    }
    consumer.push({
      id: d.id, queue: d.queue, client: d.client, user: d.user, data, createdMs: d.createdMs,
      offset: d.offset, receiveCount: Math.max(d.receiveCount, 1),
      // Stored at the edge (receive_count > 0): ack it there. At-most-once: never.
      edge: d.receiveCount > 0 ? peer.id : '',
    });
  }

  onClientEvent(peer, e) {
    const event = { client: e.client, user: e.user, resumed: e.resumed };
    if (e.kind === ClientEventKind.Connected) {
      this.clientEdge.set(e.client, peer.id);
      this.emit('connection', event);
    } else {
      if (this.clientEdge.get(e.client) === peer.id) this.clientEdge.delete(e.client);
      this.emit('disconnection', { client: e.client, user: e.user });
    }
  }

  onResponse(r) {
    if (r.code !== 0) this.finishCall(r.corr, new AdashtaError(r.code, r.detail));
    else this.finishCall(r.corr, null, r.result);
  }

  /** Consumer -> here: the message was handled; tell its edge. */
  ack(message) {
    if (!message.edge || !this.mesh) return;
    this.mesh.send(message.edge, encode('Ack', { id: message.id, queue: message.queue }));
  }

  /** Consumer -> here: a handler failed. An 'error' event, or stderr if nobody listens. */
  reportHandlerError(error, message) {
    const err = error instanceof Error ? error : new Error(String(error));
    err.queue = message.queue;
    err.messageId = message.id;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.stderr.write(`adashta: the handler of ${message.queue} failed on message ${message.id} (it comes again unacknowledged): ${err.stack ?? err.message}\n`);
  }
}

function parseMaybe(text) {
  try { return JSON.parse(text); } catch { return text; }
}

Adashta.mintToken = mintToken;
Adashta.verifyToken = verifyToken;
