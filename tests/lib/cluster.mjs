// Starts and stops the real processes the integration and browser tests talk to: an edge
// (`adashta edge`), the C++ echo node (`adashta-echo`) and test nodes (`adashta-test-node`),
// on free loopback ports.
//
//   const edge = new Edge({ appDir });  await edge.start();  await edge.waitReady({ nodes: 1 });
//   const echo = startEchoNode(edge.meshPort);
//   ...  await echo.stop();  await edge.stop();

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const buildDir = path.resolve(process.env.ADASHTA_BUILD_DIR || path.join(repoDir, 'build'));
export const adashtaBin = path.join(buildDir, 'adashta');
export const echoBin = path.join(buildDir, 'adashta-echo');
export const testNodeBin = path.join(buildDir, 'adashta-test-node');

/** Throws a message that says how to get the binaries, instead of a bare ENOENT later. */
export function requireBinaries() {
  for (const bin of [adashtaBin, echoBin, testNodeBin]) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: build first (cmake -S . -B build -G Ninja && ninja -C build) ` +
        'or point ADASHTA_BUILD_DIR at a build directory');
    }
  }
}

/**
 * A loopback port nobody listens on right now, below Linux's ephemeral range (32768-60999).
 * A port the OS picks (listen on 0) lies inside that range, where any outgoing connection
 * can take it as its local end, or hold it in TIME_WAIT for 60 s: an edge that restarts on
 * it, or starts a moment after the check, then cannot bind it.
 */
export async function freePort() {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (await canListen(port)) return port;
  }
  throw new Error('no free loopback port between 20000 and 32000: is something holding them all?');
}

function canListen(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Polls `check` until it returns a truthy value, which it then returns. */
export async function waitFor(check, { timeout = 20000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (lastError ? `: ${lastError.message}` : ''));
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** A child process whose output is kept (the tail) to explain failures. */
export class Child {
  constructor(name, file, args, env) {
    this.name = name;
    this.output = '';
    this.exited = false;
    this.process = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      });
      this.process.once('error', (err) => {
        this.output += `spawn failed: ${err.message}\n`;
        this.exited = true;
        resolve({ code: null, signal: null });
      });
    });
    const keep = (chunk) => {
      this.output = (this.output + chunk).slice(-8000);
      if (process.env.ADASHTA_E2E_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
    };
    this.process.stdout.on('data', keep);
    this.process.stderr.on('data', keep);
  }

  /** SIGTERM, then SIGKILL if it is still alive after `grace` ms. */
  async stop({ signal = 'SIGTERM', grace = 5000 } = {}) {
    if (this.exited) return this.exit;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), grace);
    const result = await this.exit;
    clearTimeout(timer);
    return result;
  }

  describe() {
    return `--- ${this.name} output (tail) ---\n${this.output || '(none)'}\n---`;
  }
}

/**
 * An edge on fixed ports, so it can be killed and started again where clients expect it.
 * With `tls: { cert, key }` (PEM files) it serves https:// and wss://, and its clients here
 * (get, waitReady, WsClient, metric) trust that certificate (`edge.ca`) and nothing else.
 */
export class Edge {
  constructor({ appDir, httpPort, meshPort, args = [], tls } = {}) {
    this.appDir = appDir;
    this.args = args;
    this.tls = tls;
    this.ca = undefined;  // the PEM clients trust, with tls
    this.httpPort = httpPort;
    this.meshPort = meshPort;
    this.child = null;
    this.dataDir = null;
  }

  get url() { return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.httpPort}`; }
  get meshEndpoint() { return `tcp://127.0.0.1:${this.meshPort}`; }

  async start() {
    this.httpPort ??= await freePort();
    this.meshPort ??= await freePort();
    this.dataDir ??= await mkdtemp(path.join(os.tmpdir(), 'adashta-e2e-'));
    const tlsArgs = this.tls ? ['--tls-cert', this.tls.cert, '--tls-key', this.tls.key] : [];
    if (this.tls) this.ca = await readFile(this.tls.cert);
    this.child = new Child('edge', adashtaBin, ['edge',
      '--http', `127.0.0.1:${this.httpPort}`, '--mesh', `127.0.0.1:${this.meshPort}`,
      '--data', this.dataDir, ...tlsArgs, ...this.args, ...(this.appDir ? [this.appDir] : [])]);
  }

  /** GET of `pathname`; resolves with { status, headers, body } (a string). */
  async get(pathname) {
    if (!this.tls) {
      const response = await fetch(this.url + pathname);
      return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
    }
    return httpsGet(this.url + pathname, { ca: this.ca });
  }

  /** Resolves with /healthz once the edge is up and sees at least `nodes` server nodes. */
  async waitReady({ nodes = 0, timeout = 20000 } = {}) {
    try {
      return await waitFor(async () => {
        if (this.child.exited) throw new Error('the edge exited');
        const health = JSON.parse((await this.get('/healthz')).body);
        return health.status === 'ok' && health.nodes >= nodes && health;
      }, { timeout, what: `edge /healthz with nodes >= ${nodes}` });
    } catch (err) {
      err.message += '\n' + this.child.describe();
      throw err;
    }
  }

  async stop(options) {
    if (this.child) await this.child.stop(options);
  }

  /** Stops the edge and removes its data directory. */
  async destroy() {
    await this.stop();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

/**
 * An HTTPS GET that trusts `ca` (PEM) alone, with a 10 s limit; resolves with
 * { status, headers, body } and rejects when the certificate does not check out.
 */
export function httpsGet(url, { ca, timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url} timed out after ${timeout} ms`)));
    request.on('error', reject);
  });
}

/** The C++ echo node (examples/echo), joined to the mesh through the edge. */
export function startEchoNode(meshPort) {
  return new Child('echo', echoBin, [], { ADASHTA_SEEDS: `tcp://127.0.0.1:${meshPort}` });
}

/**
 * A test node (tests/integration/test_node.cpp): consumes `queue` and answers each message
 * to its sender with {"node": name, "data": ...}; prints "ready NAME ENDPOINT" when joined.
 */
export function startTestNode(meshPort, { name, queue = 'work', env = {} } = {}) {
  return new Child(name, testNodeBin, ['--name', name, '--queue', queue],
    { ADASHTA_SEEDS: `tcp://127.0.0.1:${meshPort}`, ADASHTA_HEARTBEAT_MS: '200', ADASHTA_PEER_TIMEOUT_MS: '1000', ...env });
}

/** Runs `adashta ARGS...`; resolves with { code, stdout, stderr } and never rejects on a failed exit. */
export function runCli(args, { timeout = 10000 } = {}) {
  return new Promise((resolve) => {
    execFile(adashtaBin, args, { timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 'killed') : 0, stdout, stderr });
    });
  });
}

