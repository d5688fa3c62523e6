// Integration: browsers' side of security (docs/security.md, "Browsers"), against a real
// edge over WebSocket. Attack 3 (predicting the next session id from observed ones) and
// attack 4 (taking over a session with its id alone) rebuilt, the Origin allow-list, the
// authentication modes, grants, refresh and expiry, and messages for a user.
//
//   cd tests && node --test integration/auth.test.mjs     (ADASHTA_BUILD_DIR=../build)

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import {
  Child, Edge, WsClient, adashtaBin, requireBinaries, runCli, startTestNode, waitFor,
} from '../lib/cluster.mjs';

const SECRET = 'integration-secret-0123456789abcdef0123';

async function token(sub, { produce = [], consume = [], fetch = [], ttl = 600 } = {}) {
  const args = ['token', '--sub', sub, '--ttl-s', String(ttl), '--secret', SECRET];
  if (produce.length) args.push('--produce', produce.join(','));
  if (consume.length) args.push('--consume', consume.join(','));
  if (fetch.length) args.push('--fetch', fetch.join(','));
  const made = await runCli(args);
  assert.equal(made.code, 0, made.stderr);
  return made.stdout.trim();
}

/** Opens a connection and sends hello; resolves with [client, first answer]. */
async function hello(edge, fields = {}) {
  const client = await WsClient.connect(edge);
  client.send({ type: 'hello', ...fields });
  const answer = await client.take((f) => f.type === 'welcome' || f.type === 'error', { what: 'welcome' });
  if (answer.type === 'welcome') client.session = answer.session;
  return [client, answer];
}

// --- attack 3: the old generator's state, recovered from what clients see --------------------

const MASK = (1n << 64n) - 1n;
function undoRight(y, shift, mask) { let x = y; for (let i = 0; i < 3; i++) x = y ^ ((x >> shift) & mask); return x; }
function undoLeft(y, shift, mask) { let x = y; for (let i = 0; i < 4; i++) x = (y ^ ((x << shift) & mask)) & MASK; return x; }
function untemper(y) {
  y = undoRight(y, 43n, MASK);
  y = undoLeft(y, 37n, 0xFFF7EEE000000000n);
  y = undoLeft(y, 17n, 0x71D67FFFEDA60000n);
  return undoRight(y, 29n, 0x5555555555555555n);
}
function temper(y) {
  y ^= (y >> 29n) & 0x5555555555555555n;
  y ^= (y << 17n) & 0x71D67FFFEDA60000n & MASK;
  y ^= (y << 37n) & 0xFFF7EEE000000000n & MASK;
  return (y ^ (y >> 43n)) & MASK;
}
function twist(mt) {
  for (let i = 0; i < 312; i++) {
    const x = (mt[i] & 0xFFFFFFFF80000000n) | (mt[(i + 1) % 312] & 0x7FFFFFFFn);
    let xa = x >> 1n;
    if (x & 1n) xa ^= 0xB5026F5AA96619E9n;
    mt[i] = mt[(i + 156) % 312] ^ xa;
  }
}
/** Two 64-bit outputs an id "s-" + 32 hex carried under the old generator (low byte first). */
function outputsOf(id) {
  const out = [];
  for (let w = 0; w < 2; w++) {
    let r = 0n;
    for (let b = 0; b < 8; b++) r |= BigInt(parseInt(id.slice(2 + w * 16 + b * 2, 4 + w * 16 + b * 2), 16)) << BigInt(8 * b);
    out.push(r);
  }
  return out;
}
function toId(a, b) {
  let s = 's-';
  for (const r of [a, b]) for (let i = 0; i < 8; i++) s += ((r >> BigInt(8 * i)) & 0xFFn).toString(16).padStart(2, '0');
  return s;
}
/** The attacker of the issue: 156 ids give the state; returns the next 10 ids it predicts. */
function predictNext(ids) {
  const mt = ids.slice(0, 156).flatMap(outputsOf).map(untemper);
  twist(mt);
  const next = [];
  for (let i = 0; i < 20; i += 2) next.push(toId(temper(mt[i]), temper(mt[i + 1])));
  return next;
}

