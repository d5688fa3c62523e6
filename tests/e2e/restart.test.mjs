// Graceful restarts (issue 14): SIGTERM drains an edge — new connections get 503, no more
// client frames are read, the produces in flight get their answers, every client is closed
// with 1001 — and the edge exits 0; started again on the same ports and data folder, the
// pages and clients come back to their sessions and nothing acknowledged is lost.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node --test e2e/restart.test.mjs
//
// What it shows, one test each:
//   - a restart under load where every acknowledged message is delivered and every page
//     resumes: 3 headless Chromium pages (the browser SDK) and 2 browser-protocol clients
//     produce to a stored queue and get a C++ test node's answers; SIGTERM mid-load
//   - during the drain new connections and /healthz get 503, and a client that never
//     finishes its close is dropped at --drain-timeout-s, after which the edge still exits 0
//   - a second signal during the drain exits at once
//   - a work-queue receive that waits (long poll) is answered when the drain begins, not at
//     the end of its wait
//
// "Acknowledged" is what the edge said it committed: the ack of a client's produce, and the
// stored answers of the node (what `adashta fetch` finds after the restart). Delivery is at
// least once, so a message may come twice (same id); none may be missing.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {
  Edge, NodeMessages, WsClient, metric, repoDir, requireBinaries, requireTestWorker, runCli, startTestNode,
  startTestWorker, waitFor, withTimeout,
} from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const pagesDir = path.join(repoDir, 'tests/e2e/pages');
const QUEUE = 'work';
const PAGES = 3;
const WS_CLIENTS = 2;
const LANES = 2;             // produces one page or client keeps unanswered
const DRAIN_TIMEOUT_S = 5;   // --drain-timeout-s of the edge under load
const ACKS_BEFORE_STOP = 150; // acks each page and client gets before the SIGTERM
const LOAD_AFTER = 20;       // acks each producer gets from the restarted edge before the load stops
const FAST_MESH = ['--heartbeat-ms', '200', '--peer-timeout-ms', '1000'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (n) => Array.from({ length: n }, (_, i) => i);

let root;
let appDir;
let browser;

before(async () => {
  requireBinaries();
  root = await mkdtemp(path.join(os.tmpdir(), 'adashta-e2e-restart-'));
  appDir = path.join(root, 'app');
  await mkdir(appDir);
  await cp(pagesDir, appDir, { recursive: true });
  browser = await launchChromium();
}, { timeout: 60000 });

after(async () => {
  await browser?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** An edge serving the test pages, with a short visibility timeout on QUEUE. */
async function startEdge(args = []) {
  const config = path.join(root, `queues-${randomBytes(4).toString('hex')}.json`);
  // Messages a node held unacked when the edge stopped come again one visibility later.
  await writeFile(config, JSON.stringify({ queues: { [QUEUE]: { visibility: '2s' } } }));
  const edge = new Edge({ appDir, args: ['--config', config, ...FAST_MESH, ...args] });
  await edge.start();
  await edge.waitReady();
  return edge;
}

/** SIGTERM (or `signal`); resolves with { code, signal, ms } once the process exited. */
async function terminate(child, { signal = 'SIGTERM', timeout = 15000 } = {}) {
  const sentAt = Date.now();
  child.process.kill(signal);
  const exit = await withTimeout(child.exit, timeout, `the edge to exit after ${signal}`);
  return { ...exit, ms: Date.now() - sentAt };
}

/** A client id for a produce: the SDK makes one too, so a resend is stored once. */
function messageId(prefix) {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Every message the edge keeps of queue (`adashta fetch`, all directions), in offset order. */
async function fetchAll(edge, queue) {
  const messages = [];
  let from = 1;
  for (let pages = 0; pages < 1000; pages++) {
    const run = await runCli(['fetch', queue, '--from', String(from), '--limit', '1000',
      '--seeds', edge.meshEndpoint], { timeout: 15000 });
    assert.equal(run.code, 0, `adashta fetch ${queue} failed: ${run.stderr}`);
    const page = JSON.parse(run.stdout);
    messages.push(...page.messages);
    if (page.messages.length < 1000) return messages;
    from = page.next;
  }
  throw new Error(`${queue} has more than a million messages`);
}

/**
 * A browser-protocol client that keeps LANES produces unanswered, as a busy page would;
 * what the edge acked, what was unanswered when the connection closed, and how it closed.
 */
class WsProducer {
  constructor(index) {
    this.index = index;
    this.next = 0;
    this.acked = new Map();      // seq -> id the edge acked
    this.unanswered = new Map(); // seq -> id, sent and not answered when the connection closed
    this.refused = [];           // error frames (no_consumer while the node rejoins)
    this.closes = [];            // { code, reason } of every connection
  }

  async connect(edge, session) {
    this.ws = await WsClient.connect(edge);
    this.welcome = await this.ws.hello(session);
    this.ws.closed.then((close) => this.closes.push(close));
    return this.welcome;
  }

  async send(seq, id) {
    const answer = await this.ws.request({ type: 'produce', queue: QUEUE, data: { w: this.index, seq }, id },
      { timeout: 20000 });
    if (answer.type === 'ack') this.acked.set(seq, answer.id);
    else this.refused.push(answer);
  }

  /** Produces until the connection closes or `stop()` says so. */
  run(stop) {
    const lane = async () => {
      while (this.ws.isOpen && !stop()) {
        const seq = this.next++;
        const id = messageId(`w${this.index}-${seq}`);
        this.unanswered.set(seq, id);
        try {
          await this.send(seq, id);
          this.unanswered.delete(seq);
        } catch {
          return; // closed before the answer: stays in unanswered, sent again after reconnecting
        }
        await sleep(10);
      }
    };
    this.running = Promise.all(range(LANES).map(lane));
    return this.running;
  }

  /** After a reconnect: what got no answer, again with the same ids (as the SDK does). */
  async resend() {
    for (const [seq, id] of [...this.unanswered]) {
      await this.send(seq, id);
      this.unanswered.delete(seq);
    }
  }
}

/** A page of its own context with a connected SDK client consuming QUEUE. */
async function openPage(edge, index, pageErrors) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(edge.url + '/durable.html');
  await page.waitForFunction(() => window.adashta && window.durable);
  await page.evaluate(() => durable.start());
  await page.waitForFunction(() => durable.client.connected, null, { timeout: 10000 });
  await page.evaluate((q) => durable.consume(q), QUEUE);
  const session = await page.evaluate(() => durable.client.session);
  return { page, context, index, session };
}

/** Starts LANES produce loops in the page; window.load has what they got. */
function startPageLoad({ page, index }) {
  return page.evaluate(({ queue, lanes, index }) => {
    const load = window.load = { acked: [], failed: [], stop: false, next: 0 };
    const lane = async () => {
      while (!load.stop) {
        const seq = load.next++;
        try {
          // Across the restart the SDK keeps it and sends it again after the welcome.
          const { id } = await durable.client.produce(queue, { p: index, seq });
          load.acked.push({ seq, id });
        } catch (err) {
          load.failed.push({ seq, name: err.name });
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    for (let i = 0; i < lanes; i++) lane();
  }, { queue: QUEUE, lanes: LANES, index });
}

test('a restart under load where every acknowledged message is delivered and every page resumes',
  { timeout: 120000 }, async (t) => {
    const edge = await startEdge(['--drain-timeout-s', String(DRAIN_TIMEOUT_S)]);
    const node = startTestNode(edge.meshPort, { name: 'n1', queue: QUEUE });
    const got = new NodeMessages(node);
    const pageErrors = [];
    const pages = [];
    const producers = [];
    const firstEdge = edge.child;
    t.after(async () => {
      for (const p of pages) await p.context.close().catch(() => {});
      for (const p of producers) await p.ws?.close().catch(() => {});
      await node.stop({ signal: 'SIGKILL' });
      await edge.destroy();
    });
    const explain = (err) => {
      err.message += `\n${firstEdge.describe()}\n${edge.child.describe()}\n${node.describe()}`;
      throw err;
    };
    try {
      await edge.waitReady({ nodes: 1 });
      await waitFor(() => node.output.includes('ready n1'), { what: 'the node to be ready' });
      for (const i of range(PAGES)) pages.push(await openPage(edge, i, pageErrors));
      for (const i of range(WS_CLIENTS)) {
        const p = new WsProducer(i);
        await p.connect(edge);
        producers.push(p);
      }
      const sessions = pages.map((p) => p.session);
      const wsSessions = producers.map((p) => p.ws.session);

      // --- load, then SIGTERM in the middle of it ---
      let stopLoad = false;
      for (const p of pages) await startPageLoad(p);
      for (const p of producers) p.run(() => stopLoad);
      // SIGTERM once the load is in full swing: every page and client has had many acks.
      await waitFor(async () => producers.every((p) => p.acked.size >= ACKS_BEFORE_STOP) &&
        (await Promise.all(pages.map((p) => p.page.evaluate(() => load.acked.length)))).every((n) => n >= ACKS_BEFORE_STOP),
      { timeout: 30000, interval: 50, what: `${ACKS_BEFORE_STOP} acks for every page and client` });
      const ackedBeforeStop = producers.reduce((n, p) => n + p.acked.size, 0) +
        (await Promise.all(pages.map((p) => p.page.evaluate(() => load.acked.length)))).reduce((a, b) => a + b, 0);
      const exit = await terminate(edge.child);
      assert.equal(exit.code, 0, `the edge exited with ${JSON.stringify(exit)}`);
      assert.ok(exit.ms < DRAIN_TIMEOUT_S * 1000, `the edge took ${exit.ms} ms to exit (drain timeout ${DRAIN_TIMEOUT_S} s)`);
      assert.match(firstEdge.output, /draining \(up to 5 s\): \d+ connections/, 'the edge logs the drain');
      assert.match(firstEdge.output, /drain: every produce answered and \d+ connections closed with 1001/);
      assert.match(firstEdge.output, /stopped \d+ ms after the stop was asked: left the mesh, store closed/);
      await Promise.all(producers.map((p) => p.running));
      for (const p of producers) {
        assert.equal(p.closes[0]?.code, 1001, `client ${p.index} was closed with ${JSON.stringify(p.closes[0])}, not 1001`);
      }
      const unansweredAtStop = producers.reduce((n, p) => n + p.unanswered.size, 0);

      // --- the same ports and data folder again ---
      const restartedAt = Date.now();
      await edge.start();
      await edge.waitReady({ nodes: 1, timeout: 20000 }); // the C++ node rejoins by itself
      const nodeBackMs = Date.now() - restartedAt;
      for (const p of producers) {
        const welcome = await waitFor(() => p.connect(edge, p.ws.session), { timeout: 15000, what: `client ${p.index} to reconnect` });
        assert.equal(welcome.resumed, true, `client ${p.index} resumed its session`);
        await p.resend();
      }
      assert.deepEqual(producers.map((p) => p.ws.session), wsSessions, 'every client kept its session id');
      for (const p of producers) {
        const ackedAtRestart = p.acked.size;
        p.run(() => stopLoad || p.acked.size >= ackedAtRestart + LOAD_AFTER);
      }
      // Every page comes back by itself (the SDK's backoff), to its own session.
      for (const p of pages) {
        await p.page.waitForFunction(() => durable.connects.length >= 2 && durable.client.connected, null, { timeout: 30000 });
      }
      const pagesBackMs = Date.now() - restartedAt;
      for (const p of pages) {
        const ackedNow = await p.page.evaluate(() => load.acked.length);
        await p.page.waitForFunction((n) => load.acked.length >= n, ackedNow + LOAD_AFTER, { timeout: 20000 });
        await p.page.evaluate(() => { load.stop = true; });
      }
      stopLoad = true;
      await Promise.all(producers.map((p) => p.running));

      // --- every page resumed its session and was told to reconnect with 1001 ---
      for (const p of pages) {
        const { connects, disconnects, errors } = await p.page.evaluate(() =>
          ({ connects: durable.connects, disconnects: durable.disconnects, errors: durable.errors }));
        assert.equal(connects[0].session, p.session);
        assert.ok(connects.slice(1).every((c) => c.session === p.session && c.resumed === true),
          `page ${p.index} resumed its session every time: ${JSON.stringify(connects)}`);
        assert.equal(disconnects[0].code, 1001, `page ${p.index} saw ${JSON.stringify(disconnects[0])}`);
        const unexpected = errors.filter((e) => !['no_consumer', 'node_unavailable'].includes(e.name));
        assert.deepEqual(unexpected, [], `page ${p.index} reported errors`);
      }
      assert.deepEqual(pages.map((p) => p.session), sessions);

      // --- every message the edge acked to a producer reached the node, under its id ---
      const acked = new Map(); // id -> "who seq"
      for (const p of producers) for (const [seq, id] of p.acked) acked.set(id, `w${p.index} ${seq}`);
      // Every produce a page started was answered: acked, or refused while the node rejoined.
      for (const p of pages) {
        await p.page.waitForFunction(() => load.acked.length + load.failed.length === load.next, null, { timeout: 20000 });
      }
      const pageLoads = await Promise.all(pages.map((p) => p.page.evaluate(() => load)));
      pageLoads.forEach((load, i) => { for (const { seq, id } of load.acked) acked.set(id, `p${i} ${seq}`); });
      const pageRefused = pageLoads.flatMap((load) => load.failed);
      assert.ok(pageRefused.every((f) => ['no_consumer', 'node_unavailable'].includes(f.name)),
        `pages' produces failed: ${JSON.stringify(pageRefused.slice(0, 5))}`);
      await waitFor(() => [...acked.keys()].every((id) => got.byId.has(id)),
        { timeout: 20000, interval: 100, what: 'every acked message at the node' }).catch((err) => {
        const lost = [...acked].filter(([id]) => !got.byId.has(id));
        err.message += `; ${lost.length} of ${acked.size} acked messages never reached the node, e.g. ${JSON.stringify(lost.slice(0, 5))}`;
        throw err;
      });
      // No gaps: every produce of a client was acked (its unanswered ones once sent again),
      // and every produce of a page that was not refused.
      for (const p of producers) {
        assert.deepEqual(p.refused, [], `client ${p.index} was refused`);
        assert.deepEqual([...p.acked.keys()].sort((a, b) => a - b), range(p.next), `client ${p.index}'s acked produces`);
      }
      pageLoads.forEach((load, i) => {
        const answered = [...load.acked.map((a) => a.seq), ...load.failed.map((f) => f.seq)];
        assert.deepEqual(answered.sort((a, b) => a - b), range(load.next), `page ${i}'s produces, each answered once`);
      });
      const seqsAtNode = new Map(); // "p0" / "w1" -> Set of seq
      for (const m of got.list) {
        const who = m.data.p !== undefined ? `p${m.data.p}` : `w${m.data.w}`;
        if (!seqsAtNode.has(who)) seqsAtNode.set(who, new Set());
        seqsAtNode.get(who).add(m.data.seq);
      }
      for (const [id, key] of acked) {
        const [who, seq] = key.split(' ');
        assert.ok(seqsAtNode.get(who)?.has(Number(seq)), `acked ${key} (${id}) is not at the node`);
      }

      // --- every answer the edge stored for a page reached that page ---
      const stored = await fetchAll(edge, QUEUE);
      const answers = stored.filter((m) => m.data && m.data.node === 'n1');
      for (const p of pages) {
        const mine = answers.filter((m) => m.client === p.session).map((m) => m.id);
        assert.ok(mine.length > 0, `the node answered page ${p.index}`);
        await p.page.waitForFunction((ids) => {
          const seen = new Set(durable.received.work.map((m) => m.meta.id));
          return ids.every((id) => seen.has(id));
        }, mine, { timeout: 20000 }).catch(async (err) => {
          const seen = new Set(await p.page.evaluate(() => durable.received.work.map((m) => m.meta.id)));
          err.message += `; page ${p.index} is missing ${mine.filter((id) => !seen.has(id)).length} of its ${mine.length} stored answers`;
          throw err;
        });
      }
      assert.deepEqual(pageErrors, [], 'uncaught errors in the pages');

      const duplicates = got.list.length - got.byId.size;
      t.diagnostic(`${ackedBeforeStop} acks before SIGTERM; the edge drained and exited 0 in ${exit.ms} ms ` +
        `(${unansweredAtStop} client produces unanswered at the close, sent again after reconnecting)`);
      t.diagnostic(`restart: the node back ${nodeBackMs} ms and every page ${pagesBackMs} ms after the start; ` +
        `${acked.size} acked messages all at the node (${duplicates} deliveries twice, same id); ` +
        `${answers.length} stored answers all at their pages; page produces refused while the node rejoined: ${pageRefused.length}`);
    } catch (err) {
      explain(err);
    }
  });

const STUCK_PINGS = 100000;

/** A masked client text frame (RFC 6455) with a zero mask, so the payload goes as is. */
function clientFrame(text) {
  const payload = Buffer.from(text);
  assert.ok(payload.length < 126);
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/**
 * A WebSocket that reads nothing past its upgrade and has STUCK_PINGS pongs waiting for it:
 * more than the socket buffers hold, so the edge cannot write them, nor the close 1001 that
 * must follow them, and the drain waits for it until its timeout. It upgrades by hand, and
 * its pings come once the edge has read them all (/metrics).
 */
async function stuckClient(edge) {
  const socket = net.connect(edge.httpPort, '127.0.0.1');
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  socket.on('error', () => {});
  socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${edge.httpPort}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
    'Sec-WebSocket-Version: 13\r\n\r\n');
  let head = '';
  await withTimeout(new Promise((resolve) => socket.on('data', function onData(chunk) {
    head += chunk;
    if (!head.includes('\r\n\r\n')) return;
    socket.off('data', onData);
    resolve();
  })), 5000, 'the upgrade answer');
  assert.match(head, /^HTTP\/1\.1 101/, head);
  socket.pause();
  const framesBefore = await metric(edge, 'adashta_edge_frames_in_total');
  const frames = [clientFrame('{"type":"hello"}')];
  for (let ref = 1; ref <= STUCK_PINGS; ref++) frames.push(clientFrame(`{"type":"ping","ref":${1e12 + ref}}`));
  socket.write(Buffer.concat(frames));
  await waitFor(async () => (await metric(edge, 'adashta_edge_frames_in_total')) >= framesBefore + STUCK_PINGS,
    { timeout: 20000, interval: 50, what: `the edge to read ${STUCK_PINGS} pings` });
  return socket;
}

/** The status of a WebSocket upgrade to edge: 101 when it opens, else the HTTP status. */
function upgradeStatus(edge) {
  return new Promise((resolve) => {
    const ws = new WebSocket(edge.url.replace(/^http/, 'ws') + '/ws');
    ws.on('open', () => { resolve(101); ws.terminate(); });
    ws.on('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy(); });
    ws.on('error', (err) => resolve(`error ${err.message}`));
  });
}

test('during the drain new connections get 503, and a client that never finishes its close ' +
  'is dropped at --drain-timeout-s; the edge still exits 0', { timeout: 60000 }, async () => {
  const edge = await startEdge(['--drain-timeout-s', '2']);
  try {
    const stuck = await stuckClient(edge);
    assert.equal(await upgradeStatus(edge), 101, 'before the drain an upgrade opens');
    const sentAt = Date.now();
    edge.child.process.kill('SIGTERM');
    await waitFor(() => edge.child.output.includes('draining'), { timeout: 5000, interval: 20, what: 'the drain to start' });
    assert.equal(await upgradeStatus(edge), 503, 'an upgrade during the drain');
    const health = await fetch(`${edge.url}/healthz`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: 'draining' });
    const page = await fetch(`${edge.url}/adashta.js`);
    assert.equal(page.status, 503);
    assert.match(await page.text(), /draining/);
    const exit = await withTimeout(edge.child.exit, 10000, 'the edge to exit');
    const ms = Date.now() - sentAt;
    assert.equal(exit.code, 0, edge.child.describe());
    assert.ok(ms >= 1800 && ms < 4000, `exited ${ms} ms after SIGTERM, drain timeout 2 s`);
    assert.match(edge.child.output, /drain timeout: 1 of 1 connections did not finish closing within 2 s/);
    stuck.destroy();
  } finally {
    await edge.destroy();
  }
});

test('a second signal during the drain exits at once', { timeout: 60000 }, async () => {
  const edge = await startEdge(['--drain-timeout-s', '60']);
  try {
    const stuck = await stuckClient(edge);
    edge.child.process.kill('SIGTERM');
    await waitFor(() => edge.child.output.includes('draining'), { timeout: 5000, interval: 20, what: 'the drain to start' });
    const exit = await terminate(edge.child, { signal: 'SIGINT', timeout: 3000 });
    assert.equal(exit.code, 128 + os.constants.signals.SIGINT, JSON.stringify(exit));
    assert.ok(exit.ms < 1000, `exited ${exit.ms} ms after the second signal`);
    assert.match(edge.child.output, /second signal \(2\): exiting now, without finishing the drain/);
    stuck.destroy();
    // The data folder is fine: the edge starts on it again.
    await edge.start();
    await edge.waitReady();
  } finally {
    await edge.destroy();
  }
});

test('a work-queue receive that waits is answered when the edge stops, not at the end of its wait',
  { timeout: 90000 }, async () => {
    requireTestWorker();
    const edge = await startEdge();
    const WAIT_MS = 30000;
    let worker;
    try {
      const created = await runCli(['queues', 'create', 'jobs', '--seeds', edge.meshEndpoint]);
      assert.equal(created.code, 0, created.stderr);
      // The worker's first receive is parked once the store committed the empty try it
      // begins with: the first write after this count (joining the mesh writes nothing).
      const writes = await metric(edge, 'adashta_store_writes_total');
      worker = startTestWorker(edge.meshPort, ['--consume', '--queue', 'jobs', '--vt-ms', '2000',
        '--wait-ms', String(WAIT_MS)], { name: 'w1' });
      await worker.lines.waitFor((l) => l.startsWith('ready w1'), { timeout: 15000 });
      await waitFor(async () => (await metric(edge, 'adashta_store_writes_total')) > writes,
        { timeout: 10000, interval: 20, what: 'the receive to reach the store' });
      const stoppedAt = Date.now();
      const exit = await terminate(edge.child);
      assert.equal(exit.code, 0, edge.child.describe());
      // The worker prints "receiving" before its first receive and after each empty one,
      // "error" after a failed one: the line after the first says how the parked one ended.
      const outcome = () => worker.lines.list.filter((l) => /^(receiving|error) /.test(l.text))[1];
      const back = await waitFor(outcome, { timeout: WAIT_MS + 10000, interval: 20, what: 'the parked receive to end' });
      assert.match(back.text, /^receiving /, 'the parked receive was answered (empty), not failed');
      assert.ok(back.at - stoppedAt < 3000,
        `the parked receive came back ${back.at - stoppedAt} ms after SIGTERM (its wait: ${WAIT_MS} ms)`);
      assert.deepEqual(worker.lines.fields('job'), [], 'no job was made up');
      // Its receives from now on find no edge: it is gone until it is started again.
      assert.deepEqual(worker.lines.fields('error').filter((e) => e[1] !== 'no_edge:'), []);
    } finally {
      await worker?.stop();
      await edge.destroy();
    }
  });
