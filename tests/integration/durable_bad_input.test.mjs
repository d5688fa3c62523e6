// Integration: bad input for durable messaging gets a clear, documented error and loses no
// acknowledged message — unknown queues, negative or absurd times, oversized messages, a
// corrupt, foreign, missing or unwritable data folder, a bad --config, and a full disk.
//
//   cd tests && node --test integration/durable_bad_input.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// The full disk is a small tmpfs mounted as the edge's --data (needs root, as the test
// suite runs; without the permission those tests fail and say why). Every mount is
// unmounted in after(), whatever happened.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  Child, Edge, WsClient, adashtaBin, freePort, requireBinaries, runCli, waitFor,
} from '../lib/cluster.mjs';

const run = promisify(execFile);
const YEAR_MS = 365 * 24 * 3600 * 1000;
const SMALL_BYTES = 1024;   // maxMessageBytes of queue "small" (--config)
const CAPPED_BYTES = 4096;  // maxBytes of queue "capped": the data it keeps

/** An error frame as docs/protocol.md describes it, answering `ref`. */
function assertError(frame, name, ref) {
  assert.equal(frame.type, 'error', JSON.stringify(frame));
  assert.equal(frame.name, name, JSON.stringify(frame));
  assert.equal(typeof frame.code, 'number');
  assert.equal(typeof frame.message, 'string');
  assert.equal(typeof frame.hint, 'string');
  assert.equal(frame.ref, ref, JSON.stringify(frame));
}

