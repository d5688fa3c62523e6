// The admin page (/admin) in headless Chromium against a real edge and the C++ echo node:
// with the right token it shows the node as a member, the echo queue's depth, sessions and
// the store's size, and its numbers move while the page stays loaded; a wrong token is
// refused (4016 admin_refused), and an edge without a token has no admin page.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node --test e2e/admin.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { Edge, WsClient, requireBinaries, runCli, startEchoNode, waitFor } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const token = 'admin-test-token-' + Math.random().toString(36).slice(2);

/** Opens /admin/ws, sends `frame` (unless null) and resolves with the close code and reason. */
function adminSocketClose(edge, frame) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(edge.url.replace(/^http/, 'ws') + '/admin/ws');
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('/admin/ws did not close')); }, 10000);
    ws.on('open', () => { if (frame) ws.send(JSON.stringify(frame)); });
    ws.on('error', () => {});
    ws.on('close', (code, reason) => { clearTimeout(timer); resolve({ code, reason: reason.toString() }); });
  });
}

/** The text of a table's rows on the page: one array of cell texts per row. */
function rows(page, section) {
  return page.$$eval(`#${section} tbody tr`, (trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim())));
}

describe('admin page', { timeout: 120000 }, () => {
  let dir;
  let edge;
  let echo;
  let browser;

  before(async () => {
    requireBinaries();
    dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-admin-'));
    const tokenFile = path.join(dir, 'admin.token');
    await writeFile(tokenFile, token + '\n');
    const config = path.join(dir, 'queues.json');
    await writeFile(config, JSON.stringify({ queues: { ticks: { durable: false } } }));
    edge = new Edge({ args: ['--admin-token-file', tokenFile, '--name', 'edge-under-test', '--config', config] });
    await edge.start();
    echo = startEchoNode(edge.meshPort);
    await edge.waitReady({ nodes: 1 });
    browser = await launchChromium();
  }, { timeout: 60000 });

  after(async () => {
    await browser?.close();
    await echo?.stop();
    await edge?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('with the token the page shows members, queues, sessions and the store, live', { timeout: 60000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${edge.url}/admin#token=${encodeURIComponent(token)}`);
    // The token leaves the address bar once read (it stays out of the history too).
    assert.ok(!page.url().includes(token), `the token is still in the URL: ${page.url()}`);
    await page.evaluate(() => { window.notReloaded = true; });

    // The echo node, as a member: role, queues and the address it listens on.
    await page.waitForFunction(() => adminPage.snapshot?.members.some((m) => m.role === 'node'), null, { timeout: 15000 });
    const members = await rows(page, 'members');
    const node = members.find((cells) => cells[1].startsWith('node'));
    assert.ok(node, `no node among the members: ${JSON.stringify(members)}`);
    assert.match(node[2], /\becho\b/, 'the node consumes echo');
    assert.match(node[3], /^tcp:\/\/127\.0\.0\.1:\d+$/, 'the node\'s mesh address');
    assert.match(node[4], /ago$/, 'the node\'s last heartbeat');
    assert.equal(await page.textContent('#c-online'), '0');
    assert.match(await page.textContent('#c-store'), /^\d+(\.\d)? (B|KiB|MiB)$/);
    assert.ok((await page.evaluate(() => adminPage.snapshot.store.bytes)) > 0, 'store size');
    assert.deepEqual(await rows(page, 'plugins'), [['no plugins loaded']]);

    // A client connects: the session count moves without a reload.
    const client = await WsClient.connect(edge);
    const welcome = await client.hello();
    await page.waitForFunction(() => document.getElementById('c-online').textContent === '1', null, { timeout: 5000 });
    const sessions = await rows(page, 'sessions');
    assert.ok(sessions.some((cells) => cells[0] === welcome.session), `session ${welcome.session} not listed: ${JSON.stringify(sessions)}`);

    // Messages on echo: the queue appears with its depth (each produce and its reply are kept).
    const produced = 5;
    for (let i = 0; i < produced; i++) {
      const answer = await waitFor(async () => {
        const a = await client.request({ type: 'produce', queue: 'echo', data: { n: i } });
        return a.type === 'ack' && a;
      }, { timeout: 10000, what: `produce ${i} to echo acked` });
      assert.ok(answer.id);
    }
    await waitFor(() => client.inbox.filter((f) => f.type === 'message').length >= produced,
      { timeout: 10000, what: 'the echo replies' });
    await page.waitForFunction((n) => {
      const q = adminPage.snapshot?.queues.find((x) => x.name === 'echo' && x.kind === 'stream');
      return q && q.depth >= n;
    }, 2 * produced, { timeout: 10000 });
    const queue = (await rows(page, 'queues')).find((cells) => cells[0] === 'echo');
    assert.ok(queue, 'echo is listed');
    assert.equal(queue[1], 'stream');
    assert.equal(Number(queue[2].replace(/,/g, '')), 2 * produced, 'depth: the produces and the replies');
    // Steady traffic shows as rates: in (stored) and out (handed to the node and back).
    const traffic = setInterval(() => client.send({ type: 'produce', queue: 'echo', data: 'tick' }), 50);
    try {
      await page.waitForFunction(() => {
        const q = adminPage.snapshot?.queues.find((x) => x.name === 'echo');
        return q && q.inPerS > 0 && q.outPerS > 0;
      }, null, { timeout: 10000 });
    } finally {
      clearInterval(traffic);
    }
    const ticks = (await rows(page, 'queues')).find((cells) => cells[0] === 'ticks');
    assert.deepEqual(ticks?.slice(1, 3), ['at-most-once', '0'], 'an at-most-once queue keeps nothing');

    // A work queue with two jobs, made from the CLI.
    const seeds = ['--seeds', edge.meshEndpoint];
    assert.equal((await runCli(['queues', 'create', 'jobs', ...seeds])).code, 0);
    for (const job of ['a', 'b']) assert.equal((await runCli(['queues', 'send', 'jobs', job, ...seeds])).code, 0);
    await page.waitForFunction(() => adminPage.snapshot?.queues.some((q) => q.name === 'jobs' && q.kind === 'work' && q.depth === 2),
      null, { timeout: 10000 });

    // The client leaves: the count goes back, still on the same page.
    await client.close();
    await page.waitForFunction(() => document.getElementById('c-online').textContent === '0', null, { timeout: 5000 });
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
    assert.deepEqual(errors, [], 'uncaught errors in the page');
    await context.close();
  });

  test('a wrong token is refused with admin_refused and the page asks again', { timeout: 30000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${edge.url}/admin#token=not-the-token`);
    await page.waitForSelector('#login.shown', { timeout: 10000 });
    assert.match(await page.textContent('#refusal'), /Refused: admin_refused: wrong admin token/);
    assert.equal(await page.evaluate(() => adminPage.snapshot), null, 'no snapshot reached the page');
    // Then the right one, typed in.
    await page.fill('#token', token);
    await page.click('#login button');
    await page.waitForFunction(() => adminPage.snapshot !== null, null, { timeout: 10000 });
    await context.close();

    assert.deepEqual(await adminSocketClose(edge, { type: 'admin', token: 'wrong' }),
      { code: 4016, reason: 'admin_refused: wrong admin token' });
    assert.deepEqual(await adminSocketClose(edge, { type: 'hello' }),
      { code: 4016, reason: 'admin_refused: wrong admin token' });
  });

  test('an admin page is closed with 1001 when its edge stops', { timeout: 30000 }, async () => {
    const tokenFile = path.join(dir, 'admin.token');
    const stopping = new Edge({ args: ['--admin-token-file', tokenFile] });
    await stopping.start();
    try {
      await stopping.waitReady();
      const ws = new WebSocket(stopping.url.replace(/^http/, 'ws') + '/admin/ws');
      const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
      const snapshot = new Promise((resolve) => ws.once('message', (data) => resolve(JSON.parse(data.toString()))));
      ws.on('open', () => ws.send(JSON.stringify({ type: 'admin', token })));
      assert.equal((await snapshot).type, 'snapshot');
      await stopping.stop();
      assert.equal(await closed, 1001);
    } finally {
      await stopping.destroy();
    }
  });

  test('an edge without an admin token has no admin page, and says how to open it', { timeout: 30000 }, async () => {
    const plain = new Edge();
    await plain.start();
    try {
      await plain.waitReady();
      const response = await fetch(`${plain.url}/admin`);
      assert.equal(response.status, 404);
      assert.match(await response.text(), /--admin-token-file FILE/);
      const closed = await adminSocketClose(plain, { type: 'admin', token });
      assert.equal(closed.code, 4016);
      assert.match(closed.reason, /admin page is off; start the edge with --admin-token-file/);
    } finally {
      await plain.destroy();
    }
    const weak = await runCli(['edge', '--admin-token', 'short', '--http', '127.0.0.1:1', '--data', dir]);
    assert.notEqual(weak.code, 0);
    assert.match(weak.stderr, /admin token must be at least 16 characters/);
  });
});
