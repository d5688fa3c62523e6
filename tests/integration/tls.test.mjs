// Integration: an edge with --tls-cert / --tls-key serves HTTPS and WSS. The test makes a
// self-signed certificate for 127.0.0.1 and localhost with openssl; every client trusts that
// certificate alone: node's https and the ws package through `ca`, headless Chromium through
// an SPKI pin (--ignore-certificate-errors-spki-list), not by ignoring certificate errors.
//
//   cd tests && node --test integration/tls.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// One edge with the C++ echo node behind it: /healthz, /metrics, /adashta.js and the app
// folder over HTTPS; the browser protocol over WSS, by hand and from adashta.js in a page
// loaded from https://; plain HTTP on the same port is redirected, never served. Bad
// certificate flags stop the edge at start with an error naming the file.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import {
  Edge, WsClient, freePort, httpsGet, repoDir, requireBinaries, runCli, startEchoNode, waitFor, withTimeout,
} from '../lib/cluster.mjs';
import { launchChromium } from '../lib/browser.mjs';

const run = promisify(execFile);
const pagesDir = path.join(repoDir, 'tests/e2e/pages');

/** A self-signed P-256 certificate and its key, written by openssl to dir/NAME.{crt,key}. */
async function makeCertificate(dir, name, { subjectAltName = 'IP:127.0.0.1,DNS:localhost' } = {}) {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', `subjectAltName=${subjectAltName}`], { timeout: 10000 });
  return { cert, key };
}

/** What Chromium's --ignore-certificate-errors-spki-list wants: base64 SHA-256 of the SPKI. */
function spkiPin(pem) {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** A plain-HTTP request to the TLS port; resolves with { status, headers, body }. */
function plainRequest(port, method, pathname) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, method, path: pathname, timeout: 5000, agent: false },
      (response) => {
        let body = '';
        response.on('data', (chunk) => { body += chunk; });
        response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body }));
      });
    request.on('timeout', () => request.destroy(new Error(`plain ${method} ${pathname} got no answer in 5 s`)));
    request.on('error', reject);
    request.end(method === 'POST' ? '{}' : undefined);
  });
}

