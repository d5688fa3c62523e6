// Plugins in a real edge (docs/plugins.md, "Running plugins"): a Lua and a JavaScript plugin
// (tests/integration/plugins/gate-*), each on its own queues, change what a C++ node sees,
// reject (seen by Chromium), drop, change what one recipient gets, refuse a connection, and
// stamp a node's messages; a plugin over its limits does not disturb other clients; the
// JavaScript plugin host killed with SIGKILL loses no acknowledged message; a reload keeps
// every connection open.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Edge, NodeMessages, WsClient, metric, repoDir, requireBinaries, runCli, startTestNode, waitFor,
} from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const fixtures = path.join(repoDir, 'tests/integration/plugins');
let dir;
let configFile;
let edge;
let nodes = [];
let jsMessages;
let browser;

function pluginsConfig({ luaTag = 'lua', broken = false } = {}) {
  const plugins = [
    { path: path.join(fixtures, 'gate-lua'), config: { tag: luaTag } },
    { path: path.join(fixtures, 'gate-js') },
  ];
  if (broken) plugins[0].config = { tag: 7 };  // the schema wants a string
  return JSON.stringify({ plugins }, null, 2);
}

before(async () => {
  requireBinaries();
  dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-plugins-edge-'));
  configFile = path.join(dir, 'adashta.json');
  await writeFile(configFile, pluginsConfig());
  const appDir = path.join(dir, 'app');
  execFileSync('mkdir', ['-p', appDir]);
  await writeFile(path.join(appDir, 'index.html'),
    '<!doctype html><title>plugins</title><script src="/adashta.js"></script>\n');
  edge = new Edge({ appDir, args: ['--config', configFile] });
  await edge.start();
  await edge.waitReady();
  nodes = ['lua', 'js', 'plain'].map((q) => startTestNode(edge.meshPort, { name: `n-${q}`, queue: `${q}.work` }));
  jsMessages = new NodeMessages(nodes[1]);
  await edge.waitReady({ nodes: 3 });
  browser = await launchChromium();
}, { timeout: 60000 });

