// Integration: the mesh with CURVE and an allow-list (docs/security.md, "The mesh"). The
// attacks that worked on an open mesh, rebuilt with adashta-rogue-member (raw cppzmq, forged
// Hellos), now fail: a member without a key, or with a key the allow-list does not know,
// gets nothing; a member that claims a live node's id is refused and the node keeps its
// traffic; a key allowed only as a tool cannot join as a node. Allowed members — an edge, a
// C++ node and the CLI — exchange messages end to end.
//
//   cd tests && node --test integration/mesh_security.test.mjs     (ADASHTA_BUILD_DIR=../build)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Child, Edge, NodeMessages, WsClient, adashtaBin, buildDir, freePort, requireBinaries, runCli,
  startTestNode, waitFor,
} from '../lib/cluster.mjs';

const rogueBin = path.join(buildDir, 'adashta-rogue-member');

/** Runs the attacker to its end; resolves with its output and the counts it printed. */
function rogue(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(rogueBin, ['--seconds', '3', ...args], { env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { out += c; });
    child.on('exit', () => {
      const last = out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1);
      resolve({ out, received: last ? JSON.parse(last).received : null });
    });
  });
}

async function newKey(dir, name) {
  const file = path.join(dir, name);
  const made = await runCli(['keys', 'new', file, '--name', name]);
  assert.equal(made.code, 0, made.stderr);
  const shown = await runCli(['keys', 'show', file]);
  const key = shown.stdout.trim();
  assert.match(key, /^.{40}$/);
  // The secret key itself, for the attacker (ZeroMQ's Z85 line in the _secret file).
  const secret = /secret-key = "(.{40})"/.exec(await (await import('node:fs/promises')).readFile(`${file}_secret`, 'utf8'))[1];
  return { file: `${file}_secret`, key, secret };
}

/** A browser stand-in produces to `work` until a reply from a node comes back. */
async function roundTrip(edge, payload) {
  const client = await WsClient.connect(edge);
  try {
    await client.hello();
    await client.request({ type: 'consume', queue: 'work' });
    return await waitFor(async () => {
      const ack = await client.request({ type: 'produce', queue: 'work', data: payload });
      if (ack.type !== 'ack') return null;
      const reply = await client.take((f) => f.type === 'message' && f.data?.data?.n === payload.n, { timeout: 2000 });
      return reply.data;
    }, { timeout: 15000, what: `a reply to ${JSON.stringify(payload)}` });
  } finally {
    await client.close();
  }
}

