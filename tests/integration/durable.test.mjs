// Integration: durable messaging (issue 3) against real processes — an edge with its SQLite
// store, adashta-test-node server nodes and browser-protocol WebSocket clients.
//
//   cd tests && node --test integration/durable.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// What it shows, one test each:
//   - kill -9 of the edge while 100 clients produce: every acked message reaches a node
//     after the restart; redeliveries carry the same id; recovery time and duplicates printed
//   - kill -9 of a node holding unacked messages: another node gets them after the
//     visibility timeout, with a higher receive count and the same ids
//   - a message received maxReceive times without an ack moves to the dead-letter queue
//   - retention: messages expire on time; fetch returns what is kept, in order; a resume
//     from an expired offset gets a gap frame, then what is kept
//   - expiry of a 100,000-row backlog does not stall a steady producer
//   - 10,000 messages scheduled over 10 s: none early, lateness printed; schedules survive
//     kill -9 of the edge; cancel works
//   - messages that came due while the edge was down go out
//     promptly after its restart
//   - a client offline while a node sends it 50 messages gets all of them on resume, in
//     order, exactly once, before live messages
//
// The test nodes print "message ID RECEIVE_COUNT OFFSET DATA" for every message they get
// (NodeMessages reads those lines) and answer each sender with {"node", "data"}.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import {
  Cluster, explained, mapLimit, metric, waitFor, waitNodesHearClients,
} from '../lib/cluster.mjs';

// Edges notice a killed node within ~1 s, and nodes notice a restarted edge as quickly.
const FAST_MESH = ['--heartbeat-ms', '200', '--peer-timeout-ms', '1000'];
const HOLD_FOREVER_MS = 600000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (n) => Array.from({ length: n }, (_, i) => i);

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** "p50 3 ms, p90 5 ms, ..." for a list of millisecond figures. */
function distribution(values, ps = [50, 90, 99]) {
  if (values.length === 0) return '(no samples)';
  const parts = ps.map((p) => `p${p} ${percentile(values, p)} ms`);
  return `${parts.join(', ')}, min ${Math.min(...values)} ms, max ${Math.max(...values)} ms (n=${values.length})`;
}

/**
 * Every frame `ws` receives, in arrival order (alongside its own handling); each also has
 * a non-enumerable `receivedAt` (wall-clock ms), which deepEqual does not compare.
 */
function recordFrames(ws) {
  const frames = [];
  ws.ws.on('message', (data) => {
    let frame;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      frame = { type: '(not json)' };
    }
    Object.defineProperty(frame, 'receivedAt', { value: Date.now(), enumerable: false });
    frames.push(frame);
  });
  return frames;
}

/** Starts a killed edge again on its ports and data; a crash on the way says how it died. */
async function restart(edge, { nodes = 1 } = {}) {
  await edge.start();
  const died = edge.child.exit.then((exit) => {
    throw new Error(`the restarted edge died: ${JSON.stringify(exit)}`);
  });
  died.catch(() => {});  // later exits (the test's own stop) are no news
  await Promise.race([edge.waitReady({ nodes, timeout: 20000 }), died]);
}

/** Connects again after a restart: the edge may still be coming up. */
async function reconnect(cluster, session) {
  return waitFor(async () => cluster.client(session), { timeout: 15000, interval: 100, what: `reconnect of ${session}` });
}

// --- 1. kill -9 of the edge ------------------------------------------------------------------

const PRODUCERS = 100;
const LANES = 4;             // produce frames one producer keeps unanswered
const KILL_AFTER_ACKS = 4000;

/**
 * A browser stand-in that keeps sending {c, i, a} to a queue: i counts its messages, a is
 * the attempt (1; 2 when sent again after the edge died without answering, as the browser
 * SDK does). Records the id of every acked message and which ones got no answer.
 */
class Producer {
  constructor(index, ws, queue) {
    this.index = index;
    this.ws = ws;
    this.queue = queue;
    this.next = 0;
    this.acked = new Map();   // "c:i:a" -> id
    this.unanswered = [];     // i of attempt-1 messages sent but not answered
    this.refused = [];        // error answers
  }

  key(i, a) { return `${this.index}:${i}:${a}`; }

  async send(i, a) {
    const answer = await this.ws.request({ type: 'produce', queue: this.queue, data: { c: this.index, i, a } },
      { timeout: 20000 });
    if (answer.type === 'ack') this.acked.set(this.key(i, a), answer.id);
    else this.refused.push(answer);
    return answer;
  }

  /** Sends until the connection drops; resolves then. */
  async stream() {
    const lane = async () => {
      while (this.ws.isOpen) {
        const i = this.next++;
        try {
          await this.send(i, 1);
        } catch {
          this.unanswered.push(i);  // the connection closed before the answer
          return;
        }
      }
    };
    await Promise.all(range(LANES).map(lane));
  }
}

