// The README's run command in a test: an edge serving examples/chat/web and the C++ chat
// node; two Chromium tabs join the chat and each sees what the other writes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Child, Edge, buildDir, repoDir, requireBinaries } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

describe('the chat example in two tabs', { timeout: 90000 }, () => {
  let edge;
  let chat;
  let browser;

  before(async () => {
    requireBinaries();
    edge = new Edge({ appDir: path.join(repoDir, 'examples/chat/web') });
    await edge.start();
    chat = new Child('chat', path.join(buildDir, 'adashta-chat'), [], { ADASHTA_SEEDS: edge.meshEndpoint });
    await edge.waitReady({ nodes: 1 });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await chat?.stop();
    await edge?.destroy();
  });

  async function join(nick) {
    const page = await (await browser.newContext()).newPage();
    await page.goto(edge.url + '/');
    await page.waitForSelector('#status.connected', { timeout: 10000 });
    await page.fill('#nick', nick);
    await page.press('#nick', 'Enter');
    await page.waitForSelector('#room:not([hidden])');
    return page;
  }

  async function say(page, text) {
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
  }

  function lineShown(page, nick, text) {
    return page.waitForFunction(([n, t]) => [...document.querySelectorAll('#messages li')].some(
      (li) => li.querySelector('.nick')?.textContent === n && li.querySelector('.text')?.textContent === t),
    [nick, text], { timeout: 10000 });
  }

  test('what one tab writes appears in both, through the C++ chat node', async () => {
    const ada = await join('ada');
    const bob = await join('bob');
    await say(ada, 'hello bob <b>not bold</b>');
    await lineShown(bob, 'ada', 'hello bob <b>not bold</b>');
    await lineShown(ada, 'ada', 'hello bob <b>not bold</b>');
    await say(bob, 'hi ada ✓');
    await lineShown(ada, 'bob', 'hi ada ✓');
    assert.equal(await bob.locator('#messages b').count(), 0, 'chat text must not become markup');
  });
});