describe('an edge with --tls-cert and --tls-key', { timeout: 120000 }, () => {
  let dir;
  let appDir;
  let certificate;
  let edge;
  let echo;
  let browser;

  before(async () => {
    requireBinaries();
    dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-tls-'));
    appDir = path.join(dir, 'app');
    await cp(pagesDir, appDir, { recursive: true });
    await writeFile(path.join(appDir, 'hello.txt'), 'hello over https\n');
    certificate = await makeCertificate(dir, 'localhost');
    edge = new Edge({ appDir, tls: certificate });
    await edge.start();
    echo = startEchoNode(edge.meshPort);
    await edge.waitReady({ nodes: 1 });
  }, { timeout: 60000 });

  after(async () => {
    await browser?.close();
    await echo?.stop();
    await edge?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs body; a failure also shows the edge's and the echo node's output. */
  async function explained(body) {
    try {
      return await body();
    } catch (err) {
      err.message += '\n' + edge.child.describe() + '\n' + echo.describe();
      throw err;
    }
  }

  test('says at start that it serves https, with the certificate', async () => {
    await waitFor(() => edge.child.output.includes('ready'), { what: 'the edge to log ready' });
    assert.match(edge.child.output, new RegExp(`serving browsers on https://127\\.0\\.0\\.1:${edge.httpPort}`));
    assert.match(edge.child.output, /TLS certificate CN ?= ?localhost, valid until /);
  });

  test('/healthz, /metrics, /adashta.js and app files come over HTTPS, checked against the certificate', () =>
    explained(async () => {
      const health = await httpsGet(`${edge.url}/healthz`, { ca: edge.ca });
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).status, 'ok');
      const metrics = await httpsGet(`${edge.url}/metrics`, { ca: edge.ca });
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^adashta_/m);
      const sdk = await httpsGet(`${edge.url}/adashta.js`, { ca: edge.ca });
      assert.equal(sdk.status, 200);
      assert.match(sdk.body, /adashta\.js/);
      const file = await httpsGet(`${edge.url}/hello.txt`, { ca: edge.ca });
      assert.equal(file.status, 200);
      assert.equal(file.body, 'hello over https\n');
      // The name is in the certificate too (subjectAltName DNS:localhost).
      const byName = await httpsGet(`https://localhost:${edge.httpPort}/healthz`, { ca: edge.ca });
      assert.equal(byName.status, 200);
    }));

  test('a client that does not trust the certificate is refused by its own check', async () => {
    await assert.rejects(httpsGet(`${edge.url}/healthz`), (err) =>
      /self[- ]signed|unable to verify/i.test(`${err.code} ${err.message}`));
  });

  test('a WSS client does a round trip through the C++ echo node', () => explained(async () => {
    const client = await WsClient.connect(edge);
    try {
      assert.match(client.url, /^wss:\/\//);
      await client.hello();
      assert.equal((await client.request({ type: 'consume', queue: 'echo' })).type, 'ack');
      const sent = { over: 'wss', n: 7, text: 'héllo ✓' };
      // The echo node may not have the edge's Hello yet (it then drops the message, which
      // comes again after the visibility timeout): produce until one comes back.
      const reply = await waitFor(async () => {
        const ack = await client.request({ type: 'produce', queue: 'echo', data: sent });
        if (ack.type !== 'ack') return null;
        return client.take((f) => f.type === 'message' && f.queue === 'echo', { timeout: 2500 }).catch(() => null);
      }, { timeout: 30000, what: 'the echo node to answer over wss' });
      assert.deepEqual(reply.data, sent);
    } finally {
      await client.close();
    }
  }));

  test('plain HTTP on the HTTPS port is redirected to https://, and nothing is served over it', () =>
    explained(async () => {
      const answer = await plainRequest(edge.httpPort, 'GET', '/healthz');
      assert.equal(answer.status, 301);
      assert.match(answer.headers.location, new RegExp(`^https://127\\.0\\.0\\.1:${edge.httpPort}/`));
      assert.doesNotMatch(answer.body, /"status"/);

      // A plain WebSocket gets no upgrade: its handshake fails with a 403, at once.
      const ws = new WebSocket(`ws://127.0.0.1:${edge.httpPort}/ws`);
      const outcome = await withTimeout(new Promise((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('unexpected-response', (request, response) => resolve(`http ${response.statusCode}`));
        ws.once('error', (err) => resolve(`error ${err.message}`));
      }), 5000, 'a plain WebSocket on the HTTPS port to be refused');
      ws.terminate();
      assert.notEqual(outcome, 'open');
      assert.equal(outcome, 'http 403');

      // Any other method is redirected too, and served nothing.
      const post = await plainRequest(edge.httpPort, 'POST', '/healthz');
      assert.equal(post.status, 301);
      assert.doesNotMatch(post.body, /"status"/);

      // The edge goes on serving HTTPS.
      assert.equal((await httpsGet(`${edge.url}/healthz`, { ca: edge.ca })).status, 200);
    }));

  test('a page loaded from https:// connects with adashta.js over wss:// and round-trips', { timeout: 60000 }, () =>
    explained(async () => {
      browser = await launchChromium({ args: [`--ignore-certificate-errors-spki-list=${spkiPin(edge.ca)}`] });
      const context = await browser.newContext();
      const page = await context.newPage();
      const pageErrors = [];
      const sockets = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      page.on('websocket', (ws) => sockets.push(ws.url()));
      const response = await page.goto(`${edge.url}/classic.html`);
      assert.equal(response.status(), 200);
      assert.match(page.url(), /^https:\/\//);
      await page.waitForFunction(() => window.adashta && window.e2e);
      await page.evaluate(() => e2e.start(adashta.connect));
      await page.waitForFunction(() => e2e.client.connected, null, { timeout: 15000 });
      const sent = { from: 'https page', n: 3 };
      await page.evaluate(async (data) => {
        await e2e.consume('echo');
        return e2e.produceUntilConsumed('echo', data, 20000);
      }, sent);
      const reply = await page.waitForFunction(() => e2e.received.echo[0], null, { timeout: 20000 });
      assert.deepEqual((await reply.jsonValue()).data, sent);
      assert.deepEqual(sockets, [`wss://127.0.0.1:${edge.httpPort}/ws`], 'the SDK picked wss:// for an https:// page');
      assert.deepEqual(pageErrors, []);
      await context.close();
    }));
});

describe('TLS files are checked at start: unusable ones stop the edge naming the file, an expired one warns', { timeout: 60000 }, () => {
  let dir;
  let good;
  let other;

  before(async () => {
    requireBinaries();
    dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-tls-bad-'));
    good = await makeCertificate(dir, 'good');
    other = await makeCertificate(dir, 'other');
    await writeFile(path.join(dir, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
  });

  after(() => rm(dir, { recursive: true, force: true }));

  /** `adashta edge` with tlsArgs on free ports; it must exit at once, not serve. */
  async function startFails(tlsArgs) {
    const httpPort = await freePort();
    const result = await runCli(['edge', '--http', `127.0.0.1:${httpPort}`, '--mesh', `127.0.0.1:${await freePort()}`,
      '--data', path.join(dir, 'data'), ...tlsArgs], { timeout: 10000 });
    assert.notEqual(result.code, 0, `the edge started: ${result.stderr}`);
    assert.notEqual(result.code, 'killed', 'the edge ran until killed instead of refusing to start');
    return result;
  }

  test('a certificate without a key', async () => {
    const { code, stderr } = await startFails(['--tls-cert', good.cert]);
    assert.equal(code, 2);
    assert.match(stderr, /--tls-cert \S+good\.crt needs --tls-key/);
  });

  test('a key without a certificate', async () => {
    const { stderr } = await startFails(['--tls-key', good.key]);
    assert.match(stderr, /--tls-key \S+good\.key needs --tls-cert/);
  });

  test('a certificate file that is not there', async () => {
    const missing = path.join(dir, 'missing.crt');
    const { stderr } = await startFails(['--tls-cert', missing, '--tls-key', good.key]);
    assert.ok(stderr.includes(`--tls-cert ${missing}: cannot read it (No such file or directory)`), stderr);
  });

  test('a key that is not the certificate\'s', async () => {
    const { stderr } = await startFails(['--tls-cert', good.cert, '--tls-key', other.key]);
    assert.ok(stderr.includes(`--tls-key ${other.key} is not the key of the certificate in --tls-cert ${good.cert}`), stderr);
  });

  test('a file that is no PEM certificate, and a certificate given as the key', async () => {
    const garbage = path.join(dir, 'garbage.pem');
    let { stderr } = await startFails(['--tls-cert', garbage, '--tls-key', good.key]);
    assert.ok(stderr.includes(`--tls-cert ${garbage} holds no PEM certificate`), stderr);
    ({ stderr } = await startFails(['--tls-cert', good.cert, '--tls-key', good.cert]));
    assert.ok(stderr.includes(`--tls-key ${good.cert} holds no unencrypted PEM private key`), stderr);
  });

  test('an expired certificate starts the edge with a warning that says so', async () => {
    const key = path.join(dir, 'expired.key');
    const csr = path.join(dir, 'expired.csr');
    const cert = path.join(dir, 'expired.crt');
    await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', key], { timeout: 10000 });
    await run('openssl', ['req', '-new', '-key', key, '-subj', '/CN=expired', '-out', csr], { timeout: 10000 });
    await run('openssl', ['x509', '-req', '-in', csr, '-signkey', key, '-days', '-1', '-out', cert], { timeout: 10000 });
    const edge = new Edge({ tls: { cert, key } });
    try {
      await edge.start();
      await waitFor(() => edge.child.exited || edge.child.output.includes(' ready'), { what: 'the edge to start' });
      assert.ok(!edge.child.exited, edge.child.describe());
      assert.ok(edge.child.output.includes(`warn: the certificate in ${cert} expired on `), edge.child.describe());
      // Clients checking the certificate refuse it, as browsers would.
      await assert.rejects(httpsGet(`${edge.url}/healthz`, { ca: edge.ca }), (err) => err.code === 'CERT_HAS_EXPIRED');
    } finally {
      await edge.destroy();
    }
  });

  test('an encrypted key is refused, not prompted for', async () => {
    const encrypted = path.join(dir, 'encrypted.key');
    await run('openssl', ['pkey', '-in', good.key, '-out', encrypted, '-aes256', '-passout', 'pass:secret'], { timeout: 10000 });
    assert.match(await readFile(encrypted, 'utf8'), /ENCRYPTED/);
    const { stderr } = await startFails(['--tls-cert', good.cert, '--tls-key', encrypted]);
    assert.ok(stderr.includes(`--tls-key ${encrypted} holds no unencrypted PEM private key`), stderr);
  });
});
