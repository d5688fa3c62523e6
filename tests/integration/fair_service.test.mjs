// Fair service under a flood, against a real edge and a real C++ node (docs/operations.md,
// "Memory", fair service into the store): flooding clients that keep every produce budget
// the edge gives them full cannot make a quiet client's produce wait behind their backlog.
// Browsers' produces reach the store in a lane per session, served round-robin, a bounded
// number per store round (edge/src/fair_feed.hpp), so a quiet produce is stored within a
// round or two.
//
// The assertion is about order, not time. The node gets the queue's messages in the order
// they were stored; for each quiet produce, the flood messages stored between its send and
// its own commit (its place in the node's list minus the edge's stored count just before the
// send) are far fewer than the flood produces the edge holds. First come, first served, it
// would wait behind every flood produce the edge had read: at least FLOODERS x 128 (a
// connection with 256 produces waiting is read no further until half of them are answered);
// served in turn, one or two store rounds (FEED_PER_ROUND each) and what the HTTP side adds.
// Measured on 2 cores: about 1,200 (one 4,200) in turn, 20,500 first come, first served.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildDir, Cluster, explained, metric, waitFor, waitNodesHearClients, WsClient }
  from '../lib/cluster.mjs';

const FLOODERS = 100;        // connections sending flat out
// Produces each sends, all at once (bounded: 150,000 in all; 40,000 under the sanitizers,
// which make the edge several times slower).
const sanitized = Boolean(process.env.ADASHTA_SANITIZE) || /asan|sanitize/i.test(buildDir);
const PER_FLOODER = sanitized ? 400 : 1500;
const FEED_PER_ROUND = 1024; // the store takes at most this many produces a round (router.hpp)
const READ_AGAIN_AT = 128;   // a paused connection is read again with this many waiting
// At most half of what a first-come-first-served store would put before a quiet produce.
const BOUND = (FLOODERS * READ_AGAIN_AT) / 2;
const QUIET_SENDS = 5;       // quiet produces, one after the other, during the flood

test('a flooding client cannot make a quiet client wait behind its backlog', { timeout: 230000 }, async (t) => {
  const cluster = await Cluster.start(t, { queues: { work: {} } });
  const { edge } = cluster;
  const node = cluster.node('n1', 'work');
  await explained(cluster, async () => {
    await waitNodesHearClients(edge, [node.child]);
    const quiet = await cluster.client();
    quiet.onmessage = () => {};  // the node's answers
    const flooders = [];
    for (let i = 0; i < FLOODERS; i += 1) {
      const ws = await WsClient.connect(edge);
      await ws.hello();
      ws.onmessage = () => {};  // the node's answers
      flooders.push(ws);
    }
    let floodAnswers = 0;
    let floodErrors = 0;
    const filler = 'f'.repeat(64);
    flooders.forEach((ws, f) => {
      ws.ws.on('message', (data) => {
        const text = data.toString();
        if (text.startsWith('{"type":"ack"')) floodAnswers += 1;
        else if (text.startsWith('{"type":"error"')) { floodAnswers += 1; floodErrors += 1; }
      });
      for (let n = 1; n <= PER_FLOODER; n += 1)
        ws.ws.send(JSON.stringify({ type: 'produce', ref: n, queue: 'work', data: { f, n, filler } }));
    });
    const total = FLOODERS * PER_FLOODER;
    // The flood is at its pace: the store has taken thousands, and the edge's budgets are full.
    await waitFor(async () => (await metric(edge, 'adashta_edge_stored_total')) >= 5000,
      { timeout: 60000, interval: 20, what: 'the flood to be stored at its pace' });
    const sends = [];
    for (let i = 0; i < QUIET_SENDS; i += 1) {
      const storedBefore = await metric(edge, 'adashta_edge_stored_total');
      if (storedBefore > total / 2) break;  // the flood would drain before a FIFO reached it
      const answer = await quiet.request({ type: 'produce', queue: 'work', data: { quiet: i } }, { timeout: 60000 });
      assert.equal(answer.type, 'ack', JSON.stringify(answer));
      sends.push({ i, storedBefore });
    }
    assert.ok(sends.length >= 1, 'the flood was half stored before the quiet client could send: make it larger');
    // Nothing acknowledged is lost: every produce is answered, and the node gets every one.
    await waitFor(() => floodAnswers >= total, { timeout: 150000, interval: 100, what: 'every flood answer' })
      .catch((error) => {
        const open = flooders.filter((ws) => ws.isOpen).length;
        throw new Error(`${error.message}: ${floodAnswers} of ${total} answered, ${open} of ${FLOODERS} flooders connected`);
      });
    assert.equal(floodErrors, 0);
    await waitFor(() => node.got.list.length >= total + sends.length,
      { timeout: 60000, interval: 100, what: 'the node to get every produce' })
      .catch((error) => { throw new Error(`${error.message}: it got ${node.got.list.length} of ${total + sends.length}`); });
    // Each flooder's produces reached the node in the order it sent them.
    const last = new Array(FLOODERS).fill(0);
    for (const m of node.got.list) {
      if (m.data.quiet !== undefined) continue;
      assert.equal(m.data.n, last[m.data.f] + 1, `flooder ${m.data.f}: ${m.data.n} came after ${last[m.data.f]}`);
      last[m.data.f] = m.data.n;
    }
    const overtaken = sends.map(({ i, storedBefore }) =>
      node.got.list.findIndex((m) => m.data.quiet === i) - storedBefore);
    t.diagnostic(`flood messages stored between each quiet send and its commit: ${overtaken.join(', ')}`);
    assert.ok(BOUND > 4 * FEED_PER_ROUND, 'the flood is too small to tell fair service from first come');
    for (const n of overtaken)
      assert.ok(n <= BOUND, `${n} flood messages were stored while one quiet produce waited (over ${BOUND}): ${overtaken}`);
  });
});
