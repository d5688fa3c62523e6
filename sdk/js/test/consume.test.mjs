// Consuming: messages from browser clients reach the handler, are acked when it resolves,
// come again (higher receiveCount) when it throws, and run in order per client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browser, joinedNode, nextEvent, produceUntilSeen, startEdge, waitFor } from './helpers.mjs';

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