describe('browsers and sessions', () => {
  let edge;
  let dataDir;

  before(async () => {
    requireBinaries();
    edge = new Edge({ args: ['--token-secret', SECRET, '--auth', 'optional'] });
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'adashta-auth-'));
    await writeFile(path.join(dataDir, 'adashta.json'), JSON.stringify({
      auth: { mode: 'optional', anonymous: { consume: ['news'], fetch: ['news'] } },
    }));
    edge.args.push('--config', path.join(dataDir, 'adashta.json'));
    await edge.start();
    await edge.waitReady();
  });

  after(async () => {
    await edge?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the attack on mt19937 session ids predicts nothing the edge issues (attack 3)', { timeout: 60000 }, async () => {
    // Check the attacker first: against ids made the old way it predicts them exactly.
    const old = [];
    let state = 5489n;  // any seed: a simulated old edge, mt19937_64 in BigInt
    const mt = [state];
    for (let i = 1; i < 312; i++) mt.push((6364136223846793005n * (mt[i - 1] ^ (mt[i - 1] >> 62n)) + BigInt(i)) & MASK);
    let at = 312;
    const draw = () => { if (at === 312) { twist(mt); at = 0; } return temper(mt[at++]); };
    for (let i = 0; i < 166; i++) old.push(toId(draw(), draw()));
    assert.deepEqual(predictNext(old), old.slice(156, 166));
    state = 0n;

    const ids = [];
    for (let i = 0; i < 166; i++) {
      const [client, welcome] = await hello(edge);
      ids.push(welcome.session);
      client.ws.terminate();
    }
    assert.equal(new Set(ids).size, ids.length);
    const predicted = predictNext(ids);
    for (const id of ids.slice(156)) assert.ok(!predicted.includes(id), `predicted ${id}`);
  });

  test('a stolen session id without its secret resumes nothing; the owner stays (attack 4)', { timeout: 60000 }, async () => {
    const [owner, welcome] = await hello(edge);
    assert.match(welcome.secret, /^[0-9a-f]{64}$/);
    // The id alone, a wrong secret, a made-up id: each refused with 4005, nothing bound.
    for (const fields of [{ session: owner.session }, { session: owner.session, secret: '0'.repeat(64) },
      { session: 's-00000000000000000000000000000000' }]) {
      const [thief, answer] = await hello(edge, fields);
      assert.equal(answer.type, 'error');
      assert.equal(answer.name, 'bad_session');
      assert.equal((await thief.closed).code, 4005);
    }
    // The owner was never disturbed: still open, still answered.
    assert.equal(owner.isOpen, true);
    assert.equal((await owner.request({ type: 'ping' })).type, 'pong');
    // A direct message to its session still reaches it, not anybody else.
    await owner.request({ type: 'consume', queue: 'news' });
    const sent = await runCli(['produce', 'news', '{"to":"owner"}', '--to', owner.session, '--seeds', edge.meshEndpoint]);
    assert.equal(sent.code, 0, sent.stderr);
    const got = await owner.take((f) => f.type === 'message');
    assert.deepEqual(got.data, { to: 'owner' });
    // Its own secret still resumes it (on a second connection, which takes over).
    const [again, resumed] = await hello(edge, { session: owner.session, secret: welcome.secret });
    assert.equal(resumed.type, 'welcome');
    assert.equal(resumed.session, owner.session);
    assert.equal((await owner.closed).code, 4011);
    await again.close();
  });

  test('with a token a resume also needs the same user', { timeout: 30000 }, async () => {
    const [alice, welcome] = await hello(edge, { token: await token('alice') });
    assert.equal(welcome.user, 'alice');
    const [mallory, answer] = await hello(edge, { session: alice.session, secret: welcome.secret, token: await token('mallory') });
    assert.equal(answer.name, 'bad_session');
    assert.equal((await mallory.closed).code, 4005);
    assert.equal(alice.isOpen, true);
    await alice.close();
  });

  test('a page of another origin gets 403; the edge\'s own origin connects', { timeout: 30000 }, async () => {
    const url = edge.url.replace(/^http/, 'ws') + '/ws';
    const status = await new Promise((resolve) => {
      const ws = new WebSocket(url, { origin: 'http://evil.example' });
      ws.on('unexpected-response', (req, res) => { resolve(res.statusCode); ws.terminate(); });
      ws.on('open', () => { resolve('open'); ws.terminate(); });
      ws.on('error', () => {});
    });
    assert.equal(status, 403);
    const own = await new Promise((resolve) => {
      const ws = new WebSocket(url, { origin: edge.url });
      ws.on('open', () => { resolve('open'); ws.terminate(); });
      ws.on('unexpected-response', (req, res) => resolve(res.statusCode));
      ws.on('error', () => {});
    });
    assert.equal(own, 'open');
  });

  test('anonymous sessions get the configured grants; others are refused with not_granted', { timeout: 30000 }, async () => {
    const [anon, welcome] = await hello(edge);
    assert.equal(welcome.user, undefined);
    assert.equal((await anon.request({ type: 'consume', queue: 'news' })).type, 'ack');
    const refused = await anon.request({ type: 'produce', queue: 'news', data: 1 });
    assert.equal(refused.type, 'error');
    assert.equal(refused.name, 'not_granted');
    assert.equal(refused.code, 4109);
    const [bad, answer] = await hello(edge, { token: 'not.a.token' });
    assert.equal(answer.name, 'token_invalid');
    assert.equal((await bad.closed).code, 4013);
    await anon.close();
  });

  test('a refresh replaces the token on the open connection; at exp the edge closes with 4014', { timeout: 30000 }, async () => {
    const [client] = await hello(edge, { token: await token('carol', { consume: ['a'] }, ) });
    assert.equal((await client.request({ type: 'consume', queue: 'b' })).name, 'not_granted');
    const refreshed = await client.request({ type: 'refresh', token: await token('carol', { consume: ['a', 'b'], ttl: 2 }) });
    assert.equal(refreshed.type, 'ack');
    assert.equal((await client.request({ type: 'consume', queue: 'b' })).type, 'ack');
    const other = await client.request({ type: 'refresh', token: await token('dave') });
    assert.equal(other.name, 'token_invalid');
    const closed = await client.closed;  // the refreshed token lives 2 s
    assert.equal(closed.code, 4014);
    assert.equal(closed.reason, 'token_expired');
  });

  test('a message for a user reaches every session of that user, offline ones when they resume', { timeout: 60000 }, async () => {
    const grants = { consume: ['inbox'] };
    const [laptop] = await hello(edge, { token: await token('erin', grants) });
    const [phone] = await hello(edge, { token: await token('erin', grants) });
    const [tablet, tabletWelcome] = await hello(edge, { token: await token('erin', grants) });
    const [other] = await hello(edge, { token: await token('frank', grants) });
    for (const c of [laptop, phone, tablet, other]) await c.request({ type: 'consume', queue: 'inbox' });
    const tabletAck = await tablet.request({ type: 'consume', queue: 'inbox' });
    await tablet.close();  // offline from here on
    const sent = await runCli(['produce', 'inbox', '{"for":"erin"}', '--to-user', 'erin', '--seeds', edge.meshEndpoint]);
    assert.equal(sent.code, 0, sent.stderr);
    for (const c of [laptop, phone]) assert.deepEqual((await c.take((f) => f.type === 'message')).data, { for: 'erin' });
    await assert.rejects(other.take((f) => f.type === 'message', { timeout: 500 }));
    // The tablet resumes from where it was and gets it.
    const [back] = await hello(edge, { session: tablet.session, secret: tabletWelcome.secret, token: await token('erin', grants) });
    await back.request({ type: 'consume', queue: 'inbox', from: tabletAck.next ?? 1 });
    assert.deepEqual((await back.take((f) => f.type === 'message')).data, { for: 'erin' });
    for (const c of [laptop, phone, other, back]) await c.close();
  });

  test('server nodes see the sender\'s user', { timeout: 60000 }, async () => {
    const consumer = new Child('consume', adashtaBin, ['consume', 'jobs', '--count', '1', '--seeds', edge.meshEndpoint]);
    await waitFor(async () => (await (await fetch(`${edge.url}/healthz`)).json()).nodes >= 1, { what: 'the consumer' });
    const [client] = await hello(edge, { token: await token('gina', { produce: ['jobs'] }) });
    await waitFor(async () => (await client.request({ type: 'produce', queue: 'jobs', data: { n: 1 } })).type === 'ack',
      { what: 'a produce the consumer takes' });
    await consumer.exit;
    assert.match(consumer.output, /"user":"gina"/);
    await client.close();
  });
});

describe('authentication required', () => {
  test('a hello without a token is closed with 4012 token_required', { timeout: 30000 }, async () => {
    requireBinaries();
    const edge = new Edge({ args: ['--token-secret', SECRET] });
    await edge.start();
    try {
      await edge.waitReady();
      const [client, answer] = await hello(edge);
      assert.equal(answer.name, 'token_required');
      assert.equal((await client.closed).code, 4012);
      const [ok, welcome] = await hello(edge, { token: await token('hana') });
      assert.equal(welcome.user, 'hana');
      await ok.close();
    } finally {
      await edge.destroy();
    }
  });
});
