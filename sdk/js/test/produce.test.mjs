// Producing: to one client, to every consumer (fan-out), later (delay, deliverAt) or never
// (cancel), confirmed by the store; and fetch reads it all again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browser, joinedNode, startEdge, waitFor } from './helpers.mjs';

async function consuming(t, edge, queue) {
  const ws = await browser(t, edge);
  const answer = await ws.request({ type: 'consume', queue });
  assert.notEqual(answer.type, 'error', JSON.stringify(answer));
  return ws;
}

const message = (ws, match = () => true, timeout) =>
  ws.take((f) => f.type === 'message' && match(f.data), { timeout, what: 'a message' });

test('produce to one client reaches it and no other; fan-out reaches both', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const [a, b] = [await consuming(t, edge, 'news'), await consuming(t, edge, 'news')];
  const id = await node.produce('news', { only: 'a' }, { to: a.session });
  assert.match(id, /^[0-9A-Z]{26}$/);
  assert.deepEqual((await message(a)).data, { only: 'a' });
  await node.produce('news', ['all', 1, null], { confirm: true });
  assert.deepEqual((await message(a)).data, ['all', 1, null]);
  assert.deepEqual((await message(b)).data, ['all', 1, null]);
  assert.equal(b.inbox.filter((f) => f.type === 'message' && f.data?.only).length, 0, 'b got a message meant for a');
});

test('delay and deliverAt hold a message; cancel drops one before its time', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const ws = await consuming(t, edge, 'later');
  const start = Date.now();
  await node.produce('later', 'delayed', { to: ws.session, delay: 700, confirm: true });
  await node.produce('later', 'at', { to: ws.session, deliverAt: Date.now() + 900 });
  const cancelled = await node.produce('later', 'never', { to: ws.session, delay: 1500, confirm: true });
  await node.cancel(cancelled);
  assert.equal((await message(ws, (d) => d === 'delayed')).data, 'delayed');
  assert.ok(Date.now() - start >= 650, `came after ${Date.now() - start} ms`);
  await message(ws, (d) => d === 'at');
  await assert.rejects(node.cancel(cancelled), (e) => e.codeName === 'unknown_message');
  // Past the cancelled one's time: the inbox stays without it.
  await waitFor(() => Date.now() - start > 1800, { interval: 50 });
  assert.equal(ws.inbox.filter((f) => f.data === 'never').length, 0);
});

test('fetch reads what the edge keeps, by offset and by time', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const before = Date.now();
  for (let i = 0; i < 5; i++) await node.produce('log', { i }, { confirm: true });
  const all = await node.fetch('log');
  assert.deepEqual(all.messages.map((m) => m.data), [0, 1, 2, 3, 4].map((i) => ({ i })));
  const page = await node.fetch('log', { from: all.messages[2].offset, limit: 2 });
  assert.deepEqual(page.messages.map((m) => m.data.i), [2, 3]);
  assert.equal((await node.fetch('log', { from: page.next })).messages[0].data.i, 4);
  const since = await node.fetch('log', { since: before });
  assert.equal(since.messages.length, 5);
});
