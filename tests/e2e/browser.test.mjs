// Browser end-to-end tests: Debian's Chromium (driven by playwright-core) loads adashta.js
// from a real edge and talks to the real C++ echo node through it.
//
//   cd tests && npm install && ADASHTA_BUILD_DIR=../build node --test e2e/
//
// The edge's app folder is a temporary copy of examples/echo/web plus the test pages in
// pages/, so every page comes from the edge itself, as an application's pages would.
// (Pages fulfilled by page.route would not do: Chromium's local network access checks
// treat them as public and block their WebSocket to 127.0.0.1.)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Edge, repoDir, requireBinaries, runCli, startEchoNode } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const pagesDir = path.join(repoDir, 'tests/e2e/pages');
const echoAppDir = path.join(repoDir, 'examples/echo/web');

/**
 * An edge serving the test pages (and the echo example's, with `echoApp`) from a temporary
 * app folder, the C++ echo node, and Chromium; `queues` goes into the edge's --config.
 * stop() ends all of them and removes the folder.
 */
async function startStack({ echoApp = false, queues } = {}) {
  requireBinaries();
  const stack = { appDir: await mkdtemp(path.join(os.tmpdir(), 'adashta-e2e-app-')) };
  stack.stop = async () => {
    await stack.browser?.close();
    await stack.echo?.stop();
    await stack.edge?.destroy();
    await rm(stack.appDir, { recursive: true, force: true });
  };
  if (echoApp) await cp(echoAppDir, stack.appDir, { recursive: true });
  await cp(pagesDir, stack.appDir, { recursive: true });
  const args = [];
  if (queues) {
    args.push('--config', path.join(stack.appDir, 'queues.json'));
    await writeFile(args[1], JSON.stringify({ queues }));
  }
  stack.edge = new Edge({ appDir: stack.appDir, args });
  await stack.edge.start();
  stack.echo = startEchoNode(stack.edge.meshPort);
  await stack.edge.waitReady({ nodes: 1 });
  stack.browser = await launchChromium();
  return stack;
}