// --- Browser-protocol clients for the integration tests ------------------------------------

/**
 * One WebSocket connection to an edge, speaking the browser protocol by hand (no SDK), so a
 * test can send anything, including frames the SDK would never send.
 *
 *   const client = await WsClient.connect(edge);  await client.hello();
 *   const ack = await client.request({ type: 'produce', queue: 'work', data: 1 });
 *   const reply = await client.take((f) => f.type === 'message');
 *
 * Frames answering a `request` (same ref) go to that request; `message` frames go to
 * `onmessage` when it is set; every other frame waits in an inbox for `take`.
 */
// The resume secret of every session a test's clients were welcomed to, so a later client
// resumes with hello(session) as a browser that kept its session would.
const secretsSeen = new Map();

export class WsClient {
  /** Opens ws://EDGE/ws; resolves once the WebSocket is open (no hello sent yet). */
  static async connect(edge, { timeout = 10000, protocols } = {}) {
    const client = new WsClient(edge.url.replace(/^http/, 'ws') + '/ws', protocols, { ca: edge.ca });
    await withTimeout(client.opened, timeout, `WebSocket to ${client.url} to open`);
    return client;
  }

  /** `options` go to the ws package's WebSocket, e.g. { ca } for a wss:// edge. */
  constructor(url, protocols, options = {}) {
    this.url = url;
    this.session = null;
    this.onmessage = null;   // (frame) => void, for "message" frames; unset: they go to the inbox
    this.inbox = [];         // frames nobody took yet
    this.waiters = [];       // { match, resolve } for take()
    this.requests = new Map(); // ref -> resolve, for request()
    this.nextRef = 1;
    this.ws = new WebSocket(url, protocols, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
    });
    this.opened.catch(() => {});
    // Resolves with { code, reason } when the connection closes, for any reason.
    this.closed = new Promise((resolve) => {
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => {});  // a failed connection also closes; tests read `closed`
    this.ws.on('message', (data, isBinary) => this.receive(data, isBinary));
  }

