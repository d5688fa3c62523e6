// Bad input: every mistake is an AdashtaError with the catalogue's code, name and a message
// that says what to do.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Adashta, AdashtaError, codes } from 'adashta';
import { freePort, joinedNode, startEdge } from './helpers.mjs';

const is = (name) => (err) => err instanceof AdashtaError && err.codeName === name && err.code === codes[name];

test('bad options and environment variables are bad_option, naming what is wrong', () => {
  assert.throws(() => new Adashta({ heartbeatMs: -1 }), is('bad_option'));
  assert.throws(() => new Adashta({ seeds: 7 }), is('bad_option'));
  assert.throws(() => new Adashta({ heartbeat: 100 }), (e) => is('bad_option')(e) && /unknown option "heartbeat"/.test(e.message));
  const saved = process.env.ADASHTA_PEER_TIMEOUT_MS;
  process.env.ADASHTA_PEER_TIMEOUT_MS = 'soon';
  try {
    assert.throws(() => new Adashta(), (e) => is('bad_option')(e) && /ADASHTA_PEER_TIMEOUT_MS=soon/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.ADASHTA_PEER_TIMEOUT_MS;
    else process.env.ADASHTA_PEER_TIMEOUT_MS = saved;
  }
  assert.equal(new Adashta({ seeds: 'tcp://127.0.0.1:1,tcp://127.0.0.1:2' }).options.seeds.length, 2);
});

test('no edge: connect rejects with no_edge after connectTimeoutMs, and the process can exit', { timeout: 30000 }, async () => {
  const node = new Adashta({ seeds: [`tcp://127.0.0.1:${await freePort()}`], connectTimeoutMs: 600 });
  const start = Date.now();
  await assert.rejects(node.connect(), is('no_edge'));
  assert.ok(Date.now() - start >= 550);
  await assert.rejects(node.produce('q', 1), is('no_edge'));
  await assert.rejects(node.fetch('q'), is('no_edge'));
});

test('bad endpoints and bind failures', { timeout: 30000 }, async (t) => {
  await assert.rejects(new Adashta({ seeds: ['udp://x:1'] }).connect(), is('bad_endpoint'));
  const edge = await startEdge(t);
  await assert.rejects(new Adashta({ seeds: [edge.meshEndpoint], bind: edge.meshEndpoint }).connect(), is('bind_failed'));
});

test('bad queue names, data that is not JSON, bad times', { timeout: 30000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge);
  assert.throws(() => node.consume('bad queue!', async () => {}), is('bad_queue'));
  assert.throws(() => node.consume('ok', 'not a function'), is('bad_option'));
  await assert.rejects(node.produce('bad queue!', 1), is('bad_queue'));
  await assert.rejects(node.produce('q', undefined), is('bad_data'));
  await assert.rejects(node.produce('q', 10n), is('bad_data'));
  await assert.rejects(node.produceJson('q', '{not json'), is('bad_data'));
  await assert.rejects(node.produce('q', 1, { delay: -5 }), is('bad_timeout'));
  await assert.rejects(node.produce('q', 1, { delay: 5, deliverAt: Date.now() }), is('bad_timeout'));
  await assert.rejects(node.produce('q', 1, { to: 'a', toUser: 'b' }), is('bad_option'));
  await assert.rejects(node.cancel('01NOPE'), is('unknown_message'));
  await assert.rejects(node.produce('q', 'x'.repeat(17 * 1024 * 1024)), is('message_too_large'));
});

test('a call the edge does not answer in time is timed_out', { timeout: 30000 }, async (t) => {
  const edge = await startEdge(t);
  const node = await joinedNode(t, edge, { callTimeoutMs: 300 });
  await node.workQueues().createQueue({ qname: 'slow' });
  // A long poll longer than the call's own time: the SDK allows wait + callTimeoutMs.
  const job = await node.workQueues({ units: 'ms' }).receiveMessage({ qname: 'slow', wait: 500 });
  assert.deepEqual(job, {});
  await assert.rejects(node.call('wq.receive', { qname: 'slow', wait: 2000 }, { timeoutMs: 200 }), is('timed_out'));
});

test('the error message carries the catalogue message and hint', () => {
  const err = new AdashtaError('unknown_queue', 'jobs');
  assert.equal(err.code, 4105);
  assert.match(err.message, /no such queue: jobs\. create the queue first/);
  assert.equal(new AdashtaError(4607).codeName, 'no_edge');
});
