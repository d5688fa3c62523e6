// What plugins may do besides their hooks, in a real edge (docs/plugins.md, "What a plugin
// can do besides its hooks"): a Lua and a JavaScript plugin (tests/integration/plugins/
// counter-*) count messages in the edge's store, produce messages to browsers and to a
// C++ server node, and their counts survive a restart of the edge.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Edge, NodeMessages, WsClient, repoDir, requireBinaries, startTestNode } from '../lib/cluster.mjs';

const fixtures = path.join(repoDir, 'tests/integration/plugins');
let dir;
let edge;
let node;
let got;

async function startNode() {
  node = startTestNode(edge.meshPort, { name: 'n-plain', queue: 'plain.work' });
  got = new NodeMessages(node);
  await edge.waitReady({ nodes: 1 });
}

before(async () => {
  requireBinaries();
  dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-plugin-services-'));
  const config = path.join(dir, 'adashta.json');
  await writeFile(config, JSON.stringify({
    plugins: [{ path: path.join(fixtures, 'counter-lua') }, { path: path.join(fixtures, 'counter-js') }],
  }));
  edge = new Edge({ args: ['--config', config] });
  await edge.start();
  await edge.waitReady();
  await startNode();
}, { timeout: 60000 });

after(async () => {
  await node?.stop();
  await edge?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function client() {
  const c = await WsClient.connect(edge);
  await c.hello();
  return c;
}

/** Sends `count` messages to the plugin's queue; resolves with the counts the news told. */
async function count(runtime, times, { toServer = false } = {}) {
  const prefix = runtime === 'lua' ? 'lcount' : 'jcount';
  const watcher = await client();
  assert.equal((await watcher.request({ type: 'consume', queue: `${prefix}.news` })).type, 'ack');
  const sender = await client();
  for (let i = 0; i < times; i++) {
    const answer = await sender.request({ type: 'produce', queue: `${prefix}.in`, data: { i, toServer } });
    assert.equal(answer.name, 'plugin_dropped', JSON.stringify(answer));
  }
  const counts = [];
  for (let i = 0; i < times; i++) {
    const news = await watcher.take((f) => f.type === 'message' && f.queue === `${prefix}.news`);
    assert.equal(news.data.from, sender.session);
    counts.push(news.data.count);
  }
  await watcher.close();
  await sender.close();
  return counts;
}

for (const runtime of ['lua', 'js']) {
  test(`a ${runtime} plugin keeps state in the edge's store, produces to browsers and to a server node`, { timeout: 60000 }, async () => {
    assert.deepEqual(await count(runtime, 3), [1, 2, 3]);
    await count(runtime, 1, { toServer: true });
    const m = await got.waitFor((e) => e.data?.plugin === `counter-${runtime}`, { what: `counter-${runtime}'s message at the node` });
    assert.equal(m.data.counted, 4);
  });
}

test('the plugins\' state survives a restart of the edge', { timeout: 60000 }, async () => {
  await node.stop();
  await edge.stop();
  await edge.start();
  await edge.waitReady();
  await startNode();
  assert.deepEqual(await count('lua', 2), [5, 6]);
  assert.deepEqual(await count('js', 2), [5, 6]);
});