test('kill -9 of the edge while 100 clients produce: after the restart every acked message reaches a node',
  { timeout: 120000 }, async (t) => {
    const cluster = await Cluster.start(t, { queues: { dur: { visibility: '1s' } }, edgeArgs: FAST_MESH });
    await explained(cluster, async () => {
      const { edge } = cluster;
      // Nodes that take 1 ms a message fall behind the producers, so when the edge dies
      // some acked messages are still on their way and some are held unacked.
      const nodes = [cluster.node('d1', 'dur', { holdMs: 1 }), cluster.node('d2', 'dur', { holdMs: 1 })];
      await edge.waitReady({ nodes: 2 });
      await waitNodesHearClients(edge, nodes.map((n) => n.child));
      const producers = await mapLimit(range(PRODUCERS), 25,
        async (index) => new Producer(index, await cluster.client(), 'dur'));
      const sessions = producers.map((p) => p.ws.session);
      const ackedCount = () => producers.reduce((n, p) => n + p.acked.size, 0);

      const started = Date.now();
      const streams = producers.map((p) => p.stream());
      await waitFor(() => ackedCount() >= KILL_AFTER_ACKS, { timeout: 30000, interval: 5, what: `${KILL_AFTER_ACKS} acks` });
      const killedAt = Date.now();
      const exit = await edge.child.stop({ signal: 'SIGKILL' });
      assert.equal(exit.signal, 'SIGKILL');
      await Promise.all(streams);
      const ackedBeforeKill = new Map(producers.flatMap((p) => [...p.acked]));
      const unanswered = producers.reduce((n, p) => n + p.unanswered.length, 0);
      const seenAtKill = new Set(nodes.flatMap((n) => n.got.list.map((m) => m.id)));
      const undeliveredAtKill = [...ackedBeforeKill.values()].filter((id) => !seenAtKill.has(id)).length;

      await restart(edge, { nodes: 2 });
      const readyAt = Date.now();
      // Reconnect with the same session; send again what got no answer (as the SDK does), then
      // a few new messages: the edge takes producers back at once.
      await mapLimit(producers, 25, async (p) => {
        p.ws = await reconnect(cluster, p.ws.session);
        for (const i of p.unanswered) await p.send(i, 2);
        for (let n = 0; n < 3; ++n) await p.send(p.next++, 1);
      });
      const reconnectedAt = Date.now();
      assert.deepEqual(producers.map((p) => p.ws.session), sessions, 'every client resumed its session id');
      const resumed = producers.filter((p) => p.ws.welcome.resumed).length;
      const refused = producers.flatMap((p) => p.refused);
      assert.deepEqual(refused.slice(0, 3), [], `${refused.length} produce frames refused`);

      const acked = new Map(producers.flatMap((p) => [...p.acked]));  // "c:i:a" -> id
      const seen = () => new Set(nodes.flatMap((n) => n.got.list.map((m) => m.id)));
      await waitFor(() => {
        const ids = seen();
        return [...acked.values()].every((id) => ids.has(id));
      }, { timeout: 30000, interval: 50, what: 'every acked message at a node' }).catch((err) => {
        const ids = seen();
        const lost = [...acked].filter(([, id]) => !ids.has(id));
        err.message += `; ${lost.length} of ${acked.size} acked messages never reached a node, e.g. ${JSON.stringify(lost.slice(0, 5))}`;
        throw err;
      });
      const recoveredAt = Date.now();
      // Redeliveries of what the nodes got but had not acked when the edge died are due one
      // visibility timeout after the restart: give them that long to show up too.
      await sleep(1500);

      const deliveries = nodes.flatMap((n) => n.got.list);
      const idsByKey = new Map();   // "c:i:a" -> Set of ids the nodes saw
      const dataById = new Map();
      for (const m of deliveries) {
        const key = `${m.data.c}:${m.data.i}:${m.data.a}`;
        if (!idsByKey.has(key)) idsByKey.set(key, new Set());
        idsByKey.get(key).add(m.id);
        if (dataById.has(m.id)) {
          assert.deepEqual(m.data, dataById.get(m.id), `message ${m.id} came back with other data`);
        }
        dataById.set(m.id, m.data);
      }
      for (const [key, ids] of idsByKey) {
        assert.equal(ids.size, 1, `message ${key} reached the nodes under ${ids.size} ids: ${[...ids]}`);
      }
      for (const [key, id] of acked) {
        assert.deepEqual([...idsByKey.get(key) ?? []], [id], `acked message ${key} reached the nodes as its acked id`);
      }
      const duplicates = deliveries.length - dataById.size;
      const redelivered = deliveries.filter((m) => m.receiveCount >= 2);
      const ids = new Set(deliveries.map((m) => m.id));
      // Unanswered at the kill but committed: delivered under their first id; sent again,
      // they are a second message with a second id, which id-based dedup cannot catch.
      const committedUnanswered = producers.flatMap((p) => p.unanswered.filter((i) => idsByKey.has(p.key(i, 1))));
      const twice = producers.flatMap((p) => p.unanswered.filter((i) => idsByKey.has(p.key(i, 1)) && idsByKey.has(p.key(i, 2))));

      t.diagnostic(`${PRODUCERS} producers, ${ackedBeforeKill.size} acked before kill -9 after ${killedAt - started} ms ` +
        `(${undeliveredAtKill} of them not yet at a node), ${unanswered} sent but unanswered at the kill`);
      t.diagnostic(`restart: /healthz with 2 nodes ${readyAt - killedAt} ms after the kill; clients reconnected and ` +
        `re-sent ${reconnectedAt - readyAt} ms later (welcome said resumed: ${resumed} of ${PRODUCERS}); ` +
        `every acked message at a node ${recoveredAt - killedAt} ms after the kill`);
      t.diagnostic(`acked ${acked.size}, delivered ${deliveries.length} (${ids.size} distinct ids), ` +
        `duplicates ${duplicates} (all with the same id), receive count >= 2: ${redelivered.length}`);
      t.diagnostic(`unanswered at the kill yet committed: ${committedUnanswered.length}; of those, sent again and so ` +
        `delivered twice under two different ids: ${twice.length}`);
      assert.equal(ids.size, dataById.size);
    });
  });

