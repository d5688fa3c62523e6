// Two edges: a node seeded with one learns the other (PeerList), replies to a client through
// the edge that holds it, fans out through both, and sends every call to the lowest edge id.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Edge, WsClient, joinedNode, produceUntilSeen, startEdge, waitFor } from './helpers.mjs';

test('a node joins both edges through one seed and reaches clients on either', { timeout: 60000 }, async (t) => {
  const first = await startEdge(t);
  const second = new Edge({ args: ['--heartbeat-ms', '200', '--peer-timeout-ms', '1000', '--seeds', first.meshEndpoint] });
  t.after(() => second.destroy());
  await second.start();
  await second.waitReady();
  const node = await joinedNode(t, first);
  await waitFor(() => node.peers().filter((p) => p.role === 'edge').length === 2 && node.edges.size === 2,
    { what: 'the node to count both edges (the second learnt from PeerList)' });
  const seen = [];
  node.consume('chat', async (msg) => {
    seen.push(msg);
    await node.produce('chat', { echo: msg.data }, { to: msg.client });
  });
  const clients = [];
  for (const edge of [first, second]) {
    const ws = await WsClient.connect(edge);
    t.after(() => ws.close());
    await ws.hello();
    await ws.request({ type: 'consume', queue: 'chat' });
    clients.push(ws);
  }
  for (const ws of clients) {
    await produceUntilSeen(ws, 'chat', ws.session, () => seen.some((m) => m.client === ws.session));
    assert.deepEqual((await ws.take((f) => f.type === 'message')).data, { echo: ws.session });
  }
  await node.produce('chat', 'to all', { confirm: true });
  for (const ws of clients) assert.equal((await ws.take((f) => f.type === 'message' && f.data === 'to all')).data, 'to all');
  // Every node sends its calls to the edge with the lowest id: a work queue made by one node
  // is the queue another node, seeded with the other edge, sees.
  const other = await joinedNode(t, second);
  await waitFor(() => other.edges.size === 2, { what: 'the second node to count both edges' });
  await node.workQueues().createQueue({ qname: 'shared' });
  await node.workQueues().sendMessage({ qname: 'shared', message: 'from the first node' });
  assert.equal((await other.workQueues().receiveMessage({ qname: 'shared' })).message, 'from the first node');
});

test('many calls made at once go out together and all get their answers', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const wq = node.workQueues();
  await wq.createQueue({ qname: 'burst' });
  const send = node.mesh.send.bind(node.mesh);
  let frames = 0;
  node.mesh.send = (peer, bytes) => { frames++; return send(peer, bytes); };
  const ids = await Promise.all(Array.from({ length: 500 }, (_, i) => wq.sendMessage({ qname: 'burst', message: String(i) })));
  node.mesh.send = send;
  assert.ok(frames < 10, `500 calls made in one turn took ${frames} frames (the edge reads Requests)`);
  assert.equal(new Set(ids).size, 500);
  assert.equal((await wq.getQueueAttributes({ qname: 'burst' })).msgs, 500);
});

test('a burst of large calls is split into frames the edge accepts', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const wq = node.workQueues();
  await wq.createQueue({ qname: 'big', maxsize: -1 });
  const big = 'x'.repeat(200 * 1024);
  const ids = await Promise.all(Array.from({ length: 100 }, () => wq.sendMessage({ qname: 'big', message: big })));
  assert.equal(ids.length, 100);
});
