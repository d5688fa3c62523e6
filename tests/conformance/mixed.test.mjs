// Mixed membership: a C++, a Node and a Go node consume the same queue. The edge's ring
// spreads sessions over all three, each session sticks to its node, and when one node
// leaves only its sessions move.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Edge, WsClient, requireBinaries, waitFor } from '../lib/cluster.mjs';
import { Driver, kinds } from './drivers.mjs';

const edge = new Edge({ args: ['--heartbeat-ms', '200', '--peer-timeout-ms', '1500'] });
const nodes = [];
const clients = [];

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodes.map((n) => n.close()));
  await edge.destroy();
});

/** Each client sends `rounds` messages; resolves with the node name that answered each client. */
async function owners(rounds) {
  const owner = new Map();
  await Promise.all(clients.map(async (ws) => {
    for (let i = 0; i < rounds; ++i) {
      ws.send({ type: 'produce', queue: 'mixed', data: { i } });
      const reply = await ws.take((f) => f.type === 'message' && f.queue === 'mixed', { what: `reply ${i}` });
      const seen = owner.get(ws.session);
      assert.ok(!seen || seen === reply.data.node, `session ${ws.session} moved from ${seen} to ${reply.data.node}`);
      owner.set(ws.session, reply.data.node);
    }
  }));
  return owner;
}

test('a C++, a Node and a Go node share one queue: every one gets sessions, each session sticks', async () => {
  requireBinaries();
  await edge.start();
  await edge.waitReady();
  for (const kind of kinds) {
    const node = await Driver.start(kind, { seeds: [edge.meshEndpoint], name: `mixed-${kind}` });
    await node.call('consume', { queue: 'mixed', behavior: 'echo' });
    nodes.push(node);
  }
  await edge.waitReady({ nodes: 3 });
  for (let i = 0; i < 30; ++i) {
    const ws = await WsClient.connect(edge);
    await ws.hello();
    await ws.request({ type: 'consume', queue: 'mixed' });
    clients.push(ws);
  }
  // The edge's ring is rebuilt when a node announces the queue: wait until all three take part.
  let owner;
  await waitFor(async () => {
    owner = await owners(1);
    return new Set(owner.values()).size === 3;
  }, { timeout: 15000, what: 'sessions on all three nodes' });
  const first = await owners(3);
  assert.deepEqual([...first.entries()].sort(), [...owner.entries()].sort(), 'sessions moved between rounds');
  const perNode = {};
  for (const name of first.values()) perNode[name] = (perNode[name] ?? 0) + 1;
  for (const kind of kinds) assert.ok(perNode[`mixed-${kind}`] >= 2, `the ${kind} node got ${perNode[`mixed-${kind}`] ?? 0} of 30 sessions`);

  // The Go node leaves (Bye): only its sessions move, to the other two.
  const leaving = nodes.find((n) => n.kind === 'go');
  await leaving.close();
  nodes.splice(nodes.indexOf(leaving), 1);
  await waitFor(async () => (await (await fetch(`${edge.url}/healthz`)).json()).nodes === 2,
    { what: 'the edge to count two nodes' });
  const after = await owners(2);
  for (const [session, name] of first) {
    if (name === 'mixed-go') assert.notEqual(after.get(session), 'mixed-go');
    else assert.equal(after.get(session), name, `session ${session} moved although its node stayed`);
  }
});
