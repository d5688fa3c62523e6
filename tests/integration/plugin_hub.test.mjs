// Plugin packages and hubs with the real binary: a hub made with `adashta hub init|keygen|
// publish`, served on loopback by a node http server; install, list, update, remove from it;
// a tampered tarball, a wrong sha256, an unsigned entry, an unknown key and a path-traversal
// tarball each refused with its own error; `plugin new` then `plugin test`, passing and then
// failing on broken code, for Lua and for JavaScript (its own node --test); and an install
// from the bundled hub with no --hub.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  Edge, WsClient, adashtaBin, requireBinaries, startTestNode, waitNodesHearClients,
} from '../lib/cluster.mjs';

/** Runs `adashta ARGS...` with only PATH from the environment (no ADASHTA_* of the shell). */
function cli(args, { cwd, env = {}, timeout = 20000 } = {}) {
  return new Promise((resolve) => {
    execFile(adashtaBin, args, { cwd, env: { PATH: process.env.PATH, ...env }, timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 'killed') : 0, stdout, stderr });
    });
  });
}

async function ok(args, options) {
  const r = await cli(args, options);
  assert.equal(r.code, 0, `adashta ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r;
}

/** The error a refused command printed: "adashta: NAME: ..." with the detail, exit 1 (2 for usage). */
async function refused(args, name, detail, options) {
  const r = await cli(args, options);
  assert.equal(r.code, name === 'bad_option' ? 2 : 1, `adashta ${args.join(' ')} should fail:\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^adashta: ${name}: `), r.stderr);
  assert.match(r.stderr, detail, r.stderr);
  return r;
}

const manifest = (version) => JSON.stringify({
  name: 'shout', version, description: 'shouts: upper-cases the text of messages', runtime: 'lua',
  entry: 'main.lua', hooks: ['on_message'],
});
const mainLua = (suffix) =>
  `return { on_message = function(msg) msg.data.text = string.upper(msg.data.text) .. "${suffix}" ` +
  'return adashta.pass(msg.data) end }\n';

async function writePlugin(dir, version, suffix) {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'adashta-plugin.json'), manifest(version));
  await writeFile(path.join(dir, 'main.lua'), mainLua(suffix));
}

/** Signs a package's statement as `adashta hub publish` does, with a key file of `hub keygen`. */
async function sign(keyFile, name, version, sha256) {
  const line = (await readFile(keyFile, 'utf8')).split('\n').find((l) => l.startsWith('ed25519-secret '));
  const secret = Buffer.from(line.split(' ')[1], 'base64');  // libsodium: seed, then public key
  const key = crypto.createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', d: secret.subarray(0, 32).toString('base64url'),
           x: secret.subarray(32).toString('base64url') },
    format: 'jwk',
  });
  const statement = Buffer.concat([Buffer.from('adashta-plugin-package-v1'), Buffer.from([0]), Buffer.from(name),
                                   Buffer.from([0]), Buffer.from(version), Buffer.from([0]), Buffer.from(sha256)]);
  return crypto.sign(null, statement, key).toString('base64');
}

/** A gzip tarball of the given files, ustar headers written by hand so any path can be put in. */
function tarball(files) {
  const blocks = [];
  for (const [name, text] of files) {
    const data = Buffer.from(text);
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    header.write('00000000000\0', 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

describe('plugin hub', { timeout: 120000 }, () => {
  let dir, server, url, key, pub;
  const hub = () => path.join(dir, 'served', 'good');

  before(async () => {
    requireBinaries();
    dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-plugin-hub-'));
    key = path.join(dir, 'publisher.key');
    pub = `${key}.pub`;
    const keygen = await ok(['hub', 'keygen', '--out', key]);
    assert.match(keygen.stdout, /^key id: [0-9a-f]{16}$/m);
    assert.equal((await stat(key)).mode & 0o777, 0o600);
    await ok(['hub', 'init', hub()]);

    // Two versions of one plugin, each published from its own folder.
    await writePlugin(path.join(dir, 'src', 'v1'), '1.0.0', '!');
    await writePlugin(path.join(dir, 'src', 'v2'), '1.1.0', '!!');
    await ok(['hub', 'publish', hub(), path.join(dir, 'src', 'v1'), '--key', key]);
    await ok(['hub', 'publish', hub(), path.join(dir, 'src', 'v2'), '--key', key]);

    // A static server on loopback for the folder served/: one hub per subfolder.
    server = http.createServer(async (req, res) => {
      const file = path.join(dir, 'served', path.normalize(decodeURIComponent(req.url)));
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end('not found');
      }
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = (name) => `http://127.0.0.1:${server.address().port}/${name}`;
  });

  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('publishing the same content again is a no-op; other content under a published version is refused', async () => {
    await ok(['hub', 'publish', hub(), path.join(dir, 'src', 'v2'), '--key', key]);
    const changed = path.join(dir, 'src', 'v2-changed');
    await writePlugin(changed, '1.1.0', '???');
    await refused(['hub', 'publish', hub(), changed, '--key', key], 'package_refused',
                  /shout 1\.1\.0 is already on this hub with other content.*raise "version"/);
    await refused(['hub', 'publish', hub(), changed], 'bad_option', /give --key FILE/);
  });

  test('search and info read the hub over HTTP', async () => {
    const search = await ok(['plugin', 'search', 'upper', '--hub', url('good')]);
    assert.match(search.stdout, /^shout\s+1\.1\.0\s+lua\s+shouts/m);
    const info = await ok(['plugin', 'info', 'shout', '--hub', url('good'), '--trust', pub]);
    assert.match(info.stdout, /1\.0\.0\s+shout-1\.0\.0\.tgz/);
    assert.match(info.stdout, /1\.1\.0\s+shout-1\.1\.0\.tgz/);
    assert.match(info.stdout, /trusted \(publisher\.key/);
    await refused(['plugin', 'info', 'nope', '--hub', url('good')], 'unknown_plugin', /has no plugin "nope"/);
    await refused(['plugin', 'search', '--hub', url('nothing-here')], 'hub_unavailable', /answered HTTP 404/);
  });

  test('install, list, update and remove against the hub on loopback', async () => {
    const data = path.join(dir, 'data-1');
    const common = ['--hub', url('good'), '--data', data, '--trust', pub];
    const installed = await ok(['plugin', 'install', 'shout@1.0.0', ...common]);
    assert.match(installed.stdout, /installed shout 1\.0\.0 into .*data-1\/plugins\/shout/);
    const folder = path.join(data, 'plugins', 'shout');
    assert.equal(JSON.parse(await readFile(path.join(folder, 'adashta-plugin.json'), 'utf8')).version, '1.0.0');
    const record = JSON.parse(await readFile(path.join(folder, '.adashta-installed.json'), 'utf8'));
    assert.deepEqual(record, { name: 'shout', version: '1.0.0', hub: url('good'),
                               sha256: sha256(await readFile(path.join(hub(), 'shout-1.0.0.tgz'))) });

    const listed = await ok(['plugin', 'list', '--data', data]);
    assert.match(listed.stdout, /^shout\s+1\.0\.0\s+newer on the hub: 1\.1\.0/m);

    const updated = await ok(['plugin', 'update', '--data', data, '--trust', pub]);
    assert.match(updated.stdout, /updated shout 1\.0\.0 -> 1\.1\.0/);
    assert.match(await readFile(path.join(folder, 'main.lua'), 'utf8'), /"!!"/);
    assert.match((await ok(['plugin', 'list', '--data', data])).stdout, /^shout\s+1\.1\.0\s+newest/m);
    assert.match((await ok(['plugin', 'update', 'shout', '--data', data, '--trust', pub])).stdout,
                 /shout 1\.1\.0 is the newest/);
    // The installed package runs: its tests would, and so does a case written here.
    await writeFile(path.join(folder, 'tests.json'), JSON.stringify({ cases: [{
      hook: 'on_message', message: { queue: 'q', data: { text: 'hi' } }, expect: { verdict: 'pass', data: { text: 'HI!!' } },
    }] }));
    assert.match((await ok(['plugin', 'test', folder])).stdout, /1 passed, 0 failed/);

    const removed = await ok(['plugin', 'remove', 'shout', '--data', data]);
    assert.match(removed.stdout, /removed shout 1\.1\.0/);
    assert.equal(existsSync(folder), false);
    await refused(['plugin', 'remove', 'shout', '--data', data], 'unknown_plugin', /"shout" is not installed/);
    await refused(['plugin', 'install', 'shout@9.9.9', ...common], 'unknown_plugin', /no version 9\.9\.9/);
  });

  /** A copy of the good hub as served/NAME, changed by edit(hubDir, index). */
  async function variant(name, edit) {
    const target = path.join(dir, 'served', name);
    await cp(hub(), target, { recursive: true });
    const indexFile = path.join(target, 'index.json');
    const index = JSON.parse(await readFile(indexFile, 'utf8'));
    await edit(target, index);
    await writeFile(indexFile, JSON.stringify(index));
    return url(name);
  }

  const installFrom = (hubUrl, data, trust = ['--trust', pub]) =>
    ['plugin', 'install', 'shout', '--hub', hubUrl, '--data', path.join(dir, data), ...trust];

  test('a package signed by a key nobody trusts is refused, saying how to trust it', async () => {
    await refused(installFrom(url('good'), 'data-untrusted', []), 'signature_refused',
                  /signed by key [0-9a-f]{16}, which is not in a trusted keyring.*--trust FILE/);
    assert.equal(existsSync(path.join(dir, 'data-untrusted', 'plugins', 'shout')), false);
  });

  test('a tampered tarball is refused by its sha256', async () => {
    const hubUrl = await variant('tampered', async (target) => {
      const file = path.join(target, 'shout-1.1.0.tgz');
      const bytes = await readFile(file);
      bytes[bytes.length - 20] ^= 0xff;  // same size, other content
      await writeFile(file, bytes);
    });
    await refused(installFrom(hubUrl, 'data-tampered'), 'package_refused',
                  /sha256 of .*shout-1\.1\.0\.tgz is [0-9a-f]{64}, the signed index says .*tampered/);
    assert.equal(existsSync(path.join(dir, 'data-tampered', 'plugins', 'shout')), false);
  });

  test('a wrong sha256 in the index is refused: the signature no longer matches', async () => {
    const hubUrl = await variant('wrong-sha', async (target, index) => {
      index.packages.shout.versions['1.1.0'].sha256 = 'f'.repeat(64);
    });
    await refused(installFrom(hubUrl, 'data-wrong-sha'), 'signature_refused',
                  /does not match its name, version and sha256/);
  });

  test('an unsigned entry is refused', async () => {
    const hubUrl = await variant('unsigned', async (target, index) => {
      index.packages.shout.versions['1.1.0'].signature = '';
      index.packages.shout.versions['1.1.0'].key = '';
    });
    await refused(installFrom(hubUrl, 'data-unsigned'), 'signature_refused', /shout 1\.1\.0 is unsigned/);
  });

  test('a signature replayed for another version is refused', async () => {
    const hubUrl = await variant('replayed', async (target, index) => {
      const v = index.packages.shout.versions;
      v['1.1.0'].signature = v['1.0.0'].signature;
    });
    await refused(installFrom(hubUrl, 'data-replayed'), 'signature_refused', /does not match/);
  });

  test('a validly signed tarball with a path that climbs out is refused and writes nothing outside', async () => {
    const evil = tarball([['adashta-plugin.json', manifest('1.1.0')], ['main.lua', mainLua('')],
                          ['../escape.lua', 'return "escaped"']]);
    const hubUrl = await variant('traversal', async (target, index) => {
      await writeFile(path.join(target, 'shout-1.1.0.tgz'), evil);
      const v = index.packages.shout.versions['1.1.0'];
      v.sha256 = sha256(evil);
      v.size = evil.length;
      v.signature = await sign(key, 'shout', '1.1.0', v.sha256);
    });
    await refused(installFrom(hubUrl, 'data-traversal'), 'package_refused',
                  /entry "\.\.\/escape\.lua" climbs out of the package/);
    const plugins = path.join(dir, 'data-traversal', 'plugins');
    assert.equal(existsSync(path.join(plugins, 'shout')), false);
    assert.equal(existsSync(path.join(plugins, 'escape.lua')), false);
    assert.equal(existsSync(path.join(dir, 'data-traversal', 'escape.lua')), false);
  });

  test('a package whose manifest is not the index entry\'s is refused', async () => {
    const other = tarball([['adashta-plugin.json', manifest('6.6.6')], ['main.lua', mainLua('')]]);
    const hubUrl = await variant('mislabelled', async (target, index) => {
      await writeFile(path.join(target, 'shout-1.1.0.tgz'), other);
      const v = index.packages.shout.versions['1.1.0'];
      v.sha256 = sha256(other);
      v.size = other.length;
      v.signature = await sign(key, 'shout', '1.1.0', v.sha256);
    });
    await refused(installFrom(hubUrl, 'data-mislabelled'), 'package_refused', /holds shout 6\.6\.6, not the shout 1\.1\.0/);
  });

  test('plugin new makes a plugin whose tests pass, and fail once its code is broken', async () => {
    const work = path.join(dir, 'authoring');
    await mkdir(work);
    await ok(['plugin', 'new', 'word-limit', '--runtime', 'lua'], { cwd: work });
    for (const file of ['adashta-plugin.json', 'main.lua', 'README.md', 'tests.json'])
      assert.ok(existsSync(path.join(work, 'word-limit', file)), file);
    const passed = await ok(['plugin', 'test', 'word-limit'], { cwd: work });
    assert.match(passed.stdout, /^3 passed, 0 failed$/m);
    await refused(['plugin', 'new', 'word-limit'], 'bad_option', /exists/, { cwd: work });
    await refused(['plugin', 'new', 'Bad_Name'], 'bad_option', /not a plugin name/, { cwd: work });

    // A wrong verdict fails its case; code that does not load fails every case.
    const main = path.join(work, 'word-limit', 'main.lua');
    const good = await readFile(main, 'utf8');
    await writeFile(main, good.replace('adashta.reject(', 'adashta.drop('));
    const wrong = await cli(['plugin', 'test', 'word-limit'], { cwd: work });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /FAIL  a long text is refused: expected reject, got drop/);
    assert.match(wrong.stdout, /^2 passed, 1 failed$/m);
    await writeFile(main, good.replace('then', 'thn'));
    const broken = await cli(['plugin', 'test', 'word-limit'], { cwd: work });
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /the plugin did not load: bad_plugin: .*main\.lua:\d+/);
    assert.match(broken.stdout, /^0 passed, 3 failed$/m);
  });

  test('plugin new --runtime js makes a plugin whose node --test passes and that an edge runs as its README says', async () => {
    const work = path.join(dir, 'authoring-js');
    await mkdir(work);
    const made = await ok(['plugin', 'new', 'trim-text', '--runtime', 'js'], { cwd: work });
    assert.match(made.stdout, /README\.md, adashta-plugin\.json, index\.mjs, test\/plugin\.test\.mjs/);
    const folder = path.join(work, 'trim-text');
    for (const file of ['README.md', 'adashta-plugin.json', 'index.mjs', 'test/plugin.test.mjs'])
      assert.doesNotMatch(await readFile(path.join(folder, file), 'utf8'), /\{\{/, `${file}: a placeholder left`);
    const readme = await readFile(path.join(folder, 'README.md'), 'utf8');
    assert.match(readme, /"plugins": \[\s*\{ "path": "\.\/trim-text"/, 'the README says how an edge runs it');
    const manifestFile = path.join(folder, 'adashta-plugin.json');
    assert.equal(JSON.parse(await readFile(manifestFile, 'utf8')).name, 'trim-text');
    // A loaded test machine pauses a thread longer than the template's 50 ms per call.
    await writeFile(manifestFile, (await readFile(manifestFile, 'utf8')).replace('"callMs": 50', '"callMs": 2000'));

    // Its own test, as its README says: node --test test/ in its folder, through the
    // plugin host's testing.mjs of this build. (Not NODE_TEST_CONTEXT: that would report here.)
    const { NODE_TEST_CONTEXT, ...env } = process.env;
    const run = await new Promise((resolve) => execFile(process.execPath, ['--test', '--test-reporter=tap', 'test/'],
      { cwd: folder, env, timeout: 100_000 }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 'killed') : 0, stdout, stderr })));
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^# pass 3$/m);
    assert.match(run.stdout, /^# fail 0$/m);
    const passed = await ok(['plugin', 'test', 'trim-text'], { cwd: work, timeout: 100_000 });
    assert.match(passed.stdout, /^# pass 3$/m);

    // And as its README says, an edge runs it: its folder under "plugins" in the config file
    // (relative to the file), with its config; a node on "chat" answers what it got.
    const config = path.join(work, 'adashta.json');
    await writeFile(config, JSON.stringify({ plugins: [{ path: './trim-text', config: { maxLength: 10 } }] }));
    const edge = new Edge({ args: ['--config', config] });
    let node;
    try {
      await edge.start();
      await edge.waitReady();
      node = startTestNode(edge.meshPort, { name: 'n1', queue: 'chat' });
      await edge.waitReady({ nodes: 1 });
      await waitNodesHearClients(edge, [node]);
      const client = await WsClient.connect(edge);
      await client.hello();
      assert.equal((await client.request({ type: 'consume', queue: 'chat' })).type, 'ack');
      const ack = await client.request({ type: 'produce', queue: 'chat', data: { text: '  hi  ' } });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const answer = await client.take((f) => f.type === 'message');
      assert.deepEqual(answer.data, { node: 'n1', data: { text: 'hi' } }, 'the node got the text the plugin trimmed');
      const long = await client.request({ type: 'produce', queue: 'chat', data: { text: 'x'.repeat(11) } });
      assert.equal(long.type, 'error', JSON.stringify(long));
      assert.equal(long.name, 'plugin_rejected');
      assert.match(long.detail, /plugin trim-text rejected the message: text is longer than 10 characters/);
      await client.close();
    } catch (err) {
      err.message += '\n' + edge.child?.describe();
      throw err;
    } finally {
      await node?.stop();
      await edge.destroy();
    }

    await refused(['plugin', 'new', 'trim-text', '--runtime', 'js'], 'bad_option', /exists; pick another name/, { cwd: work });
    await refused(['plugin', 'new', 'Trim_Text', '--runtime', 'js'], 'bad_option',
                  /not a plugin name: lowercase letters, digits and '-', starting with a letter/, { cwd: work });
    await refused(['plugin', 'new', 'x', '--runtime', 'python'], 'bad_option', /runtime is lua or js/, { cwd: work });

    // A broken hook fails its test, and plugin test says so by its exit code.
    const index = path.join(folder, 'index.mjs');
    await writeFile(index, (await readFile(index, 'utf8')).replace('.trim()', ''));
    const broken = await cli(['plugin', 'test', 'trim-text'], { cwd: work, timeout: 100_000 });
    assert.equal(broken.code, 1, broken.stdout + broken.stderr);
    assert.match(broken.stdout, /^# fail 1$/m);
  });

  test('plugin test on a JavaScript plugin without test/ says what it needs and runs nothing', async () => {
    const js = path.join(dir, 'js-plugin');
    await mkdir(js);
    await writeFile(path.join(js, 'adashta-plugin.json'), JSON.stringify({
      name: 'js-thing', version: '1.0.0', runtime: 'js', entry: 'index.mjs', hooks: ['on_message'] }));
    await writeFile(path.join(js, 'index.mjs'), 'export function on_message() {}\n');
    const r = await refused(['plugin', 'test', js], 'bad_plugin', /test is missing.*nothing was run/);
    assert.doesNotMatch(r.stdout, /pass/);
  });

  test('install from the bundled hub with no --hub and no network', async () => {
    const data = path.join(dir, 'data-bundled');
    const search = await ok(['plugin', 'search', '--data', data]);
    assert.match(search.stdout, /^hello\s+1\.0\.0\s+lua/m);
    const installed = await ok(['plugin', 'install', 'hello', '--data', data]);
    assert.match(installed.stdout, /installed hello 1\.0\.0 into/);
    assert.match((await ok(['plugin', 'test', path.join(data, 'plugins', 'hello')])).stdout, /^3 passed, 0 failed$/m);
    assert.match((await ok(['plugin', 'list', '--data', data])).stdout, /^hello\s+1\.0\.0\s+newest/m);
  });
});