  receive(data, isBinary) {
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      frame = { type: '(not json)', raw: data.toString(), isBinary };
    }
    if (frame.type === 'message' && this.onmessage) {
      this.onmessage(frame);
      return;
    }
    if (frame.ref !== undefined && this.requests.has(frame.ref)) {
      const resolve = this.requests.get(frame.ref);
      this.requests.delete(frame.ref);
      resolve(frame);
      return;
    }
    const index = this.waiters.findIndex((w) => w.match(frame));
    if (index >= 0) {
      const [waiter] = this.waiters.splice(index, 1);
      waiter.resolve(frame);
      return;
    }
    this.inbox.push(frame);
  }

  get isOpen() { return this.ws.readyState === WebSocket.OPEN; }

  /** Sends one JSON frame (an object) or raw text/bytes (a string or Buffer) as is. */
  send(frame, { binary = false } = {}) {
    const payload = typeof frame === 'string' || Buffer.isBuffer(frame) ? frame : JSON.stringify(frame);
    this.ws.send(payload, { binary });
  }

  /** Resolves with the first frame (already received or still to come) that `match` accepts. */
  take(match = () => true, { timeout = 10000, what = 'a frame' } = {}) {
    const index = this.inbox.findIndex(match);
    if (index >= 0) return Promise.resolve(this.inbox.splice(index, 1)[0]);
    const waiter = { match, resolve: null };
    const taken = new Promise((resolve) => {
      waiter.resolve = resolve;
      this.waiters.push(waiter);
    });
    return withTimeout(Promise.race([taken, this.failOnClose(what)]), timeout,
      `${what} on ${this.session ?? 'a connection without session'}`,
      () => { this.waiters = this.waiters.filter((w) => w !== waiter); });
  }

  /** Sends `frame` with a fresh ref (unless it has one); resolves with the ack, error or pong. */
  request(frame, { timeout = 10000 } = {}) {
    const ref = frame.ref ?? this.nextRef++;
    const answer = new Promise((resolve) => this.requests.set(ref, resolve));
    this.send({ ...frame, ref });
    const what = `the answer to ${frame.type} ref ${ref}`;
    return withTimeout(Promise.race([answer, this.failOnClose(what)]), timeout, what,
      () => this.requests.delete(ref));
  }

  // Rejects once the connection is closed, so a waiter learns why nothing will come.
  failOnClose(what) {
    return this.closed.then(({ code, reason }) => {
      throw new Error(`the connection closed (${code} ${reason}) while waiting for ${what}`);
    });
  }

  /**
   * Sends hello (resuming `session` when given, with the secret its welcome carried, or
   * `secret`; with `token` when given); resolves with the welcome frame.
   */
  async hello(session, { timeout = 10000, secret, token } = {}) {
    const hello = { type: 'hello' };
    if (session) {
      hello.session = session;
      const known = secret ?? secretsSeen.get(session);
      if (known) hello.secret = known;
    }
    if (token) hello.token = token;
    this.send(hello);
    const welcome = await this.take((f) => f.type === 'welcome' || f.type === 'error',
      { timeout, what: 'welcome' });
    if (welcome.type !== 'welcome') throw new Error(`hello refused: ${JSON.stringify(welcome)}`);
    this.session = welcome.session;
    this.secret = welcome.secret;
    secretsSeen.set(welcome.session, welcome.secret);
    return welcome;
  }

  /** Closes with 1000 and resolves once closed (terminates if the edge does not answer). */
  async close({ timeout = 2000 } = {}) {
    if (this.ws.readyState === WebSocket.CLOSED) return this.closed;
    if (this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.terminate();
      return this.closed;
    }
    this.ws.close(1000);
    const timer = setTimeout(() => this.ws.terminate(), timeout);
    const result = await this.closed;
    clearTimeout(timer);
    return result;
  }
}

/** Rejects with "timed out after N ms waiting for WHAT" unless `promise` settles first. */
export function withTimeout(promise, ms, what, onTimeout = () => {}) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `work(item, index)` for every item, at most `limit` at a time; resolves with the results. */
export async function mapLimit(items, limit, work) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Resolves once every node in `nodes` (test nodes, which print "connection CLIENT") hears of
 * new clients of `edge`: a probe client says hello until each node has printed its session.
 *
 * /healthz counts a node as soon as the edge has the node's Hello, but the node drops what
 * the edge sends until it has the edge's Hello in turn, a few hundred ms later (its first
 * answer is lost while the connection back is still being made). Until then client events
 * and messages, acked by the edge, vanish; tests that count replies wait for this first.
 */
export async function waitNodesHearClients(edge, nodes, { timeout = 20000 } = {}) {
  await waitFor(async () => {
    const probe = await WsClient.connect(edge);
    try {
      const { session } = await probe.hello();
      return await waitFor(() => nodes.every((node) => node.output.includes(`connection ${session}`)),
        { timeout: 1000, interval: 20, what: `every node to print "connection ${session}"` });
    } finally {
      await probe.close();
    }
  }, { timeout, interval: 50, what: 'every node to hear of a new client' });
}

