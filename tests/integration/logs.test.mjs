// Integration: log lines as JSON (--log-format json, ADASHTA_LOG_FORMAT=json) and the lowest
// level written (--log-level, ADASHTA_LOG_LEVEL), on a real edge and a real C++ SDK node.
//
//   cd tests && node --test integration/logs.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// Every stderr line is read, from start to exit: in JSON mode each must be one object with
// exactly ts, level, component and msg, through a refused request whose text needs escaping,
// libwebsockets' own lines, a failed start and the shutdown.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  Child, Edge, adashtaBin, echoBin, freePort, requireBinaries, waitFor, withTimeout,
} from '../lib/cluster.mjs';

const LEVELS = ['debug', 'info', 'warn', 'error'];

/** Every line `child` writes to stderr, as it comes; attach right after starting it. */
function stderrLines(child) {
  const lines = [];
  let partial = '';
  child.process.stderr.on('data', (chunk) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop();
    lines.push(...parts);
  });
  child.process.stderr.on('end', () => { if (partial) lines.push(partial); });
  return lines;
}

/**
 * The lines without a LeakSanitizer report, which a sanitizer build (build-asan) prints at
 * exit after a failed start: libwebsockets 4.1 leaks 96 bytes when its context cannot bind.
 * The report is the sanitizer's, not a log line; anything else stays.
 */
function withoutLeakReport(lines) {
  const start = lines.findIndex((l, i) => /^==\d+==ERROR: LeakSanitizer/.test(lines[i + 1] ?? '') && /^=+$/.test(l));
  if (start < 0) return lines;
  const end = lines.findIndex((l, i) => i > start && /^SUMMARY: AddressSanitizer: .* leaked/.test(l));
  assert.ok(end > start, `a LeakSanitizer report without its SUMMARY line:\n${lines.join('\n')}`);
  const rest = [...lines.slice(0, start), ...lines.slice(end + 1)];
  // It comes with a blank line before and after.
  return rest.filter((l, i) => !(l === '' && (i === start - 1 || i === start)));
}

/** Each line parsed; fails naming the first line that is not a well-formed JSON record. */
function records(lines) {
  assert.ok(lines.length > 0, 'nothing was logged');
  return lines.map((line) => {
    let record;
    try {
      record = JSON.parse(line);
    } catch (err) {
      assert.fail(`a stderr line is not JSON (${err.message}): ${line}`);
    }
    assert.deepEqual(Object.keys(record), ['ts', 'level', 'component', 'msg'], line);
    assert.match(record.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, line);
    assert.ok(Math.abs(Date.parse(record.ts) - Date.now()) < 120000, `ts is not now: ${line}`);
    assert.ok(LEVELS.includes(record.level), line);
    assert.ok(typeof record.component === 'string' && record.component.length > 0, line);
    assert.equal(typeof record.msg, 'string', line);
    return record;
  });
}

/** Sends raw bytes as one HTTP request; resolves with what came back once the edge closes. */
function rawRequest(port, bytes) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { answer += chunk; });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  }), 10000, 'the edge to answer a raw request and close');
}

