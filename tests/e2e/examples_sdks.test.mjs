// The echo and chat examples written with the Node.js and Go SDKs (examples/node,
// examples/go), each behind a real edge serving the example's page, driven from headless
// Chromium: the same pages the C++ examples serve, the same behaviour.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Child, Edge, buildDir, repoDir, requireBinaries } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';
import { joinChat, lineShown, say } from '../lib/chat_page.mjs';

const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';

/** The command that runs example `name` (echo, chat) of `language` (go, node). */
async function serverCommand(language, name) {
  if (language === 'go') {
    const bin = path.join(buildDir, `adashta-go-example-${name}`);
    await promisify(execFile)(go, ['build', '-buildvcs=false', '-o', bin, `./${name}`],
      { cwd: path.join(repoDir, 'examples/go'), timeout: 240000 });
    return [bin, []];
  }
  return [process.execPath, [path.join(repoDir, `examples/node/${name}/server.mjs`)]];
}

let browser;
before(async () => {
  requireBinaries();
  browser = await launchChromium();
});
after(async () => { await browser?.close(); });

/** An edge serving examples/NAME/web and the LANGUAGE server of that example, joined to it. */
async function startExample(t, language, name) {
  const edge = new Edge({ appDir: path.join(repoDir, `examples/${name}/web`) });
  await edge.start();
  const [file, args] = await serverCommand(language, name);
  const server = new Child(`${language} ${name}`, file, args, { ADASHTA_SEEDS: edge.meshEndpoint });
  t.after(async () => {
    await server.stop();
    await edge.destroy();
  });
  try {
    await edge.waitReady({ nodes: 1, timeout: 30000 });
  } catch (err) {
    err.message += '\n' + server.describe();
    throw err;
  }
  return { edge, server };
}

for (const language of ['go', 'node']) {
  describe(`the ${language} examples`, { timeout: 120000 }, () => {
    test(`the echo page shows the reply of the ${language} echo server`, async (t) => {
      const { edge, server } = await startExample(t, language, 'echo');
      const page = await (await browser.newContext()).newPage();
      t.after(() => page.context().close());
      await page.goto(edge.url + '/');
      await page.waitForSelector('#status.connected', { timeout: 10000 });
      for (const text of [`typed ${Date.now()}`, 'ünïcode ✓ <b>']) {
        await page.fill('#text', text);
        await page.press('#text', 'Enter');
        await page.waitForFunction((expected) =>
          [...document.querySelectorAll('#replies li')].some((li) => li.textContent === expected),
        text, { timeout: 10000 }).catch((err) => { err.message += '\n' + server.describe(); throw err; });
      }
    });

    test(`two tabs chat through the ${language} chat server`, async (t) => {
      const { edge, server } = await startExample(t, language, 'chat');
      const shown = (page, nick, text) => lineShown(page, nick, text)
        .catch((err) => { err.message += '\n' + server.describe(); throw err; });
      const join = async (nick) => {
        const page = await joinChat(browser, edge.url, nick);
        t.after(() => page.context().close());
        return page;
      };
      const ada = await join('ada');
      const bob = await join('bob');
      await say(ada, 'hello bob <b>not bold</b>');
      await shown(bob, 'ada', 'hello bob <b>not bold</b>');
      await say(bob, 'hi ada ✓');
      await shown(ada, 'bob', 'hi ada ✓');
      assert.equal(await bob.locator('#messages b').count(), 0, 'chat text must not become markup');
    });
  });
}
