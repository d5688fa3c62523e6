// CURVE: a node with a key from `adashta keys new` and the allow-list joins an edge started
// with --mesh-key/--mesh-allow (the edge dials back through this node's ZAP handler), and
// every misconfiguration is bad_key before anything goes on the wire.

import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Adashta } from 'adashta';
import { Edge, WsClient, freePort, produceUntilSeen, requireEdge, runCli } from './helpers.mjs';

async function newKey(dir, name) {
  const file = path.join(dir, name);
  const made = await runCli(['keys', 'new', file, '--name', name]);
  assert.equal(made.code, 0, made.stderr);
  const key = (await runCli(['keys', 'show', file])).stdout.trim();
  const secret = /secret-key = "(.{40})"/.exec(await readFile(`${file}_secret`, 'utf8'))[1];
  return { file: `${file}_secret`, key, secret };
}

describe('a node on a CURVE mesh', () => {
  let dir;
  let edge;
  const keys = {};
  let allow;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-js-curve-'));
    for (const name of ['edge', 'node', 'tool', 'stranger']) keys[name] = await newKey(dir, name);
    const meshPort = await freePort();
    allow = path.join(dir, 'allow');
    await writeFile(allow, [
      `${keys.edge.key} edge tcp://127.0.0.1:${meshPort}  # edge`,
      `${keys.node.key} node  # the JS node`,
      `${keys.tool.key} tool`, ''].join('\n'));
    requireEdge();
    edge = new Edge({ meshPort, args: ['--mesh-key', keys.edge.file, '--mesh-allow', allow, '--heartbeat-ms', '200', '--peer-timeout-ms', '1000'] });
    await edge.start();
    await edge.waitReady();
  });

  after(async () => {
    await edge?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function roundTrip(t, options) {
    const node = new Adashta({ seeds: [edge.meshEndpoint], heartbeatMs: 200, peerTimeoutMs: 1000, ...options });
    t.after(() => node.close());
    node.consume('secure', async (msg) => { await node.produce('secure', { echo: msg.data }, { to: msg.client }); });
    await node.connect();
    const ws = await WsClient.connect(edge);
    t.after(() => ws.close());
    await ws.hello();
    await ws.request({ type: 'consume', queue: 'secure' });
    await produceUntilSeen(ws, 'secure', 'over curve', () => ws.inbox.some((f) => f.type === 'message'));
    return ws.inbox.find((f) => f.type === 'message').data;
  }

  test('with the key file and the allow-list it exchanges messages', { timeout: 60000 }, async (t) => {
    assert.deepEqual(await roundTrip(t, { meshKey: keys.node.file, meshAllow: allow }), { echo: 'over curve' });
  });

  test('with the Z85 secret (and the public key file name) it does too', { timeout: 60000 }, async (t) => {
    assert.deepEqual(await roundTrip(t, { meshSecret: keys.node.secret, meshAllow: allow }), { echo: 'over curve' });
    // FILE (the public half) is read as FILE_secret beside it, as the C++ SDK does.
    assert.deepEqual(await roundTrip(t, { meshKey: keys.node.file.replace(/_secret$/, ''), meshAllow: allow }), { echo: 'over curve' });
  });

  test('a seed written tcp://HOST:PORT|KEY needs no endpoint in the allow-list', { timeout: 60000 }, async (t) => {
    const bare = path.join(dir, 'allow-bare');
    await writeFile(bare, `${keys.edge.key} edge\n${keys.node.key} node\n`);
    assert.deepEqual(await roundTrip(t, { meshKey: keys.node.file, meshAllow: bare, seeds: [`${edge.meshEndpoint}|${keys.edge.key}`] }), { echo: 'over curve' });
  });

  test('misconfigurations are bad_key, with what to do', { timeout: 30000 }, async () => {
    const bad = (options, pattern) => assert.rejects(new Adashta({ seeds: [edge.meshEndpoint], ...options }).connect(),
      (e) => e.codeName === 'bad_key' && pattern.test(e.message));
    await bad({ meshKey: keys.node.file }, /allow-list/);
    await bad({ meshAllow: allow }, /own key/);
    await bad({ meshKey: keys.stranger.file, meshAllow: allow }, /not allowed as node/);
    await bad({ meshKey: keys.tool.file, meshAllow: allow }, /not allowed as node/);
    await bad({ meshKey: path.join(dir, 'missing'), meshAllow: allow }, /does not exist/);
    await bad({ meshSecret: 'short', meshAllow: allow }, /40 characters/);
    const unknownSeed = `tcp://127.0.0.1:${await freePort()}`;
    await bad({ meshKey: keys.node.file, meshAllow: allow, seeds: [unknownSeed] }, /public key is unknown/);
    const broken = path.join(dir, 'allow-broken');
    await writeFile(broken, `${keys.node.key} admin\n`);
    await bad({ meshKey: keys.node.file, meshAllow: broken }, /allow-broken:1: "admin" is not a role/);
  });

  test('a key the edge does not allow never gets in: no_edge', { timeout: 30000 }, async () => {
    const own = path.join(dir, 'allow-own');
    await writeFile(own, `${keys.stranger.key} node\n${keys.edge.key} edge tcp://127.0.0.1:${edge.meshPort}\n`);
    const node = new Adashta({ seeds: [edge.meshEndpoint], meshKey: keys.stranger.file, meshAllow: own, connectTimeoutMs: 1500 });
    await assert.rejects(node.connect(), (e) => e.codeName === 'no_edge');
  });

  test("this node's ZAP handler refuses a key its allow-list does not have", { timeout: 30000 }, async (t) => {
    const node = new Adashta({ seeds: [edge.meshEndpoint], meshKey: keys.node.file, meshAllow: allow });
    t.after(() => node.close());
    const logs = [];
    node.on('log', (line) => logs.push(line));
    await node.connect();
    const own = path.join(dir, 'allow-stranger');
    await writeFile(own, `${keys.stranger.key} node\n${keys.node.key} node\n`);
    const stranger = new Adashta({ seeds: [`${node.endpoint}|${keys.node.key}`], meshKey: keys.stranger.file, meshAllow: own, connectTimeoutMs: 1500 });
    await assert.rejects(stranger.connect(), (e) => e.codeName === 'no_edge');
    assert.ok(logs.some((l) => l.includes(`key ${keys.stranger.key} is not in the allow-list`)), logs.join('\n'));
    assert.ok(!node.peers().some((p) => p.name === 'stranger'));
  });
});