// --- 2. kill -9 of a node holding unacked messages ----------------------------------------------

test('kill -9 of a node holding unacked messages: another node gets them after the visibility timeout',
  { timeout: 60000 }, async (t) => {
    const VISIBILITY_MS = 2000;
    const PER_CLIENT = 5;
    // Default mesh timing: the edge keeps the killed node on its ring for 3 s, so the
    // redelivery also shows that a send to a dead node falls through to the next one.
    const cluster = await Cluster.start(t, { queues: { hold: { visibility: `${VISIBILITY_MS}ms` } } });
    await explained(cluster, async () => {
      const { edge } = cluster;
      const holder = cluster.node('holder', 'hold', { holdMs: HOLD_FOREVER_MS });
      const other = cluster.node('other', 'hold');
      await edge.waitReady({ nodes: 2 });
      await waitNodesHearClients(edge, [holder.child, other.child]);

      // The ring decides which node a session reaches: open clients until one lands on the
      // holder. Its messages then all sit at the holder: one in the handler, the rest queued.
      let victim;
      let produced = 0;
      for (let attempt = 0; attempt < 20 && !victim; ++attempt) {
        const ws = await cluster.client();
        const replies = [];
        ws.onmessage = (frame) => replies.push(frame);
        const answers = await Promise.all(range(PER_CLIENT).map((k) =>
          ws.request({ type: 'produce', queue: 'hold', data: { attempt, k } })));
        const ackedAt = Date.now();
        assert.ok(answers.every((a) => a.type === 'ack'), JSON.stringify(answers));
        produced += answers.length;
        const ids = answers.map((a) => a.id);
        const first = await Promise.race([holder, other].map((n) =>
          n.got.waitFor((m) => ids.includes(m.id), { timeout: 5000 })));
        if (first.node === 'holder') victim = { ws, ids, ackedAt, replies, first };
        else await waitFor(() => replies.length === PER_CLIENT, { what: 'the replies of the other node' });
      }
      assert.ok(victim, 'no session landed on the holding node in 20 tries');
      assert.equal(victim.first.receiveCount, 1);
      // The ack means stored; the hand-over to a node follows. Kill only once every message
      // went out, or the rest would go to the other node as first deliveries.
      await waitFor(async () => (await metric(edge, 'adashta_edge_routed_total')) >= produced,
        { interval: 5, what: `the edge to hand over all ${produced} messages` });

      const killedAt = Date.now();
      await holder.child.stop({ signal: 'SIGKILL' });
      const arrivals = await Promise.all(victim.ids.map((id) =>
        other.got.waitFor((m) => m.id === id, { timeout: 15000, what: `message ${id} at the other node` })));
      for (const [k, m] of arrivals.entries()) {
        assert.ok(m.receiveCount >= 2, `message ${m.id} came with receive count ${m.receiveCount}`);
        assert.equal(m.data.k, k);
      }
      await waitFor(() => victim.replies.length === PER_CLIENT, { what: 'the client to get every answer' });
      assert.ok(victim.replies.every((f) => f.data.node === 'other'));

      const afterAck = arrivals.map((m) => m.at - victim.ackedAt);
      const afterKill = arrivals.map((m) => m.at - killedAt);
      t.diagnostic(`visibility ${VISIBILITY_MS} ms; kill -9 of the holder ${killedAt - victim.ackedAt} ms after the acks; ` +
        `the other node got all ${PER_CLIENT} (receive counts ${arrivals.map((m) => m.receiveCount)}) ` +
        `${Math.min(...afterAck)}..${Math.max(...afterAck)} ms after the acks, ` +
        `${Math.min(...afterKill)}..${Math.max(...afterKill)} ms after the kill`);
      for (const delay of afterAck) {
        assert.ok(delay >= VISIBILITY_MS - 50, `redelivered ${delay} ms after the ack, before the visibility timeout`);
        assert.ok(delay <= VISIBILITY_MS + 1500, `redelivered ${delay} ms after the ack, long after the visibility timeout`);
      }
    });
  });

// --- 3. dead-lettering ---------------------------------------------------------------------------

test('a message received maxReceive times without an ack moves to the dead-letter queue, same id',
  { timeout: 60000 }, async (t) => {
    const cluster = await Cluster.start(t, {
      queues: { dl: { visibility: '1s', maxReceive: 2, deadLetter: 'dl.dead' } },
    });
    await explained(cluster, async () => {
      const { edge } = cluster;
      // Two nodes that never finish a message: each is killed once it has the message.
      const holders = [cluster.node('dl-a', 'dl', { holdMs: HOLD_FOREVER_MS }),
        cluster.node('dl-b', 'dl', { holdMs: HOLD_FOREVER_MS })];
      const dead = cluster.node('dl-dead', 'dl.dead');
      await edge.waitReady({ nodes: 3 });
      await waitNodesHearClients(edge, [...holders, dead].map((n) => n.child));

      const ws = await cluster.client();
      const sentAt = Date.now();
      const ack = await ws.request({ type: 'produce', queue: 'dl', data: { poison: true } });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      const is = (m) => m.id === ack.id;

      const receives = [];
      for (let n = 1; n <= 2; ++n) {
        const got = await Promise.race(holders.map((h) => h.got.waitFor(
          (m) => is(m) && m.receiveCount === n, { timeout: 10000, what: `receive ${n} of ${ack.id}` })));
        receives.push(got);
        await holders.find((h) => h.name === got.node).child.stop({ signal: 'SIGKILL' });
      }
      assert.notEqual(receives[0].node, receives[1].node, 'the second receive went to the surviving node');

      const moved = await dead.got.waitFor(is, { timeout: 10000, what: 'the message on dl.dead' });
      assert.deepEqual(moved.data, { poison: true });
      const stored = (await cluster.fetchAll('dl.dead')).filter((m) => m.id === ack.id);
      assert.equal(stored.length, 1, 'adashta fetch dl.dead shows the message once');
      assert.deepEqual(stored[0].data, { poison: true });
      assert.equal(stored[0].client, ws.session, 'the dead-lettered copy keeps its sender');
      assert.equal(await metric(edge, 'adashta_edge_dead_lettered_total'), 1);
      // No third receive on dl: it left the queue after its second.
      await sleep(1200);
      assert.equal(holders.flatMap((h) => h.got.byId.get(ack.id) ?? []).length, 2);

      t.diagnostic(`maxReceive 2, visibility 1 s, after the produce: receive 1 at +${receives[0].at - sentAt} ms ` +
        `(${receives[0].node}), receive 2 at +${receives[1].at - sentAt} ms (${receives[1].node}), ` +
        `on dl.dead at +${moved.at - sentAt} ms ` +
        `(receive count ${moved.receiveCount}), same id ${ack.id}`);
    });
  });