/** Resolves with a produce's answer, retrying no_consumer while a fresh node says what it consumes. */
async function produce(client, frame, { timeout = 10000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const answer = await client.request({ type: 'produce', ...frame });
    if (answer.name !== 'no_consumer' || Date.now() > deadline) return answer;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Runs `adashta edge` with `args` on free ports; for a start that must fail. Resolves with
 * { code, stderr }; an edge that started after all is stopped after `timeout` ms (code 'killed').
 */
async function startEdgeExpectingFailure(args, { timeout = 8000 } = {}) {
  const http = `127.0.0.1:${await freePort()}`;
  const mesh = `127.0.0.1:${await freePort()}`;
  const result = await runCli(['edge', '--http', http, '--mesh', mesh, ...args], { timeout });
  return { code: result.code, stderr: result.stderr.trim(), stdout: result.stdout };
}

describe('durable messaging: bad input', { timeout: 180000 }, () => {
  let root;
  let edge;
  const nodes = [];
  let client;

  before(async () => {
    requireBinaries();
    root = await mkdtemp(path.join(os.tmpdir(), 'adashta-durable-bad-'));
    const config = path.join(root, 'queues.json');
    await writeFile(config, JSON.stringify({ queues: {
      sched: { clientSchedule: true },
      plain: {},
      small: { maxMessageBytes: SMALL_BYTES },
      capped: { maxBytes: CAPPED_BYTES, maxMessageBytes: SMALL_BYTES },
    } }));
    edge = new Edge({ args: ['--config', config] });
    await edge.start();
    // Server nodes that consume (and ack) without replying, so a queue holds only what the
    // client sent.
    for (const queue of ['sched', 'plain', 'small', 'capped']) {
      nodes.push(new Child(`consume-${queue}`, adashtaBin, ['consume', queue, '--seeds', edge.meshEndpoint]));
    }
    await edge.waitReady({ nodes: nodes.length });
    client = await WsClient.connect(edge);
    await client.hello();
  });

  after(async () => {
    await client?.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await edge?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** What the edge keeps of queue (`adashta fetch`, as a server sees it). */
  async function stored(queue) {
    const result = await runCli(['fetch', queue, '--from', '1', '--seeds', edge.meshEndpoint]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout).messages;
  }

  async function assertStillServes() {
    assert.equal((await client.request({ type: 'ping' })).type, 'pong');
    const health = await (await fetch(`${edge.url}/healthz`)).json();
    assert.equal(health.status, 'ok');
  }

  test('work-queue calls on an unknown queue get unknown_queue; cancel of an unknown id unknown_message',
    { timeout: 60000 }, async () => {
      const id = '01JD3ZQ4X8K2M5N7P9R1S3T5V7';
      for (const args of [['send', 'nope', 'x'], ['receive', 'nope', '--wait', '1s'], ['pop', 'nope'],
        ['attributes', 'nope'], ['set', 'nope', '--vt', '1s'], ['delete', 'nope', id],
        ['visibility', 'nope', id, '--vt', '1s'], ['drop', 'nope']]) {
        const result = await runCli(['queues', ...args, '--seeds', edge.meshEndpoint]);
        assert.equal(result.code, 1, `queues ${args.join(' ')}: exit ${result.code} ${result.stderr}`);
        assert.match(result.stderr, /^adashta: unknown_queue: no such queue \(queue "nope"\); create the queue first/,
          `queues ${args.join(' ')}`);
      }
      const cancel = await runCli(['cancel', id, '--seeds', edge.meshEndpoint]);
      assert.equal(cancel.code, 1, cancel.stderr);
      assert.match(cancel.stderr, /^adashta: unknown_message: /);
      await assertStillServes();
    });

  test('a browser delay or deliverAt that is negative, absurd or not a whole number gets bad_timeout with its ref',
    { timeout: 30000 }, async () => {
      const now = Date.now();
      const cases = [
        { delay: -1 }, { delay: YEAR_MS + 1 }, { delay: 1e30 }, { delay: 1.5 }, { delay: '5s' },
        { deliverAt: -1 }, { deliverAt: now + YEAR_MS + 60000 }, { deliverAt: 1e300 },
        { delay: 2 * 24 * 3600 * 1000 },  // within a year, but past the queue's 24 h retention
      ];
      for (const schedule of cases) {
        const ref = client.nextRef++;
        const answer = await produce(client, { queue: 'sched', data: { schedule }, ...schedule, ref });
        assertError(answer, 'bad_timeout', ref);
        console.log(`# ${JSON.stringify(schedule)} -> ${answer.name}: ${answer.detail ?? ''}`);
      }
      const both = await produce(client, { queue: 'sched', data: 1, delay: 10, deliverAt: now + 10 });
      assert.equal(both.name, 'bad_frame', JSON.stringify(both));
      // What a clientSchedule queue takes: a delay within its retention.
      const fine = await produce(client, { queue: 'sched', data: { fine: true }, delay: 200 });
      assert.equal(fine.type, 'ack', JSON.stringify(fine));
      assert.deepEqual((await stored('sched')).map((m) => m.data), [{ fine: true }], 'nothing refused was stored');
      await assertStillServes();
    });

  test('a browser delay on a queue without clientSchedule gets not_allowed with its ref', { timeout: 30000 }, async () => {
    for (const schedule of [{ delay: 1000 }, { deliverAt: Date.now() + 1000 }]) {
      const ref = client.nextRef++;
      const answer = await produce(client, { queue: 'plain', data: 'later', ...schedule, ref });
      assertError(answer, 'not_allowed', ref);
    }
    // delay 0 is no schedule: accepted.
    const now = await produce(client, { queue: 'plain', data: 'now', delay: 0 });
    assert.equal(now.type, 'ack', JSON.stringify(now));
    assert.deepEqual((await stored('plain')).map((m) => m.data), ['now']);
    await assertStillServes();
  });

  test(`a message over the queue's maxMessageBytes (${SMALL_BYTES}) gets message_too_large with its ref`,
    { timeout: 30000 }, async () => {
      // data is the JSON text as sent: a string of n characters takes n + 2 bytes.
      const ref = client.nextRef++;
      const tooLarge = await produce(client, { queue: 'small', data: 'x'.repeat(SMALL_BYTES - 1), ref });
      assertError(tooLarge, 'message_too_large', ref);
      const fits = await produce(client, { queue: 'small', data: 'y'.repeat(SMALL_BYTES - 2) });
      assert.equal(fits.type, 'ack', JSON.stringify(fits));
      assert.deepEqual((await stored('small')).map((m) => m.id), [fits.id], 'the oversized one was not stored');
      await assertStillServes();
    });

  test(`a queue with maxBytes ${CAPPED_BYTES} keeps its newest data and lets the oldest go`,
    { timeout: 30000 }, async () => {
      const ids = [];
      for (let i = 0; i < 20; ++i) {
        // 500 characters + the quotes: 502 bytes of data each, 10,040 in all.
        const answer = await produce(client, { queue: 'capped', data: `${i}`.padEnd(500, '.') });
        assert.equal(answer.type, 'ack', JSON.stringify(answer));
        ids.push(answer.id);
      }
      const kept = await stored('capped');
      const bytes = kept.reduce((sum, m) => sum + Buffer.byteLength(JSON.stringify(m.data)), 0);
      assert.ok(bytes <= CAPPED_BYTES, `kept ${bytes} bytes, more than maxBytes`);
      // The newest messages that fit: 8 × 502 = 4,016 bytes.
      assert.deepEqual(kept.map((m) => m.id), ids.slice(-8), 'the newest eight, in order');
      await assertStillServes();
    });

  test(`a server node's message over maxMessageBytes is not stored, and the edge logs and counts it`,
    { timeout: 30000 }, async () => {
      const metric = async () => Number(/^adashta_edge_store_failed_total (\d+)$/m
        .exec(await (await fetch(`${edge.url}/metrics`)).text())[1]);
      const failedBefore = await metric();
      const big = JSON.stringify('z'.repeat(2 * SMALL_BYTES));
      const sent = await runCli(['produce', 'small', big, '--to', client.session, '--seeds', edge.meshEndpoint]);
      console.log(`# adashta produce of ${big.length} bytes to a ${SMALL_BYTES}-byte queue: exit ${sent.code}, printed ${sent.stdout.trim()}`);
      await waitFor(async () => (await metric()) > failedBefore, { timeout: 5000, what: 'store_failed_total to count it' });
      assert.match(edge.child.output, /could not store a message from node .* on small: message_too_large/);
      assert.ok(!(await stored('small')).some((m) => m.data === JSON.parse(big)), 'it was not stored');
    });

  // The CLI's produce asks the edge to confirm (ProduceOptions::confirm), so it hears why.
  test('`adashta produce` of a message over maxMessageBytes fails with message_too_large',
    { timeout: 30000 }, async () => {
      const big = JSON.stringify('z'.repeat(2 * SMALL_BYTES));
      const sent = await runCli(['produce', 'small', big, '--to', client.session, '--seeds', edge.meshEndpoint]);
      assert.equal(sent.code, 1, `exit ${sent.code}, stdout ${sent.stdout.trim()}`);
      assert.match(sent.stderr, /message_too_large/);
    });

  // The store's errors carry a detail (which queue, how many bytes, what to set) to the
  // browser; for not_allowed the hint says "see the detail".
  test('errors from the store reach the browser with their detail',
    { timeout: 30000 }, async () => {
      const details = [];
      for (const [frame, pattern] of [
        [{ queue: 'plain', data: 1, delay: 1000 }, /clientSchedule/],
        [{ queue: 'small', data: 'x'.repeat(SMALL_BYTES) }, new RegExp(`${SMALL_BYTES + 2} bytes.*${SMALL_BYTES}`)],
        [{ queue: 'sched', data: 1, delay: 2 * 24 * 3600 * 1000 }, /retention/],
      ]) {
        const answer = await produce(client, frame);
        details.push(`${answer.name}: ${answer.detail}`);
        assert.match(answer.detail ?? '', pattern, JSON.stringify(answer));
      }
    });

  test('a corrupt store.db stops the edge with storage_corrupt naming the file', { timeout: 30000 }, async () => {
    const garbage = Buffer.alloc(64 * 1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) % 251;
    for (const [name, bytes] of [['garbage', garbage],
      ['sqlite-header', Buffer.concat([Buffer.from('SQLite format 3\0'), garbage])]]) {
      const data = path.join(root, `corrupt-${name}`);
      await mkdir(data);
      await writeFile(path.join(data, 'store.db'), bytes);
      const result = await startEdgeExpectingFailure(['--data', data]);
      assert.equal(result.code, 1, `${name}: ${JSON.stringify(result)}`);
      assert.match(result.stderr, /^adashta: storage_corrupt: /, name);
      assert.ok(result.stderr.includes(path.join(data, 'store.db')), `${name}: the message names the file: ${result.stderr}`);
      console.log(`# ${name}: ${result.stderr}`);
    }
  });

  test('a foreign database (a table of the same name, other columns) stops the edge with storage_corrupt',
    { timeout: 30000 }, async () => {
      const data = path.join(root, 'foreign');
      await mkdir(data);
      await run('sqlite3', [path.join(data, 'store.db'), 'CREATE TABLE messages(body TEXT); INSERT INTO messages VALUES (\'theirs\');']);
      const result = await startEdgeExpectingFailure(['--data', data]);
      assert.equal(result.code, 1, JSON.stringify(result));
      assert.match(result.stderr, /^adashta: storage_corrupt: /);
      console.log(`# foreign: ${result.stderr}`);
      const { stdout } = await run('sqlite3', [path.join(data, 'store.db'), 'SELECT body FROM messages;']);
      assert.equal(stdout.trim(), 'theirs', 'the other program\'s data is untouched');
    });

  // docs/operations.md promises the path with storage_corrupt, for a foreign database too.
  test('... and that message names the file too', { timeout: 30000 }, async () => {
    const data = path.join(root, 'foreign-path');
    await mkdir(data);
    await run('sqlite3', [path.join(data, 'store.db'), 'CREATE TABLE messages(body TEXT);']);
    const result = await startEdgeExpectingFailure(['--data', data]);
    assert.ok(result.stderr.includes(path.join(data, 'store.db')), result.stderr);
  });

  test('a data folder that cannot be created or used gets a clear error naming it', { timeout: 30000 }, async () => {
    const file = path.join(root, 'a-file');
    await writeFile(file, 'not a folder\n');
    for (const data of [path.join(file, 'data'), file]) {
      const result = await startEdgeExpectingFailure(['--data', data]);
      assert.equal(result.code, 2, JSON.stringify(result));
      assert.match(result.stderr, /^adashta: bad_option: /);
      assert.ok(result.stderr.includes(`"${data}"`), `names the folder: ${result.stderr}`);
      assert.match(result.stderr, /Not a directory|not a directory/);
      console.log(`# --data ${data}: ${result.stderr}`);
    }
    // store.db itself is a folder: SQLite cannot open it.
    const dbIsFolder = path.join(root, 'db-is-folder');
    await mkdir(path.join(dbIsFolder, 'store.db'), { recursive: true });
    const result = await startEdgeExpectingFailure(['--data', dbIsFolder]);
    assert.equal(result.code, 1, JSON.stringify(result));
    assert.match(result.stderr, /^adashta: storage_failed: /);
    assert.ok(result.stderr.includes(path.join(dbIsFolder, 'store.db')), result.stderr);
    console.log(`# store.db is a folder: ${result.stderr}`);
  });

  test('a read-only data folder gets bad_option naming it: "not writable"', { timeout: 30000 }, async () => {
    const readOnly = path.join(root, 'read-only');
    await mkdir(readOnly);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly]);
    } catch (err) {
      assert.fail(`cannot mount a read-only tmpfs (${(err.stderr || err.message).trim()}); ` +
        'run the tests as root (CAP_SYS_ADMIN), as ctest in CI does');
    }
    try {
      for (const [data, pattern] of [[readOnly, /is not writable/], [path.join(readOnly, 'sub'), /Read-only file system/]]) {
        const result = await startEdgeExpectingFailure(['--data', data]);
        assert.equal(result.code, 2, JSON.stringify(result));
        assert.match(result.stderr, /^adashta: bad_option: /);
        assert.ok(result.stderr.includes(`"${data}"`), `names the folder: ${result.stderr}`);
        assert.match(result.stderr, pattern);
        console.log(`# --data ${data} (read-only): ${result.stderr}`);
      }
    } finally {
      await run('umount', [readOnly]);
    }
  });

  test('damaged pages in the middle of store.db stop the edge at start, with how to recover', { timeout: 60000 }, async () => {
    const data = path.join(root, 'damaged-pages');
    const first = new Edge();
    first.dataDir = data;
    await first.start();
    let bytes;
    try {
      await first.waitReady();
      const writer = new Child('consume-filler', adashtaBin, ['consume', 'filler', '--seeds', first.meshEndpoint]);
      try {
        await first.waitReady({ nodes: 1 });
        const filler = await WsClient.connect(first);
        await filler.hello();
        for (let i = 0; i < 300; i++) {
          const answer = await produce(filler, { queue: 'filler', data: 'y'.repeat(1000) });
          assert.equal(answer.type, 'ack', JSON.stringify(answer));
        }
        filler.close();
      } finally {
        await writer.stop();
      }
    } finally {
      await first.stop();
    }
    const file = path.join(data, 'store.db');
    const handle = await open(file, 'r+');
    try {
      const { size } = await handle.stat();
      assert.ok(size > 64 * 4096, `store.db has ${size} bytes`);
      await handle.write(Buffer.alloc(3 * 4096, 0x5a), 0, 3 * 4096, Math.floor(size / 2 / 4096) * 4096);
    } finally {
      await handle.close();
    }
    const result = await startEdgeExpectingFailure(['--data', data]);
    assert.equal(result.code, 1, JSON.stringify(result));
    assert.match(result.stderr, /^adashta: storage_corrupt: /);
    assert.ok(result.stderr.includes(file), `names the file: ${result.stderr}`);
    assert.match(result.stderr, /backup/);
    assert.doesNotMatch(result.stdout + result.stderr, /\bready\b/, 'never ready on a damaged file');
  });

  test('a foreign database with tables of its own is refused and gets none of ours', { timeout: 30000 }, async () => {
    const data = path.join(root, 'foreign-other-tables');
    await mkdir(data);
    const file = path.join(data, 'store.db');
    await run('sqlite3', [file, 'CREATE TABLE customers(name TEXT);']);
    const result = await startEdgeExpectingFailure(['--data', data]);
    assert.equal(result.code, 1, JSON.stringify(result));
    assert.match(result.stderr, /^adashta: storage_corrupt: .*not an Adashta store.*customers/);
    const { stdout } = await run('sqlite3', [file, "SELECT group_concat(name) FROM sqlite_schema WHERE type = 'table';"]);
    assert.equal(stdout.trim(), 'customers', 'no table was added to it');
  });

  test('store.db removed under a running edge: nothing more is acknowledged', { timeout: 30000 }, async () => {
    const lost = new Edge();
    await lost.start();
    const consumer = new Child('consume-lost', adashtaBin, ['consume', 'lost', '--seeds', lost.meshEndpoint]);
    try {
      await lost.waitReady({ nodes: 1 });
      const producer = await WsClient.connect(lost);
      await producer.hello();
      assert.equal((await produce(producer, { queue: 'lost', data: 1 })).type, 'ack');
      await rm(path.join(lost.dataDir, 'store.db'));
      const answer = await produce(producer, { queue: 'lost', data: 2 });
      assert.equal(answer.type, 'error', JSON.stringify(answer));
      assert.equal(answer.name, 'storage_failed', JSON.stringify(answer));
      assert.match(answer.detail ?? '', /removed or replaced/);
      producer.close();
    } finally {
      await consumer.stop();
      await lost.destroy();
    }
  });

  test('--max-store-bytes: at the cap produces get storage_full saying the cap, and the edge serves on', { timeout: 60000 }, async () => {
    const capped = new Edge({ args: ['--max-store-bytes', String(256 * 1024)] });
    await capped.start();
    const consumer = new Child('consume-capped', adashtaBin, ['consume', 'capped', '--seeds', capped.meshEndpoint]);
    try {
      await capped.waitReady({ nodes: 1 });
      const producer = await WsClient.connect(capped);
      await producer.hello();
      let acked = 0;
      let refused;
      for (let i = 0; i < 1000 && !refused; i++) {
        const answer = await produce(producer, { queue: 'capped', data: 'c'.repeat(2000) });
        if (answer.type === 'ack') acked++;
        else refused = answer;
      }
      assert.ok(refused, `no refusal after ${acked} acks`);
      assert.equal(refused.name, 'storage_full', JSON.stringify(refused));
      assert.match(refused.detail ?? '', /capped at 262144 bytes/);
      assert.ok(acked > 20 && acked < 130, `${acked} acked`);
      assert.equal((await producer.request({ type: 'ping' })).type, 'pong');
      const { code, stdout } = await runCli(['fetch', 'capped', '--limit', '1000', '--seeds', capped.meshEndpoint]);
      assert.equal(code, 0);
      assert.equal(JSON.parse(stdout).messages.length, acked, 'every acked message is kept');
      console.log(`# --max-store-bytes 262144: ${acked} messages of 2 KB acked, then: ${refused.detail}`);
      producer.close();
    } finally {
      await consumer.stop();
      await capped.destroy();
    }
  });

  test('a missing data folder is created, nested folders too', { timeout: 30000 }, async () => {
    const data = path.join(root, 'missing', 'nested', 'data');
    const fresh = new Edge();
    fresh.dataDir = data;
    await fresh.start();
    try {
      await fresh.waitReady();
      const { stdout } = await run('ls', [data]);
      assert.match(stdout, /store\.db/);
    } finally {
      await fresh.stop();
    }
  });

  test('a bad --config stops the edge with a message naming the file and the key', { timeout: 60000 }, async () => {
    const data = path.join(root, 'config-data');
    const configs = {
      'missing.json': null,
      'bad-json.json': '{"queues": {"orders": {',
      'unknown-key.json': JSON.stringify({ queues: { orders: { retention: '1h', colour: 'red' } } }),
      'unknown-top.json': JSON.stringify({ queuez: {} }),
      'bad-duration.json': JSON.stringify({ queues: { orders: { retention: 'forever' } } }),
      'negative.json': JSON.stringify({ queues: { orders: { visibility: '-5s' } } }),
      'too-long.json': JSON.stringify({ queues: { orders: { retention: '400d' } } }),
      'bad-bool.json': JSON.stringify({ queues: { orders: { clientSchedule: 'yes' } } }),
      'unstored-retention.json': JSON.stringify({ queues: { ticks: { durable: false, retention: '1h' } } }),
      'max-bytes-small.json': JSON.stringify({ queues: { orders: { maxBytes: 1000 } } }),
    };
    const expectations = {
      'missing.json': /does not exist/,
      'bad-json.json': /not valid JSON at line 1, column \d+: expected /,
      'unknown-key.json': /queues\.orders\.colour: unknown key; known keys: /,
      'unknown-top.json': /: queuez: unknown key \(did you mean queues\?\)/,
      'bad-duration.json': /queues\.orders\.retention: "forever" is not a duration/,
      'negative.json': /queues\.orders\.visibility: "-5s" is negative/,
      'too-long.json': /queues\.orders\.retention: 400d is more than the maximum of 365d/,
      'bad-bool.json': /queues\.orders\.clientSchedule: expected true or false/,
      'unstored-retention.json': /queues\.ticks\.retention: a queue with "durable": false keeps nothing/,
      'max-bytes-small.json': /queues\.orders\.maxBytes: 1000 is less than maxMessageBytes \(1048576\)/,
    };
    for (const [name, text] of Object.entries(configs)) {
      const file = path.join(root, name);
      if (text !== null) await writeFile(file, text);
      const result = await startEdgeExpectingFailure(['--data', data, '--config', file]);
      assert.equal(result.code, 2, `${name}: a bad option exits 2: ${result.stderr}`);
      assert.ok(result.stderr.includes(file), `${name}: the message names the file: ${result.stderr}`);
      assert.match(result.stderr, expectations[name], name);
    }
  });
});

// --- A full disk ------------------------------------------------------------------------------

const DISK = '3m';            // the tmpfs the edge's --data lives on
const PAYLOAD = 'x'.repeat(16000);

describe('durable messaging: a full disk (a 3 MiB tmpfs as --data)', { timeout: 180000 }, () => {
  let root;
  let disk;          // the mount point
  let mountError;    // why the tmpfs could not be mounted, if it could not
  let mounted = false;
  let edge;
  let consumer;
  let client;
  const acked = [];  // ids the edge acknowledged, in order

  before(async () => {
    requireBinaries();
    root = await mkdtemp(path.join(os.tmpdir(), 'adashta-full-disk-'));
    disk = path.join(root, 'data');
    await mkdir(disk);
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${DISK}`, 'tmpfs', disk]);
      mounted = true;
    } catch (err) {
      mountError = (err.stderr || err.message).trim();
      return;
    }
    edge = new Edge();
    edge.dataDir = disk;
    await edge.start();
    // A server node that consumes (and acks) what the client sends, without replying.
    consumer = new Child('consumer', adashtaBin, ['consume', 'fill', '--seeds', edge.meshEndpoint]);
    await edge.waitReady({ nodes: 1 });
    client = await WsClient.connect(edge);
    await client.hello();
  });

  after(async () => {
    await client?.close();
    await consumer?.stop();
    await edge?.stop({ signal: 'SIGKILL' });
    if (mounted) {
      try {
        await run('umount', [disk]);
      } catch {
        await run('umount', ['-l', disk]);  // still busy: detach it now, freed when unused
      }
    }
    if (root) await rm(root, { recursive: true, force: true });
  });

  function requireMount() {
    if (mountError) {
      assert.fail(`cannot mount a ${DISK} tmpfs to simulate a full disk (${mountError}); ` +
        'run the tests as root (CAP_SYS_ADMIN), as ctest in CI does');
    }
  }

  /** Produces PAYLOAD-sized messages until the edge refuses one; resolves with that answer. */
  async function fillUp(tag) {
    for (let i = 0; i < 5000; i++) {
      const answer = await produce(client, { queue: 'fill', data: { tag, i, payload: PAYLOAD } });
      if (answer.type !== 'ack') return { answer, count: i };
      acked.push(answer.id);
    }
    assert.fail(`5000 messages of ${PAYLOAD.length} bytes fit on a ${DISK} disk`);
  }

  /** Every id the edge keeps of "fill" (`adashta fetch`, in pages that fit the CLI's stdout). */
  async function storedIds() {
    const ids = [];
    for (let from = 1; ;) {
      const result = await runCli(['fetch', 'fill', '--from', String(from), '--limit', '40', '--seeds', edge.meshEndpoint]);
      assert.equal(result.code, 0, `adashta fetch: ${result.stderr}`);
      const { messages, next } = JSON.parse(result.stdout);
      if (messages.length === 0) return ids;
      ids.push(...messages.map((m) => m.id));
      from = next;
    }
  }

  /** Writes disk/filler until the filesystem has no byte left. */
  async function fillDisk() {
    const file = await open(path.join(disk, 'filler'), 'w');
    try {
      const chunk = Buffer.alloc(4096);
      for (;;) await file.write(chunk);
    } catch (err) {
      if (err.code !== 'ENOSPC') throw err;
    } finally {
      await file.close();
    }
  }

  /** Removes the filler, if any, and grows the filesystem to `size`. */
  async function remount(size) {
    await rm(path.join(disk, 'filler'), { force: true });
    await run('mount', ['-o', `remount,size=${size}`, disk]);
  }

  test('producing until the disk is full ends in storage_full, with the ref, and the connection stays open',
    { timeout: 60000 }, async () => {
      requireMount();
      const started = Date.now();
      const { answer, count } = await fillUp('first');
      assertError(answer, 'storage_full', answer.ref);
      assert.equal(answer.code, 4507);
      assert.ok(count > 0, 'some messages fit before the disk was full');
      console.log(`# ${count} messages of ${PAYLOAD.length} bytes acked in ${Date.now() - started} ms, then: ` +
        `${answer.name}: ${answer.message} (${answer.hint})`);
      assert.ok(client.isOpen);
    });

  test('while the disk is full the edge keeps serving: pings, new clients, /healthz, clear errors for writes',
    { timeout: 60000 }, async () => {
      requireMount();
      assert.equal((await client.request({ type: 'ping' })).type, 'pong');
      const health = await (await fetch(`${edge.url}/healthz`)).json();
      assert.equal(health.status, 'ok');
      const other = await WsClient.connect(edge);
      try {
        await other.hello();
        assert.equal((await other.request({ type: 'ping' })).type, 'pong');
        assert.equal((await other.request({ type: 'consume', queue: 'news' })).type, 'ack');
        const refused = await produce(other, { queue: 'fill', data: { payload: PAYLOAD } });
        assert.equal(refused.name, 'storage_full', JSON.stringify(refused));
      } finally {
        await other.close();
      }
      // A node that asks for confirmation hears the refusal (the CLI's produce does). "Full"
      // moves a little: a checkpoint that lets SQLite reuse the start of its log makes room
      // for a message or two, and those are acked like any other. So produce until refused.
      let sent;
      for (let i = 0; i < 20; i++) {
        sent = await runCli(['produce', 'fill', JSON.stringify({ payload: PAYLOAD }),
          '--seeds', edge.meshEndpoint]);
        if (sent.code !== 0) break;
        acked.push(sent.stdout.trim());
      }
      assert.equal(sent.code, 1, `produce on a full disk, 20 times: exit ${sent.code} ${sent.stdout}`);
      assert.match(sent.stderr, /^adashta: storage_full: /);
      // A small write may still fit, or not: either way the answer is clear.
      const create = await runCli(['queues', 'create', 'jobs', '--seeds', edge.meshEndpoint]);
      if (create.code !== 0) assert.match(create.stderr, /^adashta: storage_full: /, `exit ${create.code}`);
      assert.ok(!edge.child.exited, 'the edge is still running');
    });

  // Fetches run in a read transaction of their own (Store::read), after the batch's commit.
  test('while the disk is full, a fetch that meets a failing produce still answers',
    { timeout: 60000 }, async () => {
      requireMount();
      const answers = await Promise.all(Array.from({ length: 50 }, () => Promise.all([
        client.request({ type: 'produce', queue: 'fill', data: { payload: PAYLOAD } }),
        client.request({ type: 'fetch', queue: 'fill', from: 1, limit: 1 }),
      ])));
      for (const [produced] of answers) if (produced.type === 'ack') acked.push(produced.id);
      const fetches = answers.map(([, fetched]) => fetched.type === 'messages' ? 'messages' : fetched.name);
      assert.deepEqual(fetches.filter((f) => f !== 'messages'), [], `fetch answers: ${fetches.join(' ')}`);
    });

  // Known bug, kept as a todo: opening the store writes (schema version, WAL recovery and
  // checkpoint), so after a crash on a full disk the edge exits with storage_full instead of
  // serving what it has (fetch, resume) and refusing only new messages. The last bytes the
  // store left are taken by a filler file first, so the disk is as full as it gets. It fails
  // on some runs only (2 of 5 in a loop of this sequence): it depends on the state the WAL
  // was in when the edge was killed.
  test('killed (-9) on the full disk, the edge starts again and serves what it acked',
    { timeout: 60000, todo: 'bug: the edge cannot start on a full disk (storage_full)' }, async () => {
      requireMount();
      await edge.stop({ signal: 'SIGKILL' });
      await fillDisk();
      await edge.start();
      await edge.waitReady({ timeout: 10000 });
      const kept = new Set(await storedIds());
      assert.deepEqual(acked.filter((id) => !kept.has(id)), []);
    });

  /** Kills the edge (-9), starts it on the same ports and folder, and checks every acked id. */
  async function restartAndCheck(what) {
    await client?.close();
    client = null;
    await edge.stop({ signal: 'SIGKILL' });
    await edge.start();
    await edge.waitReady({ nodes: 1, timeout: 30000 });
    const ids = await storedIds();
    const kept = new Set(ids);
    const lost = acked.filter((id) => !kept.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged messages were lost`);
    assert.equal(kept.size, ids.length, 'no message twice in the stream');
    console.log(`# ${what}: all ${acked.length} acked messages fetched after kill -9 and a restart ` +
      `(${ids.length} stored)`);
    client = await WsClient.connect(edge);
    await client.hello();
  }

  test('with space freed, the edge restarted after kill -9 has every message it acked, and takes new ones',
    { timeout: 90000 }, async () => {
      requireMount();
      await remount('6m');
      await restartAndCheck('disk grown to 6m');
      const answer = await produce(client, { queue: 'fill', data: { after: 'restart' } });
      assert.equal(answer.type, 'ack', JSON.stringify(answer));
      acked.push(answer.id);
    });

  test('full again, then more space: messages are accepted again without a restart, and none is lost',
    { timeout: 90000 }, async () => {
      requireMount();
      const { answer: full, count } = await fillUp('second');
      assert.equal(full.name, 'storage_full', JSON.stringify(full));
      await remount('12m');
      const answer = await produce(client, { queue: 'fill', data: { after: 'more space' } });
      assert.equal(answer.type, 'ack', `after growing the disk: ${JSON.stringify(answer)}`);
      acked.push(answer.id);
      console.log(`# ${count} more messages before storage_full on 6m; accepted again at once on 12m`);
      await restartAndCheck('after the second fill');
    });
});
