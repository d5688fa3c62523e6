// Takes the screenshot of the admin page in docs/operations.md (docs/images/admin.png): a
// real edge with an admin token, the C++ echo node and two test nodes, browser clients with
// tokens producing while the picture is taken, a work queue with a dead-lettered job, and
// the page in headless Chromium, as the admin tests drive it.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node e2e/admin_screenshot.mjs [OUT.png]

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Child, Edge, WsClient, echoBin, repoDir, requireBinaries, runCli, startTestNode, waitFor } from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const out = path.resolve(process.argv[2] || path.join(repoDir, 'docs/images/admin.png'));
const adminToken = 'screenshot-admin-token-0123456789';
const secret = 'screenshot-token-secret-0123456789abcdef';

requireBinaries();
const dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-admin-shot-'));
const children = [];
let edge;
let browser;
const clients = [];
try {
  const tokenFile = path.join(dir, 'admin.token');
  await writeFile(tokenFile, adminToken + '\n');
  const config = path.join(dir, 'queues.json');
  await writeFile(config, JSON.stringify({ queues: { ticks: { durable: false } } }));
  edge = new Edge({ args: ['--admin-token-file', tokenFile, '--name', 'edge-1', '--token-secret', secret, '--config', config] });
  await edge.start();
  children.push(new Child('echo', echoBin, [], { ADASHTA_SEEDS: edge.meshEndpoint, ADASHTA_NAME: 'echo' }));
  for (const name of ['orders-1', 'orders-2']) children.push(startTestNode(edge.meshPort, { name, queue: 'orders' }));
  children.push(startTestNode(edge.meshPort, { name: 'ticker', queue: 'ticks' }));
  await edge.waitReady({ nodes: 4 });
  const seeds = ['--seeds', edge.meshEndpoint];

  // A work queue with jobs waiting, and one that used up its receives.
  const cli = async (args) => {
    const result = await runCli([...args, ...seeds]);
    if (result.code !== 0) throw new Error(`adashta ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  // The first job is received and shown again at once (as if its worker crashed); the next
  // receive finds it first, past its one receive, and moves it to jobs.dead.
  await cli(['queues', 'create', 'jobs', '--max-receive', '1', '--dead-letter', 'jobs.dead']);
  await cli(['queues', 'send', 'jobs', 'resize corrupt.png']);
  await cli(['queues', 'receive', 'jobs', '--vt', '0']);
  for (let i = 1; i <= 6; i++) await cli(['queues', 'send', 'jobs', `resize photo-${i}.png`]);
  await cli(['queues', 'receive', 'jobs', '--vt', '30s']);

  // Browser clients with users, consuming and producing.
  for (const user of ['alice', 'bob', 'carol']) {
    const { stdout } = await runCli(['token', '--sub', user, '--produce', 'echo,orders,ticks', '--consume', 'echo,chat', '--secret', secret]);
    const ws = await WsClient.connect(edge);
    await ws.hello(undefined, { token: stdout.trim() });
    await ws.request({ type: 'consume', queue: 'echo' });
    if (user !== 'carol') await ws.request({ type: 'consume', queue: 'chat' });
    clients.push(ws);
  }
  await waitFor(async () => (await clients[0].request({ type: 'produce', queue: 'orders', data: { warmup: true } })).type === 'ack',
    { timeout: 10000, what: 'the orders nodes to take messages' });

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(`${edge.url}/admin#token=${adminToken}`);

  // Traffic while the page watches, so the rates show something.
  let n = 0;
  const traffic = setInterval(() => {
    const ws = clients[n++ % clients.length];
    ws.send({ type: 'produce', queue: ['orders', 'echo', 'orders', 'ticks'][n % 4], data: { n } });
  }, 40);
  await new Promise((resolve) => setTimeout(resolve, 3500));
  await page.waitForFunction(() => adminPage.snapshot?.queues.some((q) => q.name === 'orders' && q.inPerS > 0), null, { timeout: 10000 });
  clearInterval(traffic);

  await mkdir(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser?.close();
  await Promise.all(clients.map((ws) => ws.close()));
  await Promise.all(children.map((child) => child.stop()));
  await edge?.destroy();
  await rm(dir, { recursive: true, force: true });
}