describe('browser SDK against a real edge', { timeout: 180000 }, () => {
  let stack;
  let edge;
  let browser;
  const pageErrors = [];

  before(async () => {
    stack = await startStack({ echoApp: true });
    ({ edge, browser } = stack);
  }, { timeout: 60000 });

  after(() => stack?.stop());

  // Each page gets its own browser context, so its own sessionStorage.
  async function openPage(pathname) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${pathname}: ${err.message}`));
    await page.goto(edge.url + pathname);
    return page;
  }

  async function startClient(page) {
    await page.waitForFunction(() => window.adashta && window.e2e);
    await page.evaluate(() => e2e.start(adashta.connect));
    await page.waitForFunction(() => e2e.client.connected, null, { timeout: 10000 });
  }

  function assertNoPageErrors() {
    assert.deepEqual(pageErrors.splice(0), [], 'uncaught errors in the pages');
  }

  test('a script-tag page produces to echo and gets the same data back', { timeout: 30000 }, async () => {
    const page = await openPage('/classic.html');
    await startClient(page);
    const sent = { text: 'héllo ✓', n: 42, list: [1, null, true], nested: { deep: 'yes' } };
    const ack = await page.evaluate(async (data) => {
      await e2e.consume('echo');
      return e2e.produceUntilConsumed('echo', data);
    }, sent);
    assert.equal(typeof ack.id, 'string');
    assert.ok(ack.id.length > 0);

    const reply = await page.waitForFunction(() => e2e.received.echo[0], null, { timeout: 10000 });
    const { data, meta } = await reply.jsonValue();
    assert.deepEqual(data, sent);
    assert.equal(meta.queue, 'echo');
    assert.equal(typeof meta.id, 'string');
    assert.equal(typeof meta.ts, 'number');
    await page.context().close();
    assertNoPageErrors();
  });

  test('the echo example page shows the reply to what was typed', { timeout: 30000 }, async () => {
    const page = await openPage('/');
    await page.waitForSelector('#status.connected', { timeout: 10000 });
    const text = `typed ${Date.now()}`;
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
    await page.waitForFunction((expected) =>
      [...document.querySelectorAll('#replies li')].some((li) => li.textContent === expected),
    text, { timeout: 10000 });
    await page.context().close();
    assertNoPageErrors();
  });

  test('a message produced to a queue reaches every page consuming it', { timeout: 60000 }, async () => {
    const pages = [await openPage('/classic.html'), await openPage('/classic.html')];
    for (const page of pages) {
      await startClient(page);
      await page.evaluate(() => e2e.consume('news'));
    }
    const bothGotIt = async () => {
      for (const page of pages) {
        const got = await page.evaluate(() => e2e.received.news.some((m) => m.data?.headline === 'x'));
        if (!got) return false;
      }
      return true;
    };

    // The edge may learn about a fresh consumer a moment after acking it: retry the CLI.
    const attempts = [];
    for (let i = 0; i < 15 && !(await bothGotIt()); i++) {
      const result = await runCli(['produce', 'news', '{"headline":"x"}', '--seeds', edge.meshEndpoint]);
      attempts.push(`exit ${result.code}: ${result.stderr.trim()}`);
      await Promise.all(pages.map((page) => page.waitForFunction(
        () => e2e.received.news.some((m) => m.data?.headline === 'x'), null, { timeout: 1500 }).catch(() => {})));
    }
    assert.ok(await bothGotIt(), `not every page got the message; CLI attempts:\n${attempts.join('\n')}`);
    for (const page of pages) {
      const [first] = await page.evaluate(() => e2e.received.news);
      assert.deepEqual(first.data, { headline: 'x' });
      assert.equal(first.meta.queue, 'news');
      await page.context().close();
    }
    assertNoPageErrors();
  });

  test('a page reconnects by itself after the edge restarts and keeps its session id', { timeout: 90000 }, async () => {
    const page = await openPage('/classic.html');
    await startClient(page);
    await page.evaluate(() => e2e.consume('echo'));
    const session = await page.evaluate(() => e2e.client.session);
    assert.match(session, /^s-[A-Za-z0-9_-]{8,64}$/);

    await edge.stop({ signal: 'SIGKILL' });
    await page.waitForFunction(() => !e2e.client.connected && e2e.disconnects.length === 1, null, { timeout: 10000 });

    await edge.start(); // same ports, same data directory
    await edge.waitReady({ nodes: 1, timeout: 30000 });
    // Backoff tops out at 10 s (+50 % jitter), so allow a full cycle and then some.
    await page.waitForFunction(() => e2e.client.connected && e2e.connects.length === 2, null, { timeout: 25000 });

    assert.equal(await page.evaluate(() => e2e.client.session), session);
    assert.equal(await page.evaluate(() => e2e.connects[1].session), session);

    const sent = { after: 'restart' };
    await page.evaluate((data) => e2e.produceUntilConsumed('echo', data), sent);
    const reply = await page.waitForFunction(
      () => e2e.received.echo.find((m) => m.data?.after === 'restart'), null, { timeout: 10000 });
    assert.deepEqual((await reply.jsonValue()).data, sent);
    await page.context().close();
    assertNoPageErrors();
  });

  test('the SDK works as an ES module import', { timeout: 30000 }, async () => {
    const page = await openPage('/module.html');
    await page.waitForFunction(() => window.moduleImport && e2e.client, null, { timeout: 10000 });
    assert.deepEqual(await page.evaluate(() => window.moduleImport),
      { defaultConnect: 'function', namedConnect: 'function', errorClass: 'function' });
    await page.waitForFunction(() => e2e.client.connected, null, { timeout: 10000 });

    const ack = await page.evaluate(async () => {
      await e2e.consume('echo');
      return e2e.produceUntilConsumed('echo', 'from a module');
    });
    assert.equal(typeof ack.id, 'string');
    const reply = await page.waitForFunction(() => e2e.received.echo[0], null, { timeout: 10000 });
    assert.equal((await reply.jsonValue()).data, 'from a module');
    await page.context().close();
    assertNoPageErrors();
  });
});

describe('browser SDK with an at-most-once queue ("durable": false)', { timeout: 120000 }, () => {
  let stack;

  before(async () => {
    stack = await startStack({ queues: { echo: { durable: false } } });
  }, { timeout: 60000 });

  after(() => stack?.stop());

  test('the echo replies come in order, without offsets, and fetch says the queue is not stored', { timeout: 30000 }, async () => {
    const context = await stack.browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${stack.edge.url}/classic.html`);
    await page.waitForFunction(() => window.adashta && window.e2e);
    await page.evaluate(() => e2e.start(adashta.connect));
    await page.waitForFunction(() => e2e.client.connected, null, { timeout: 10000 });

    const COUNT = 50;
    const acks = await page.evaluate(async (count) => {
      await e2e.consume('echo');
      const first = await e2e.produceUntilConsumed('echo', { n: 0 });
      const rest = await Promise.all(Array.from({ length: count - 1 }, (_, i) => e2e.client.produce('echo', { n: i + 1 })));
      return [first, ...rest];
    }, COUNT);
    assert.ok(acks.every((a) => typeof a.id === 'string'));
    await page.waitForFunction((count) => e2e.received.echo.length >= count, COUNT, { timeout: 10000 });
    const received = await page.evaluate(() => e2e.received.echo);
    assert.deepEqual(received.map((m) => m.data.n), Array.from({ length: COUNT }, (_, i) => i));
    assert.ok(received.every((m) => m.meta.queue === 'echo' && m.meta.offset === undefined), JSON.stringify(received[0]));

    const refused = await page.evaluate(() => e2e.client.fetch('echo', { from: 1 }).then(() => 'fetched', (err) => err.name));
    assert.equal(refused, 'not_allowed');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