/** A WebSocket upgrade whose Origin (raw bytes) the edge refuses and logs. */
function refusedUpgrade(port, origin) {
  return rawRequest(port, Buffer.concat([
    Buffer.from(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: `),
    Buffer.from(origin, 'latin1'),
    Buffer.from('\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'),
  ]));
}

/** An edge with `args` and `env`, its stderr lines kept; stop() ends it and removes its data. */
async function startEdge(t, { args = [], env = {} } = {}) {
  requireBinaries();
  const edge = new Edge({ args });
  const saved = { ...process.env };
  Object.assign(process.env, env);  // Child passes process.env on to the edge
  try {
    await edge.start();
  } finally {
    for (const name of Object.keys(env)) {
      if (name in saved) process.env[name] = saved[name];
      else delete process.env[name];
    }
  }
  const lines = stderrLines(edge.child);
  t.after(() => edge.destroy());
  await edge.waitReady();
  return { edge, lines };
}

test('with --log-format json every line of an edge, from start to shutdown, is a JSON record', { timeout: 60000 }, async (t) => {
  const { edge, lines } = await startEdge(t, { args: ['--log-format', 'json'] });
  // A refused Origin is logged with the text the client sent: quotes, a backslash and a byte
  // that is not UTF-8 must not break the line.
  const answer = await refusedUpgrade(edge.httpPort, 'http://ev"il\\.example/\xff');
  assert.match(answer, /^HTTP\/1\.[01] 403/);
  assert.match(await rawRequest(edge.httpPort, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.[01] 4\d\d/);
  await waitFor(() => lines.some((l) => l.includes('refused a WebSocket')), { what: 'the refusal to be logged' });
  assert.deepEqual(await edge.child.stop(), { code: 0, signal: null });

  const logged = records(lines);
  const messages = logged.map((r) => r.msg);
  assert.ok(messages.includes('ready'), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith(`serving browsers on http://127.0.0.1:${edge.httpPort}`)), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith('stopping (signal')), 'the shutdown is logged');
  const refusal = logged.find((r) => r.msg.startsWith('refused a WebSocket'));
  assert.equal(refusal.msg, 'refused a WebSocket from origin "http://ev"il\\.example/\ufffd": not in allowedOrigins');
  assert.equal(refusal.level, 'info');
  assert.equal(refusal.component, 'edge');
  assert.ok(!logged.some((r) => r.level === 'debug'), 'debug lines are hidden by default');
});

test('--log-level warn hides info lines; a bad ADASHTA_LOG_LEVEL is said once, as a warning', { timeout: 60000 }, async (t) => {
  const { edge, lines } = await startEdge(t, {
    args: ['--log-format', 'json', '--log-level', 'warn'], env: { ADASHTA_LOG_LEVEL: 'loud' },
  });
  await refusedUpgrade(edge.httpPort, 'http://elsewhere.example');  // an info line, hidden
  assert.deepEqual(await edge.child.stop(), { code: 0, signal: null });

  const logged = records(lines);
  assert.deepEqual(logged.filter((r) => r.level === 'info' || r.level === 'debug'), []);
  const complaints = logged.filter((r) => r.msg.includes('ADASHTA_LOG_LEVEL="loud"'));
  assert.equal(complaints.length, 1, lines.join('\n'));
  assert.equal(complaints[0].level, 'warn');
  assert.match(complaints[0].msg, /is not debug, info, warn or error, so it is ignored/);
});

test('ADASHTA_LOG_FORMAT and ADASHTA_LOG_LEVEL alone set an edge\'s logs; text stays the default', { timeout: 60000 }, async (t) => {
  const json = await startEdge(t, { env: { ADASHTA_LOG_FORMAT: 'json', ADASHTA_LOG_LEVEL: 'debug' } });
  assert.deepEqual(await json.edge.child.stop(), { code: 0, signal: null });
  const logged = records(json.lines);
  assert.ok(logged.some((r) => r.level === 'debug'), 'ADASHTA_LOG_LEVEL=debug shows debug lines');

  const text = await startEdge(t);
  assert.deepEqual(await text.edge.child.stop(), { code: 0, signal: null });
  assert.ok(text.lines.length > 0);
  for (const line of text.lines) {
    assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ (info|warn|error): /, line);
  }
});

test('a C++ SDK node logs JSON lines with ADASHTA_LOG_FORMAT=json', { timeout: 60000 }, async (t) => {
  const { edge } = await startEdge(t);
  const echo = new Child('echo', echoBin, [], {
    ADASHTA_SEEDS: edge.meshEndpoint, ADASHTA_LOG_FORMAT: 'json', ADASHTA_LOG_LEVEL: 'debug',
  });
  const lines = stderrLines(echo);
  t.after(() => echo.stop({ signal: 'SIGKILL' }));
  await edge.waitReady({ nodes: 1 });
  await waitFor(() => lines.some((l) => l.includes('joined')), { what: 'the node to log that the edge joined' });
  await echo.stop();
  // The example prints its own "echo: ..." line with std::cerr; everything else is the SDK's.
  const logged = records(lines.filter((l) => !l.startsWith('echo: ')));
  assert.ok(logged.some((r) => r.component === 'mesh' && r.level === 'debug'), lines.join('\n'));
});

test('a failed start is JSON too, and no raw libwebsockets line comes before the error', { timeout: 60000 }, async (t) => {
  requireBinaries();
  // The HTTP port is taken: the edge's own check says so before libwebsockets tries.
  const holder = net.createServer();
  const port = await freePort();
  await new Promise((resolve) => holder.listen(port, '127.0.0.1', resolve));
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'adashta-logs-'));
  t.after(async () => {
    holder.close();
    await rm(dataDir, { recursive: true, force: true });
  });
  const start = async (args) => {
    const child = new Child('edge', adashtaBin, ['edge', '--http', `127.0.0.1:${port}`,
      '--mesh', `127.0.0.1:${await freePort()}`, '--data', dataDir, ...args]);
    const lines = stderrLines(child);
    const exit = await withTimeout(child.exit, 15000, 'the edge to give up on a taken port');
    await new Promise((resolve) => setImmediate(resolve));  // the last 'data' events
    return { exit, lines: withoutLeakReport(lines) };
  };

  const json = await start(['--log-format', 'json', '--log-level', 'debug']);
  assert.equal(json.exit.code, 1);
  const logged = records(json.lines);
  assert.equal(logged.length, json.lines.length, `every line is a JSON record:\n${json.lines.join('\n')}`);
  const last = logged.at(-1);
  assert.equal(last.level, 'error');
  assert.match(last.msg, /^bind_failed: .*127\.0\.0\.1:\d+/);

  // At the default level, libwebsockets' bind errors do not come before the edge's own.
  const text = await start([]);
  assert.equal(text.exit.code, 1);
  assert.deepEqual(text.lines.filter((l) => / lws /.test(l)), [], text.lines.join('\n'));
  assert.match(text.lines.at(-1), /^adashta: bind_failed: /);
});