after(async () => {
  await browser?.close();
  for (const n of nodes) await n.stop();
  await edge?.destroy();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function client() {
  const c = await WsClient.connect(edge);
  await c.hello();
  return c;
}

function nodeOf(runtime) { return nodes[runtime === 'lua' ? 0 : 1]; }

for (const runtime of ['lua', 'js']) {
  const queue = `${runtime}.work`;

  describe(`a ${runtime} plugin`, { timeout: 90000 }, () => {
    test('changes the data a C++ node sees, and stamps the node\'s answer (on_produce) for its recipient (on_deliver)', async () => {
      const c = await client();
      const ack = await c.request({ type: 'produce', queue, data: { text: `hi ${runtime}` } });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const reply = await c.take((f) => f.type === 'message' && f.queue === queue);
      assert.equal(reply.data.data.text, `HI ${runtime.toUpperCase()}`);
      assert.equal(reply.data.data.by, runtime);
      assert.equal(reply.data.data.session, c.session, 'on_message saw the client');
      assert.equal(reply.data.stamp, `${runtime}:n-${runtime}`, 'on_produce saw the node');
      assert.equal(reply.data.recipient, c.session, 'on_deliver saw the recipient');
      await waitFor(() => nodeOf(runtime).output.includes(`"text":"HI ${runtime.toUpperCase()}"`),
        { what: 'the node printing the changed message' });
      await c.close();
    });

    test('drops a message: the sender gets plugin_dropped, the node never sees it', async () => {
      const c = await client();
      const answer = await c.request({ type: 'produce', queue, data: { text: 'drop', mark: `d-${runtime}` } });
      assert.equal(answer.name, 'plugin_dropped');
      assert.match(answer.detail, new RegExp(`plugin gate-${runtime} dropped the message: dropped on purpose`));
      const after = await c.request({ type: 'produce', queue, data: { text: 'after drop' } });
      assert.equal(after.type, 'ack');
      await waitFor(() => nodeOf(runtime).output.includes('AFTER DROP'), { what: 'the next message at the node' });
      assert.ok(!nodeOf(runtime).output.includes(`d-${runtime}`), 'the dropped message reached the node');
      await c.close();
    });

    test('rejects a message with a reason the page in Chromium receives', async () => {
      const page = await browser.newPage();
      try {
        await page.goto(`${edge.url}/`);
        await page.waitForFunction(() => window.adashta);
        const result = await page.evaluate(async (q) => {
          const c = adashta.connect({ persistSession: false });
          try {
            await c.produce(q, { text: 'bad' });
            return { ok: true };
          } catch (err) {
            return { name: err.name, code: err.code, detail: err.detail };
          } finally {
            c.close();
          }
        }, queue);
        assert.equal(result.name, 'plugin_rejected', JSON.stringify(result));
        assert.equal(result.code, 4110);
        assert.match(result.detail, /no bad words/);
      } finally {
        await page.close();
      }
    });

    test('changes what each recipient gets, and drops for one recipient only', async () => {
      const a = await client();
      const b = await client();
      for (const c of [a, b]) assert.equal((await c.request({ type: 'consume', queue })).type, 'ack');
      const sender = await client();
      // The test node sends {"fanout": X} to every consumer of the queue.
      await sender.request({ type: 'produce', queue, data: { fanout: { only: a.session, n: 1 } } });
      await sender.request({ type: 'produce', queue, data: { fanout: { n: 2 } } });
      const fromA = [];
      const fromB = [];
      await waitFor(() => {
        for (const [c, into] of [[a, fromA], [b, fromB]]) {
          let i;
          while ((i = c.inbox.findIndex((f) => f.type === 'message' && f.data?.data?.fanout)) >= 0)
            into.push(c.inbox.splice(i, 1)[0]);
        }
        return fromA.length >= 2 && fromB.length >= 1;
      }, { what: 'the fan-outs at both recipients' });
      assert.deepEqual(fromA.map((f) => f.data.data.fanout.n), [1, 2]);
      assert.deepEqual(fromB.map((f) => f.data.data.fanout.n), [2], 'b got only the message for everyone');
      assert.deepEqual(fromA.map((f) => f.data.recipient), [a.session, a.session]);
      assert.equal(fromB[0].data.recipient, b.session);
      for (const c of [a, b, sender]) await c.close();
    });

    test('refuses a connection in on_connect with its close code and reason', async () => {
      const c = new WsClient(`${edge.url.replace(/^http/, 'ws')}/ws?refuse=${runtime}`);
      await c.opened;
      c.send({ type: 'hello', ref: 1 });
      const error = await c.take((f) => f.type === 'error');
      assert.equal(error.name, 'plugin_rejected');
      assert.equal(error.detail, `${runtime} says go away`);
      const closed = await c.closed;
      assert.equal(closed.code, 4403);
      assert.equal(closed.reason, `${runtime} says go away`);
    });

    test('an endless loop and a memory bomb are stopped while another client keeps round-tripping', async () => {
      const other = await client();
      let rounds = 0;
      let failures = 0;
      let going = true;
      const loop = (async () => {
        while (going) {
          const ack = await other.request({ type: 'produce', queue: 'plain.work', data: { round: rounds } });
          if (ack.type !== 'ack') failures++;
          await other.take((f) => f.type === 'message' && f.queue === 'plain.work');
          rounds++;
        }
      })();
      const c = await client();
      const timeBefore = await metric(edge, `adashta_plugin_failures_total{plugin="gate-${runtime}",reason="time"}`);
      const memoryBefore = await metric(edge, `adashta_plugin_failures_total{plugin="gate-${runtime}",reason="memory"}`);
      const started = Date.now();
      // The plugin fails open: the message passes unchanged.
      const looped = await c.request({ type: 'produce', queue, data: { text: 'loop' } });
      const loopMs = Date.now() - started;
      assert.equal(looped.type, 'ack', JSON.stringify(looped));
      assert.ok(await metric(edge, `adashta_plugin_failures_total{plugin="gate-${runtime}",reason="time"}`) > timeBefore,
        'the endless loop counted as a time failure');
      // A JavaScript worker may spend its call's time in V8's last collections before it is
      // out of heap (a time failure, then): a few bombs make one hit the heap first.
      for (let i = 0; i < 5; i++) {
        const bombed = await c.request({ type: 'produce', queue, data: { text: 'bomb' } }, { timeout: 30000 });
        assert.equal(bombed.type, 'ack', JSON.stringify(bombed));
        if (await metric(edge, `adashta_plugin_failures_total{plugin="gate-${runtime}",reason="memory"}`) > memoryBefore) break;
      }
      assert.ok(await metric(edge, `adashta_plugin_failures_total{plugin="gate-${runtime}",reason="memory"}`) > memoryBefore,
        'a memory bomb counted as a memory failure');
      const roundsBefore = rounds;
      await waitFor(() => rounds >= roundsBefore + 5, { what: 'the other client still round-tripping' });
      going = false;
      await loop.catch((err) => { failures++; console.log(`# the other client: ${err.message}`); });
      assert.equal(failures, 0, 'the other client got errors');
      // The call's limit is 50 ms (Lua) and 200 ms (JavaScript); the answer includes the edge's own work and the machine's load.
      console.log(`# ${runtime}: the endless loop's message was answered after ${loopMs} ms`);
      for (const cl of [c, other]) await cl.close();
    });
  });
}

test('the JavaScript plugin host killed with SIGKILL under load comes back; no acknowledged message is lost', { timeout: 90000 }, async () => {
  const edgePid = edge.child.process.pid;
  const hostPid = () => {
    try {
      return Number(execFileSync('pgrep', ['-P', String(edgePid), 'node']).toString().trim().split('\n')[0]);
    } catch { return 0; }
  };
  const first = hostPid();
  assert.ok(first > 0, 'the plugin host runs');
  const c = await client();
  const acked = [];
  const total = 400;
  const sends = [];
  for (let i = 0; i < total; i++) {
    sends.push(c.request({ type: 'produce', queue: 'js.work', data: { text: `k${i}x` } }, { timeout: 30000 })
      .then((a) => { if (a.type === 'ack') acked.push(i); }));
    if (i === 100) process.kill(first, 'SIGKILL');
    if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(sends);
  await waitFor(() => hostPid() > 0 && hostPid() !== first, { what: 'a new plugin host' });
  assert.ok(acked.length > 0);
  const seen = () => new Set(jsMessages.list.map((m) => m.data?.text).filter((t) => typeof t === 'string'));
  await waitFor(() => acked.every((i) => seen().has(`K${i}X`)),
    { timeout: 30000, what: `every one of the ${acked.length} acked messages at the node` });
  await c.close();
});

test('a reload keeps every connection open and puts the new config in place; a bad one changes nothing', { timeout: 60000 }, async () => {
  const clients = await Promise.all([client(), client(), client()]);
  await writeFile(configFile, pluginsConfig({ luaTag: 'lua2' }));
  const reload = await runCli(['plugin', 'reload', '--data', edge.dataDir], { timeout: 45000 });
  assert.equal(reload.code, 0, reload.stderr);
  assert.match(reload.stdout, /reloaded: \["gate-lua","gate-js"\]/);
  for (const c of clients) assert.ok(c.isOpen, 'a connection closed on reload');
  const ack = await clients[0].request({ type: 'produce', queue: 'lua.work', data: { text: 'r' } });
  assert.equal(ack.type, 'ack');
  const reply = await clients[0].take((f) => f.type === 'message' && f.queue === 'lua.work');
  assert.equal(reply.data.data.by, 'lua2', 'the new config is in place');

  await writeFile(configFile, pluginsConfig({ broken: true }));
  const refused = await runCli(['plugin', 'reload', '--data', edge.dataDir], { timeout: 45000 });
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /plugins\[0\]\.config\/tag/);
  const still = await clients[1].request({ type: 'produce', queue: 'lua.work', data: { text: 's' } });
  assert.equal(still.type, 'ack');
  const reply2 = await clients[1].take((f) => f.type === 'message' && f.queue === 'lua.work');
  assert.equal(reply2.data.data.by, 'lua2', 'the plugins loaded before stayed');
  for (const c of clients) assert.ok(c.isOpen);
  assert.equal(await metric(edge, 'adashta_plugin_reload_failures_total'), 1);
  for (const c of clients) await c.close();
});
