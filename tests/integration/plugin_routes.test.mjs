// Plugin HTTP routes and browser assets under /plugins/NAME/ with a real edge on loopback
// (docs/plugins.md, "Routes and assets"): a Lua and a JavaScript plugin from the edge's
// config file; a file of a plugin's assets (GET and HEAD); a JSON body POSTed to on_http and
// the plugin's answer (its headers, but not the ones the edge owns); the 404s (no such
// plugin, no such route); 413 over the 1 MiB body cap and 411 for chunked bodies; a body
// that stalls ended with the request-head timeout; two
// pipelined requests answered in order; and a route that fails (its endless loop stopped at
// callMs) answering 500 while another connection is served meanwhile.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Edge, requireBinaries, withTimeout } from '../lib/cluster.mjs';

const luaMain = `
return {
  on_http = function(req)
    if req.path == "/echo" then
      local got = adashta.json.decode(req.body)
      return { status = 201,
               headers = { ["X-Plugin"] = adashta.name, ["Content-Length"] = "999", Connection = "close" },
               body = { got = got, method = req.method, n = req.query.n, type = req.headers["content-type"] } }
    end
    if req.path == "/spin" then while true do end end
    if req.path == "/error" then error("the route broke") end
    -- anything else: nothing, which is 404
  end,
}`;

const jsIndex = `
export async function on_http(req) {
  if (req.path === '/hello') {
    await new Promise((resolve) => setTimeout(resolve, 1));
    return { body: 'hello from ' + adashta.name + ' (' + req.method + ')', headers: { 'content-type': 'text/plain' } };
  }
  if (req.path === '/echo') return { body: { got: JSON.parse(req.body), query: req.query } };
}`;

/** Writes a plugin folder; returns its path. */
async function writePlugin(root, name, runtime, entry, code, extra = {}) {
  const folder = path.join(root, name);
  await mkdir(folder, { recursive: true });
  await writeFile(path.join(folder, entry), code);
  await writeFile(path.join(folder, 'adashta-plugin.json'), JSON.stringify({
    name, version: '1.0.0', runtime, entry, hooks: ['on_http'], permissions: ['routes'], ...extra,
  }));
  return folder;
}

/** Sends raw bytes on a new connection; resolves with everything the edge sent until it closed
 *  or until `until(text)` holds. */
function raw(port, bytes, { until = () => false, timeout = 15000 } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      text += chunk;
      if (until(text)) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', (err) => (text ? resolve(text) : reject(err)));
    socket.on('close', () => resolve(text));
  }), timeout, 'a raw HTTP exchange');
}

