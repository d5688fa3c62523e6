// Integration: the edge's browser WebSocket (/ws) and its HTTP parser against raw bytes that
// break RFC 6455 and RFC 9110: each gets the answer the RFC asks for (a close frame with the
// code, or an HTTP status) before the TCP connection ends, and the edge keeps serving others.
//
//   cd tests && node --test integration/websocket_strict.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// The edge parses HTTP/1.1 and WebSocket frames itself (edge/src/client_socket.hpp), so the
// cases libwebsockets 4.1 dropped without an answer (an unmasked frame, a 64-bit length with
// its top bit set, a control frame over 125 bytes, headers past 4096 bytes) are answered too.
// docs/protocol.md ("WebSocket strictness") lists the answers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import { Edge, WsClient, requireBinaries } from '../lib/cluster.mjs';

const MAX_FRAME = 65536;
const ANSWER_TIMEOUT = 6000;  // the edge drops a peer that does not answer its close after 5 s
const CASE_TIMEOUT = 20000;

/** One client frame: FIN set, masked unless told; `length` overrides the announced length. */
function clientFrame(opcode, payload = Buffer.alloc(0), { mask = true, length } = {}) {
  const announced = length ?? BigInt(payload.length);
  let header;
  if (announced < 126n) {
    header = Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | Number(announced)]);
  } else if (announced < 65536n) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = (mask ? 0x80 : 0) | 126;
    header.writeUInt16BE(Number(announced), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = (mask ? 0x80 : 0) | 127;
    header.writeBigUInt64BE(announced, 2);
  }
  if (!mask) return Buffer.concat([header, payload]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ key[i % 4]));
  return Buffer.concat([header, key, masked]);
}

/** A close frame's payload: the code, then the reason. */
function closePayload(code, reason = '') {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2);
  return payload;
}

/**
 * A raw WebSocket on `path`: resolves once the 101 came, with the socket and `answer`, a
 * promise of what the edge sends until it ends the TCP connection: { frames, close } where
 * close is { code, reason } of its close frame, or null when it sent none.
 */
function rawWebSocket(port, path = '/ws') {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    const frames = [];
    let endAnswer;
    const answer = new Promise((r) => { endAnswer = r; });
    const timer = setTimeout(() => {
      socket.destroy();
      endAnswer({ frames, close: frames.find((f) => f.opcode === 8)?.close ?? null, timedOut: true });
    }, ANSWER_TIMEOUT);
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString('latin1');
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(`no upgrade: ${head.slice(0, 200)}`));
          socket.destroy();
          return;
        }
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        resolve({ socket, answer });
      }
      // Server frames are never masked; the edge's are short (no 64-bit lengths here).
      while (buffer.length >= 2) {
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        }
        if (buffer.length < offset + length) return;
        const opcode = buffer[0] & 0x0f;
        const payload = buffer.subarray(offset, offset + length);
        const frame = { opcode, payload };
        if (opcode === 8)
          frame.close = payload.length >= 2
            ? { code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() }
            : { code: null, reason: '' };
        frames.push(frame);
        buffer = buffer.subarray(offset + length);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      if (!upgraded) reject(new Error('the connection closed before the upgrade'));
      endAnswer({ frames, close: frames.find((f) => f.opcode === 8)?.close ?? null, timedOut: false });
    });
  });
}

/** Sends `request` (bytes) as is; resolves with the status line and what followed, at TCP close. */
function rawHttp(port, request) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => { text += chunk; });
    socket.on('error', () => {});
    const timer = setTimeout(() => socket.destroy(), ANSWER_TIMEOUT);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ statusLine: text.split('\r\n')[0], text });
    });
  });
}

