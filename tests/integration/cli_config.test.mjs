// The edge's config file, its environment variables and the CLI's error texts, with the real
// binary: `adashta config check` on good files (the examples of docs/operations.md) and bad
// ones, an edge that takes its ports and data folder from the file, the precedence flag >
// environment > file > default, and the messages a newcomer meets first (unknown flag,
// missing value, out of range, unusable folder, produce without or with broken DATA, a port
// in use).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Child, adashtaBin, freePort, repoDir, requireBinaries, waitFor } from '../lib/cluster.mjs';

const SECRET = 'a-test-secret-of-at-least-32-bytes!';

/**
 * Runs `adashta ARGS...` with only the variables given (plus PATH), so ADASHTA_* of the
 * shell running the tests cannot change what is checked.
 */
function cli(args, { env = {}, cwd, timeout = 10000, as } = {}) {
  const file = as ? 'setpriv' : adashtaBin;
  const argv = as ? [`--reuid=${as}`, `--regid=${as}`, '--clear-groups', adashtaBin, ...args] : args;
  return new Promise((resolve) => {
    execFile(file, argv, { env: { PATH: process.env.PATH, ...env }, cwd, timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 'killed') : 0, stdout, stderr });
    });
  });
}

/** Resolves when /healthz answers ok on port; throws with the edge's output otherwise. */
async function healthy(child, port) {
  try {
    return await waitFor(async () => {
      if (child.exited) throw new Error('the edge exited');
      const response = await fetch(`http://127.0.0.1:${port}/healthz`);
      return (await response.json()).status === 'ok';
    }, { timeout: 15000, what: `/healthz on ${port}` });
  } catch (err) {
    err.message += '\n' + child.describe();
    throw err;
  }
}

