// Integration: at-most-once queues ("durable": false in --config) against real processes — an
// edge, adashta-test-node server nodes and browser-protocol WebSocket clients.
//
//   cd tests && node --test integration/at_most_once.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// What it shows, one test each:
//   - a client's messages reach the node in order, acked, never stored and never acked by the
//     node; the node's answers reach the client without offsets; fetch, scheduling and
//     oversized data are refused with errors that say why
//   - nothing comes again: a message its node holds for long is not redelivered, and an
//     answer sent to a client while it is offline is gone (a resume gets live messages only)
//   - a node that stops reading slows its senders down: while its mesh queue is full their
//     messages wait at the edge, unacked, and none is refused or lost; if the node dies
//     instead, the waiting ones are refused with no_consumer once the edge counts it gone

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cluster, explained, metric, waitFor, waitNodesHearClients, withTimeout } from '../lib/cluster.mjs';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (n) => Array.from({ length: n }, (_, i) => i);

/**
 * An edge whose queue "ticks" has the settings `ticks` (edge flags `edgeArgs`), one node on it
 * that hears clients (`holdMs`: it keeps each message that long) and one client; runs
 * body({ cluster, edge, node, client }) and explains a failure with the processes' output.
 */
async function withTicks(t, { ticks = { durable: false }, edgeArgs = [], name = 'n1', holdMs } = {}, body) {
  const cluster = await Cluster.start(t, { queues: { ticks }, edgeArgs });
  await explained(cluster, async () => {
    const { edge } = cluster;
    const node = cluster.node(name, 'ticks', { holdMs });
    await edge.waitReady({ nodes: 1 });
    await waitNodesHearClients(edge, [node.child]);
    const client = await cluster.client();
    await body({ cluster, edge, node, client });
  });
}

test('an at-most-once queue: messages reach the node in order and unstored, answers come back without offsets',
  { timeout: 60000 }, async (t) => {
    const COUNT = 500;
    await withTicks(t, { ticks: { durable: false, maxMessageBytes: 1000 } }, async ({ cluster, edge, node, client }) => {
      const consumed = await client.request({ type: 'consume', queue: 'ticks' });
      assert.equal(consumed.type, 'ack');
      assert.equal(consumed.next, undefined, 'no offsets, so no "next" to resume from');
      const answers = [];
      client.onmessage = (frame) => answers.push(frame);

      const acks = await Promise.all(range(COUNT).map((i) =>
        client.request({ type: 'produce', queue: 'ticks', data: { i } })));
      assert.ok(acks.every((a) => a.type === 'ack' && typeof a.id === 'string'), JSON.stringify(acks.find((a) => a.type !== 'ack')));
      await waitFor(() => node.got.list.length >= COUNT, { what: `the node to get ${COUNT} messages` });
      await waitFor(() => answers.length >= COUNT, { what: `${COUNT} answers` });
      await sleep(300);  // nothing more may come

      assert.equal(node.got.list.length, COUNT, 'each message reached the node once');
      assert.deepEqual(node.got.list.map((m) => m.data.i), range(COUNT), 'in the order the client sent them');
      assert.deepEqual(node.got.list.map((m) => m.id), acks.map((a) => a.id), 'under the ids the acks gave');
      assert.ok(node.got.list.every((m) => m.offset === 0 && m.receiveCount === 1), 'no offset, first delivery');
      assert.equal(answers.length, COUNT);
      assert.deepEqual(answers.map((f) => f.data.data.i), range(COUNT), 'answers in order');
      assert.ok(answers.every((f) => f.queue === 'ticks' && f.offset === undefined && typeof f.ts === 'number'),
        JSON.stringify(answers[0]));

      assert.equal(await metric(edge, 'adashta_edge_forwarded_total'), 2 * COUNT, 'in and back, unstored');
      assert.equal(await metric(edge, 'adashta_edge_stored_total'), 0);
      assert.equal(await metric(edge, 'adashta_edge_acked_total'), 0, 'the node acks nothing it was not asked to');

      // What needs a store is refused, saying why and what to do.
      const fetched = await client.request({ type: 'fetch', queue: 'ticks', from: 1 });
      assert.equal(fetched.type, 'error');
      assert.equal(fetched.name, 'not_allowed');
      assert.match(fetched.detail, /"ticks" is not stored \("durable": false\), so there is nothing to fetch/);
      const cli = await cluster.cli(['fetch', 'ticks', '--from', '1'], { expectFailure: true });
      assert.notEqual(cli.code, 0);
      assert.match(cli.stderr, /is not stored \("durable": false\)/);
      const later = await client.request({ type: 'produce', queue: 'ticks', data: 1, delay: 1000 });
      assert.equal(later.name, 'not_allowed');
      assert.match(later.detail, /cannot hold messages for later/);
      const big = await client.request({ type: 'produce', queue: 'ticks', data: 'x'.repeat(2000) });
      assert.equal(big.name, 'message_too_large');
      assert.match(big.detail, /takes up to 1000/);

      // A produce without ref asks for no answer and still arrives.
      client.send({ type: 'produce', queue: 'ticks', data: { quiet: true } });
      await node.got.waitFor((m) => m.data.quiet === true, { what: 'the unanswered produce at the node' });
      t.diagnostic(`${COUNT} messages in and ${COUNT} answers out, none stored; fetch, delay and oversized data refused`);
    });
  });

