// Connection tokens: minted here, accepted by the real edge (--auth required), grants
// enforced there; verifyToken reads the CLI's tokens; toUser reaches a user's sessions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Adashta } from 'adashta';
import { WsClient, browser, joinedNode, runCli, startEdge } from './helpers.mjs';

const secret = 'a-test-secret-of-at-least-32-bytes!!';

test('a minted HS256 token opens a session on an edge that requires tokens; its grants hold', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t, { args: ['--auth', 'required', '--token-secret', secret] });
  const token = await Adashta.mintToken({ sub: 'alice', ttl: 600, consume: ['chat.*'], produce: ['chat.*'] }, { secret });
  const ws = await WsClient.connect(edge);
  t.after(() => ws.close());
  const welcome = await ws.hello(undefined, { token });
  assert.ok(welcome.session);
  assert.equal((await ws.request({ type: 'consume', queue: 'chat.room1' })).type, 'ack');
  const refused = await ws.request({ type: 'consume', queue: 'admin' });
  assert.equal(refused.name, 'not_granted');
  // toUser: every session of alice.
  const node = await joinedNode(t, edge);
  await node.produce('chat.room1', 'hi alice', { toUser: 'alice', confirm: true });
  assert.equal((await ws.take((f) => f.type === 'message')).data, 'hi alice');
});

test('a token signed with another secret is refused by the edge', { timeout: 60000 }, async (t) => {
  const edge = await startEdge(t, { args: ['--auth', 'required', '--token-secret', secret] });
  const forged = await Adashta.mintToken({ sub: 'mallory' }, { secret: 'another-secret-that-is-32-bytes-long' });
  const ws = await WsClient.connect(edge);
  t.after(() => ws.close());
  await assert.rejects(ws.hello(undefined, { token: forged }), /token_invalid/);
});

test('an ES256 token from a PEM private key is accepted by an edge with the public key', { timeout: 60000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'adashta-js-es256-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pub = path.join(dir, 'public.pem');
  await writeFile(pub, publicKey.export({ format: 'pem', type: 'spki' }));
  const edge = await startEdge(t, { args: ['--auth', 'required', '--token-public-key', pub] });
  const token = await Adashta.mintToken({ sub: 'bob', consume: ['q'] },
    { privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }), alg: 'ES256' });
  await browser(t, edge, { token });
  const claims = await Adashta.verifyToken(token, { publicKey: publicKey.export({ format: 'pem', type: 'spki' }), alg: 'ES256' });
  assert.equal(claims.sub, 'bob');
});

test('verifyToken reads tokens of `adashta token`; expired and bad ones are refused', { timeout: 30000 }, async () => {
  const made = await runCli(['token', '--sub', 'carol', '--consume', 'a,b*', '--ttl-s', '60', '--secret', secret]);
  assert.equal(made.code, 0, made.stderr);
  const claims = await Adashta.verifyToken(made.stdout.trim(), { secret });
  assert.equal(claims.sub, 'carol');
  assert.deepEqual(claims.consume, ['a', 'b*']);
  const expired = await Adashta.mintToken({ sub: 'dan', exp: Math.floor(Date.now() / 1000) - 10 }, { secret });
  await assert.rejects(Adashta.verifyToken(expired, { secret }), (e) => e.codeName === 'token_expired');
  await assert.rejects(Adashta.verifyToken('not.a.token', { secret }), (e) => e.codeName === 'token_invalid');
  await assert.rejects(Adashta.mintToken({ sub: 'x' }, { secret: 'short' }), (e) => e.codeName === 'bad_option');
  await assert.rejects(Adashta.mintToken({}, { secret }), (e) => e.codeName === 'bad_option');
});
