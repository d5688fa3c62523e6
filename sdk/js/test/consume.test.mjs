// Consuming: messages from browser clients reach the handler, are acked when it resolves,
// come again (higher receiveCount) when it throws, and run in order per client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browser, joinedNode, metric, nextEvent, produceUntilSeen, startEdge, waitFor } from './helpers.mjs';

test('a reply to the sender reaches it; the message is acked', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge, { name: 'echo' });
  const seen = [];
  node.consume('echo', async (msg) => {
    seen.push(msg);
    await node.produce('echo', { got: msg.data }, { to: msg.client });
  });
  const ws = await browser(t, edge);
  await ws.request({ type: 'consume', queue: 'echo' });
  await produceUntilSeen(ws, 'echo', { n: 1 }, () => seen.length > 0);
  const reply = await ws.take((f) => f.type === 'message' && f.queue === 'echo');
  assert.deepEqual(reply.data, { got: { n: 1 } });
  assert.equal(seen[0].client, ws.session);
  assert.equal(seen[0].receiveCount, 1);
  assert.match(seen[0].id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  await waitFor(async () => (await metric(edge, 'adashta_edge_acked_total')) >= 1, { what: 'the edge to count the ack' });
});

test('a throwing handler: error event, the message comes again with a higher receiveCount', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t, { queues: { jobs: { visibility: '500ms' } } });
  const node = await joinedNode(t, edge);
  const counts = [];
  node.consume('jobs', async (msg) => {
    counts.push(msg.receiveCount);
    if (msg.receiveCount === 1) throw new Error('first try fails');
  });
  const error = nextEvent(node, 'error');
  const ws = await browser(t, edge);
  await produceUntilSeen(ws, 'jobs', 'work', () => counts.length > 0);
  const err = await error;
  assert.equal(err.message, 'first try fails');
  assert.equal(err.queue, 'jobs');
  await waitFor(() => counts.includes(2), { timeout: 10000, what: 'a redelivery' });
});

test('a synchronous throw with no error listener is logged, not a crash', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t, { queues: { jobs: { visibility: '500ms' } } });
  const node = await joinedNode(t, edge);
  const counts = [];
  node.consume('jobs', (msg) => {
    counts.push(msg.receiveCount);
    if (msg.receiveCount < 2) throw new Error('boom');
  });
  const ws = await browser(t, edge);
  await produceUntilSeen(ws, 'jobs', 'x', () => counts.length > 0);
  await waitFor(() => counts.includes(2), { timeout: 10000, what: 'a redelivery after a sync throw' });
});

test('concurrency runs clients side by side, each client in order', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const log = [];
  let running = 0;
  let most = 0;
  node.consume('work', async (msg) => {
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 30));
    log.push(`${msg.client} ${msg.data}`);
    running--;
  }, { concurrency: 4 });
  const clients = [await browser(t, edge), await browser(t, edge), await browser(t, edge)];
  for (const ws of clients) await produceUntilSeen(ws, 'work', -1, () => log.some((l) => l.startsWith(ws.session)));
  for (let i = 0; i < 5; i++) for (const ws of clients) ws.send({ type: 'produce', queue: 'work', data: i });
  await waitFor(() => log.length >= clients.length * 6, { what: 'every message handled' });
  for (const ws of clients) {
    const mine = log.filter((l) => l.startsWith(ws.session + ' ')).map((l) => Number(l.split(' ')[1])).filter((n) => n >= 0);
    assert.deepEqual(mine, [0, 1, 2, 3, 4]);
  }
  assert.ok(most > 1, `handlers ran one at a time (most ${most})`);
});

test('at-most-once messages reach the handler once and are never acked, even when it throws', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t, { queues: { ticks: { durable: false } } });
  const node = await joinedNode(t, edge);
  const seen = [];
  node.on('error', () => {});
  node.consume('ticks', async (msg) => {
    seen.push(msg);
    throw new Error('an unstored message is not redelivered anyway');
  });
  const ws = await browser(t, edge);
  await produceUntilSeen(ws, 'ticks', 'tick', () => seen.length > 0);
  for (let i = 0; i < 20; i++) ws.send({ type: 'produce', queue: 'ticks', data: i });
  await waitFor(() => seen.filter((m) => typeof m.data === 'number').length === 20, { what: 'twenty ticks' });
  assert.ok(seen.every((m) => m.offset === 0 && m.receiveCount === 1), JSON.stringify(seen.slice(0, 2)));
  assert.deepEqual(seen.filter((m) => typeof m.data === 'number').map((m) => m.data), Array.from({ length: 20 }, (_, i) => i));
});

test('a burst of 2000 messages is handled and acked', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  let handled = 0;
  node.consume('burst', async () => { handled++; }, { concurrency: 16 });
  const ws = await browser(t, edge);
  await produceUntilSeen(ws, 'burst', -1, () => handled > 0);
  const start = Date.now();
  for (let i = 0; i < 2000; i++) ws.send({ type: 'produce', queue: 'burst', data: { i } });
  await waitFor(() => handled >= 2001, { interval: 20, what: '2000 messages handled' });
  t.diagnostic(`2000 messages in ${Date.now() - start} ms`);
  await waitFor(async () => (await metric(edge, 'adashta_edge_acked_total')) >= 2001, { what: 'the edge to count 2001 acks' });
});

test('a deferred message is acked later, or released to come again', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t, { queues: { held: { visibility: '500ms' } } });
  const node = await joinedNode(t, edge);
  const seen = [];
  const later = new Map();
  node.consume('held', async (msg) => {
    seen.push(msg);
    later.set(`${msg.data}:${msg.receiveCount}`, msg.defer());
  });
  const ws = await browser(t, edge);
  await produceUntilSeen(ws, 'held', 'keep', () => seen.length > 0);
  const keep = [...later.entries()].find(([k]) => k.startsWith('keep'))[1];
  const acked = await metric(edge, 'adashta_edge_acked_total');
  keep.ack();
  await waitFor(async () => (await metric(edge, 'adashta_edge_acked_total')) > acked, { what: 'the later ack' });
  ws.send({ type: 'produce', queue: 'held', data: 'drop' });
  await waitFor(() => later.has('drop:1'), { what: 'the second message' });
  later.get('drop:1').release();
  await waitFor(() => later.has('drop:2'), { what: 'the released message to come again' });
  later.get('drop:2').ack();
});

test('unconsume stops the handler; consume again takes the queue back', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const seen = [];
  node.consume('switch', async (msg) => { seen.push(msg.data); });
  const ws = await browser(t, edge);
  await produceUntilSeen(ws, 'switch', 'on', () => seen.includes('on'));
  node.unconsume('switch');
  await waitFor(async () => {
    const answer = await ws.request({ type: 'produce', queue: 'switch', data: 'off' });
    return answer.type === 'error' && answer.name === 'no_consumer';
  }, { what: 'the edge to see no consumer' });
  node.consume('switch', async (msg) => { seen.push(msg.data); });
  await produceUntilSeen(ws, 'switch', 'again', () => seen.includes('again'));
});
