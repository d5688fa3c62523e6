// Integration: what a C++ node does when its handlers fail or ack later (sdk/cpp/README.md
// "When a handler fails", "Acknowledging later"), against a real edge whose queues have a
// 1 s visibility timeout. The node is the C++ conformance driver (tests/conformance/
// driver.cpp, DRIVER.md), told what to do over stdin.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node --test integration/handler_faults.test.mjs
//
//   - a handler that throws (a std::exception, or something else) leaves its message
//     unacked: it comes again with receiveCount 2, and the same process handles what follows
//   - a message held (Node::defer) and acked later from another thread does not come again;
//     one released comes again after the visibility timeout

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Cluster, buildDir, explained, withTimeout } from '../lib/cluster.mjs';

const driverBin = path.join(buildDir, 'adashta-conformance-driver');
const VISIBILITY_MS = 1000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The driver as a child: request() sends a command and resolves with its answer. */
class DriverProcess {
  constructor(env) {
    this.events = [];
    this.answers = new Map();   // ref -> resolve
    this.listeners = new Set();
    this.stderr = '';
    this.nextRef = 1;
    this.child = spawn(driverBin, [], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child.stderr.on('data', (chunk) => { this.stderr = (this.stderr + chunk).slice(-8000); });
    let partial = '';
    this.child.stdout.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) this.receive(JSON.parse(line));
    });
  }

  receive(frame) {
    if (frame.ref !== undefined) {
      this.answers.get(frame.ref)?.(frame);
      this.answers.delete(frame.ref);
      return;
    }
    this.events.push(frame);
    for (const listener of this.listeners) listener(frame);
  }

  async request(cmd, fields = {}, { timeout = 15000 } = {}) {
    const ref = this.nextRef++;
    const answer = new Promise((resolve) => this.answers.set(ref, resolve));
    this.child.stdin.write(JSON.stringify({ cmd, ref, ...fields }) + '\n');
    const frame = await withTimeout(answer, timeout, `the driver's answer to ${cmd}`);
    assert.ok(frame.ok, `${cmd} failed: ${JSON.stringify(frame.error)}`);
    return frame.result;
  }

  /** The first event (seen already or still to come) that `match` accepts. */
  event(match, { timeout = 10000, what = 'a driver event' } = {}) {
    const found = this.events.find(match);
    if (found) return Promise.resolve(found);
    let listener;
    const seen = new Promise((resolve) => {
      listener = (e) => { if (match(e)) resolve(e); };
      this.listeners.add(listener);
    });
    return withTimeout(seen, timeout, what).finally(() => this.listeners.delete(listener));
  }

  messages(id) { return this.events.filter((e) => e.event === 'message' && e.id === id); }
}

async function withDriver(t, body) {
  assert.ok(existsSync(driverBin), `${driverBin} is missing: ninja -C build adashta-conformance-driver`);
  const cluster = await Cluster.start(t, {
    queues: Object.fromEntries(['faults', 'panics', 'held'].map((q) => [q, { visibility: `${VISIBILITY_MS}ms` }])),
  });
  const driver = new DriverProcess({ ADASHTA_SEEDS: cluster.edge.meshEndpoint, ADASHTA_HEARTBEAT_MS: '200', ADASHTA_PEER_TIMEOUT_MS: '1000' });
  t.after(() => driver.child.kill('SIGKILL'));
  try {
    await explained(cluster, async () => {
      await driver.event((e) => e.event === 'ready', { what: 'the driver to be ready' });
      await driver.request('connect', { options: { name: 'faulty' } });
      await body({ cluster, driver, client: await cluster.client() });
      await driver.request('close');
      assert.deepEqual(await withTimeout(driver.exit, 10000, 'the driver to exit'), { code: 0, signal: null },
        'the driver closes its node and exits 0');
    });
  } catch (err) {
    err.message += `\n--- driver stderr ---\n${driver.stderr}`;
    throw err;
  }
}

async function produce(client, queue, data) {
  const ack = await client.request({ type: 'produce', queue, data });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  return ack.id;
}

test('a handler that throws: its message comes again with receiveCount 2, and the node goes on',
  { timeout: 60000 }, async (t) => {
    await withDriver(t, async ({ driver, client }) => {
      await driver.request('consume', { queue: 'faults', behavior: 'throwOnce' });
      await driver.request('consume', { queue: 'panics', behavior: 'panic' });

      const first = await produce(client, 'faults', { n: 1 });
      const error = await driver.event((e) => e.event === 'handlerError' && e.id === first);
      assert.equal(error.queue, 'faults');
      assert.match(error.message, /throwOnce behavior threw/);
      const again = await driver.event((e) => e.event === 'message' && e.id === first && e.receiveCount === 2,
        { timeout: VISIBILITY_MS + 5000, what: 'the thrown message to come again' });
      assert.deepEqual(again.data, { n: 1 });

      // Not a std::exception: the same, and the process is still there to handle the next.
      const panicked = await produce(client, 'panics', { n: 2 });
      const panic = await driver.event((e) => e.event === 'handlerError' && e.id === panicked);
      assert.match(panic.message, /not a std::exception/);
      await driver.event((e) => e.event === 'message' && e.id === panicked && e.receiveCount === 2,
        { timeout: VISIBILITY_MS + 5000, what: 'the panicked message to come again' });

      await driver.request('consume', { queue: 'faults', behavior: 'ack' });  // replaces throwOnce
      const next = await produce(client, 'faults', { n: 3 });
      await driver.event((e) => e.event === 'message' && e.id === next);
      await sleep(VISIBILITY_MS * 2);  // handled this time, so acked: nothing comes again
      assert.equal(driver.messages(first).length, 2, 'thrown once, handled the second time');
      assert.equal(driver.messages(next).length, 1);
      assert.equal(driver.child.exitCode, null, 'the process is alive');
    });
  });

test('a deferred message acked later does not come again; a released one does',
  { timeout: 60000 }, async (t) => {
    await withDriver(t, async ({ driver, client }) => {
      await driver.request('consume', { queue: 'held', behavior: 'hold' });
      const kept = await produce(client, 'held', { keep: true });
      const dropped = await produce(client, 'held', { keep: false });
      await driver.event((e) => e.event === 'message' && e.id === kept);
      await driver.event((e) => e.event === 'message' && e.id === dropped);
      // Settled from the driver's command threads, after the handlers returned.
      await driver.request('settle', { id: kept, ok: true });
      await driver.request('settle', { id: dropped, ok: false });
      const again = await driver.event((e) => e.event === 'message' && e.id === dropped && e.receiveCount === 2,
        { timeout: VISIBILITY_MS + 5000, what: 'the released message to come again' });
      assert.deepEqual(again.data, { keep: false });
      await driver.request('settle', { id: dropped, ok: true });
      await sleep(VISIBILITY_MS * 2.5);
      assert.equal(driver.messages(kept).length, 1, 'acked later from another thread: not delivered again');
      assert.equal(driver.messages(dropped).length, 2, 'acked on its second delivery: not a third time');
    });
  });
