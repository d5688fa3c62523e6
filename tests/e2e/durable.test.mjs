// Browser end-to-end: durable server -> client delivery in headless Chromium. A page that
// loses its connection gets what was sent to it meanwhile, in order and once, when it comes
// back by itself; it can fetch what it consumed; and it is told of what retention dropped.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node --test e2e/durable.test.mjs
//
// How a page goes offline: the page reaches the edge through a TCP relay in this process
// (Cable below), for its HTTP requests and its WebSocket alike, so everything it loads still
// comes from the edge's app folder. Unplugging the cable resets every connection through it
// (the browser sees close code 1006, the edge a dropped TCP connection) and refuses new
// ones until it is plugged in again, so the SDK's own reconnect loop runs against a dead
// network. Chromium's network emulation (CDP Network.emulateNetworkConditions offline, or
// Playwright's context.setOffline) does not do this: it leaves an open WebSocket open, and
// the SDK would only notice after its 35 s keepalive. Killing the edge does not do it either,
// because the edge must be up while the server sends to the absent page.
//
// Server -> page messages are sent with `adashta produce QUEUE DATA --to SESSION`, one CLI
// run after another, so their order at the edge is the order they were sent in.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Edge, repoDir, requireBinaries, runCli, waitFor } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const pagesDir = path.join(repoDir, 'tests/e2e/pages');
const OFFLINE_MESSAGES = 30;
const RETENTION_MS = 2000;  // the "brief" queue's retention (--config)
// The SDK backs off up to 10 s (+50 % jitter) between attempts, so allow for a full step.
const RECONNECT_TIMEOUT = 30000;

/**
 * A loopback TCP relay to the edge's HTTP port that can be unplugged: unplug() resets every
 * connection through it and refuses new ones; plug() lets them through again.
 */
