// The README's run command in a test: an edge serving examples/chat/web and the C++ chat
// node; two Chromium tabs join the chat and each sees what the other writes, and a third tab
// that comes later sees the conversation so far.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Child, Edge, buildDir, repoDir, requireBinaries } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';
import { joinChat, lineShown, say } from '../lib/chat_page.mjs';

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

  test('what one tab writes appears in both, through the C++ chat node', async () => {
    const ada = await joinChat(browser, edge.url, 'ada');
    const bob = await joinChat(browser, edge.url, 'bob');
    await say(ada, 'hello bob <b>not bold</b>');
    await lineShown(bob, 'ada', 'hello bob <b>not bold</b>');
    await lineShown(ada, 'ada', 'hello bob <b>not bold</b>');
    await say(bob, 'hi ada ✓');
    await lineShown(ada, 'bob', 'hi ada ✓');
    assert.equal(await bob.locator('#messages b').count(), 0, 'chat text must not become markup');
    assert.equal(await ada.locator('#join').isVisible(), false, 'the nickname form must go once joined');
  });

  test('a late joiner sees what was said before it came, in order, each line once', async () => {
    const cy = await joinChat(browser, edge.url, 'cy');
    await lineShown(cy, 'ada', 'hello bob <b>not bold</b>');
    await lineShown(cy, 'bob', 'hi ada ✓');
    await say(cy, 'hello both');
    await lineShown(cy, 'cy', 'hello both');
    const lines = await cy.locator('#messages .text').allTextContents();
    assert.deepEqual(lines, ['hello bob <b>not bold</b>', 'hi ada ✓', 'hello both']);
  });
});