/** An edge with only the variables given (plus PATH), started in cwd; stopped by the caller. */
function edgeWith(args, { env = {}, cwd = os.tmpdir() } = {}) {
  return new Child('edge', 'env', ['-i', '-C', cwd, `PATH=${process.env.PATH}`,
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`), adashtaBin, 'edge', ...args], {});
}

/** The rows of the table under "## The config file" in docs/operations.md: key, flag, variable. */
function docsTable(markdown) {
  const section = markdown.slice(markdown.indexOf('## The config file'), markdown.indexOf('### Checking a file'));
  return section.split('\n').filter((line) => line.startsWith('| `') || line.startsWith('| - |'))
    .map((line) => line.split('|').slice(1, 4).map((cell) => cell.trim().replaceAll('`', '')))
    .map(([key, flag, variable]) => ({ key, flag, variable }));
}

describe('the config file and the CLI error texts', { timeout: 120000 }, () => {
  let root;

  before(async () => {
    requireBinaries();
    root = await mkdtemp(path.join(os.tmpdir(), 'adashta-cli-config-'));
    await chmod(root, 0o755);  // the unreadable-file case runs as nobody
  });

  after(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function file(name, text) {
    const where = path.join(root, name);
    await writeFile(where, typeof text === 'string' ? text : JSON.stringify(text, null, 2));
    return where;
  }

  test('config check passes every JSON example of docs/operations.md', async () => {
    const markdown = await readFile(path.join(repoDir, 'docs/operations.md'), 'utf8');
    const examples = [...markdown.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1]);
    assert.ok(examples.length >= 2, 'docs/operations.md has its examples');
    for (const [i, text] of examples.entries()) {
      const where = await file(`docs-${i}.json`, text);
      // The docs' full example takes its token key from the environment, as they say.
      const run = await cli(['config', 'check', where], { env: { ADASHTA_TOKEN_SECRET: SECRET } });
      assert.equal(run.code, 0, `example ${i}: ${run.stderr}\n${text}`);
      assert.match(run.stdout, new RegExp(`^${where.replaceAll('.', '\\.')}: ok\n`));
      assert.match(run.stdout, /queues: /);
    }
  });

  test('the docs table lists every flag with the key and variable the edge uses', async () => {
    const rows = docsTable(await readFile(path.join(repoDir, 'docs/operations.md'), 'utf8'));
    const show = await cli(['config', 'show']);
    assert.equal(show.code, 0, show.stderr);
    const flags = show.stdout.trim().split('\n').slice(1).map((line) => line.split(/\s+/))
      .map(([flag, key, variable]) => ({ flag, key, variable }));
    assert.ok(flags.length >= 25, show.stdout);
    for (const f of flags) {
      const row = rows.find((r) => r.flag === f.flag);
      assert.ok(row, `docs/operations.md has no row for ${f.flag}`);
      assert.equal(row.variable, f.variable, `${f.flag}: the variable`);
      // --auth's key is auth.mode inside the edge's own "auth" object.
      if (f.key !== '-') assert.equal(row.key, f.key, `${f.flag}: the key`);
    }
    for (const row of rows.filter((r) => r.flag !== '-')) {
      assert.ok(flags.some((f) => f.flag === row.flag), `the docs list ${row.flag}, the edge has no such flag`);
    }
  });

  test('config check on bad files names the file, the key, the value and what is allowed', async () => {
    const cases = [
      [{ maxOutbx: 1 << 20 }, /: maxOutbx: unknown key \(did you mean maxOutbox\?\); allowed: queues, auth, plugins, http, /],
      [{ queuez: {} }, /: queuez: unknown key \(did you mean queues\?\)/],
      [{ durable: 'yes' }, /: durable: "yes" is not a switch; allowed: true or false/],
      [{ seeds: 5 }, /: seeds: 5 is not a list; allowed: an array of strings/],
      [{ http: ['127.0.0.1:1'] }, /: http: \[ "127\.0\.0\.1:1" \] is not a single value; allowed: a string or a number/],
      [{ maxOutbox: 5 }, /: maxOutbox: 5 is out of range; allowed: a whole number from 65536 to 4294967296/],
      [{ heartbeatMs: 'fast' }, /: heartbeatMs: "fast" is not a whole number; allowed: a whole number from 10 to 60000/],
      [{ heartbeatMs: 2000, peerTimeoutMs: 1000 }, /: peerTimeoutMs: 1000 is not longer than .*: heartbeatMs \(2000\)/],
      [{ queues: { orders: { visibility: '13h' } } }, /: queues\.orders\.visibility: 13h is more than the maximum of 12h/],
      [{ auth: { mode: 'sometimes' } }, /: auth\.mode: "sometimes" is not a mode; use required, optional or off/],
      [{ http: 1, http2: 2 }, /: http2: unknown key \(did you mean http\?\)/],
      [{ auth: { mode: 'required' } }, /: auth\.mode: required needs a key to check tokens with: --token-secret \(ADASHTA_TOKEN_SECRET\)/],
      [{ meshKey: 'keys/none.key' }, /: meshKey: keys\/none\.key does not exist; allowed: a key file of `adashta keys new`/],
      [{ tokenSecretFile: '/no/such/secret' }, /: tokenSecretFile: \/no\/such\/secret does not exist; allowed: a file holding the key/],
    ];
    for (const [text, pattern] of cases) {
      const where = await file('bad.json', text);
      const run = await cli(['config', 'check', where]);
      assert.equal(run.code, 1, `${JSON.stringify(text)}: exit 1: ${JSON.stringify(run)}`);
      assert.equal(run.stdout, '');
      assert.ok(run.stderr.startsWith(`${where}: `), `names the file: ${run.stderr}`);
      assert.match(run.stderr, pattern, JSON.stringify(text));
    }
    // Each problem on a line of its own.
    const many = await file('many.json', { maxOutbx: 1, durable: 'no', queues: { orders: { colour: 'red' } } });
    const run = await cli(['config', 'check', many]);
    assert.equal(run.code, 1);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 3, run.stderr);
    assert.ok(lines.every((line) => line.startsWith(`${many}: `)), run.stderr);
  });

  test('config check on JSON that breaks, a missing file, a folder and an unreadable file', async () => {
    const broken = await file('broken.json', '{\n  "http": "127.0.0.1:8080"\n  "mesh": "127.0.0.1:7700"\n}\n');
    let run = await cli(['config', 'check', broken]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim(), `${broken}: not valid JSON at line 3, column 3: expected ',' or '}'`);

    run = await cli(['config', 'check', path.join(root, 'nope.json')]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /nope\.json: does not exist; create it, e\.g\. \{/);

    run = await cli(['config', 'check', root]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /: is a folder; give the path of a JSON file/);

    const closed = await file('closed.json', '{}');
    await chmod(closed, 0o000);
    // root reads every file; nobody (65534) does not.
    run = await cli(['config', 'check', closed], { as: process.getuid() === 0 ? 65534 : undefined });
    assert.equal(run.code, 1, JSON.stringify(run));
    assert.equal(run.stderr.trim(), `${closed}: cannot read it (Permission denied); check its permissions`);

    run = await cli(['config', 'check']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /FILE is missing\nUsage: adashta config check FILE/);
  });

  test('adashta edge --config stops at start with the lines config check prints', async () => {
    const where = await file('edge-bad.json', { maxOutbx: 1, queues: { orders: { retention: 'forever' } } });
    const check = await cli(['config', 'check', where]);
    const edge = await cli(['edge', '--config', where, '--http', `127.0.0.1:${await freePort()}`,
      '--mesh', `127.0.0.1:${await freePort()}`, '--data', path.join(root, 'unused')]);
    assert.equal(edge.code, 2, JSON.stringify(edge));
    // The file's key problems stop the edge before it reads its queues.
    const first = check.stderr.trim().split('\n')[0];
    assert.equal(edge.stderr.trim(), `adashta: bad_option: ${first}`);
    assert.ok(!existsSync(path.join(root, 'unused')), 'nothing was created');

    // A queue's mistake too, before the edge creates its data folder.
    const queues = await file('edge-bad-queue.json', { queues: { orders: { retention: 'forever' } } });
    const queueCheck = await cli(['config', 'check', queues]);
    const queueEdge = await cli(['edge', '--config', queues, '--http', `127.0.0.1:${await freePort()}`,
      '--mesh', `127.0.0.1:${await freePort()}`, '--data', path.join(root, 'unused')]);
    assert.equal(queueEdge.code, 2, JSON.stringify(queueEdge));
    assert.equal(queueEdge.stderr, `adashta: bad_option: ${queueCheck.stderr}`);
    assert.ok(!existsSync(path.join(root, 'unused')), 'nothing was created');
  });

  test('an edge started with only --config takes http, mesh and data from the file', async () => {
    const http = await freePort();
    const mesh = await freePort();
    const dir = path.join(root, 'only-config');
    await mkdir(dir);
    await writeFile(path.join(dir, 'adashta.json'), JSON.stringify({
      http: `127.0.0.1:${http}`, mesh: `127.0.0.1:${mesh}`, data: 'state', name: 'from-file',
    }));
    const edge = edgeWith(['--config', 'adashta.json'], { cwd: dir });
    try {
      await healthy(edge, http);
      assert.ok(existsSync(path.join(dir, 'state', 'store.db')), 'the data folder is the file\'s, relative to the working directory');
      const peers = await cli(['peers', '--json', '--seeds', `tcp://127.0.0.1:${mesh}`]);
      assert.equal(peers.code, 0, peers.stderr);
      assert.match(peers.stdout, /"name":"from-file","role":"edge"/);
    } finally {
      await edge.stop();
    }
  });

  test('the environment overrides the file, and a flag overrides the environment', async () => {
    const [fileHttp, envHttp, flagHttp, mesh] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const config = await file('precedence.json', { http: `127.0.0.1:${fileHttp}`, mesh: `127.0.0.1:${mesh}`, data: path.join(root, 'precedence-data'), maxOutbox: 1 << 20 });
    const env = { ADASHTA_CONFIG: config, ADASHTA_HTTP: `127.0.0.1:${envHttp}` };

    // Where each value comes from, as `config show` says.
    const show = await cli(['config', 'show', '--max-outbox', String(1 << 21)], { env: { ...env, ADASHTA_MAX_OUTBOX: String(1 << 22), ADASHTA_DURABLE: 'yes' } });
    assert.equal(show.code, 0, show.stderr);
    const row = (flag) => show.stdout.split('\n').find((line) => line.startsWith(`${flag} `))?.split(/\s+/);
    assert.deepEqual(row('--http').slice(3), [`127.0.0.1:${envHttp}`, 'env', 'ADASHTA_HTTP']);
    assert.deepEqual(row('--mesh').slice(3), [`127.0.0.1:${mesh}`, 'file', config]);
    assert.deepEqual(row('--max-outbox').slice(3), [String(1 << 21), 'flag', '--max-outbox']);
    assert.deepEqual(row('--durable').slice(3), ['true', 'env', 'ADASHTA_DURABLE']);
    assert.deepEqual(row('--beacon-port').slice(3), ['-', 'default']);

    // A variable's bad value names the variable.
    const bad = await cli(['config', 'show'], { env: { ADASHTA_MAX_OUTBOX: 'lots' } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /ADASHTA_MAX_OUTBOX: "lots" is not a whole number; allowed: a whole number from 65536/);

    // The real edge: the variable's port, not the file's; then the flag's, not the variable's.
    let edge = edgeWith([], { env });
    try {
      await healthy(edge, envHttp);
      await assert.rejects(fetch(`http://127.0.0.1:${fileHttp}/healthz`));
    } finally {
      await edge.stop();
    }
    edge = edgeWith(['--http', `127.0.0.1:${flagHttp}`], { env });
    try {
      await healthy(edge, flagHttp);
      await assert.rejects(fetch(`http://127.0.0.1:${envHttp}/healthz`));
    } finally {
      await edge.stop();
    }
  });

  test('a node\'s ADASHTA_NAME and ADASHTA_ADVERTISE do not become the edge\'s', async () => {
    const show = await cli(['config', 'show'], { env: { ADASHTA_NAME: 'orders', ADASHTA_ADVERTISE: 'tcp://10.0.0.9:7701', ADASHTA_EDGE_NAME: 'edge-7' } });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^--name\s+name\s+ADASHTA_EDGE_NAME\s+edge-7\s+env ADASHTA_EDGE_NAME$/m);
    assert.match(show.stdout, /^--advertise\s+advertise\s+ADASHTA_EDGE_ADVERTISE\s+-\s+default$/m);
  });

  test('command-line mistakes say what is wrong and where to look', async () => {
    const cases = [
      [['edge', '--htp', '127.0.0.1:1'], 2, /^adashta: bad_option: unknown flag --htp for `adashta edge` \(did you mean --http\?\); see adashta edge --help\n$/],
      [['edge', '--colour'], 2, /^adashta: bad_option: unknown flag --colour for `adashta edge`; see adashta edge --help\n$/],
      [['edge', '--http'], 2, /^adashta: bad_option: --http needs a value after it; see adashta edge --help\n$/],
      [['edge', '--data', '--durable'], 2, /^adashta: bad_option: --data needs a value after it; see adashta edge --help\n$/],
      [['edge', '--max-outbox', '5'], 2, /^adashta: bad_option: --max-outbox: 5 is out of range; allowed: a whole number from 65536 to 4294967296\n$/],
      [['edge', '--durable=yes'], 2, /^adashta: bad_option: --durable is a switch and takes no value; see adashta edge --help\n$/],
      [['fetch', '--limt', '3', 'q'], 2, /^adashta: bad_option: unknown flag --limt for `adashta fetch` \(did you mean --limit\?\)/],
      [['produce', 'news'], 2, /^adashta: bad_option: DATA is missing\nUsage: adashta produce QUEUE DATA \[--to CLIENT\] \[OPTIONS\]\nSee adashta produce --help\n$/],
      [['produce'], 2, /^adashta: bad_option: QUEUE and DATA are missing\nUsage: adashta produce /],
      [['produce', 'news', '{"n":'], 1, /^adashta: bad_data: DATA is not JSON: expected a value at the end; in a shell put JSON in single quotes, adashta produce news '\{"n":1\}'/],
      [['produce', 'news', '{n:1}'], 1, /^adashta: bad_data: DATA is not JSON: expected a string key at byte 2 \(n\)/],
      [['produce', 'news', 'hello'], 1, /DATA is not JSON: .*'"hi"'/],
    ];
    for (const [args, code, pattern] of cases) {
      const run = await cli(args);
      assert.equal(run.code, code, `adashta ${args.join(' ')}: ${JSON.stringify(run)}`);
      assert.match(run.stderr, pattern, `adashta ${args.join(' ')}`);
      assert.doesNotMatch(run.stderr, /outside its range|C\+\+|SDK/, 'no generic text, no SDK hint');
    }
  });

  test('a data or app folder that cannot be used names the folder and the reason', async () => {
    const notFolder = await file('not-a-folder', 'x');
    const ports = async () => ['--http', `127.0.0.1:${await freePort()}`, '--mesh', `127.0.0.1:${await freePort()}`];
    let run = await cli(['edge', path.join(root, 'no-such-app'), ...(await ports()), '--data', path.join(root, 'app-data')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^adashta: bad_option: app folder \(APP_DIR\) ".*no-such-app" cannot be served: No such file or directory\n$/);
    run = await cli(['edge', ...(await ports()), '--data', path.join(notFolder, 'data')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /^adashta: bad_option: cannot create data folder ".*not-a-folder\/data": Not a directory\n$/);
  });

  test('a port in use is one clear line that names --http or --mesh, before anything else', async () => {
    const holder = net.createServer();
    await new Promise((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = holder.address().port;
    try {
      const data = path.join(root, 'port-data');
      let run = await cli(['edge', '--http', `127.0.0.1:${taken}`, '--mesh', `127.0.0.1:${await freePort()}`, '--data', data]);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `adashta: bind_failed: --http 127.0.0.1:${taken}: port in use; pick another with --http HOST:PORT ` +
        '(or ADASHTA_HTTP), or stop the process that holds it (ss -ltnp shows which)\n');
      run = await cli(['edge', '--http', `127.0.0.1:${await freePort()}`, '--mesh', `127.0.0.1:${taken}`, '--data', data]);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `adashta: bind_failed: --mesh 127.0.0.1:${taken}: port in use; pick another with --mesh HOST:PORT ` +
        '(or ADASHTA_MESH), or stop the process that holds it (ss -ltnp shows which)\n');
      // From the environment, the message names the variable.
      run = await cli(['edge', '--mesh', `127.0.0.1:${await freePort()}`, '--data', data], { env: { ADASHTA_HTTP: `0.0.0.0:${taken}` } });
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`^adashta: bind_failed: ADASHTA_HTTP 0\\.0\\.0\\.0:${taken}: port in use;`));
      assert.ok(!existsSync(data), 'nothing was created');
    } finally {
      holder.close();
    }
  });
});