// --- 4. retention ----------------------------------------------------------------------------------

test('retention: messages expire on time, fetch returns what is kept in order, a resume from an expired offset gets a gap',
  { timeout: 60000 }, async (t) => {
    const RETENTION_MS = 2000;
    const cluster = await Cluster.start(t, { queues: { ret: { retention: `${RETENTION_MS}ms` } } });
    await explained(cluster, async () => {
      const { edge } = cluster;
      const node = cluster.node('ret', 'ret');
      await edge.waitReady({ nodes: 1 });
      await waitNodesHearClients(edge, [node.child]);

      // The consumer gets server -> client messages: the node sends {"fanout": X} data to
      // every consumer of the queue. A separate client asks for them.
      const consumer = await cluster.client();
      const live = [];
      consumer.onmessage = (frame) => live.push(frame);
      assert.equal((await consumer.request({ type: 'consume', queue: 'ret' })).type, 'ack');
      const producer = await cluster.client();
      producer.onmessage = () => {};
      const fanout = async (xs) => {
        for (const x of xs) {
          assert.equal((await producer.request({ type: 'produce', queue: 'ret', data: { fanout: x } })).type, 'ack');
        }
        await waitFor(() => xs.every((x) => live.some((f) => f.data.data.fanout === x)),
          { what: `fan-out ${xs} at the consumer` });
        return xs.map((x) => live.find((f) => f.data.data.fanout === x));
      };
      const fetchFrom = (from, extra = {}) => consumer.request({ type: 'fetch', queue: 'ret', from, ...extra });

      const first = await fanout([1, 2, 3, 4, 5]);
      const offsets = first.map((f) => f.offset);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), 'live messages come in offset order');
      const before = await fetchFrom(1);
      assert.equal(before.type, 'messages', JSON.stringify(before));
      assert.deepEqual(before.messages.map((m) => m.id), first.map((f) => f.id), 'fetch returns the kept messages in order');
      assert.deepEqual(before.messages.map((m) => m.offset), offsets);
      assert.equal(before.next, offsets.at(-1) + 1);
      // By time: `since` compares with the time each message entered the stream at the edge,
      // which is at or after its `ts` (set by the node that sent it), so a message sent just
      // before `since` and stored after it comes too.
      const since = await consumer.request({ type: 'fetch', queue: 'ret', since: first[2].ts });
      const sinceIds = since.messages.map((m) => m.id);
      const skipped = first.findIndex((f) => f.id === sinceIds[0]);
      assert.ok(skipped >= 0 && skipped <= 2, `fetch since ${first[2].ts} starts at ${JSON.stringify(since.messages[0])}`);
      assert.deepEqual(sinceIds, first.slice(skipped).map((f) => f.id), 'fetch by time: the rest, in order');
      const earlier = since.messages.filter((m) => m.ts < first[2].ts);
      assert.ok(earlier.every((m) => m.ts > first[2].ts - 200), `fetch since returned ${JSON.stringify(earlier)}`);
      const everything = await cluster.fetchAll('ret');
      assert.deepEqual(everything.map((m) => m.offset), [...everything.map((m) => m.offset)].sort((a, b) => a - b));
      assert.equal(everything.length, 10, 'adashta fetch shows the 5 produce and 5 fan-out messages');

      // Poll until each has expired; a message must stay readable until ts + retention.
      const goneAt = new Map();  // id -> when the first fetch without it came back
      const lastKept = new Map(); // id -> when the last fetch with it was sent
      const wrong = [];
      await waitFor(async () => {
        const asked = Date.now();
        const page = await fetchFrom(1);
        const answered = Date.now();
        const kept = new Set(page.messages.map((m) => m.id));
        for (const f of first) {
          if (kept.has(f.id)) {
            if (goneAt.has(f.id)) wrong.push(`offset ${f.offset} came back after it had expired`);
            lastKept.set(f.id, asked);
          } else if (!goneAt.has(f.id)) {
            goneAt.set(f.id, answered);
          }
        }
        return goneAt.size === first.length;
      }, { timeout: 10000, interval: 25, what: 'the first messages to expire' });
      assert.deepEqual(wrong, []);
      const lateness = [];
      for (const f of first) {
        const due = f.ts + RETENTION_MS;
        assert.ok(goneAt.get(f.id) >= due, `offset ${f.offset} expired ${goneAt.get(f.id) - f.ts} ms after it was sent`);
        assert.ok(lastKept.get(f.id) < due + 500, `offset ${f.offset} still kept ${lastKept.get(f.id) - f.ts} ms after it was sent`);
        lateness.push(goneAt.get(f.id) - due);
      }
      const after = await fetchFrom(offsets[0]);
      assert.deepEqual(after.messages, [], 'nothing is kept after the retention');
      assert.ok(after.next > offsets.at(-1), `next ${after.next} points past the expired messages`);

      // The newer ones live 2 s: what follows runs well within that.
      const second = await fanout([6, 7, 8]);
      const keptNow = cluster.fetchAll('ret');
      // The consumer goes away and resumes from its first offset, long expired.
      await consumer.close();
      const resumed = await cluster.client(consumer.session);
      const frames = recordFrames(resumed);
      resumed.onmessage = () => {};
      assert.equal((await resumed.request({ type: 'consume', queue: 'ret', from: offsets[0] })).type, 'ack');
      await waitFor(() => frames.filter((f) => f.type === 'message').length >= second.length,
        { what: 'the kept messages after the gap' });
      const kept = await keptNow;
      assert.ok(kept.every((m) => m.offset > offsets.at(-1)), 'adashta fetch shows only the newer messages');
      assert.ok(Date.now() < second[0].ts + RETENTION_MS, 'the newer messages were still kept throughout');
      const oldestKept = kept[0].offset;
      await sleep(200);  // nothing else may follow
      const replayed = frames.filter((f) => f.type === 'gap' || f.type === 'message');
      assert.deepEqual(replayed[0], { type: 'gap', queue: 'ret', from: offsets[0], to: oldestKept - 1 });
      assert.deepEqual(replayed.slice(1).map((f) => [f.id, f.offset]), second.map((f) => [f.id, f.offset]),
        'after the gap, the kept messages in order, once');

      t.diagnostic(`retention ${RETENTION_MS} ms: 5 messages no longer fetched ${distribution(lateness, [50])} after ` +
        `ts + retention (polling every 25 ms); gap on resume ${offsets[0]}..${oldestKept - 1}, then offsets ` +
        `${second.map((f) => f.offset)}`);
    });
  });

