// Membership: client events, peers, surviving an edge restart, and close() letting the
// process exit.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WsClient, browser, joinedNode, nextEvent, produceUntilSeen, startEdge, waitFor, withTimeout } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

test('connection and disconnection events name the client', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  // The edge counts the node in before the node counts it: probe until an event comes.
  const connected = await waitFor(async () => {
    const seen = nextEvent(node, 'connection', () => true, { timeout: 1000 }).catch(() => null);
    const ws = await WsClient.connect(edge);
    t.after(() => ws.close());
    const { session } = await ws.hello();
    const event = await seen;
    return event && event.client === session && { ws, event };
  }, { what: 'a connection event' });
  assert.equal(connected.event.resumed, false);
  assert.equal(connected.event.user, '');
  const gone = nextEvent(node, 'disconnection', (e) => e.client === connected.ws.session);
  await connected.ws.close();
  assert.equal((await gone).client, connected.ws.session);
});

test('peers lists the edge with its role and endpoint', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge, { name: 'lister' });
  const peers = node.peers();
  assert.ok(peers.some((p) => p.role === 'edge' && p.endpoint === edge.meshEndpoint), JSON.stringify(peers));
  assert.match(node.id, /^[0-9a-f]{32}$/);
  assert.match(node.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
});

test('the node survives an edge restart and rejoins', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  const seen = [];
  node.consume('again', async (msg) => { seen.push(msg.data); });
  const down = nextEvent(node, 'edgeDown');
  await edge.stop({ signal: 'SIGKILL' });
  await down;
  await assert.rejects(node.produce('again', 1), (e) => e.codeName === 'no_edge');
  const up = nextEvent(node, 'edgeUp', () => true, { timeout: 20000 });
  await edge.start();
  await edge.waitReady({ nodes: 1 });
  await up;
  const ws = await browser(t, edge);
  await produceUntilSeen(ws, 'again', 'back', () => seen.includes('back'));
});

test('close() sends Bye and lets the process exit', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t);
  const child = spawn(process.execPath, [path.join(here, 'fixtures/connect-close.mjs')], {
    env: { ...process.env, ADASHTA_SEEDS: edge.meshEndpoint }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c) => { output += c; });
  child.stderr.on('data', (c) => { output += c; });
  const code = await withTimeout(new Promise((resolve) => child.once('exit', resolve)), 15000, 'the process to exit after close()');
  assert.equal(code, 0, output);
  assert.match(output, /connected/);
  // The edge dropped the node at once (Bye), not after its peer timeout.
  await waitFor(async () => (await (await fetch(`${edge.url}/healthz`)).json()).nodes === 0, { timeout: 900, interval: 20, what: 'the edge to forget the node' });
});
