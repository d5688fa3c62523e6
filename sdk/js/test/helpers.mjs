// What the tests share: the real edge (tests/lib/cluster.mjs), and a node joined to it.
//
//   const edge = await startEdge(t);                   // stopped when the test ends
//   const node = await joinedNode(t, edge, { name: 'n1' });

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { Edge, WsClient, adashtaBin, runCli as runCliOf, waitFor } from '../../../tests/lib/cluster.mjs';
import { Adashta } from '../src/index.js';

export * from '../../../tests/lib/cluster.mjs';

/** Throws how to get the edge binary, instead of a bare ENOENT later. */
export function requireEdge() {
  if (!existsSync(adashtaBin)) {
    throw new Error(`${adashtaBin} is missing: build the tree (scripts/build.sh) and set ADASHTA_BUILD_DIR to the build directory`);
  }
}

/** `adashta ARGS...` of the build (see tests/lib/cluster.mjs), after checking it is there. */
export function runCli(args, options) {
  requireEdge();
  return runCliOf(args, options);
}

/** An edge on free loopback ports, with `queues` as its queue config; destroyed after the test. */
export async function startEdge(t, { queues, args = [] } = {}) {
  requireEdge();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-js-'));
  const extra = [];
  if (queues) {
    await writeFile(path.join(dir, 'queues.json'), JSON.stringify({ queues }));
    extra.push('--config', path.join(dir, 'queues.json'));
  }
  const edge = new Edge({ args: ['--heartbeat-ms', '200', '--peer-timeout-ms', '1000', ...extra, ...args] });
  t.after(async () => { await edge.destroy(); await rm(dir, { recursive: true, force: true }); });
  await edge.start();
  await edge.waitReady();
  return edge;
}

/** A connected Adashta node seeded with the edge; closed after the test. */
export async function joinedNode(t, edge, options = {}) {
  const node = new Adashta({ seeds: [edge.meshEndpoint], heartbeatMs: 200, peerTimeoutMs: 1000, ...options });
  t.after(() => node.close());
  await node.connect();
  return node;
}

/** A browser client that said hello; closed after the test. */
export async function browser(t, edge, { token } = {}) {
  const ws = await WsClient.connect(edge);
  t.after(() => ws.close());
  await ws.hello(undefined, { token });
  return ws;
}

/**
 * Produces from the client until the node's handler sees it: the edge counts a node as a
 * consumer once the node's Hello arrived, and what it routes before the node counts the edge
 * in is lost, so the first message is retried until one arrives.
 */
export async function produceUntilSeen(ws, queue, data, seen, { timeout = 10000 } = {}) {
  return waitFor(async () => {
    const ack = await ws.request({ type: 'produce', queue, data });
    if (ack.type !== 'ack') throw new Error(JSON.stringify(ack));
    return waitFor(() => seen(), { timeout: 500, interval: 10, what: 'the node to see it' }).catch(() => null);
  }, { timeout, interval: 10, what: `a message on ${queue} to reach the node` });
}

/** Resolves with the next event `name` of emitter that `match` accepts. */
export function nextEvent(emitter, name, match = () => true, { timeout = 10000 } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(name, listener); reject(new Error(`timed out waiting for ${name}`)); }, timeout);
    const listener = (value) => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(value);
    };
    emitter.on(name, listener);
  });
}
