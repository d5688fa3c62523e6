// The conformance scenarios: written once, run against the driver of each server SDK
// (ADASHTA_DRIVER=cpp|js|go; DRIVER.md). Each drives a real edge and real browser-protocol
// clients; an SDK passes when it behaves as docs/mesh.md section 8 says.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Edge, WsClient, freePort, requireBinaries, waitFor } from '../lib/cluster.mjs';
import { Driver, prepare } from './drivers.mjs';

const kind = process.env.ADASHTA_DRIVER ?? 'cpp';
const queues = {
  'c.ack': { visibility: '1s' },
  'c.fail': { visibility: '1s' },
  'c.hold': { visibility: '1s' },
  'c.order': { visibility: '10s' },
};
let dir;
let edge;
let node;
const clients = [];

before(async () => {
  requireBinaries();
  await prepare(kind);
  dir = await mkdtemp(path.join(os.tmpdir(), `adashta-conformance-${kind}-`));
  const config = path.join(dir, 'queues.json');
  await writeFile(config, JSON.stringify({ queues }));
  edge = new Edge({ args: ['--config', config, '--heartbeat-ms', '200', '--peer-timeout-ms', '1500'] });
  await edge.start();
  await edge.waitReady();
  node = await Driver.start(kind, { seeds: [edge.meshEndpoint], name: `${kind}-1` });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await node?.close();
  await edge?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function client() {
  const ws = await WsClient.connect(edge);
  clients.push(ws);
  await ws.hello();
  return ws;
}

/** Waits until the edge routes `queue` to `count` nodes (a produce no longer gets no_consumer). */
async function consumed(queue, count = 1) {
  await waitFor(async () => {
    const peers = await (await fetch(`${edge.url}/healthz`)).json();
    return peers.nodes >= count;
  }, { what: `${count} node(s) at the edge` });
}

const messageOn = (queue, match = () => true) => (e) => e.event === 'message' && e.queue === queue && match(e);

test(`${kind}: a consumed message reaches the handler with its fields and is acknowledged`, async () => {
  await node.call('consume', { queue: 'c.ack', behavior: 'ack' });
  await consumed('c.ack');
  const ws = await client();
  const ack = await ws.request({ type: 'produce', queue: 'c.ack', data: { n: 1, text: 'héllo' } });
  assert.equal(ack.type, 'ack', JSON.stringify(ack));
  const m = await node.event(messageOn('c.ack'));
  assert.equal(m.client, ws.session);
  assert.deepEqual(m.data, { n: 1, text: 'héllo' });
  assert.equal(m.receiveCount, 1);
  assert.ok(m.offset > 0, 'a stored message has an offset');
  assert.match(m.id, /^[0-9A-Z]{26}$/);
  // Acknowledged: past the 1 s visibility timeout it does not come again.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(node.seen(messageOn('c.ack', (e) => e.id === m.id)).length, 0, 'an acked message came again');
});

test(`${kind}: a failing handler leaves its message unacknowledged; it comes again and the node lives`, async () => {
  await node.call('consume', { queue: 'c.fail', behavior: 'throwOnce' });
  await consumed('c.fail');
  const ws = await client();
  await ws.request({ type: 'produce', queue: 'c.fail', data: 'first' });
  const first = await node.event(messageOn('c.fail'));
  assert.equal(first.receiveCount, 1);
  const error = await node.event((e) => e.event === 'handlerError' && e.id === first.id);
  assert.ok(error.message, 'the handler error is reported');
  const again = await node.event(messageOn('c.fail', (e) => e.id === first.id), { timeout: 10000 });
  assert.equal(again.receiveCount, 2);
  assert.ok(node.alive, 'the node survived its handler');
  // panic (a non-error throw) is survived the same way.
  await node.call('consume', { queue: 'c.fail', behavior: 'panic' });
  await ws.request({ type: 'produce', queue: 'c.fail', data: 'second' });
  const panicked = await node.event(messageOn('c.fail', (e) => e.data === 'second'));
  await node.event((e) => e.event === 'handlerError' && e.id === panicked.id);
  await node.call('consume', { queue: 'c.fail', behavior: 'ack' });
  const recovered = await node.event(messageOn('c.fail', (e) => e.id === panicked.id), { timeout: 10000 });
  assert.equal(recovered.receiveCount, 2);
  assert.ok(node.alive);
});

test(`${kind}: a held message is acknowledged later, or released to come again`, async () => {
  await node.call('consume', { queue: 'c.hold', behavior: 'hold' });
  await consumed('c.hold');
  const ws = await client();
  await ws.request({ type: 'produce', queue: 'c.hold', data: 'keep' });
  await ws.request({ type: 'produce', queue: 'c.hold', data: 'drop' });
  const keep = await node.event(messageOn('c.hold', (e) => e.data === 'keep'));
  const drop = await node.event(messageOn('c.hold', (e) => e.data === 'drop'));
  await node.call('settle', { id: keep.id, ok: true });
  await node.call('settle', { id: drop.id, ok: false });
  const back = await node.event(messageOn('c.hold', (e) => e.id === drop.id), { timeout: 10000 });
  assert.equal(back.receiveCount, 2);
  await node.call('settle', { id: back.id, ok: true });
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(node.seen(messageOn('c.hold', (e) => e.id === keep.id)).length, 0, 'an acked held message came again');
});

test(`${kind}: echo replies to the sender only; one client's messages arrive in order`, async () => {
  await node.call('consume', { queue: 'c.order', behavior: 'echo', concurrency: 4 });
  await consumed('c.order');
  const [a, b] = [await client(), await client()];
  for (const ws of [a, b]) ws.send({ type: 'consume', queue: 'c.order' });
  for (let i = 0; i < 20; ++i) {
    a.send({ type: 'produce', queue: 'c.order', data: { from: 'a', i } });
    b.send({ type: 'produce', queue: 'c.order', data: { from: 'b', i } });
  }
  for (const [ws, who] of [[a, 'a'], [b, 'b']]) {
    const got = [];
    while (got.length < 20) {
      const f = await ws.take((x) => x.type === 'message' && x.queue === 'c.order', { what: `echo ${got.length} to ${who}` });
      got.push(f.data);
    }
    assert.ok(got.every((d) => d.data.from === who), `${who} got another client's replies`);
    assert.deepEqual(got.map((d) => d.data.i), [...Array(20).keys()], `${who}'s messages were handled out of order`);
    assert.equal(got[0].node, `${kind}-1`);
  }
});

test(`${kind}: two nodes share a queue: sessions spread over both and stick to theirs`, async (t) => {
  const second = await Driver.start(kind, { seeds: [edge.meshEndpoint], name: `${kind}-2` });
  t.after(() => second.close());
  for (const n of [node, second]) await n.call('consume', { queue: 'c.sticky', behavior: 'echo' });
  await consumed('c.sticky', 2);
  const sessions = await Promise.all([...Array(16)].map(() => client()));
  for (const ws of sessions) await ws.request({ type: 'consume', queue: 'c.sticky' });
  const round = async () => {
    const owner = new Map();
    await Promise.all(sessions.map(async (ws) => {
      ws.send({ type: 'produce', queue: 'c.sticky', data: 1 });
      const reply = await ws.take((f) => f.type === 'message' && f.queue === 'c.sticky');
      owner.set(ws.session, reply.data.node);
    }));
    return owner;
  };
  let first;
  await waitFor(async () => {
    first = await round();
    return new Set(first.values()).size === 2;
  }, { what: 'sessions on both nodes' });
  for (let i = 0; i < 3; ++i) assert.deepEqual(await round(), first, 'a session moved while both nodes stayed');
});

test(`${kind}: produce reaches one client, every consumer (fan-out), later (delay) or never (cancel)`, async () => {
  const [a, b] = [await client(), await client()];
  for (const ws of [a, b]) await ws.request({ type: 'consume', queue: 'c.out' });
  await node.call('produce', { queue: 'c.out', data: { to: 'a' }, to: a.session });
  assert.deepEqual((await a.take((f) => f.type === 'message')).data, { to: 'a' });
  await node.call('produce', { queue: 'c.out', data: { to: 'all' }, confirm: true });
  for (const ws of [a, b]) assert.deepEqual((await ws.take((f) => f.type === 'message')).data, { to: 'all' });
  assert.equal(b.inbox.filter((f) => f.type === 'message').length, 0, 'b got a message addressed to a');

  const sent = Date.now();
  await node.call('produce', { queue: 'c.out', data: 'later', to: a.session, delay: 1200 });
  const cancelled = await node.call('produce', { queue: 'c.out', data: 'never', to: a.session, delay: 1500 });
  await node.call('cancel', { id: cancelled.id });
  const later = await a.take((f) => f.type === 'message');
  assert.equal(later.data, 'later');
  assert.ok(Date.now() - sent >= 1150, `a delayed message came after ${Date.now() - sent} ms`);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(a.inbox.filter((f) => f.type === 'message').length, 0, 'a cancelled message was delivered');
  await assert.rejects(node.call('cancel', { id: cancelled.id }), (err) => err.codeName === 'unknown_message');
});

test(`${kind}: fetch reads a queue again by offset and by time`, async () => {
  const before = Date.now() - 1;
  for (let i = 0; i < 5; ++i) await node.call('produce', { queue: 'c.fetch', data: { i }, confirm: true });
  const all = await node.call('fetch', { queue: 'c.fetch', from: 0, limit: 100 });
  assert.deepEqual(all.messages.map((m) => m.data.i), [0, 1, 2, 3, 4]);
  const page = await node.call('fetch', { queue: 'c.fetch', from: all.messages[2].offset, limit: 2 });
  assert.deepEqual(page.messages.map((m) => m.data.i), [2, 3]);
  assert.equal(page.next, all.messages[3].offset + 1);
  const since = await node.call('fetch', { queue: 'c.fetch', since: before, limit: 100 });
  assert.equal(since.messages.length, 5);
  const future = await node.call('fetch', { queue: 'c.fetch', since: Date.now() + 60000, limit: 100 });
  assert.equal(future.messages.length, 0);
});

test(`${kind}: every work-queue operation, with long poll and dead-lettering`, async () => {
  const wq = (op, args = {}) => node.call('wq', { op, args });
  await wq('createQueue', { qname: 'c-jobs', vt: 500, maxsize: 1024, maxReceive: 2, deadLetter: 'c-dead' });
  await wq('createQueue', { qname: 'c-dead' });
  await assert.rejects(wq('createQueue', { qname: 'c-jobs' }), (e) => e.codeName === 'queue_exists');
  assert.ok((await wq('listQueues')).queues.includes('c-jobs'));

  const { id } = await wq('sendMessage', { qname: 'c-jobs', message: 'job-1' });
  const got = await wq('receiveMessage', { qname: 'c-jobs' });
  assert.equal(got.id, id);
  assert.equal(got.message, 'job-1');
  assert.equal(got.rc, 1);
  assert.deepEqual(await wq('receiveMessage', { qname: 'c-jobs' }), {}, 'a hidden job was received twice');
  await wq('changeMessageVisibility', { qname: 'c-jobs', id, vt: 0 });
  const again = await wq('receiveMessage', { qname: 'c-jobs', vt: 200 });
  assert.equal(again.rc, 2);
  // Received maxReceive (2) times and not deleted: the next receive of c-jobs after its
  // visibility timeout moves it to c-dead instead of handing it out a third time.
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(await wq('receiveMessage', { qname: 'c-jobs', wait: 500 }), {}, 'a job came a third time');
  const dead = await wq('receiveMessage', { qname: 'c-dead', wait: 5000 });
  assert.equal(dead.message, 'job-1');
  assert.equal((await wq('getQueueAttributes', { qname: 'c-jobs' })).totaldead, 1);
  assert.equal((await wq('deleteMessage', { qname: 'c-dead', id: dead.id })).deleted, true);
  assert.equal((await wq('deleteMessage', { qname: 'c-dead', id: dead.id })).deleted, false);

  // Long poll: a receive that waits is answered by the next send.
  const waiting = wq('receiveMessage', { qname: 'c-jobs', wait: 10000 });
  await new Promise((r) => setTimeout(r, 300));
  await wq('sendMessage', { qname: 'c-jobs', message: 'job-2' });
  assert.equal((await waiting).message, 'job-2');

  const popped = wq('popMessage', { qname: 'c-jobs', wait: 5000 });
  await wq('sendMessage', { qname: 'c-jobs', message: 'job-3', delay: 300 });
  assert.equal((await popped).message, 'job-3');

  const { ids } = await wq('sendMessageBatch', { qname: 'c-jobs', messages: ['b1', 'b2', 'b3'] });
  assert.equal(ids.length, 3);
  const batch = await wq('receiveMessageBatch', { qname: 'c-jobs', max: 10, vt: 5000 });
  assert.deepEqual(batch.jobs.map((j) => j.message).sort(), ['b1', 'b2', 'b3']);
  assert.deepEqual((await wq('deleteMessageBatch', { qname: 'c-jobs', ids: [...ids, 'nope'] })).deleted,
    [true, true, true, false]);

  const attrs = await wq('setQueueAttributes', { qname: 'c-jobs', vt: 2000, delay: 10 });
  assert.equal(attrs.vt, 2000);
  assert.equal(attrs.delay, 10);
  assert.equal(attrs.maxReceive, 2);
  assert.equal(attrs.deadLetter, 'c-dead');
  await assert.rejects(wq('sendMessage', { qname: 'c-jobs', message: 'x'.repeat(2000) }), (e) => e.codeName === 'message_too_large');
  await wq('deleteQueue', { qname: 'c-jobs' });
  await assert.rejects(wq('getQueueAttributes', { qname: 'c-jobs' }), (e) => e.codeName === 'unknown_queue');
});

test(`${kind}: connection and disconnection events name the client`, async () => {
  const ws = await client();
  const on = await node.event((e) => e.event === 'connection' && e.client === ws.session);
  assert.equal(on.resumed, false);
  await ws.close();
  await node.event((e) => e.event === 'disconnection' && e.client === ws.session);
});

test(`${kind}: peers lists the edge`, async () => {
  const { peers } = await node.call('peers');
  assert.ok(peers.some((p) => p.role === 'edge' && p.endpoint === edge.meshEndpoint), JSON.stringify(peers));
});

test(`${kind}: bad input gets the catalogue's error`, async () => {
  await assert.rejects(node.call('consume', { queue: 'bad queue!', behavior: 'ack' }), (e) => e.codeName === 'bad_queue' && e.code === 4004);
  await assert.rejects(node.call('produce', { queue: 'bad queue!', data: 1 }), (e) => e.codeName === 'bad_queue');
  await assert.rejects(node.call('produceRaw', { queue: 'c.out', text: '{not json' }), (e) => e.codeName === 'bad_data' && e.code === 4600);
  await assert.rejects(node.call('wq', { op: 'receiveMessage', args: { qname: 'c-none' } }), (e) => e.codeName === 'unknown_queue');
  await assert.rejects(node.call('wq', { op: 'receiveMessage', args: { qname: 'c-dead', wait: 3600000 } }), (e) => e.codeName === 'bad_timeout');
  await assert.rejects(node.call('produce', { queue: 'c.out', data: 1, delay: -5 }), (e) => e.codeName === 'bad_timeout');
  // No edge: a node whose only seed is a port nobody listens on.
  const lonely = await Driver.start(kind, { seeds: [`tcp://127.0.0.1:${await freePort()}`], name: `${kind}-lonely`, connect: false });
  try {
    await assert.rejects(lonely.call('connect', { options: { connectTimeout: 1500 } }, { timeout: 30000 }), (e) => e.codeName === 'no_edge' && e.code === 4607);
    await assert.rejects(lonely.call('produce', { queue: 'c.out', data: 1 }), (e) => ['no_edge', 'not_started'].includes(e.codeName));
  } finally {
    await lonely.close();
  }
});

test(`${kind}: the node survives an edge restart and rejoins`, async () => {
  await node.call('consume', { queue: 'c.restart', behavior: 'echo' });
  await consumed('c.restart');
  await edge.stop({ signal: 'SIGKILL' });
  await new Promise((r) => setTimeout(r, 500));
  await edge.start();
  await edge.waitReady({ nodes: 1 });
  const ws = await client();
  ws.send({ type: 'consume', queue: 'c.restart' });
  await waitFor(async () => {
    const answer = await ws.request({ type: 'produce', queue: 'c.restart', data: 'back' });
    return answer.type === 'ack';
  }, { what: 'the restarted edge to route c.restart to the node again' });
  const reply = await ws.take((f) => f.type === 'message' && f.queue === 'c.restart', { timeout: 15000 });
  assert.equal(reply.data.node, `${kind}-1`);
  assert.ok(node.alive);
});
