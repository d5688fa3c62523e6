// The installed SDK (sdk/cpp/README.md "Install, and build a server outside this tree"):
// `cmake --install` into a temporary prefix, then the README's server.cpp, copied out of the
// README into a folder outside the tree, built against that prefix alone — once with
// find_package(adashta) and the README's CMakeLists.txt, once with pkg-config — each run
// against a real edge, round-tripping one message from a WebSocket client.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node --test integration/installed_sdk.test.mjs
//
// ctest passes CMAKE (cmake), NINJA and CXX (the build's own compiler); warnings are errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Child, Cluster, buildDir, explained, repoDir, waitFor } from '../lib/cluster.mjs';

const cmake = process.env.CMAKE || 'cmake';
const ninja = process.env.NINJA || 'ninja';
const cxx = process.env.CXX || 'c++';
const WARNINGS = ['-Wall', '-Wextra', '-Wpedantic', '-Wshadow', '-Werror'];

/** Runs file args; resolves with stdout, rejects with everything it printed. */
function run(file, args, { env = {}, cwd } = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env }, cwd, maxBuffer: 16 << 20, timeout: 180000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')} failed (${err.code}):\n${stdout}\n${stderr}`));
        else resolve(stdout);
      });
  });
}

/** The text of the README's first fenced block in `lang`. */
function block(readme, lang) {
  const match = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(readme);
  assert.ok(match, `sdk/cpp/README.md has no \`\`\`${lang} block`);
  return match[1];
}

/** Starts a built server against the cluster's edge; one message to "echo" comes back. */
async function roundTrip(cluster, bin, name) {
  const server = new Child(name, bin, [], { ADASHTA_SEEDS: cluster.edge.meshEndpoint });
  cluster.nodes.push(server);
  await cluster.edge.waitReady({ nodes: 1 });
  const client = await cluster.client();
  assert.equal((await client.request({ type: 'consume', queue: 'echo' })).type, 'ack');
  const sent = { hello: name };
  // Until the server has the edge's Hello it drops what the edge sends, and the edge sends
  // that message again after the queue's visibility timeout (1 s): produce until one is back.
  const reply = await waitFor(async () => {
    const ack = await client.request({ type: 'produce', queue: 'echo', data: sent });
    if (ack.type !== 'ack') return null;
    return client.take((f) => f.type === 'message' && f.queue === 'echo', { timeout: 2500 }).catch(() => null);
  }, { timeout: 30000, what: `${name} to echo a message` });
  assert.deepEqual(reply.data, sent);
  await client.close();
  assert.deepEqual(await server.stop(), { code: 0, signal: null }, `${name} exits 0 on SIGTERM`);
}

test('the installed SDK builds the README\'s server outside the tree, with find_package and with pkg-config',
  { timeout: 220000 }, async (t) => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'adashta-installed-'));
    t.after(() => rm(tmp, { recursive: true, force: true }));
    assert.ok(!path.resolve(tmp).startsWith(repoDir + path.sep), 'the app folder is outside the tree');
    const prefix = path.join(tmp, 'prefix');
    const app = path.join(tmp, 'app');
    await mkdir(app);

    await run(cmake, ['--install', buildDir, '--prefix', prefix]);
    for (const file of ['include/adashta/node.hpp', 'include/adashta/errors.hpp', 'lib/libadashta.a',
      'lib/cmake/adashta/adashta-config.cmake', 'lib/pkgconfig/adashta.pc', 'bin/adashta']) {
      assert.ok(existsSync(path.join(prefix, file)), `installed ${file}`);
    }
    assert.ok(!existsSync(path.join(prefix, 'include/adashta/mesh')), 'internal headers stay in the tree');
    assert.match(await run(path.join(prefix, 'bin/adashta'), ['--version']), /^adashta \d/);

    const readme = await readFile(path.join(repoDir, 'sdk/cpp/README.md'), 'utf8');
    await writeFile(path.join(app, 'server.cpp'), block(readme, 'cpp'));
    await writeFile(path.join(app, 'CMakeLists.txt'), block(readme, 'cmake'));

    // find_package(adashta) + adashta::node.
    await run(cmake, ['-S', app, '-B', path.join(app, 'build'), '-G', 'Ninja',
      `-DCMAKE_MAKE_PROGRAM=${ninja}`, `-DCMAKE_CXX_COMPILER=${cxx}`, `-DCMAKE_PREFIX_PATH=${prefix}`,
      `-DCMAKE_CXX_FLAGS=${WARNINGS.join(' ')}`]);
    await run(cmake, ['--build', path.join(app, 'build')]);
    const cmakeServer = path.join(app, 'build', 'server');
    assert.ok(existsSync(cmakeServer));

    // pkg-config --cflags --libs adashta.
    const pcEnv = { PKG_CONFIG_PATH: path.join(prefix, 'lib', 'pkgconfig') };
    const flags = (await run('pkg-config', ['--cflags', '--libs', 'adashta'], { env: pcEnv })).trim().split(/\s+/);
    const pcServer = path.join(app, 'server-pc');
    await run(cxx, [...WARNINGS, path.join(app, 'server.cpp'), '-o', pcServer, ...flags]);

    const cluster = await Cluster.start(t, { queues: { echo: { visibility: '1s' } } });
    await explained(cluster, async () => {
      await roundTrip(cluster, cmakeServer, 'server (find_package)');
      await roundTrip(cluster, pcServer, 'server (pkg-config)');
    });
  });