// --- 5. expiry of a large backlog ----------------------------------------------------------------

/** Rows in the store's messages table (expired ones stay until expiry deletes them), or null. */
function storedRows(edge) {
  return new Promise((resolve) => {
    execFile('sqlite3', ['-readonly', path.join(edge.dataDir, 'store.db'), 'SELECT count(*) FROM messages'],
      { timeout: 5000 }, (err, stdout) => resolve(err ? null : Number(stdout.trim())));
  });
}

test('expiry of a 100,000-message backlog does not stall a steady producer', { timeout: 120000 }, async (t) => {
  const FILLERS = 50;
  const PER_FILLER = 1000;   // 50,000 client messages; the node answers each: 50,000 server -> client
  const RETENTION_MS = 2000;
  const cluster = await Cluster.start(t, { queues: { bulk: { retention: `${RETENTION_MS}ms` } } });
  await explained(cluster, async () => {
    const { edge } = cluster;
    const node = cluster.node('bulk', 'bulk');
    await edge.waitReady({ nodes: 1 });
    await waitNodesHearClients(edge, [node.child]);
    const fillers = await mapLimit(range(FILLERS), 25, async () => {
      const ws = await cluster.client();
      ws.onmessage = () => {};
      return ws;
    });
    const steady = await cluster.client();
    steady.onmessage = () => {};

    // One message every 20 ms, each waiting for its ack: { at, latency }.
    const samples = [];
    let steadyRunning = true;
    const steadyLoop = (async () => {
      for (let n = 0; steadyRunning; ++n) {
        const at = Date.now();
        const answer = await steady.request({ type: 'produce', queue: 'bulk', data: { steady: n } }, { timeout: 10000 });
        assert.equal(answer.type, 'ack', JSON.stringify(answer));
        samples.push({ at, latency: Date.now() - at });
        await sleep(Math.max(0, at + 20 - Date.now()));
      }
    })();
    steadyLoop.catch(() => {});  // awaited below

    await sleep(1000);  // a baseline: the steady producer alone
    const fillStart = Date.now();
    await Promise.all(fillers.map(async (ws, c) => {
      let next = 0;
      await Promise.all(range(20).map(async () => {
        while (next < PER_FILLER) {
          const i = next++;
          const answer = await ws.request({ type: 'produce', queue: 'bulk', data: { c, i } }, { timeout: 30000 });
          assert.equal(answer.type, 'ack', JSON.stringify(answer));
        }
      }));
    }));
    const fillEnd = Date.now();
    await waitFor(() => node.got.list.length >= FILLERS * PER_FILLER, { timeout: 30000, interval: 100, what: 'the node to get the backlog' });
    const answeredAt = Date.now();
    // Group commit: the store commits batches of writes (messages, the node's answers and
    // its acks, which the edge hands over in bursts), not one transaction each. (Answers
    // may still be on their way: only the acked client messages are sure to be counted.)
    const commits = await metric(edge, 'adashta_store_commits_total');
    const writes = await metric(edge, 'adashta_store_writes_total');
    t.diagnostic(`the fill took ${commits} commits for ${writes} writes`);
    assert.ok(writes >= FILLERS * PER_FILLER, `${writes} writes for ${FILLERS * PER_FILLER} acked messages`);
    assert.ok(commits * 10 < writes, `${commits} commits for ${writes} writes: the store does not batch`);

    // Expiry deletes a bounded slice every 200 ms; watch the table shrink (when sqlite3 is
    // there) while the steady producer keeps going.
    const rows = [];
    const canCount = (await storedRows(edge)) !== null;
    if (canCount) {
      await waitFor(async () => {
        const n = await storedRows(edge);
        rows.push({ at: Date.now(), n });
        return n < 2000;
      }, { timeout: 60000, interval: 500, what: 'expiry to delete the backlog' });
    } else {
      await sleep(answeredAt - fillStart + RETENTION_MS + 1000);
    }
    const expiredAt = Date.now();
    steadyRunning = false;
    await steadyLoop;

    const kept = await cluster.fetchAll('bulk');
    assert.ok(kept.every((m) => m.data.c === undefined && m.data.data?.c === undefined),
      `adashta fetch still shows ${kept.filter((m) => m.data.c !== undefined).length} backlog messages`);

    const baseline = samples.filter((s) => s.at < fillStart).map((s) => s.latency);
    const during = samples.filter((s) => s.at >= fillStart && s.at < fillEnd).map((s) => s.latency);
    const expiring = samples.filter((s) => s.at >= Math.max(fillEnd, fillStart + RETENTION_MS)).map((s) => s.latency);
    const peak = rows.length ? Math.max(...rows.map((r) => r.n)) : 'n/a';
    t.diagnostic(`filled ${FILLERS * PER_FILLER} client messages in ${fillEnd - fillStart} ms; the node answered all ` +
      `${answeredAt - fillStart} ms after the start; expiry (retention ${RETENTION_MS} ms) emptied the table ` +
      `${expiredAt - fillStart} ms after the start` + (canCount ? ` (rows counted after the fill: peak ${peak}, ` +
      `${rows.map((r) => `+${r.at - fillStart}ms:${r.n}`).join(' ')})` : ' (sqlite3 missing: rows not counted)'));
    t.diagnostic(`steady producer (one produce every 20 ms), produce -> ack alone: ${distribution(baseline)}`);
    t.diagnostic(`steady producer, produce -> ack while 50 clients fill (1,000 frames in flight): ${distribution(during)}`);
    t.diagnostic(`steady producer, produce -> ack after the fill while expiry runs: ${distribution(expiring)}`);
    assert.ok(expiring.length > 20, `only ${expiring.length} samples while expiry ran`);
    assert.ok(Math.max(...expiring) < 1000, `an ack took ${Math.max(...expiring)} ms while expiry ran`);
  });
});

