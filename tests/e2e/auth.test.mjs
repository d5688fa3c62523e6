// Browser end-to-end: connection tokens in headless Chromium against a real edge with
// --auth required and the C++ echo node. The page gets its tokens from getToken(), which
// asks the test (standing in for the application's server) to mint one with `adashta token`.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node --test e2e/auth.test.mjs

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Edge, repoDir, requireBinaries, runCli, startEchoNode } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const SECRET = 'browser-test-secret-0123456789abcdef01234';

describe('connection tokens in Chromium', { timeout: 180000 }, () => {
  let appDir;
  let edge;
  let echo;
  let browser;
  const minted = [];  // every token getToken() was given: { ttl }

  before(async () => {
    requireBinaries();
    appDir = await mkdtemp(path.join(os.tmpdir(), 'adashta-e2e-auth-'));
    await cp(path.join(repoDir, 'tests/e2e/pages'), appDir, { recursive: true });
    edge = new Edge({ appDir, args: ['--auth', 'required', '--token-secret', SECRET] });
    await edge.start();
    echo = startEchoNode(edge.meshPort);
    await edge.waitReady({ nodes: 1 });
    browser = await launchChromium();
  }, { timeout: 60000 });

  after(async () => {
    await browser?.close();
    await echo?.stop();
    await edge?.destroy();
    if (appDir) await rm(appDir, { recursive: true, force: true });
  });

  /** A page whose window.mintToken(ttl) asks the test for a token of user "pat". */
  async function openPage({ refuseCall } = {}) {
    const context = await browser.newContext();
    const page = await context.newPage();
    let calls = 0;
    await page.exposeFunction('mintToken', async (ttl) => {
      calls += 1;
      if (refuseCall && calls === refuseCall) throw new Error('the token service is down');
      const made = await runCli(['token', '--sub', 'pat', '--produce', 'echo', '--consume', 'echo',
        '--ttl-s', String(ttl), '--secret', SECRET]);
      minted.push({ ttl });
      return made.stdout.trim();
    });
    await page.goto(`${edge.url}/classic.html`);
    await page.waitForFunction(() => window.adashta && window.e2e);
    return page;
  }

  test('a page with a valid token connects, is refused a queue its token does not grant, and round-trips', async () => {
    const page = await openPage();
    await page.evaluate(() => e2e.start(adashta.connect, { getToken: () => window.mintToken(600) }));
    await page.waitForFunction(() => e2e.client.connected, null, { timeout: 10000 });
    assert.equal(await page.evaluate(() => e2e.client.user), 'pat');
    const refused = await page.evaluate(() => e2e.client.consume('payroll', () => {}).then(() => null, (err) => ({ name: err.name, code: err.code })));
    assert.deepEqual(refused, { name: 'not_granted', code: 4109 });
    await page.evaluate(() => e2e.consume('echo'));
    await page.evaluate(() => e2e.produceUntilConsumed('echo', { hi: 'pat' }));
    await page.waitForFunction(() => e2e.received.echo.some((m) => m.data.hi === 'pat'), null, { timeout: 10000 });
    await page.context().close();
  });

  test('a page refreshes its token on the open connection, without reconnecting', async () => {
    const page = await openPage();
    // A token of 4 s: the SDK refreshes it at 80 % of its life (3.2 s) through getToken().
    await page.evaluate(() => e2e.start(adashta.connect, { getToken: () => window.mintToken(4) }));
    await page.waitForFunction(() => e2e.client.connected, null, { timeout: 10000 });
    await page.evaluate(() => { window.refreshes = 0; e2e.client.on('token', () => { window.refreshes += 1; }); });
    await page.waitForFunction(() => window.refreshes >= 2, null, { timeout: 15000 });  // past two expiries
    const state = await page.evaluate(() => ({ connects: e2e.connects.length, disconnects: e2e.disconnects.length, connected: e2e.client.connected }));
    assert.deepEqual(state, { connects: 1, disconnects: 0, connected: true });
    await page.evaluate(() => e2e.consume('echo'));
    await page.evaluate(() => e2e.produceUntilConsumed('echo', { after: 'refresh' }));
    await page.waitForFunction(() => e2e.received.echo.some((m) => m.data.after === 'refresh'), null, { timeout: 10000 });
    await page.context().close();
  });

  test('after expiry without a refresh the page gets 4014 and reconnects with a new token, same session', async () => {
    // getToken's second call (the refresh) fails, so the 3 s token runs out.
    const page = await openPage({ refuseCall: 2 });
    await page.evaluate(() => e2e.start(adashta.connect, { getToken: () => window.mintToken(3) }));
    await page.waitForFunction(() => e2e.client.connected, null, { timeout: 10000 });
    const session = await page.evaluate(() => e2e.client.session);
    await page.waitForFunction(() => e2e.disconnects.length === 1, null, { timeout: 10000 });
    assert.deepEqual(await page.evaluate(() => e2e.disconnects[0]), { code: 4014, reason: 'token_expired' });
    await page.waitForFunction(() => e2e.connects.length === 2 && e2e.client.connected, null, { timeout: 15000 });
    const again = await page.evaluate(() => e2e.connects[1]);
    assert.equal(again.session, session);
    assert.equal(again.user, 'pat');
    // The failed refresh was reported to the page as an 'error' event, not swallowed.
    assert.ok((await page.evaluate(() => e2e.errors.length)) >= 1, 'the failed refresh is reported');
    await page.context().close();
  });
});
