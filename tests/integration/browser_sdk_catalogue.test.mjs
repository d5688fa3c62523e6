// The browser SDK takes its error codes from proto/errors.json (cmake/embed.cmake fills them
// in when the edge embeds adashta.js), and its TypeScript declarations (/adashta.d.ts) name
// the same errors and type-check a page's use of the SDK.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import { Edge, repoDir, requireBinaries } from '../lib/cluster.mjs';

const catalogue = JSON.parse(await readFile(path.join(repoDir, 'proto/errors.json'), 'utf8')).errors;
const codes = Object.fromEntries(catalogue.map((e) => [e.name, e.code]));
let edge;

before(async () => {
  requireBinaries();
  edge = new Edge();
  await edge.start();
  await edge.waitReady();
});
after(async () => { await edge?.destroy(); });

async function served(file) {
  const response = await fetch(`${edge.url}/${file}`);
  assert.equal(response.status, 200, `GET /${file}`);
  return response.text();
}

/** Runs the served classic script in a sandbox and returns its global `adashta`. */
async function loadSdk() {
  const sandbox = { TextEncoder, URL, setTimeout, clearTimeout, setInterval, clearInterval, atob };
  sandbox.globalThis = sandbox;
  vm.runInNewContext(await served('adashta.js'), sandbox);
  return sandbox.adashta;
}

test('adashta.errors is the catalogue, code for code', async () => {
  const sdk = await loadSdk();
  assert.deepEqual({ ...sdk.errors }, codes);
});

test('every error the SDK raises itself is a catalogue entry with its code and hint', async () => {
  const source = await readFile(path.join(repoDir, 'web/adashta.js'), 'utf8');
  const raised = new Set([...source.matchAll(/sdkError\(\s*'([a-z_]+)'/g)].map((m) => m[1]));
  for (const name of ['token_expired', 'token_required', 'token_invalid']) raised.add(name);
  assert.ok(raised.size >= 8, 'found the sdkError calls');
  for (const name of raised) assert.ok(name in codes, `sdkError('${name}') is not in proto/errors.json`);

  class NeverOpens { constructor() { this.readyState = 0; } close() {} send() {} }
  const sdk = await loadSdk();
  const client = sdk.connect({ url: 'ws://127.0.0.1:9/ws', WebSocket: NeverOpens, persistSession: false });
  await assert.rejects(client.produce('q', undefined), (err) => {
    assert.ok(err instanceof sdk.AdashtaError);
    assert.equal(err.name, 'bad_data');
    assert.equal(err.code, 4600);
    return true;
  });
  client.close();
  await assert.rejects(client.produce('q', 1), (err) => {
    assert.equal(err.name, 'closed');
    assert.equal(err.code, codes.closed);
    assert.ok(err.hint);
    return true;
  });
});

test('the TypeScript declarations name every catalogue error and type-check a page', async (t) => {
  const dts = await served('adashta.d.ts');
  const union = dts.slice(dts.indexOf('export type ErrorName ='), dts.indexOf(';', dts.indexOf('export type ErrorName =')));
  const declared = [...union.matchAll(/'([a-z_]+)'/g)].map((m) => m[1]).sort();
  assert.deepEqual(declared, Object.keys(codes).sort(), 'ErrorName in web/adashta.d.ts lists proto/errors.json');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-dts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'adashta.d.ts'), dts);
  await writeFile(path.join(dir, 'page.ts'), `
import adashta, { AdashtaError, errors } from './adashta';
const client = adashta.connect({ getToken: async () => 'a.b.c' });
client.on('connect', ({ session, resumed, user }) => console.log(session, resumed, user?.length));
client.on('error', (err: AdashtaError) => { if (err.code === errors.no_consumer) console.log(err.hint); });
void client.consume('chat', (data, meta) => console.log(meta.id, meta.offset ?? 0, data));
void client.produce('chat', { text: 'hi', at: [1, 2, null] }, { delay: 1000 }).then(({ id }) => id.length);
void client.fetch('chat', { since: new Date(), limit: 10 }).then(({ messages, next }) => messages[0]?.offset ?? next);
`);
  await writeFile(path.join(dir, 'wrong.ts'), `
import adashta from './adashta';
const client = adashta.connect();
void client.produce('chat', () => 1);
client.on('nonsense', () => {});
`);
  const tsc = path.join(repoDir, 'tests/node_modules/typescript/bin/tsc');
  const flags = ['--noEmit', '--strict', '--target', 'es2020', '--module', 'es2020', '--moduleResolution', 'node', '--lib', 'es2020,dom'];
  await promisify(execFile)(process.execPath, [tsc, ...flags, path.join(dir, 'page.ts')])
    .catch((err) => assert.fail(`tsc refused a correct page:\n${err.stdout}${err.stderr}`));
  const wrong = await promisify(execFile)(process.execPath, [tsc, ...flags, path.join(dir, 'wrong.ts')])
    .then(() => null, (err) => err.stdout);
  assert.ok(wrong, 'tsc accepted a page that produces a function and listens to an unknown event');
  assert.match(wrong, /wrong\.ts\(4,/);
  assert.match(wrong, /wrong\.ts\(5,/);
});