describe('mesh with CURVE and an allow-list', () => {
  let dir;
  let edge;
  let node;
  let messages;
  const keys = {};
  const env = () => ({ ADASHTA_MESH_KEY: keys.node.file, ADASHTA_MESH_ALLOW: path.join(dir, 'allow') });

  before(async () => {
    requireBinaries();
    dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-mesh-sec-'));
    for (const name of ['edge', 'node', 'tool', 'thief', 'stranger']) keys[name] = await newKey(dir, name);
    const meshPort = await freePort();
    // The stranger's key is made but never listed.
    await writeFile(path.join(dir, 'allow'), [
      '# the members of this test cluster',
      `${keys.edge.key} edge tcp://127.0.0.1:${meshPort}  # edge`,
      `${keys.node.key} node  # the real node`,
      `${keys.thief.key} node  # an allowed node that misbehaves`,
      `${keys.tool.key} tool  # the CLI`, ''].join('\n'));
    edge = new Edge({ meshPort, args: ['--mesh-key', keys.edge.file, '--mesh-allow', path.join(dir, 'allow'), '--peer-timeout-ms', '1000', '--heartbeat-ms', '200'] });
    await edge.start();
    await edge.waitReady();
    node = startTestNode(meshPort, { name: 'real', env: env() });
    messages = new NodeMessages(node);
    await edge.waitReady({ nodes: 1 });
  });

  after(async () => {
    await node?.stop();
    await edge?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('an edge, a C++ node and the CLI with allowed keys exchange messages', { timeout: 60000 }, async () => {
    const reply = await roundTrip(edge, { n: 1 });
    assert.equal(reply.node, 'real');
    const fetched = await runCli(['fetch', 'work', '--seeds', edge.meshEndpoint, '--mesh-key', keys.tool.file,
      '--mesh-allow', path.join(dir, 'allow')]);
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.match(fetched.stdout, /"n":1/);
    const produced = await runCli(['produce', 'work', '{"from":"cli"}', '--seeds', edge.meshEndpoint,
      '--mesh-key', keys.tool.file, '--mesh-allow', path.join(dir, 'allow')]);
    assert.equal(produced.code, 0, produced.stderr);
  });

  test('a member without a key gets nothing and is logged (attack 1)', { timeout: 60000 }, async () => {
    const watcher = await WsClient.connect(edge);
    await watcher.hello();
    await watcher.request({ type: 'consume', queue: 'work' });
    const attack = await rogue(['--seed', edge.meshEndpoint, '--queue', 'work', '--fanout', 'work', '--request', 'fetch']);
    assert.deepEqual(attack.received, {}, attack.out);  // no Hello back, no data, no answer
    // Its fan-out reached no browser; browsers' messages still reach only the real node.
    await assert.rejects(watcher.take((f) => f.type === 'message' && f.data?.rogue, { timeout: 500 }));
    await watcher.close();
    assert.equal((await roundTrip(edge, { n: 2 })).node, 'real');
    await waitFor(() => /refused \d+ mesh connection\(s\)/.test(edge.child.output), { what: 'the refusal in the edge log' });
    const cli = await runCli(['consume', 'work', '--seeds', edge.meshEndpoint, '--timeout-ms', '1500', '--count', '1']);
    assert.notEqual(cli.code, 0, 'adashta consume without a key must not join');
  });

  test('an unknown key is refused by the ZAP handler and logged', { timeout: 60000 }, async () => {
    const attack = await rogue(['--seed', edge.meshEndpoint, '--queue', 'work', '--secret', keys.stranger.secret,
      '--server-key', keys.edge.key, '--fanout', 'work', '--request', 'fetch']);
    assert.deepEqual(attack.received, {}, attack.out);
    await waitFor(() => edge.child.output.includes(`key ${keys.stranger.key} is not in the allow-list`),
      { what: 'the ZAP refusal in the edge log' });
  });

  test('a key allowed only as a tool cannot join as a node', { timeout: 60000 }, async () => {
    const attack = await rogue(['--seed', edge.meshEndpoint, '--role', 'node', '--queue', 'work', '--secret', keys.tool.secret,
      '--server-key', keys.edge.key]);
    assert.equal(attack.received.Hello, undefined, attack.out);
    await waitFor(() => edge.child.output.includes('may join as tool only'), { what: 'the role refusal in the edge log' });
    // The CLI refuses itself before it tries.
    const cli = await runCli(['consume', 'work', '--seeds', edge.meshEndpoint, '--timeout-ms', '1500',
      '--mesh-key', keys.tool.file, '--mesh-allow', path.join(dir, 'allow')]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /not allowed as node/);
    assert.equal((await roundTrip(edge, { n: 3 })).node, 'real');
  });

  test('an allowed member that claims a live node\'s id is refused; the node keeps its traffic (attack 2)', { timeout: 60000 }, async () => {
    const peers = await runCli(['peers', '--json', '--seeds', edge.meshEndpoint, '--mesh-key', keys.tool.file,
      '--mesh-allow', path.join(dir, 'allow')]);
    const real = peers.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((p) => p.name === 'real');
    assert.ok(real, peers.stdout + peers.stderr);
    const attack = await rogue(['--seed', edge.meshEndpoint, '--id', real.id, '--queue', 'work',
      '--secret', keys.thief.secret, '--server-key', keys.edge.key, '--seconds', '4']);
    assert.equal(attack.received.Deliver, undefined, attack.out);  // no browser message reached it
    await waitFor(() => edge.child.output.includes(`its id ${real.id} belongs to the live member`),
      { what: 'the id refusal in the edge log' });
    assert.equal((await roundTrip(edge, { n: 4 })).node, 'real');
    const health = await (await fetch(`${edge.url}/healthz`)).json();
    assert.equal(health.nodes, 1);
  });

  test('--require-curve refuses a mesh beyond loopback without keys', { timeout: 30000 }, async () => {
    const data = await mkdtemp(path.join(os.tmpdir(), 'adashta-mesh-open-'));
    const port = await freePort();
    const started = await runCli(['edge', '--http', `127.0.0.1:${await freePort()}`, '--mesh', `0.0.0.0:${port}`,
      '--data', data, '--require-curve'], { timeout: 10000 });
    assert.notEqual(started.code, 0);
    assert.match(started.stderr, /mesh_insecure/);
    await rm(data, { recursive: true, force: true });
  });
});

describe('mesh without CURVE', () => {
  test('a Hello that claims a live node\'s id from another endpoint is refused (attack 2, no keys)', { timeout: 60000 }, async () => {
    requireBinaries();
    const edge = new Edge({ args: ['--peer-timeout-ms', '1000', '--heartbeat-ms', '200'] });
    await edge.start();
    await edge.waitReady();
    const node = startTestNode(edge.meshPort, { name: 'real' });
    try {
      await edge.waitReady({ nodes: 1 });
      const peers = await runCli(['peers', '--json', '--seeds', edge.meshEndpoint]);
      const real = peers.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((p) => p.name === 'real');
      const attack = await rogue(['--seed', edge.meshEndpoint, '--id', real.id, '--queue', 'work']);
      assert.equal(attack.received.Deliver, undefined, attack.out);
      assert.match(edge.child.output, new RegExp(`its id ${real.id} is live at`));
      assert.equal((await roundTrip(edge, { n: 5 })).node, 'real');
      // Once the impostor is gone the real node is still a member (it never stopped being one).
      const health = await (await fetch(`${edge.url}/healthz`)).json();
      assert.equal(health.nodes, 1);
    } finally {
      await node.stop();
      await edge.destroy();
    }
  });
});
