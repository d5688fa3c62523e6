// Integration: a frame that is not valid JSON, an unknown message type, an oversized frame,
// a produce to a queue that nobody consumes — each gets a documented error or close code
// (docs/protocol.md), and the edge keeps serving every other client.
//
//   cd tests && node --test integration/bad_input.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// One edge (--max-frame 64 KiB) with one test node; a healthy client does a full
// produce -> node -> reply round trip after every bad case. Bad HTTP requests and bad
// command lines are here too: they must fail clearly without hurting the running edge.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  Edge, WsClient, adashtaBin, freePort, requireBinaries, runCli, startTestNode, waitNodesHearClients, withTimeout,
} from '../lib/cluster.mjs';

const MAX_FRAME = 65536;
const QUEUE = 'work';
const SECRET = 'outside-the-app-folder';
const CASE_TIMEOUT = 20000;  // per test; each takes well under a second, hello_timeout ~3 s

/** Sends `GET target` byte for byte (no URL normalizing); resolves with the status and body. */
function rawGet(port, target, { timeout = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { text += chunk; });
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1]);
      resolve({ status, text });
    });
    socket.on('error', reject);
    socket.setTimeout(timeout, () => {
      socket.destroy();
      reject(new Error(`GET ${target}: no complete answer in ${timeout} ms; ` +
        `got ${JSON.stringify(text.slice(0, 200))}`));
    });
  });
}

/** An error frame as docs/protocol.md describes it: code, name, message and hint, ref or not. */
function assertError(frame, { code, name, ref }) {
  assert.equal(frame.type, 'error', JSON.stringify(frame));
  assert.equal(frame.code, code, JSON.stringify(frame));
  assert.equal(frame.name, name, JSON.stringify(frame));
  assert.equal(typeof frame.message, 'string');
  assert.equal(typeof frame.hint, 'string');
  if (ref === undefined) assert.ok(!('ref' in frame), `no ref expected: ${JSON.stringify(frame)}`);
  else assert.equal(frame.ref, ref, JSON.stringify(frame));
}

/** An edge with one test node on the work queue, and a client that uses it properly. */
async function startServingEdge(root, args) {
  const edge = new Edge({ appDir: path.join(root, 'app'), args });
  await edge.start();
  const node = startTestNode(edge.meshPort, { name: 'n1', queue: QUEUE });
  try {
    await edge.waitReady({ nodes: 1 });
    await waitNodesHearClients(edge, [node]);
  } catch (err) {
    err.message += '\n' + node.describe();
    await node.stop();
    await edge.destroy();
    throw err;
  }
  const healthy = await WsClient.connect(edge);
  await healthy.hello();
  let probes = 0;
  // The healthy client's full round trip: produce, ack, the node's reply to it.
  const assertServes = async () => {
    const probe = ++probes;
    const ack = await healthy.request({ type: 'produce', queue: QUEUE, data: { probe } });
    assert.equal(ack.type, 'ack', `the edge refused a good produce: ${JSON.stringify(ack)}`);
    const reply = await healthy.take((f) => f.type === 'message' && f.data?.data?.probe === probe,
      { what: `the reply to probe ${probe}` });
    assert.equal(reply.queue, QUEUE);
    assert.equal(reply.data.node, node.name);
    const health = await (await fetch(`${edge.url}/healthz`)).json();
    assert.equal(health.status, 'ok');
  };
  const stop = async () => {
    await healthy.close();
    await node.stop();
    await edge.destroy();
  };
  return { edge, node, healthy, assertServes, stop };
}