describe('WebSocket and HTTP strictness', { timeout: 120000 }, () => {
  let edge;

  before(async () => {
    requireBinaries();
    edge = new Edge({ args: ['--max-frame', String(MAX_FRAME)] });
    await edge.start();
    await edge.waitReady();
  });

  after(async () => {
    await edge?.destroy();
  });

  /** Another client is served as before: a hello gets its welcome, /healthz says ok. */
  async function assertStillServing() {
    const client = await WsClient.connect(edge);
    const welcome = await client.hello();
    assert.equal(welcome.type, 'welcome');
    await client.close();
    assert.equal(JSON.parse((await edge.get('/healthz')).body).status, 'ok');
  }

  /** Sends `bytes` on a fresh /ws connection; resolves with the edge's answer. */
  async function sendOnWs(bytes) {
    const { socket, answer } = await rawWebSocket(edge.httpPort);
    socket.write(bytes);
    return answer;
  }

  function assertClosedWith(answer, code) {
    assert.ok(answer.close, `a close frame before the TCP close; got frames ` +
      `${JSON.stringify(answer.frames.map((f) => f.opcode))}${answer.timedOut ? ' and no TCP close' : ''}`);
    assert.equal(answer.close.code, code, `close code; reason "${answer.close.reason}"`);
    assert.equal(answer.timedOut, false, 'the edge ends the TCP connection after its close frame');
  }

  test('a close frame with code 5000 is answered with close 1002', { timeout: CASE_TIMEOUT }, async () => {
    const answer = await sendOnWs(clientFrame(8, closePayload(5000, 'bad code')));
    assertClosedWith(answer, 1002);
    await assertStillServing();
  });

  test('close codes that are never sent (1005, 1006, 2999, 65535) get 1002; 1000 and 4000 are echoed',
    { timeout: CASE_TIMEOUT }, async () => {
      for (const code of [1005, 1006, 2999, 65535]) assertClosedWith(await sendOnWs(clientFrame(8, closePayload(code))), 1002);
      for (const code of [1000, 4000]) assertClosedWith(await sendOnWs(clientFrame(8, closePayload(code))), code);
      await assertStillServing();
    });

  test('a close frame of one byte (half a code) is answered with close 1002', { timeout: CASE_TIMEOUT }, async () => {
    const answer = await sendOnWs(clientFrame(8, Buffer.from([0x03])));
    assertClosedWith(answer, 1002);
    await assertStillServing();
  });

  test('a frame header announcing 2^63 - 1 bytes is answered with close 1009 before its payload',
    { timeout: CASE_TIMEOUT }, async () => {
      const answer = await sendOnWs(clientFrame(1, Buffer.from('{"type":'), { length: 2n ** 63n - 1n }));
      assertClosedWith(answer, 1009);
      await assertStillServing();
    });

  test('a frame header announcing one byte over --max-frame gets 1009 at its first piece',
    { timeout: CASE_TIMEOUT }, async () => {
      const answer = await sendOnWs(clientFrame(1, Buffer.from('{"type":'), { length: BigInt(MAX_FRAME + 1) }));
      assertClosedWith(answer, 1009);
      await assertStillServing();
    });

  test('a request URI of 100 KB is answered 414 URI Too Long', { timeout: CASE_TIMEOUT }, async () => {
    const { statusLine } = await rawHttp(edge.httpPort,
      `GET /${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.match(statusLine, /^HTTP\/1\.[01] 414 /);
    await assertStillServing();
  });

  test('a WebSocket upgrade with a 100 KB URI is answered 414 too', { timeout: CASE_TIMEOUT }, async () => {
    const { statusLine } = await rawHttp(edge.httpPort,
      `GET /ws?${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
      `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Version: 13\r\n\r\n');
    assert.match(statusLine, /^HTTP\/1\.[01] 414 /);
    await assertStillServing();
  });

  // --- what libwebsockets 4.1 did not let the edge answer, before the edge's own framing ---

  test('an unmasked client frame is answered with close 1002',
    { timeout: CASE_TIMEOUT }, async () => {
      try {
        const answer = await sendOnWs(clientFrame(1, Buffer.from('{"type":"hello"}'), { mask: false }));
        assertClosedWith(answer, 1002);
      } finally {
        await assertStillServing();
      }
    });

  test('a frame header announcing 2^63 bytes (top bit set) is answered with close 1002 or 1009',
    { timeout: CASE_TIMEOUT },
    async () => {
      try {
        const answer = await sendOnWs(clientFrame(2, Buffer.from('x'), { length: 2n ** 63n }));
        assert.ok(answer.close && [1002, 1009].includes(answer.close.code), JSON.stringify(answer.close));
      } finally {
        await assertStillServing();
      }
    });

  test('a ping with 126 bytes of payload is answered with close 1002',
    { timeout: CASE_TIMEOUT }, async () => {
      try {
        const answer = await sendOnWs(clientFrame(9, Buffer.alloc(126, 0x61)));
        assertClosedWith(answer, 1002);
      } finally {
        await assertStillServing();
      }
    });

  test('200 KB of request headers are answered 431 Request Header Fields Too Large',
    { timeout: CASE_TIMEOUT },
    async () => {
      try {
        let headers = '';
        for (let i = 0; i < 200; i++) headers += `X-Filler-${i}: ${'b'.repeat(1000)}\r\n`;
        const { statusLine } = await rawHttp(edge.httpPort, `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`);
        assert.match(statusLine, /^HTTP\/1\.[01] 431 /);
      } finally {
        await assertStillServing();
      }
    });

  // --- the edge's own HTTP/1.1 and WebSocket handling ---

  test('ten pings in a row get ten pongs with their payloads, in order', { timeout: CASE_TIMEOUT }, async () => {
    const { socket, answer } = await rawWebSocket(edge.httpPort);
    const pings = [];
    for (let i = 0; i < 10; i++) pings.push(clientFrame(9, Buffer.from(`ping ${i}`)));
    socket.write(Buffer.concat([...pings, clientFrame(8, closePayload(1000))]));
    const { frames, close } = await answer;
    const pongs = frames.filter((f) => f.opcode === 10).map((f) => f.payload.toString());
    assert.deepEqual(pongs, Array.from({ length: 10 }, (_, i) => `ping ${i}`));
    assert.equal(close?.code, 1000);
  });

  test('text that is not UTF-8 gets close 1007, even before its message ends', { timeout: CASE_TIMEOUT }, async () => {
    // A first fragment (FIN clear) with a bad byte: the edge does not wait for the rest.
    const fragment = clientFrame(1, Buffer.from([0x7b, 0xff, 0x7d]));
    fragment[0] &= 0x7f;
    assertClosedWith(await sendOnWs(fragment), 1007);
    await assertStillServing();
  });

  test('pipelined requests on one kept-alive connection are answered in order; HEAD has no body',
    { timeout: CASE_TIMEOUT }, async () => {
      const { text } = await rawHttp(edge.httpPort,
        'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' +
        'HEAD /adashta.js HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      const first = text.indexOf('HTTP/1.1 200 ');
      const second = text.indexOf('HTTP/1.1 200 ', first + 1);
      assert.ok(first === 0 && second > 0, text.slice(0, 400));
      const healthz = text.slice(0, second);
      assert.match(healthz, /\r\n\r\n\{"status":"ok"/);
      const head = text.slice(second);
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1]);
      assert.ok(length > 1000, head);
      assert.ok(head.endsWith('\r\n\r\n'), 'HEAD gets the headers only');
      assert.match(head, /connection: close/i);
    });

  test('methods other than GET and HEAD get 405 with Allow; a malformed request 400; HTTP/2.0 505',
    { timeout: CASE_TIMEOUT }, async () => {
      const post = await rawHttp(edge.httpPort, 'POST /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}');
      assert.match(post.statusLine, /^HTTP\/1\.1 405 /);
      assert.match(post.text, /allow: GET, HEAD/i);
      const bad = await rawHttp(edge.httpPort, 'GET  HTTP/1.1 nonsense\r\n\r\n');
      assert.match(bad.statusLine, /^HTTP\/1\.1 400 /);
      const two = await rawHttp(edge.httpPort, 'GET / HTTP/2.0\r\n\r\n');
      assert.match(two.statusLine, /^HTTP\/1\.1 505 /);
      await assertStillServing();
    });

  test('an upgrade with the wrong version gets 426, one without a key 400', { timeout: CASE_TIMEOUT }, async () => {
    const upgrade = (extra) => rawHttp(edge.httpPort,
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${extra}\r\n`);
    const key = `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n`;
    const old = await upgrade(`${key}Sec-WebSocket-Version: 8\r\n`);
    assert.match(old.statusLine, /^HTTP\/1\.1 426 /);
    assert.match(old.text, /sec-websocket-version: 13/i);
    const keyless = await upgrade('Sec-WebSocket-Version: 13\r\n');
    assert.match(keyless.statusLine, /^HTTP\/1\.1 400 /);
    await assertStillServing();
  });

  test('a request head that trickles in (slowloris) is closed after the 10 s head timeout, unanswered',
    { timeout: 30000 }, async () => {
      const socket = net.connect(edge.httpPort, '127.0.0.1');
      let received = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk) => { received += chunk; });
      socket.on('error', () => {});
      const closed = new Promise((resolve) => socket.on('close', resolve));
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      // A header byte every 300 ms: the socket is never silent, the head never ends.
      const trickle = setInterval(() => socket.write('x'), 300);
      const started = Date.now();
      try {
        const outcome = await Promise.race([closed.then(() => 'closed'),
          new Promise((resolve) => setTimeout(() => resolve('open'), 25000))]);
        assert.equal(outcome, 'closed', 'the edge closed the trickling connection');
        assert.ok(Date.now() - started >= 5000, 'not before the timeout');
        assert.equal(received, '', 'nothing was answered');
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
      await assertStillServing();
    });
});