// --- Durable messaging: nodes that hold messages, and what nodes received ------------------

/**
 * A test node started with `--hold-ms holdMs`: its handler keeps each message that long
 * before it returns (and so before the SDK acks it), which lets a test kill the node while
 * it holds unacknowledged messages. The handler runs on the node's mesh thread, so while it
 * holds, the node neither heartbeats nor reads further messages.
 */
export function startHoldingTestNode(meshPort, { name, queue = 'work', holdMs, env = {} } = {}) {
  return new Child(name, testNodeBin, ['--name', name, '--queue', queue, '--hold-ms', String(holdMs)],
    { ADASHTA_SEEDS: `tcp://127.0.0.1:${meshPort}`, ADASHTA_HEARTBEAT_MS: '200', ADASHTA_PEER_TIMEOUT_MS: '1000', ...env });
}

/**
 * The messages a test node printed ("message ID RECEIVE_COUNT OFFSET DATA"), parsed, each
 * with `at`: the wall-clock ms at which this process read the line (the node and the test
 * share the machine's clock, so `at` is an upper bound of when the node got the message).
 *
 *   const got = new NodeMessages(startTestNode(port, { name: 'n1', queue: 'q' }));
 *   await got.waitFor((m) => m.id === id);
 *
 * Attach it right after starting the node, before it can print anything.
 */
export class NodeMessages {
  constructor(child) {
    this.node = child.name;
    this.list = [];             // { node, id, receiveCount, offset, data, at }, in arrival order
    this.byId = new Map();      // id -> [entries]
    this.listeners = new Set(); // (entry) => void
    let partial = '';
    child.process.stdout.on('data', (chunk) => {
      const at = Date.now();
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) this.parse(line, at);
    });
  }

  parse(line, at) {
    const match = /^message (\S+) (\d+) (-?\d+) (.*)$/.exec(line);
    if (!match) return;
    let data;
    try {
      data = JSON.parse(match[4]);
    } catch {
      data = match[4];
    }
    const entry = { node: this.node, id: match[1], receiveCount: Number(match[2]), offset: Number(match[3]), data, at };
    this.list.push(entry);
    if (!this.byId.has(entry.id)) this.byId.set(entry.id, []);
    this.byId.get(entry.id).push(entry);
    for (const listener of this.listeners) listener(entry);
  }

  /** Resolves with the first entry (already printed or still to come) that `match` accepts. */
  waitFor(match, { timeout = 10000, what = `a message on ${this.node}` } = {}) {
    const found = this.list.find(match);
    if (found) return Promise.resolve(found);
    let listener;
    const seen = new Promise((resolve) => {
      listener = (entry) => { if (match(entry)) resolve(entry); };
      this.listeners.add(listener);
    });
    return withTimeout(seen, timeout, what).finally(() => this.listeners.delete(listener));
  }
}

// --- Work queues: the test worker, and what a child printed line by line --------------------

// tests/integration/test_worker.cpp; ADASHTA_TEST_WORKER points at one built elsewhere.
export const testWorkerBin = process.env.ADASHTA_TEST_WORKER || path.join(buildDir, 'adashta-test-worker');

/** Like requireBinaries, for the work-queue worker. */
export function requireTestWorker() {
  if (!existsSync(testWorkerBin)) {
    throw new Error(`${testWorkerBin} is missing: build it (ninja -C build adashta-test-worker) ` +
      'or point ADASHTA_TEST_WORKER at one');
  }
}

/**
 * Every stdout line of a child, each with `at` (the wall-clock ms at which this process read
 * it). Child keeps only the tail of its output; this keeps all of it. Attach it right after
 * starting the child.
 *
 *   const lines = new OutputLines(child);
 *   const ready = await lines.waitFor((l) => l.startsWith('ready'));
 */
export class OutputLines {
  constructor(child) {
    this.name = child.name;
    this.list = [];             // { text, at }, in order
    this.listeners = new Set(); // (entry) => void
    let partial = '';
    child.process.stdout.on('data', (chunk) => {
      const at = Date.now();
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const text of lines) {
        const entry = { text, at };
        this.list.push(entry);
        for (const listener of this.listeners) listener(entry);
      }
    });
  }

  /** The lines whose text starts with `word` + ' ', split at spaces. */
  fields(word) {
    return this.list.filter((l) => l.text.startsWith(word + ' ')).map((l) => l.text.split(' '));
  }

  /** Resolves with the first line (entry) whose text `match` accepts, printed or still to come. */
  waitFor(match, { timeout = 10000, what = `a line from ${this.name}` } = {}) {
    const found = this.list.find((l) => match(l.text));
    if (found) return Promise.resolve(found);
    let listener;
    const seen = new Promise((resolve) => {
      listener = (entry) => { if (match(entry.text)) resolve(entry); };
      this.listeners.add(listener);
    });
    return withTimeout(seen, timeout, what).finally(() => this.listeners.delete(listener));
  }
}