describe('plugin routes and assets', () => {
  let dir;
  let edge;

  before(async () => {
    requireBinaries();
    dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-plugin-routes-'));
    const lua = await writePlugin(dir, 'lua-routes', 'lua', 'main.lua', luaMain,
      { assets: 'web', limits: { callMs: 300 } });
    await mkdir(path.join(lua, 'web'), { recursive: true });
    await writeFile(path.join(lua, 'web', 'index.html'), '<!doctype html><title>lua</title>');
    await writeFile(path.join(lua, 'web', 'chart.js'), 'export const chart = 1;\n');
    const js = await writePlugin(dir, 'js-routes', 'js', 'index.mjs', jsIndex, { limits: { callMs: 5000 } });
    const config = path.join(dir, 'adashta.json');
    await writeFile(config, JSON.stringify({ plugins: [{ path: lua }, { path: js }] }));
    edge = new Edge({ args: ['--config', config] });
    await edge.start();
    await edge.waitReady();
  });

  after(async () => {
    await edge?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a file of the assets folder is served, with its type, for GET and HEAD', async () => {
    let r = await fetch(`${edge.url}/plugins/lua-routes/chart.js`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/javascript/);
    assert.equal(await r.text(), 'export const chart = 1;\n');
    r = await fetch(`${edge.url}/plugins/lua-routes/`);
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<title>lua<\/title>/);
    r = await fetch(`${edge.url}/plugins/lua-routes/chart.js`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-length'), String('export const chart = 1;\n'.length));
    // Nothing outside the folder.
    const text = await raw(edge.httpPort, 'GET /plugins/lua-routes/../main.lua HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.doesNotMatch(text, /on_http/);
  });

  test('a JSON body POSTed to a Lua route gets the plugin\'s answer, without the headers the edge owns', async () => {
    const r = await fetch(`${edge.url}/plugins/lua-routes/echo?n=7`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'hi', list: [1, 2] }),
    });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.equal(r.headers.get('x-plugin'), 'lua-routes');
    assert.notEqual(r.headers.get('connection'), 'close');
    const body = await r.text();
    assert.equal(r.headers.get('content-length'), String(Buffer.byteLength(body)));
    assert.deepEqual(JSON.parse(body), { got: { text: 'hi', list: [1, 2] }, method: 'POST', n: '7', type: 'application/json' });
  });

  test('a JavaScript route answers, async, with text and with JSON', async () => {
    let r = await fetch(`${edge.url}/plugins/js-routes/hello`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/plain');
    assert.equal(await r.text(), 'hello from js-routes (GET)');
    r = await fetch(`${edge.url}/plugins/js-routes/echo?a=1&b=x+y`, { method: 'PUT', body: '{"n":5}' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    assert.deepEqual(await r.json(), { got: { n: 5 }, query: { a: '1', b: 'x y' } });
  });

  test('404s say what is missing: the plugin, or its route', async () => {
    let r = await fetch(`${edge.url}/plugins/nope/x`);
    assert.equal(r.status, 404);
    assert.equal(await r.text(), 'no plugin nope is loaded\n');
    r = await fetch(`${edge.url}/plugins/lua-routes/missing.txt`);
    assert.equal(r.status, 404);
    assert.equal(await r.text(), 'plugin lua-routes has no route GET /missing.txt\n');
    r = await fetch(`${edge.url}/plugins/js-routes/other`, { method: 'DELETE' });
    assert.equal(r.status, 404);
    assert.equal(await r.text(), 'plugin js-routes has no route DELETE /other\n');
    // Outside /plugins/ the edge still serves GET and HEAD only.
    r = await fetch(`${edge.url}/healthz`, { method: 'POST', body: 'x' });
    assert.equal(r.status, 405);
  });

  test('a body over 1 MiB gets 413 naming the cap; a chunked one 411', async () => {
    let text = await raw(edge.httpPort,
      'POST /plugins/lua-routes/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 413 /);
    assert.match(text, /at most 1048576 bytes/);
    text = await raw(edge.httpPort,
      'POST /plugins/lua-routes/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 411 /);
    assert.match(text, /Content-Length/);
    // Exactly the cap is taken.
    const body = JSON.stringify({ pad: 'x'.repeat((1 << 20) - 10) });
    assert.equal(Buffer.byteLength(body), 1 << 20);
    const r = await fetch(`${edge.url}/plugins/js-routes/echo`, { method: 'POST', body });
    assert.equal(r.status, 200);
    assert.equal((await r.json()).got.pad.length, (1 << 20) - 10);
  });

  test('a body that stops coming counts toward the request-head timeout (10 s), and others are served', async () => {
    const socket = net.connect(edge.httpPort, '127.0.0.1');
    const closed = new Promise((resolve) => socket.on('close', resolve));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => { text += chunk; });
    socket.on('error', () => {});
    socket.write('POST /plugins/lua-routes/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"partial":');
    // Meanwhile the edge serves everyone else.
    const r = await fetch(`${edge.url}/plugins/lua-routes/echo`, { method: 'POST', body: '{"n":1}' });
    assert.equal(r.status, 201);
    await withTimeout(closed, 30000, 'the edge ending a request whose body stalled');
    assert.equal(text, '', 'no answer for a request whose body never came');
  });

  test('pipelined requests on one connection are answered in their order', async () => {
    const one = '{"text":"first"}';
    const text = await raw(edge.httpPort,
      `POST /plugins/lua-routes/echo HTTP/1.1\r\nHost: x\r\nContent-Length: ${one.length}\r\n\r\n${one}` +
      'GET /plugins/js-routes/hello HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /plugins/lua-routes/chart.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const first = text.indexOf('"first"');
    const second = text.indexOf('hello from js-routes');
    const third = text.indexOf('export const chart');
    assert.ok(first > 0 && second > first && third > second, text);
    assert.equal(text.match(/HTTP\/1\.1 \d{3} /g).length, 3, text);
  });

  test('a failing route gets 500 with its reason while another connection is served', async () => {
    const order = [];
    const failing = fetch(`${edge.url}/plugins/lua-routes/spin`).then(async (r) => {
      order.push('spin');
      return { status: r.status, body: await r.text() };
    });
    const other = fetch(`${edge.url}/plugins/js-routes/hello`).then(async (r) => {
      order.push('other');
      return { status: r.status, body: await r.text() };
    });
    const [spun, served] = await Promise.all([failing, other]);
    assert.equal(served.status, 200);
    assert.equal(served.body, 'hello from js-routes (GET)');
    assert.equal(spun.status, 500);
    assert.match(spun.body, /^plugin lua-routes failed: on_http: stopped after its 300 ms limit/);
    assert.deepEqual(order, ['other', 'spin']);
    const r = await fetch(`${edge.url}/plugins/lua-routes/error`);
    assert.equal(r.status, 500);
    assert.equal(await r.text(), 'plugin lua-routes failed: on_http: lua-routes/main.lua:11: the route broke\n');
    // The plugin serves on after its failures.
    assert.equal((await fetch(`${edge.url}/plugins/lua-routes/chart.js`)).status, 200);
  });
});
