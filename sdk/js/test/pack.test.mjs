// How users get it: `npm pack`, installed into an empty folder outside the repository, a
// small echo server written there (import and require), run against the real edge, one
// message round-tripped from a browser client.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Child, WsClient, startEdge, waitFor } from './helpers.mjs';

const run = promisify(execFile);
const sdkDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('the packed tarball installs and runs an echo server outside the repository', { timeout: 200000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-pack-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: sdkDir, timeout: 120000 });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf('[')));
  const files = packed.files.map((f) => f.path);
  for (const file of ['generated/mesh.js', 'generated/errors.js', 'src/index.d.ts', 'dist/cjs/index.cjs', 'README.md']) {
    assert.ok(files.includes(file), `${file} is not in the tarball: ${files.join(', ')}`);
  }
  assert.ok(!files.some((f) => f.startsWith('test/')), 'tests are in the tarball');
  const app = path.join(dir, 'app');
  await run('mkdir', ['-p', app]);
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'echo-app', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', path.join(dir, packed.filename)], { cwd: app, timeout: 150000 });
  assert.ok(existsSync(path.join(app, 'node_modules/adashta/generated/mesh.js')));
  await writeFile(path.join(app, 'server.mjs'), [
    "import { Adashta } from 'adashta';",
    "const adashta = new Adashta({ name: 'packed' });",
    "adashta.consume('echo', async (msg) => { await adashta.produce('echo', { echo: msg.data }, { to: msg.client }); });",
    'await adashta.connect();',
    "console.log('ready');",
    "process.on('SIGTERM', async () => { await adashta.close(); });",
  ].join('\n'));
  await writeFile(path.join(app, 'require.cjs'), [
    "const { Adashta, codes } = require('adashta');",
    "console.log(typeof Adashta, codes.unknown_queue);",
  ].join('\n'));
  const required = await run(process.execPath, ['require.cjs'], { cwd: app });
  assert.equal(required.stdout.trim(), 'function 4105');

  const edge = await startEdge(t);
  const server = new Child('packed', process.execPath, [path.join(app, 'server.mjs')], { ADASHTA_SEEDS: edge.meshEndpoint });
  t.after(() => server.stop());
  await waitFor(() => server.output.includes('ready') || server.exited, { what: 'the packed server to connect' });
  assert.ok(!server.exited, server.describe());
  const ws = await WsClient.connect(edge);
  t.after(() => ws.close());
  await ws.hello();
  await ws.request({ type: 'consume', queue: 'echo' });
  const reply = await waitFor(async () => {
    await ws.request({ type: 'produce', queue: 'echo', data: 'from a browser' });
    return ws.take((f) => f.type === 'message', { timeout: 500 }).catch(() => null);
  }, { what: 'the echo from the packed server' });
  assert.deepEqual(reply.data, { echo: 'from a browser' });
  const { code } = await server.stop();
  assert.equal(code, 0, server.describe());
});