class Cable {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.plugged = true;
    this.pairs = new Set(); // [browserSide, edgeSide]
    this.refused = 0;       // connections refused while unplugged: the SDK's attempts
    this.server = net.createServer((socket) => this.relay(socket));
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
  }

  relay(browserSide) {
    if (!this.plugged) {
      this.refused++;
      browserSide.resetAndDestroy();
      return;
    }
    const edgeSide = net.connect(this.targetPort, '127.0.0.1');
    const pair = [browserSide, edgeSide];
    this.pairs.add(pair);
    const drop = () => {
      this.pairs.delete(pair);
      browserSide.destroy();
      edgeSide.destroy();
    };
    for (const socket of pair) {
      socket.setNoDelay(true);
      socket.on('error', drop);
      socket.on('close', drop);
    }
    browserSide.pipe(edgeSide);
    edgeSide.pipe(browserSide);
  }

  unplug() {
    this.plugged = false;
    for (const pair of this.pairs) for (const socket of pair) socket.resetAndDestroy();
    this.pairs.clear();
  }

  plug() { this.plugged = true; }

  async close() {
    this.unplug();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('durable delivery in headless Chromium', { timeout: 240000 }, () => {
  let root;
  let edge;
  let cable;
  let browser;
  const pageErrors = [];

  before(async () => {
    requireBinaries();
    root = await mkdtemp(path.join(os.tmpdir(), 'adashta-e2e-durable-'));
    const appDir = path.join(root, 'app');
    await mkdir(appDir);
    await cp(pagesDir, appDir, { recursive: true });
    const config = path.join(root, 'queues.json');
    await writeFile(config, JSON.stringify({ queues: { brief: { retention: `${RETENTION_MS}ms` } } }));
    edge = new Edge({ appDir, args: ['--config', config] });
    await edge.start();
    await edge.waitReady();
    cable = new Cable(edge.httpPort);
    await cable.start();
    browser = await launchChromium();
  }, { timeout: 60000 });

  after(async () => {
    await browser?.close();
    await cable?.close();
    await edge?.destroy();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /**
   * A page of its own context (so its own sessionStorage), loaded through the cable, with a
   * connected client. `wire` counts the message frames that reached the page per queue and
   * offset, before the SDK drops duplicates.
   */
  async function openPage() {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const wire = new Map(); // "queue offset" -> frames seen
    page.on('websocket', (ws) => ws.on('framereceived', ({ payload }) => {
      let frame;
      try { frame = JSON.parse(String(payload)); } catch { return; }
      if (frame.type === 'message') wire.set(`${frame.queue} ${frame.offset}`, (wire.get(`${frame.queue} ${frame.offset}`) ?? 0) + 1);
    }));
    await page.goto(cable.url + '/durable.html');
    await page.waitForFunction(() => window.adashta && window.durable);
    await page.evaluate(() => durable.start());
    await page.waitForFunction(() => durable.client.connected, null, { timeout: 10000 });
    const session = await page.evaluate(() => durable.client.session);
    return { page, context, session, wire };
  }

  async function closePage({ context }) {
    await context.close();
  }

  /** `adashta produce QUEUE DATA [--to SESSION]`: the message id. */
  async function send(queue, data, to) {
    const run = await runCli(['produce', queue, JSON.stringify(data), ...(to ? ['--to', to] : []),
      '--seeds', edge.meshEndpoint], { timeout: 15000 });
    assert.equal(run.code, 0, `adashta produce ${queue} failed: ${run.stderr}`);
    return run.stdout.trim();
  }

  /** What the edge keeps of queue, as a server sees it (`adashta fetch`, every direction). */
  async function stored(queue) {
    const run = await runCli(['fetch', queue, '--from', '1', '--limit', '1000', '--seeds', edge.meshEndpoint]);
    assert.equal(run.code, 0, `adashta fetch ${queue} failed: ${run.stderr}`);
    return JSON.parse(run.stdout).messages;
  }

  async function connections() {
    return (await (await fetch(`${edge.url}/healthz`)).json()).connections;
  }

  /** Unplugs the cable; resolves once the page saw the drop and the edge has no connection. */
  async function goOffline(page) {
    const before = await page.evaluate(() => durable.disconnects.length);
    cable.unplug();
    await page.waitForFunction((n) => durable.disconnects.length > n && !durable.client.connected, before,
      { timeout: 10000 });
    await waitFor(async () => (await connections()) === 0, { timeout: 10000, what: 'the edge to see the page gone' });
    return page.evaluate(() => durable.disconnects.at(-1));
  }

  /** Plugs the cable in; resolves with ms until the page was connected again by itself. */
  async function comeBack(page) {
    const before = await page.evaluate(() => durable.connects.length);
    const pluggedAt = Date.now();
    cable.plug();
    await page.waitForFunction((n) => durable.connects.length > n && durable.client.connected, before,
      { timeout: RECONNECT_TIMEOUT });
    return (await page.evaluate(() => durable.connects.at(-1).at)) - pluggedAt;
  }

  function received(page, queue) {
    return page.evaluate((q) => durable.received[q] ?? [], queue);
  }

  function assertNoPageErrors() {
    assert.deepEqual(pageErrors.splice(0), [], 'uncaught errors in the pages');
  }

  test(`a page that drops off gets the ${OFFLINE_MESSAGES} messages sent to it meanwhile, ` +
    'in order and once, after reconnecting by itself — across an edge kill -9', { timeout: 150000 }, async () => {
    const p = await openPage();
    const { page, session } = p;
    await page.evaluate(() => durable.consume('inbox'));
    // Two messages while online: the page has an offset to resume from.
    for (const seq of [1, 2]) await send('inbox', { seq, online: true }, session);
    await page.waitForFunction(() => durable.received.inbox.length === 2, null, { timeout: 10000 });

    const refusedBefore = cable.refused;
    const drop = await goOffline(page);
    assert.equal(drop.code, 1006, `the page saw ${JSON.stringify(drop)}, not a dropped connection`);
    const offlineAt = Date.now();
    const ids = [];
    const half = OFFLINE_MESSAGES / 2;
    for (let seq = 3; seq < 3 + half; seq++) ids.push(await send('inbox', { seq }, session));
    // The CLI does not wait for the edge's commit: see them stored before killing the edge.
    await waitFor(async () => (await stored('inbox')).length === 2 + half, { timeout: 10000, what: 'the first half stored' });
    await edge.stop({ signal: 'SIGKILL' });
    await edge.start(); // same ports, same data folder
    await edge.waitReady({ timeout: 30000 });
    for (let seq = 3 + half; seq < 3 + OFFLINE_MESSAGES; seq++) ids.push(await send('inbox', { seq }, session));
    await waitFor(async () => (await stored('inbox')).length === 2 + OFFLINE_MESSAGES,
      { timeout: 10000, what: 'every message stored' });
    assert.equal(await page.evaluate(() => durable.received.inbox.length), 2, 'nothing reached the page while it was away');
    const offlineMs = Date.now() - offlineAt;

    const reconnectMs = await comeBack(page);
    const connect = await page.evaluate(() => durable.connects.at(-1));
    assert.equal(connect.session, session, 'the page kept its session');
    await page.waitForFunction((n) => durable.received.inbox.length >= n, 2 + OFFLINE_MESSAGES, { timeout: 15000 });
    const caughtUpMs = (await page.evaluate(() => durable.received.inbox.at(-1).at)) - (await page.evaluate(() => durable.connects.at(-1).at));

    // A live message after the catch-up: when it is there, any duplicate would be too.
    await send('inbox', { seq: 3 + OFFLINE_MESSAGES, live: true }, session);
    await page.waitForFunction((n) => durable.received.inbox.length >= n, 3 + OFFLINE_MESSAGES, { timeout: 10000 });

    const got = await received(page, 'inbox');
    assert.deepEqual(got.map((m) => m.data.seq), Array.from({ length: 3 + OFFLINE_MESSAGES }, (_, i) => i + 1),
      'every message, in the order sent, each once');
    assert.deepEqual(got.slice(2, 2 + OFFLINE_MESSAGES).map((m) => m.meta.id), ids, 'the ids the CLI printed');
    assert.equal(new Set(got.map((m) => m.meta.id)).size, got.length, 'no id twice');
    for (let i = 1; i < got.length; i++) assert.ok(got[i].meta.offset > got[i - 1].meta.offset, 'offsets increase');
    for (const m of got) assert.equal(m.meta.queue, 'inbox');
    const duplicatesOnWire = [...p.wire.values()].filter((n) => n > 1).length;
    console.log(`# offline ${offlineMs} ms (edge killed and restarted meanwhile); ${cable.refused - refusedBefore} reconnect attempts ` +
      `refused; back ${reconnectMs} ms after the network was; the ${OFFLINE_MESSAGES} missed messages ` +
      `arrived ${caughtUpMs} ms after the welcome; offsets sent twice on the wire: ${duplicatesOnWire}`);
    assert.deepEqual(await page.evaluate(() => durable.errors), []);
    assert.deepEqual(await page.evaluate(() => durable.gaps), [], 'nothing expired, so no gap');
    await closePage(p);
    assertNoPageErrors();
  });

  // A first consume is acked with the stream's next offset, so the SDK resumes from there
  // even before it has seen a message on the queue.
  test('a page that had received nothing yet on a queue also gets what was sent while it was away',
    { timeout: 90000 }, async () => {
      const p = await openPage();
      const { page, session } = p;
      await page.evaluate(() => durable.consume('fresh'));
      await goOffline(page);
      const ids = [];
      for (const seq of [1, 2, 3]) ids.push(await send('fresh', { seq }, session));
      await waitFor(async () => (await stored('fresh')).length === 3, { timeout: 10000, what: 'the messages stored' });
      await comeBack(page);
      await send('fresh', { seq: 4, live: true }, session);
      await page.waitForFunction(() => durable.received.fresh.some((m) => m.data.live), null, { timeout: 10000 });
      const got = await received(page, 'fresh');
      assert.deepEqual(got.map((m) => m.data.seq), [1, 2, 3, 4],
        'the messages sent while the page was away, then the live one');
      await closePage(p);
      assertNoPageErrors();
    });

  test('a page fetches what it consumed: by offset, in pages, and since a time', { timeout: 90000 }, async () => {
    const p = await openPage();
    const { page, session } = p;
    await page.evaluate(() => durable.consume('history'));
    await send('history', { n: 1 }, session);
    await send('history', { n: 2 }, session);
    await send('history', { n: 'not yours' }, 's-someone-else-0001');  // another client's
    await send('history', { n: 3 }, session);
    await send('history', { n: 4, everyone: true });                    // for every consumer
    await send('history', { n: 5 }, session);
    await page.waitForFunction(() => durable.received.history.length === 5, null, { timeout: 15000 });
    const consumed = await received(page, 'history');
    assert.deepEqual(consumed.map((m) => m.data.n), [1, 2, 3, 4, 5]);

    const all = await page.evaluate(() => durable.fetch('history', { from: 1 }));
    assert.equal(all.error, undefined, JSON.stringify(all));
    assert.deepEqual(all.messages.map((m) => ({ id: m.id, offset: m.offset, data: m.data, ts: m.ts })),
      consumed.map((m) => ({ id: m.meta.id, offset: m.meta.offset, data: m.data, ts: m.meta.ts })),
      'fetch returns what the page consumed, in order, with the same ids, offsets and times');
    assert.equal(all.next, consumed.at(-1).meta.offset + 1);
    const server = await stored('history');
    assert.equal(server.length, 6, 'a server sees the other client\'s message too; the page does not');

    // In pages of two: each answer's next is where the following one starts.
    const paged = [];
    let from = 1;
    for (let i = 0; i < 10; i++) {
      const answer = await page.evaluate((f) => durable.fetch('history', { from: f, limit: 2 }), from);
      assert.ok(answer.messages.length <= 2);
      if (answer.messages.length === 0) break;
      paged.push(...answer.messages.map((m) => m.offset));
      assert.ok(answer.next > from);
      from = answer.next;
    }
    assert.deepEqual(paged, consumed.map((m) => m.meta.offset));

    // since: the messages created at or after the third one's time.
    const since = consumed[2].meta.ts;
    assert.ok(since > consumed[1].meta.ts, 'the CLI runs are far enough apart to tell them apart by time');
    const recent = await page.evaluate((s) => durable.fetch('history', { since: s }), since);
    assert.deepEqual(recent.messages.map((m) => m.data.n), [3, 4, 5]);
    const later = await page.evaluate((s) => durable.fetch('history', { since: s }), consumed.at(-1).meta.ts + 1);
    assert.deepEqual(later.messages, []);
    const beyond = await page.evaluate((f) => durable.fetch('history', { from: f }), all.next);
    assert.deepEqual(beyond.messages, []);
    assert.equal(beyond.next, all.next);
    const both = await page.evaluate(() => durable.fetch('history', { from: 1, since: 1 }));
    assert.equal(both.error, 'bad_frame', 'from and since together are refused');

    console.log(`# fetch: ${all.messages.length} messages back, offsets ${all.messages.map((m) => m.offset).join(',')}`);
    await closePage(p);
    assertNoPageErrors();
  });

  test(`a page is told of the gap when retention (${RETENTION_MS} ms) dropped messages while it was away`,
    { timeout: 90000 }, async () => {
      const p = await openPage();
      const { page, session } = p;
      await page.evaluate(() => durable.consume('brief'));
      await send('brief', { n: 1 }, session);
      await page.waitForFunction(() => durable.received.brief.length === 1, null, { timeout: 10000 });
      const lastSeen = (await received(page, 'brief'))[0].meta.offset;

      await goOffline(page);
      await send('brief', { n: 2 }, session);
      await send('brief', { n: 3 }, session);
      const offsets = (await stored('brief')).map((m) => m.offset);
      assert.ok(offsets.length >= 2, `messages 2 and 3 stored: ${offsets}`);
      const missedTo = Math.max(...offsets);
      // Poll until the edge no longer keeps them.
      await waitFor(async () => (await stored('brief')).length === 0,
        { timeout: RETENTION_MS + 10000, what: 'retention to drop the messages' });

      await comeBack(page);
      await page.waitForFunction(() => durable.gaps.length > 0, null, { timeout: 10000 });
      await send('brief', { n: 4 }, session);
      await page.waitForFunction(() => durable.received.brief.length === 2, null, { timeout: 10000 });

      const gaps = await page.evaluate(() => durable.gaps);
      assert.equal(gaps.length, 1, JSON.stringify(gaps));
      assert.deepEqual({ queue: gaps[0].queue, from: gaps[0].from, to: gaps[0].to },
        { queue: 'brief', from: lastSeen + 1, to: missedTo }, 'the gap names exactly the dropped offsets');
      const got = await received(page, 'brief');
      assert.deepEqual(got.map((m) => m.data.n), [1, 4], 'the dropped messages never come');
      assert.equal(got[1].meta.offset, missedTo + 1, 'the stream goes on after the gap');
      console.log(`# gap event: ${JSON.stringify({ queue: gaps[0].queue, from: gaps[0].from, to: gaps[0].to })}`);
      await closePage(p);
      assertNoPageErrors();
    });
});