test('nothing comes again: a held message is not redelivered, and an offline client misses its answer',
  { timeout: 60000 }, async (t) => {
    const HOLD_MS = 1500;
    await withTicks(t, { name: 'holder', holdMs: HOLD_MS }, async ({ cluster, edge, node, client }) => {
      const session = client.session;
      assert.equal((await client.request({ type: 'consume', queue: 'ticks' })).type, 'ack');
      const ack = await client.request({ type: 'produce', queue: 'ticks', data: { k: 1 } });
      assert.equal(ack.type, 'ack');
      await node.got.waitFor((m) => m.id === ack.id, { what: 'the node to get the message' });
      await client.close();  // gone before the node answers

      await sleep(HOLD_MS + 500);
      const back = await cluster.client(session);
      const frames = [];
      back.onmessage = (frame) => frames.push(frame);
      assert.equal((await back.request({ type: 'consume', queue: 'ticks', from: 1 })).type, 'ack');
      await sleep(1000);

      assert.deepEqual(frames, [], 'the answer sent while the client was away is gone');
      assert.equal(node.got.byId.get(ack.id).length, 1, 'the held message came once');
      assert.equal(await metric(edge, 'adashta_edge_redelivered_total'), 0);
      assert.equal(await metric(edge, 'adashta_edge_stored_total'), 0);
      t.diagnostic(`held ${HOLD_MS} ms without an ack: not redelivered; the answer to the offline session was dropped`);
    });
  });

test('a node that stops reading slows its senders down: nothing is refused, nothing is lost',
  { timeout: 60000 }, async (t) => {
    const COUNT = 3000;
    const PAD = 'x'.repeat(4000);  // 12 MB in all: more than the sockets between edge and node hold
    await withTicks(t, { edgeArgs: ['--mesh-queue', '10'] }, async ({ edge, node, client }) => {
      const errors = [];
      client.onmessage = (frame) => { if (frame.type === 'error') errors.push(frame); };

      // Stopped, the node reads nothing, so its queue at the edge fills. It must go on
      // within ZeroMQ's heartbeat timeout (3 s), or the edge drops its connection.
      node.child.process.kill('SIGSTOP');
      t.after(() => node.child.process.kill('SIGCONT'));
      for (const i of range(COUNT)) client.send({ type: 'produce', queue: 'ticks', data: { i, pad: PAD } });
      let lastAck = null;
      const last = client.request({ type: 'produce', queue: 'ticks', data: { i: COUNT } })
        .then((answer) => { lastAck = answer; return answer; });
      await waitFor(async () => (await metric(edge, 'adashta_edge_waiting_for_nodes')) > 0,
        { what: 'messages waiting at the edge for the stopped node', timeout: 1500, interval: 20 });
      await sleep(200);
      assert.equal(lastAck, null, 'the last message is not acked while its node cannot take it');
      assert.deepEqual(errors, [], 'and nothing is refused');
      node.child.process.kill('SIGCONT');

      assert.equal((await last).type, 'ack');
      await waitFor(() => node.got.list.length >= COUNT + 1, { what: `the node to get ${COUNT + 1} messages` });
      await sleep(300);
      assert.deepEqual(errors, []);
      assert.deepEqual(node.got.list.map((m) => m.data.i), range(COUNT + 1), 'every message, once, in order');
      assert.equal(await metric(edge, 'adashta_edge_unavailable_total'), 0);
      assert.equal(await metric(edge, 'adashta_edge_waiting_for_nodes'), 0);
      t.diagnostic(`${COUNT + 1} messages of 4 KB sent while the node was stopped: held at the edge, then all delivered`);
    });
  });

test('messages waiting for a node that dies are answered: no_consumer once it is gone',
  { timeout: 60000 }, async (t) => {
    const COUNT = 3000;
    const PAD = 'x'.repeat(4000);
    // The node must stay a member until messages wait for it (a loaded machine can take a
    // second to send them), then be counted gone soon after it is killed.
    const edgeArgs = ['--mesh-queue', '10', '--heartbeat-ms', '500', '--peer-timeout-ms', '4000'];
    await withTicks(t, { edgeArgs }, async ({ edge, node, client }) => {

      node.child.process.kill('SIGSTOP');
      const answers = range(COUNT).map((i) => client.request({ type: 'produce', queue: 'ticks', data: { i, pad: PAD } }));
      await waitFor(async () => (await metric(edge, 'adashta_edge_waiting_for_nodes')) > 0,
        { what: 'messages waiting at the edge for the stopped node', timeout: 3000, interval: 20 });
      node.child.process.kill('SIGKILL');

      // Every produce gets its answer: those handed on before are acked, the waiting ones
      // are refused once the edge counts the node gone.
      const all = await withTimeout(Promise.all(answers), 15000, 'an answer to every produce');
      const acked = all.filter((a) => a.type === 'ack').length;
      const refused = all.filter((a) => a.name === 'no_consumer').length;
      assert.equal(acked + refused, COUNT, JSON.stringify(all.find((a) => a.type !== 'ack' && a.name !== 'no_consumer')));
      assert.ok(refused > 0, 'some were still waiting when the node died');
      assert.equal(await metric(edge, 'adashta_edge_waiting_for_nodes'), 0);
      t.diagnostic(`node killed while ${refused} messages waited: ${acked} acked before, ${refused} refused with no_consumer`);
    });
  });