// --- 6. scheduled delivery --------------------------------------------------------------------------

test('10,000 messages scheduled over 10 s: none early, lateness printed', { timeout: 90000 }, async (t) => {
  const COUNT = 10000;
  const SPREAD_MS = 10000;
  const CLIENTS = 20;
  const cluster = await Cluster.start(t, { queues: { sched: { clientSchedule: true } } });
  await explained(cluster, async () => {
    const { edge } = cluster;
    const node = cluster.node('sched', 'sched');
    await edge.waitReady({ nodes: 1 });
    await waitNodesHearClients(edge, [node.child]);
    const clients = await mapLimit(range(CLIENTS), 20, async () => {
      const ws = await cluster.client();
      ws.onmessage = () => {};
      return ws;
    });

    // Times spread uniformly over [start, start + 10 s), sent in random order.
    const start = Date.now() + 3000;
    const at = range(COUNT).map((k) => start + Math.floor((k * SPREAD_MS) / COUNT));
    const order = range(COUNT);
    for (let i = COUNT - 1; i > 0; --i) {
      const j = Math.floor(Math.random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const ids = new Array(COUNT);
    let next = 0;
    await Promise.all(clients.map(async (ws) => {
      await Promise.all(range(10).map(async () => {
        while (next < COUNT) {
          const k = order[next++];
          const answer = await ws.request({ type: 'produce', queue: 'sched', data: { k, at: at[k] }, deliverAt: at[k] });
          assert.equal(answer.type, 'ack', JSON.stringify(answer));
          ids[k] = answer.id;
        }
      }));
    }));
    const submitted = Date.now();
    assert.ok(submitted < start, `sending took until ${submitted - start} ms past the first time`);

    await waitFor(() => new Set(node.got.list.map((m) => m.data.k)).size === COUNT,
      { timeout: SPREAD_MS + 20000, interval: 100, what: `all ${COUNT} scheduled messages` }).catch((err) => {
      err.message += `; got ${new Set(node.got.list.map((m) => m.data.k)).size}`;
      throw err;
    });
    const lateness = [];
    const early = [];
    for (const m of node.got.list) {
      assert.equal(m.id, ids[m.data.k], `message ${m.data.k} arrived under another id`);
      const late = m.at - m.data.at;
      if (late < 0) early.push({ k: m.data.k, late });
      lateness.push(late);
    }
    t.diagnostic(`${COUNT} messages scheduled over ${SPREAD_MS} ms (sent in ${submitted - (start - 3000)} ms): lateness ` +
      distribution(lateness, [50, 90, 99]));
    t.diagnostic(`duplicates: ${node.got.list.length - COUNT}`);
    assert.deepEqual(early.slice(0, 5), [], `${early.length} messages arrived early`);
    assert.equal(node.got.list.length, COUNT, 'each scheduled message arrived once');
    // Generous bounds (the machine is shared): a scheduler that waited for a polling tick
    // or for the next write would be far off.
    assert.ok(percentile(lateness, 50) < 100, `median lateness ${percentile(lateness, 50)} ms`);
    assert.ok(Math.max(...lateness) < 2000, `a message came ${Math.max(...lateness)} ms late`);
  });
});

test('schedules survive kill -9 of the edge, and cancel drops a scheduled message', { timeout: 90000 }, async (t) => {
  const cluster = await Cluster.start(t, { queues: { sched: { clientSchedule: true } }, edgeArgs: FAST_MESH });
  await explained(cluster, async () => {
    const { edge } = cluster;
    const node = cluster.node('sched', 'sched');
    await edge.waitReady({ nodes: 1 });
    await waitNodesHearClients(edge, [node.child]);

    // Client -> server: 200 messages due 4 to 6 s from now; server -> client: one due in 5 s
    // (adashta produce --deliver-at) for a client that will be offline over the restart.
    const COUNT = 200;
    const ws = await cluster.client();
    ws.onmessage = () => {};
    const t0 = Date.now();
    const at = range(COUNT).map((k) => t0 + 4000 + k * 10);
    const ids = await Promise.all(at.map(async (deliverAt, k) => {
      const answer = await ws.request({ type: 'produce', queue: 'sched', data: { k, at: deliverAt }, deliverAt });
      assert.equal(answer.type, 'ack', JSON.stringify(answer));
      return answer.id;
    }));
    const reader = await cluster.client();
    reader.onmessage = () => {};
    assert.equal((await reader.request({ type: 'consume', queue: 'sched' })).type, 'ack');
    const toClientAt = t0 + 5000;
    const { stdout } = await cluster.cli(['produce', 'sched', JSON.stringify({ forReader: 1 }),
      '--to', reader.session, '--deliver-at', String(toClientAt)]);
    const toClientId = stdout.trim();
    // adashta produce prints the id once the message has left, not once the edge stored it
    // (a node's produce gets no ack). A later store call is committed after it: a barrier.
    await cluster.fetchAll('sched');

    const killedAt = Date.now();
    assert.equal((await edge.child.stop({ signal: 'SIGKILL' })).signal, 'SIGKILL');
    await sleep(500);  // a restart that is not instant
    await restart(edge);
    const readyAt = Date.now();
    assert.ok(readyAt < at[0], `the edge was back only ${readyAt - at[0]} ms after the first was due`);
    const back = await reconnect(cluster, reader.session);
    const frames = recordFrames(back);
    back.onmessage = () => {};
    assert.equal((await back.request({ type: 'consume', queue: 'sched' })).type, 'ack');

    await waitFor(() => ids.every((id) => node.got.byId.has(id)),
      { timeout: 15000, interval: 50, what: `the ${COUNT} scheduled messages after the restart` }).catch((err) => {
      const missing = range(ids.length).filter((k) => !node.got.byId.has(ids[k]));
      err.message += `; missing ${missing.length}: k = ${missing.slice(0, 20)}...`;
      throw err;
    });
    const forReader = await waitFor(() => frames.find((f) => f.type === 'message' && f.id === toClientId),
      { timeout: 10000, interval: 20, what: 'the scheduled server -> client message after the restart' });
    const readerLate = forReader.receivedAt - toClientAt;
    const lateness = ids.map((id, k) => node.got.byId.get(id)[0].at - at[k]);
    assert.ok(Math.min(...lateness) >= 0, `a message arrived ${-Math.min(...lateness)} ms early`);
    assert.ok(readerLate >= 0, `the server -> client message arrived ${-readerLate} ms early`);
    assert.deepEqual(forReader.data, { forReader: 1 });
    t.diagnostic(`kill -9 ${at[0] - killedAt} ms before the first was due, edge ready ${readyAt - killedAt} ms after the kill; ` +
      `${COUNT} client -> server schedules all arrived, lateness ${distribution(lateness, [50, 99])}; ` +
      `the server -> client schedule arrived ${readerLate} ms late`);

    // Cancel: two server -> client messages due in 3 s; one cancelled; the other arrives.
    const produceIn3s = async (data) => (await cluster.cli(['produce', 'sched', JSON.stringify(data),
      '--to', back.session, '--delay', '3s'])).stdout.trim();
    const cancelled = await produceIn3s({ cancel: 'me' });
    const kept = await produceIn3s({ cancel: 'not me' });
    // And a client -> server one, scheduled by the browser.
    const producer = await reconnect(cluster, ws.session);
    const byClient = await producer.request({ type: 'produce', queue: 'sched', data: { cancel: 'client' }, delay: 3000 });
    assert.equal(byClient.type, 'ack');
    assert.equal((await cluster.cli(['cancel', cancelled])).code, 0);
    assert.equal((await cluster.cli(['cancel', byClient.id])).code, 0);
    await waitFor(() => frames.some((f) => f.id === kept), { timeout: 10000, interval: 20, what: 'the message not cancelled' });
    await sleep(1000);
    assert.ok(!frames.some((f) => f.id === cancelled || f.data?.cancel === 'me'), 'a cancelled message arrived');
    assert.ok(!node.got.byId.has(byClient.id), 'a cancelled client message reached the node');
    for (const id of [cancelled, kept]) {
      const again = await cluster.cli(['cancel', id], { expectFailure: true });
      assert.notEqual(again.code, 0, `cancel ${id} again succeeded`);
      assert.match(again.stderr, /unknown_message/);
    }
    t.diagnostic('cancel: a cancelled server -> client and a cancelled client -> server message never came; ' +
      'cancelling again (or after delivery) fails with unknown_message');
  });
});

test('client -> server messages that came due while the edge was down go out promptly after its restart', {
  timeout: 60000,
}, async (t) => {
  const cluster = await Cluster.start(t, { queues: { sched: { clientSchedule: true } }, edgeArgs: FAST_MESH });
  await explained(cluster, async () => {
    const { edge } = cluster;
    const node = cluster.node('sched', 'sched');
    await edge.waitReady({ nodes: 1 });
    await waitNodesHearClients(edge, [node.child]);
    const COUNT = 50;
    const ws = await cluster.client();
    const t0 = Date.now();
    const at = range(COUNT).map((k) => t0 + 1000 + k);
    const ids = await Promise.all(at.map(async (deliverAt, k) =>
      (await ws.request({ type: 'produce', queue: 'sched', data: { k }, deliverAt })).id));
    assert.equal((await edge.child.stop({ signal: 'SIGKILL' })).signal, 'SIGKILL');
    await sleep(t0 + 1500 - Date.now());  // down until all are overdue
    await restart(edge);
    const readyAt = Date.now();
    await waitFor(() => ids.every((id) => node.got.byId.has(id)), { timeout: 3000, interval: 20,
      what: `the ${COUNT} overdue messages within 3 s of the restart (the default visibility timeout is 30 s)` });
    const afterReady = ids.map((id) => node.got.byId.get(id)[0].at - readyAt);
    t.diagnostic(`${COUNT} overdue messages arrived ${distribution(afterReady, [50])} after /healthz counted the node again`);
  });
});

// --- 7. an offline client resumes ------------------------------------------------------------------

test('a client offline while a node sends it 50 messages gets them all on resume, in order, once, before live ones',
  { timeout: 60000 }, async (t) => {
    const COUNT = 50;
    const cluster = await Cluster.start(t, { queues: { inbox: { clientSchedule: true } } });
    await explained(cluster, async () => {
      const { edge } = cluster;
      const node = cluster.node('inbox', 'inbox');
      await edge.waitReady({ nodes: 1 });
      await waitNodesHearClients(edge, [node.child]);

      const client = await cluster.client();
      const session = client.session;
      assert.equal((await client.request({ type: 'consume', queue: 'inbox' })).type, 'ack');
      const seen = [];
      client.onmessage = (frame) => seen.push(frame);
      assert.equal((await client.request({ type: 'produce', queue: 'inbox', data: { warm: 1 } })).type, 'ack');
      await waitFor(() => seen.length === 1, { what: 'the first answer' });
      const last = seen[0].offset;

      // The node answers each of these (to this session) 1.5 s from now: the client is gone by then.
      const answers = await Promise.all(range(COUNT).map((n) =>
        client.request({ type: 'produce', queue: 'inbox', data: { n }, delay: 1500 })));
      assert.ok(answers.every((a) => a.type === 'ack'), JSON.stringify(answers));
      await client.close();
      const wentAt = Date.now();
      await waitFor(() => node.got.list.filter((m) => m.data.n !== undefined).length === COUNT,
        { what: 'the node to get the 50 messages' });
      const answered = await waitFor(async () => {
        const stored = (await cluster.fetchAll('inbox')).filter((m) => m.client === session && m.data.data?.n !== undefined);
        return stored.length === COUNT && stored;
      }, { timeout: 10000, interval: 200, what: 'the 50 answers in the store' });
      assert.equal(seen.length, 1, 'nothing reached the closed connection');

      const backAt = Date.now();
      const back = await cluster.client(session);
      const frames = recordFrames(back);
      back.onmessage = () => {};
      const consumed = back.request({ type: 'consume', queue: 'inbox', from: last + 1 });
      // Live answers produced while the resume is still being read from the store.
      const liveAnswers = await Promise.all(range(5).map((j) =>
        back.request({ type: 'produce', queue: 'inbox', data: { live: j } })));
      assert.ok(liveAnswers.every((a) => a.type === 'ack'));
      assert.equal((await consumed).type, 'ack');
      await waitFor(() => frames.filter((f) => f.type === 'message').length >= COUNT + 5,
        { what: 'the missed and the live messages' });
      const doneAt = Date.now();
      await sleep(300);  // nothing more may come

      const messages = frames.filter((f) => f.type === 'message');
      assert.ok(!frames.some((f) => f.type === 'gap'), 'no gap: nothing expired');
      assert.equal(messages.length, COUNT + 5, 'each message exactly once');
      assert.deepEqual(messages.slice(0, COUNT).map((f) => f.data.data.n), range(COUNT), 'the missed ones first, in order');
      assert.deepEqual(messages.slice(0, COUNT).map((f) => f.id), answered.map((m) => m.id));
      assert.deepEqual(messages.slice(COUNT).map((f) => f.data.data.live).sort(), range(5), 'then the live ones');
      const offsets = messages.map((f) => f.offset);
      assert.deepEqual(offsets, [...offsets].sort((a, b) => a - b), 'offsets only grow');
      assert.equal(new Set(messages.map((f) => f.id)).size, messages.length);
      t.diagnostic(`${COUNT} answers stored while the client was offline (${backAt - wentAt} ms); resumed from offset ` +
        `${last + 1}: offsets ${offsets[0]}..${offsets[COUNT - 1]} replayed, then live ${offsets.slice(COUNT)}; ` +
        `all ${COUNT + 5} within ${doneAt - backAt} ms of the hello`);
    });
  });