/**
 * An adashta-test-worker (producer or consumer, by `args`) joined through the edge at
 * meshPort; `worker.lines` holds everything it printed.
 *
 *   const w = startTestWorker(edge.meshPort, ['--consume', '--queue', 'jobs', '--vt-ms', '2000'], { name: 'w1' });
 *   await w.lines.waitFor((l) => l.startsWith('receiving'));
 */
export function startTestWorker(meshPort, args, { name = 'worker', env = {} } = {}) {
  const child = new Child(name, testWorkerBin, ['--name', name, ...args],
    { ADASHTA_SEEDS: `tcp://127.0.0.1:${meshPort}`, ADASHTA_HEARTBEAT_MS: '200', ADASHTA_PEER_TIMEOUT_MS: '1000', ...env });
  child.lines = new OutputLines(child);
  return child;
}

// --- A cluster per test: an edge with a queue config, its nodes and clients --------------------

/**
 * One test's processes: an edge with a queue config, its nodes and clients, all stopped and
 * removed when the test ends (t.after), whatever happened. A failure gets their output.
 *
 *   const cluster = await Cluster.start(t, { queues: { orders: { visibility: '1s' } } });
 *   const node = cluster.node('n1', 'orders');  const ws = await cluster.client();
 */
export class Cluster {
  static async start(t, { queues, edgeArgs = [] }) {
    requireBinaries();
    const dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-durable-'));
    const config = path.join(dir, 'queues.json');
    await writeFile(config, JSON.stringify({ queues }));
    const cluster = new Cluster(t, dir, new Edge({ args: ['--config', config, ...edgeArgs] }));
    t.after(() => cluster.stop());
    await cluster.edge.start();
    await cluster.edge.waitReady();
    return cluster;
  }

  constructor(t, dir, edge) {
    this.t = t;
    this.dir = dir;
    this.edge = edge;
    this.nodes = [];
    this.clients = [];
  }

  get seeds() { return ['--seeds', this.edge.meshEndpoint]; }

  /** A test node on `queue` and the messages it prints; `holdMs` keeps each that long. */
  node(name, queue, { holdMs } = {}) {
    const child = holdMs
      ? startHoldingTestNode(this.edge.meshPort, { name, queue, holdMs })
      : startTestNode(this.edge.meshPort, { name, queue });
    this.nodes.push(child);
    return { child, got: new NodeMessages(child), name };
  }

  /** A connected client that said hello (resuming `session` when given). */
  async client(session) {
    const ws = await WsClient.connect(this.edge);
    this.clients.push(ws);
    ws.welcome = await ws.hello(session);
    return ws;
  }

  /** `adashta ARGS --seeds EDGE`; fails the test on a non-zero exit unless `expectFailure`. */
  async cli(args, { expectFailure = false } = {}) {
    const result = await runCli([...args, ...this.seeds], { timeout: 15000 });
    if (!expectFailure) {
      assert.equal(result.code, 0, `adashta ${args.join(' ')} failed: ${result.stderr}`);
    }
    return result;
  }

  /** Every message the store keeps of `queue` (adashta fetch, all directions), in offset order. */
  async fetchAll(queue) {
    const messages = [];
    let from = 0;
    for (;;) {
      const { stdout } = await this.cli(['fetch', queue, '--from', String(from), '--limit', '1000']);
      const page = JSON.parse(stdout);
      // A page may hold fewer than the limit (a fetch answers at most 4 MiB): the end is
      // an empty one.
      if (page.messages.length === 0) return messages;
      messages.push(...page.messages);
      from = page.next;
    }
  }

  describe() {
    return [this.edge.child, ...this.nodes].filter(Boolean).map((child) => child.describe()).join('\n');
  }

  async stop() {
    await Promise.all(this.clients.map((ws) => ws.close()));
    await Promise.all(this.nodes.map((child) => child.stop({ signal: 'SIGKILL' })));
    await this.edge.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Runs body; a failure also shows the cluster's process output, where the reason usually is. */
export async function explained(cluster, body) {
  try {
    return await body();
  } catch (err) {
    err.message += '\n' + cluster.describe();
    throw err;
  }
}

/** The value of one line of the edge's /metrics (undefined if it is not there). */
export async function metric(edge, name) {
  const text = (await edge.get('/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : undefined;
}
