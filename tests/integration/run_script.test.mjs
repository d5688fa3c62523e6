// The README's run command, scripts/run.sh, as a newcomer runs it: it says it is building,
// takes the ports from ADASHTA_HTTP and ADASHTA_MESH, prints the URL only once the edge
// answers there, and Ctrl-C (SIGINT to the terminal's process group) stops the edge and the
// chat node.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, repoDir, requireBinaries, waitFor } from '../lib/cluster.mjs';

describe('scripts/run.sh', { timeout: 90000 }, () => {
  let run;
  let dataDir;

  after(async () => {
    // The group may be gone already (the script ended on the test's SIGINT).
    if (run && run.exitCode === null && run.signalCode === null) {
      try { process.kill(-run.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('serves the chat where ADASHTA_HTTP says, once it prints the URL, and stops on Ctrl-C', async () => {
    requireBinaries();
    const [http, mesh] = [await freePort(), await freePort()];
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'adashta-run-'));
    run = spawn('bash', [path.join(repoDir, 'scripts/run.sh')], {
      env: { ...process.env, ADASHTA_HTTP: `127.0.0.1:${http}`, ADASHTA_MESH: `127.0.0.1:${mesh}`,
        ADASHTA_DATA: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,  // its own process group, like a terminal's job
    });
    let output = '';
    const exited = new Promise((resolve) => run.once('exit', (code, signal) => resolve({ code, signal })));
    run.stdout.on('data', (c) => { output += c; });
    run.stderr.on('data', (c) => { output += c; });

    const url = `http://localhost:${http}/`;
    await waitFor(() => output.includes(`chat on ${url}`), { timeout: 60000, what: `the URL line\n${output}` });
    assert.match(output, /run: building/, 'the build must not be hidden');
    // Printed only once the edge answers: the page is there at once.
    const page = await fetch(`http://127.0.0.1:${http}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Adashta chat/);
    // The chat node joined the mesh on ADASHTA_MESH.
    await waitFor(async () => (await (await fetch(`http://127.0.0.1:${http}/healthz`)).json()).nodes === 1,
      { what: `the chat node joining\n${output}` });

    process.kill(-run.pid, 'SIGINT');
    const { code, signal } = await exited;
    assert.ok(code !== null || signal !== null);
    await waitFor(async () => {
      try {
        await fetch(`http://127.0.0.1:${http}/healthz`);
        return false;
      } catch {
        return true;
      }
    }, { timeout: 10000, what: 'the edge to stop' });
    // And the chat node: the port it listened on for the mesh closes.
    const nodePort = Number(/consuming "chat" at tcp:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1]);
    assert.ok(nodePort, `the chat node says where it listens\n${output}`);
    await waitFor(() => new Promise((resolve) => {
      const socket = net.connect(nodePort, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(false); });
      socket.once('error', () => resolve(true));
    }), { timeout: 10000, what: 'the chat node to stop' });
  });
});
