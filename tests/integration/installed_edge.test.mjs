// `cmake --install` for running an edge (docs/operations.md "Install and systemd"): into a
// temporary prefix, then the installed edge serves the installed chat page with the installed
// chat server, on the installed example config; the systemd unit names that binary and the
// data and config paths, and systemd-analyze accepts it. The container image's build stage
// installs the components edge and examples only: they hold no SDK.
//
//   cd tests && ADASHTA_BUILD_DIR=../build node --test integration/installed_edge.test.mjs
//
// ctest passes CMAKE (the build's cmake).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Child, buildDir, freePort, waitFor } from '../lib/cluster.mjs';

const cmake = process.env.CMAKE || 'cmake';

function run(file, args, { timeout = 60000 } = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 'killed') : 0, stdout, stderr }));
  });
}

async function install(prefix, component) {
  const args = ['--install', buildDir, '--prefix', prefix, ...(component ? ['--component', component] : [])];
  const result = await run(cmake, args);
  assert.equal(result.code, 0, `cmake ${args.join(' ')}:\n${result.stdout}${result.stderr}`);
}

test('cmake --install puts a working edge, the example servers and a systemd unit under the prefix',
  { timeout: 120000 }, async (t) => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'adashta-install-'));
    t.after(() => rm(tmp, { recursive: true, force: true }));
    const prefix = path.join(tmp, 'prefix');
    await install(prefix);

    for (const file of ['bin/adashta', 'bin/adashta-echo', 'bin/adashta-chat', 'share/adashta/adashta.json',
      'share/adashta/examples/chat/web/index.html', 'share/adashta/examples/echo/web/index.html',
      'lib/systemd/system/adashta-edge.service', 'lib/sysusers.d/adashta.conf',
      'share/adashta/hub/index.json', 'share/adashta/hub/hello-1.0.0.tgz', 'share/adashta/trusted-keys']) {
      assert.ok(existsSync(path.join(prefix, file)), `installed ${file}`);
    }
    const bin = path.join(prefix, 'bin/adashta');
    assert.match((await run(bin, ['--version'])).stdout, /^adashta \d/);

    const unit = await readFile(path.join(prefix, 'lib/systemd/system/adashta-edge.service'), 'utf8');
    assert.ok(unit.includes(`\nExecStart=${bin} edge --data /var/lib/adashta --config /etc/adashta/adashta.json\n`),
      `ExecStart runs the installed edge on /var/lib/adashta and /etc/adashta/adashta.json:\n${unit}`);
    for (const line of ['User=adashta', 'Restart=on-failure', 'StateDirectory=adashta', 'NoNewPrivileges=yes',
      'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=']) {
      assert.ok(unit.split('\n').includes(line), `the unit has ${line}`);
    }
    assert.match(await readFile(path.join(prefix, 'lib/sysusers.d/adashta.conf'), 'utf8'), /^u adashta /m);
    const verify = await run('systemd-analyze', ['verify', path.join(prefix, 'lib/systemd/system/adashta-edge.service')]);
    if (verify.code === 'ENOENT') t.diagnostic('systemd-analyze is not installed: the unit was not verified');
    else {
      // verify exits 0 on lines it ignores; it names each one FILE:LINE.
      assert.equal(verify.code, 0, `systemd-analyze verify:\n${verify.stdout}${verify.stderr}`);
      assert.doesNotMatch(verify.stdout + verify.stderr, /adashta-edge\.service:\d+:/, 'systemd-analyze verify');
    }

    // The installed edge, page, config and chat server together, as the unit and the image run them.
    const httpPort = await freePort();
    const meshPort = await freePort();
    const edge = new Child('installed edge', bin, ['edge', path.join(prefix, 'share/adashta/examples/chat/web'),
      '--http', `127.0.0.1:${httpPort}`, '--mesh', `127.0.0.1:${meshPort}`, '--data', path.join(tmp, 'data'),
      '--config', path.join(prefix, 'share/adashta/adashta.json')]);
    const chat = new Child('installed chat', path.join(prefix, 'bin/adashta-chat'), [],
      { ADASHTA_SEEDS: `tcp://127.0.0.1:${meshPort}` });
    t.after(() => Promise.all([chat.stop(), edge.stop()]));
    const url = `http://127.0.0.1:${httpPort}`;
    await waitFor(async () => {
      if (edge.exited) throw new Error(`the installed edge exited\n${edge.describe()}`);
      const health = await (await fetch(`${url}/healthz`)).json();
      return health.status === 'ok' && health.nodes >= 1;
    }, { timeout: 20000, what: 'the installed edge with the installed chat node' });
    assert.match(await (await fetch(url + '/')).text(), /<html/i);
    assert.deepEqual(await chat.stop(), { code: 0, signal: null }, 'the chat node exits 0 on SIGTERM');
    assert.deepEqual(await edge.stop(), { code: 0, signal: null }, 'the edge exits 0 on SIGTERM');

    // What the image installs: the edge and the examples, no SDK.
    const lean = path.join(tmp, 'lean');
    await install(lean, 'edge');
    await install(lean, 'examples');
    assert.ok(existsSync(path.join(lean, 'bin/adashta')) && existsSync(path.join(lean, 'bin/adashta-chat')));
    assert.ok(!existsSync(path.join(lean, 'include')) && !existsSync(path.join(lean, 'lib')),
      'the components edge and examples hold no SDK and no systemd files');
  });