describe('bad input gets a documented answer and the edge keeps serving', { timeout: 120000 }, () => {
  let root;       // temp folder: app/ is served, secret.txt lies outside it
  let serving;    // { edge, node, healthy, assertServes, stop }
  let edge;
  const opened = [];  // every bad client, closed in after()

  async function connect({ hello = true } = {}) {
    const client = await WsClient.connect(edge);
    opened.push(client);
    if (hello) await client.hello();
    return client;
  }

  // A client that got an error still works: the edge answers its next frame.
  async function assertStillOpen(client) {
    const pong = await client.request({ type: 'ping' });
    assert.equal(pong.type, 'pong');
    assert.ok(client.isOpen);
  }

  before(async () => {
    requireBinaries();
    root = await mkdtemp(path.join(os.tmpdir(), 'adashta-bad-input-'));
    await mkdir(path.join(root, 'app'));
    await writeFile(path.join(root, 'app/index.html'), '<!doctype html><title>app</title>\n');
    await writeFile(path.join(root, 'secret.txt'), SECRET + '\n');
    await symlink(path.join(root, 'secret.txt'), path.join(root, 'app/escape.txt'));
    serving = await startServingEdge(root, ['--max-frame', String(MAX_FRAME), '--max-subscriptions', '5']);
    edge = serving.edge;
    await serving.assertServes();
  }, { timeout: 60000 });

  after(async () => {
    await Promise.all(opened.map((client) => client.close()));
    await serving?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('a frame that is not valid JSON gets bad_json (4000) without a ref', { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    for (const text of ['{"type":"produce","ref":1,', 'hello', '{"type":"ping" "ref":2}', '', '[1,2]', '42', 'null']) {
      client.send(text);
      const error = await client.take((f) => f.type === 'error', { what: `the answer to ${JSON.stringify(text)}` });
      assertError(error, { code: 4000, name: 'bad_json' });
    }
    await assertStillOpen(client);
    await serving.assertServes();
  });

  test('a frame with a missing or mistyped field gets bad_frame (4001)', { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    client.send({ ref: 3 });
    assertError(await client.take(), { code: 4001, name: 'bad_frame', ref: 3 });
    client.send({ type: 'produce', ref: 4, queue: QUEUE });
    assertError(await client.take(), { code: 4001, name: 'bad_frame', ref: 4 });
    client.send({ type: 'ping', ref: -1 });  // a ref it cannot echo: none comes back
    assertError(await client.take(), { code: 4001, name: 'bad_frame' });
    await assertStillOpen(client);
    await serving.assertServes();
  });

  test('an unknown type gets unknown_type (4002) with its ref', { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    client.send({ type: 'subscribe', ref: 42, queue: QUEUE });
    assertError(await client.take(), { code: 4002, name: 'unknown_type', ref: 42 });
    client.send({ type: 'no-such-type' });
    assertError(await client.take(), { code: 4002, name: 'unknown_type' });
    await assertStillOpen(client);
    await serving.assertServes();
  });

  test('a frame before hello gets hello_required (4003), and hello still works after it',
    { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect({ hello: false });
    client.send({ type: 'produce', ref: 7, queue: QUEUE, data: { early: true } });
    assertError(await client.take(), { code: 4003, name: 'hello_required', ref: 7 });
    client.send({ type: 'consume', ref: 8, queue: QUEUE });
    assertError(await client.take(), { code: 4003, name: 'hello_required', ref: 8 });
    const welcome = await client.hello();
    assert.equal(welcome.resumed, false);
    await assertStillOpen(client);
    await serving.assertServes();
  });

  test('a queue name that breaks the rules gets bad_queue (4004)', { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    const badNames = ['', 'has space', 'q'.repeat(129), 'semi;colon', 'ünïcode'];
    for (const [index, queue] of badNames.entries()) {
      const answer = await client.request({ type: 'produce', ref: 100 + index, queue, data: 1 });
      assertError(answer, { code: 4004, name: 'bad_queue', ref: 100 + index });
    }
    assertError(await client.request({ type: 'consume', ref: 200, queue: 'has space' }),
      { code: 4004, name: 'bad_queue', ref: 200 });
    // The longest legal name is fine: nobody consumes it, and that is what the edge says.
    assertError(await client.request({ type: 'produce', ref: 201, queue: 'q'.repeat(128), data: 1 }),
      { code: 4104, name: 'no_consumer', ref: 201 });
    await assertStillOpen(client);
    await serving.assertServes();
  });

  test('a malformed session id gets bad_session (4005) and close code 4005', { timeout: CASE_TIMEOUT }, async () => {
    for (const session of ['s-1234567', 's-' + 'a'.repeat(65), 'x-12345678', 's-1234567!', 42]) {
      const client = await connect({ hello: false });
      client.send({ type: 'hello', ref: 5, session });
      assertError(await client.take(), { code: 4005, name: 'bad_session', ref: 5 });
      const closed = await client.closed;
      assert.equal(closed.code, 4005, `close for session ${JSON.stringify(session)}: ${JSON.stringify(closed)}`);
    }
    await serving.assertServes();
  });

  test('a consume past --max-subscriptions gets too_many_subscriptions (4017) with its ref', { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    for (let i = 0; i < 5; i++) {
      const ack = await client.request({ type: 'consume', queue: `many.${i}` });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
    }
    const again = await client.request({ type: 'consume', queue: 'many.0' });
    assert.equal(again.type, 'ack', 'a queue it already consumes is no new subscription');
    const refused = await client.request({ type: 'consume', queue: 'many.5', ref: 77 });
    assertError(refused, { code: 4017, name: 'too_many_subscriptions', ref: 77 });
    assert.match(refused.detail, /5 queues/);
    await assertStillOpen(client);
    assert.equal((await client.request({ type: 'unconsume', queue: 'many.1' })).type, 'ack');
    assert.equal((await client.request({ type: 'consume', queue: 'many.5' })).type, 'ack');
    await serving.assertServes();
  });

  test('a binary frame gets binary_unsupported (4010) and the connection stays open',
    { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    client.send(Buffer.from(JSON.stringify({ type: 'ping', ref: 1 })), { binary: true });
    assertError(await client.take(), { code: 4010, name: 'binary_unsupported' });
    await assertStillOpen(client);
    await serving.assertServes();
  });

  test('a frame larger than --max-frame closes the connection with 1009 frame_too_large',
    { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    // Exactly the limit is still accepted...
    const head = '{"type":"ping","ref":9,"pad":"';
    const atLimit = head + 'x'.repeat(MAX_FRAME - head.length - 2) + '"}';
    assert.equal(Buffer.byteLength(atLimit), MAX_FRAME);
    client.send(atLimit);
    assert.deepEqual(await client.take(), { type: 'pong', ref: 9 });
    // ...and 70000 bytes is not.
    client.send('x'.repeat(70000));
    assert.deepEqual(await client.closed, { code: 1009, reason: 'frame_too_large' });
    // Binary frames count against the same limit.
    const binary = await connect();
    binary.send(Buffer.alloc(70000), { binary: true });
    assert.deepEqual(await binary.closed, { code: 1009, reason: 'frame_too_large' });
    await serving.assertServes();
  });

  // libwebsockets hands the edge a message in pieces of about 1 KiB (its per-connection rx
  // buffer, kept small so idle connections are cheap): a large message must still arrive
  // whole and unchanged, also when multi-byte characters straddle the pieces, and also when
  // the client sends it as several WebSocket fragments.
  test('a message many times the edge\'s rx piece arrives whole, as one frame or in fragments',
    { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    // 1-, 2-, 3- and 4-byte UTF-8 characters, so piece boundaries fall inside characters.
    const pad = 'aé€😀'.repeat(5000);
    const sendsWhole = async (probe, sendFrame) => {
      const frame = JSON.stringify({ type: 'produce', ref: probe, queue: QUEUE, data: { probe, pad } });
      assert.ok(Buffer.byteLength(frame) > 50000 && Buffer.byteLength(frame) <= MAX_FRAME);
      sendFrame(frame);
      assert.equal((await client.take((f) => f.ref === probe, { what: `the ack of ${probe}` })).type, 'ack');
      const reply = await client.take((f) => f.type === 'message' && f.data?.data?.probe === probe,
        { what: `the reply to probe ${probe}` });
      assert.equal(reply.data.data.pad.length, pad.length);
      assert.ok(reply.data.data.pad === pad, 'the payload came back changed');
    };
    await sendsWhole(101, (frame) => client.send(frame));
    await sendsWhole(102, (frame) => {
      // Fragments of 7000 UTF-16 units each (larger than a piece), cut between characters.
      const parts = frame.match(/[\s\S]{1,7000}(?![\uDC00-\uDFFF])/g);
      assert.equal(parts.join(''), frame);
      parts.forEach((part, i) => client.ws.send(part, { fin: i === parts.length - 1 }));
    });
    // The size limit holds for a message that comes in fragments too.
    const big = 'x'.repeat(40000);
    client.ws.send(big, { fin: false });
    client.ws.send(big, { fin: true });
    assert.deepEqual(await client.closed, { code: 1009, reason: 'frame_too_large' });
    await serving.assertServes();
  });

  test('invalid UTF-8 in a text frame closes the connection with 1007', { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    client.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });  // {"\xff\xfe"}
    const closed = await client.closed;
    assert.equal(closed.code, 1007, JSON.stringify(closed));
    await serving.assertServes();
  });

  test('a produce to a queue that nobody consumes gets no_consumer (4104) with its ref',
    { timeout: CASE_TIMEOUT }, async () => {
    const client = await connect();
    const answer = await client.request({ type: 'produce', ref: 77, queue: 'nobody-consumes-this', data: { x: 1 } });
    assertError(answer, { code: 4104, name: 'no_consumer', ref: 77 });
    // Without a ref a success is not acknowledged, but a failure is still reported, as an
    // error without ref: never a silent drop.
    client.send({ type: 'produce', queue: 'nobody-consumes-this', data: { x: 2 } });
    assertError(await client.take((f) => f.type === 'error'), { code: 4104, name: 'no_consumer' });
    assertError(await client.request({ type: 'produce', ref: 78, queue: 'nobody-consumes-this', data: { x: 3 } }),
      { code: 4104, name: 'no_consumer', ref: 78 });
    assert.deepEqual(client.inbox, [], 'unexpected frames');
    await assertStillOpen(client);
    await serving.assertServes();
  });

  // Back-pressure: the edge stops reading a client whose produces wait for the store, so a
  // flood costs the client its send buffer, not the edge its memory.
  test('a client that produces faster than the store commits is slowed down, not buffered by the edge',
    { timeout: 60000 }, async () => {
      const floodRoot = await mkdtemp(path.join(os.tmpdir(), 'adashta-flood-'));
      await mkdir(path.join(floodRoot, 'app'));
      const flood = await startServingEdge(floodRoot, []);
      const rss = async () => Number(/VmRSS:\s+(\d+) kB/.exec(
        await readFile(`/proc/${flood.edge.child.process.pid}/status`, 'utf8'))[1]) * 1024;
      try {
        const client = await WsClient.connect(flood.edge);
        await client.hello();
        const before = await rss();
        const frame = JSON.stringify({ type: 'produce', queue: QUEUE, data: 'x'.repeat(1000) });
        let sent = 0;
        let peak = 0;
        const started = Date.now();
        while (Date.now() - started < 3000) {
          if (client.ws.bufferedAmount < (16 << 20)) {
            for (let i = 0; i < 2000; ++i) client.ws.send(frame);
            sent += 2000;
          } else {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          peak = Math.max(peak, (await rss()) - before);
        }
        console.log(`# flood: ${sent} frames (${Math.round(sent / 1024)} MiB) offered in 3 s; ` +
          `edge memory grew at most ${Math.round(peak / 2 ** 20)} MiB; ` +
          `${Math.round(client.ws.bufferedAmount / 2 ** 20)} MiB still in the client`);
        // ASan's quarantine keeps freed memory resident: a sanitizer build gets more room.
        const limit = (/asan/.test(adashtaBin) ? 1024 : 256) * 2 ** 20;
        assert.ok(peak < limit, `the edge grew ${Math.round(peak / 2 ** 20)} MiB while flooded`);
        assert.ok(client.ws.bufferedAmount > 0 || sent < 200000, 'the client was held back');
        await client.close();
        await flood.assertServes();
      } finally {
        await flood.stop();
        await rm(floodRoot, { recursive: true, force: true });
      }
    });

  test('a connection that never says hello is closed with 4008 hello_timeout', { timeout: 30000 }, async () => {
    const shortRoot = await mkdtemp(path.join(os.tmpdir(), 'adashta-hello-timeout-'));
    await mkdir(path.join(shortRoot, 'app'));
    const short = await startServingEdge(shortRoot, ['--hello-timeout-s', '1']);
    try {
      const silent = await WsClient.connect(short.edge);
      const openedAt = Date.now();
      const closed = await withTimeout(silent.closed, 5000, 'the edge to close a silent connection');
      const after = Date.now() - openedAt;
      assert.deepEqual(closed, { code: 4008, reason: 'hello_timeout' });
      assert.ok(after >= 900, `closed after ${after} ms, before the 1 s hello timeout`);
      // The healthy client said hello long ago and is still served.
      await short.assertServes();
    } finally {
      await short.stop();
      await rm(shortRoot, { recursive: true, force: true });
    }
    await serving.assertServes();
  });

  test('an edge on --http 127.0.0.1:PORT listens on that address only', { timeout: CASE_TIMEOUT }, async () => {
    // 127.0.0.2 is loopback too: an edge bound to every interface would answer there.
    const error = await new Promise((resolve) => {
      const socket = net.connect(edge.httpPort, '127.0.0.2', () => { socket.destroy(); resolve(null); });
      socket.on('error', resolve);
    });
    assert.equal(error?.code, 'ECONNREFUSED', 'the edge answered on 127.0.0.2');
    await serving.assertServes();
  });

  test('a second edge on the same --http port fails with bind_failed', { timeout: 20000 }, async () => {
    const second = new Edge({ httpPort: edge.httpPort });
    await second.start();
    try {
      const exit = await withTimeout(second.child.exit, 10000, 'the second edge to exit');
      assert.notEqual(exit.code, 0, second.child.describe());
      assert.equal(typeof exit.code, 'number', `exit: ${JSON.stringify(exit)}\n${second.child.describe()}`);
      assert.match(second.child.output, /bind_failed/);
    } finally {
      await second.destroy();
    }
    await serving.assertServes();
  });

  test('`adashta edge --http nonsense` exits with code 2', { timeout: CASE_TIMEOUT }, async () => {
    const data = await mkdtemp(path.join(os.tmpdir(), 'adashta-cli-'));
    try {
      const run = await runCli(['edge', '--http', 'nonsense',
        '--mesh', `127.0.0.1:${await freePort()}`, '--data', data]);
      assert.equal(run.code, 2, JSON.stringify(run));
      assert.match(run.stderr, /--http/);
      assert.match(run.stderr, /nonsense/);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
    await serving.assertServes();
  });

  test('`adashta edge /no/such/dir` exits non-zero and names the folder', { timeout: CASE_TIMEOUT }, async () => {
    const data = await mkdtemp(path.join(os.tmpdir(), 'adashta-cli-'));
    try {
      const run = await runCli(['edge', '/no/such/dir', '--http', `127.0.0.1:${await freePort()}`,
        '--mesh', `127.0.0.1:${await freePort()}`, '--data', data]);
      assert.notEqual(run.code, 0, JSON.stringify(run));
      assert.equal(typeof run.code, 'number', JSON.stringify(run));
      assert.match(run.stderr, /\/no\/such\/dir/);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
    await serving.assertServes();
  });

  test('GET /ws without an upgrade answers 426', { timeout: CASE_TIMEOUT }, async () => {
    const response = await fetch(`${edge.url}/ws`);
    assert.equal(response.status, 426);
    await response.text();
    await serving.assertServes();
  });

  test('GET /healthz answers JSON with status ok', { timeout: CASE_TIMEOUT }, async () => {
    const response = await fetch(`${edge.url}/healthz`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /application\/json/);
    const health = await response.json();
    assert.equal(health.status, 'ok');
    assert.equal(health.nodes, 1);
    assert.ok(health.connections >= 1, JSON.stringify(health));
    await serving.assertServes();
  });

  test('a path that climbs out of the app folder gets 404 or 400, never the file',
    { timeout: CASE_TIMEOUT }, async () => {
    const app = await rawGet(edge.httpPort, '/index.html');
    assert.equal(app.status, 200, 'the app folder is served');
    const targets = ['/../../etc/passwd', '/../secret.txt', '/a/../../secret.txt', '/%2e%2e/secret.txt',
      '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/..%2fsecret.txt', '/..\\secret.txt', '//etc/passwd',
      '/escape.txt' /* a symlink inside the app folder to a file outside it */];
    for (const target of targets) {
      const { status, text } = await rawGet(edge.httpPort, target);
      assert.ok(status === 404 || status === 400, `GET ${target} answered ${status}`);
      assert.ok(!text.includes(SECRET) && !text.includes('root:'), `GET ${target} leaked a file`);
    }
    await serving.assertServes();
  });
});
