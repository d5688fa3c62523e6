// Memory bounded by bytes, against a real edge (docs/operations.md, "Memory"): a backlog far
// larger than --max-outbox resumes and fetches completely and in order; fetches of large
// messages cost a bounded amount; after a flood the edge's memory comes back near its
// baseline; and during the flood a quiet client is still served.
//
// RSS is the edge's VmRSS from /proc/PID/status. The bounds are generous and stated here
// and in docs/operations.md; under the sanitizer build (build-asan, or ADASHTA_SANITIZE set),
// whose allocator keeps freed memory in quarantine and adds shadow memory, they are relaxed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { buildDir, Edge, requireBinaries, startTestNode, waitFor, waitNodesHearClients, WsClient }
  from '../lib/cluster.mjs';

const MiB = 1 << 20;
const sanitized = Boolean(process.env.ADASHTA_SANITIZE) || /asan|sanitize/i.test(buildDir);
// Fetching eight pages of ~1 MiB messages: at most this above the RSS before them.
const FETCH_GROWTH = (sanitized ? 256 : 64) * MiB;
// After the flood, RSS must come back to within this of the baseline.
const FLOOD_MARGIN = (sanitized ? 512 : 96) * MiB;

function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

/** Samples the RSS of pid every 10 ms while `work` runs; resolves with the highest seen. */
async function peakRss(pid, work) {
  let peak = rssBytes(pid);
  const timer = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssBytes(pid));
}

const mb = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;

/**
 * Stores `count` more messages of about `size` bytes for everyone on `queue`: the test node
 * answers {"fanout": X} with a message to every consumer of the queue, which the edge
 * stores. Resolves once a reader's fetches, from `from`, have seen them all; with the next
 * offset to read from.
 */
async function storeBacklog(edge, queue, count, size, from = 1) {
  const producer = await WsClient.connect(edge);
  await producer.hello();
  const filler = 'x'.repeat(size);
  let sent = 0;
  const sendOne = async () => {
    while (sent < count) {
      sent += 1;
      const answer = await producer.request({ type: 'produce', queue, data: { fanout: filler } },
        { timeout: 60000 });
      assert.equal(answer.type, 'ack', JSON.stringify(answer).slice(0, 300));
    }
  };
  await Promise.all(Array.from({ length: 8 }, sendOne));
  // The node's messages come after its acks: read them as they are stored, each once.
  let seen = 0;
  await waitFor(async () => {
    for (;;) {
      const page = await producer.request({ type: 'fetch', queue, from }, { timeout: 30000 });
      assert.equal(page.type, 'messages', JSON.stringify(page).slice(0, 300));
      if (page.messages.length === 0) return seen >= count;
      seen += page.messages.length;
      from = page.next;
    }
  }, { timeout: 60000, interval: 200, what: `${count} messages stored on ${queue}` });
  await producer.close();
  return from;
}

/** Collects a replay: resumes `queue` from offset 1 and takes `count` messages, in order. */
async function resumeAll(edge, queue, count) {
  const client = await WsClient.connect(edge);
  await client.hello();
  const offsets = [];
  const done = new Promise((resolve) => {
    client.onmessage = (frame) => {
      if (frame.queue !== queue) return;
      offsets.push(frame.offset);
      if (offsets.length === count) resolve();
    };
  });
  assert.equal((await client.request({ type: 'consume', queue, from: 1 })).type, 'ack');
  await Promise.race([done, client.failOnClose(`${count} replayed messages`)]);
  await client.close();
  return offsets;
}

function assertAscending(offsets, what) {
  for (let i = 1; i < offsets.length; i++)
    assert.ok(offsets[i] > offsets[i - 1], `${what}: offset ${offsets[i]} after ${offsets[i - 1]}`);
}

describe('memory bounded by bytes', { timeout: 220000 }, () => {
  let edge;
  let node;
  let hugeNode;

  before(async () => {
    requireBinaries();
    edge = new Edge({ args: ['--auth', 'off'] });
    await edge.start();
    await edge.waitReady();
    node = startTestNode(edge.meshPort, { name: 'n1', queue: 'big' });
    hugeNode = startTestNode(edge.meshPort, { name: 'n2', queue: 'huge' });
    await edge.waitReady({ nodes: 2 });
    await waitNodesHearClients(edge, [node, hugeNode]);
  });

  after(async () => {
    await node?.stop();
    await hugeNode?.stop();
    await edge?.destroy();
  });

  test('a 50 MB backlog resumes and fetches completely and in order with the default --max-outbox', async () => {
    const count = 500;
    await storeBacklog(edge, 'big', count, 100 * 1000);

    const replayed = await resumeAll(edge, 'big', count);
    assert.equal(replayed.length, count);
    assertAscending(replayed, 'replay');

    // Unconsumed and consumed again while its replay is read: after the second consume's
    // ack comes exactly that replay, once and in order.
    const again = await WsClient.connect(edge);
    await again.hello();
    const seen = [];
    again.onmessage = (frame) => { if (frame.queue === 'big') seen.push(frame.offset); };
    again.send({ type: 'consume', queue: 'big', from: 1 });
    again.send({ type: 'unconsume', queue: 'big' });
    assert.equal((await again.request({ type: 'consume', queue: 'big', from: 1 })).type, 'ack');
    const mark = seen.length;
    await waitFor(() => seen.length - mark >= count, { timeout: 60000, what: 'the second replay' });
    await new Promise((resolve) => setTimeout(resolve, 500));  // nothing more may follow
    assert.deepEqual(seen.slice(mark), replayed, 'the second replay, alone');
    await again.close();

    // A default fetch (limit 100) asks for 10 MB: it gets a partial page and its next.
    const reader = await WsClient.connect(edge);
    await reader.hello();
    const fetched = [];
    let from = 1;
    let pages = 0;
    for (;;) {
      const page = await reader.request({ type: 'fetch', queue: 'big', from }, { timeout: 30000 });
      assert.equal(page.type, 'messages', JSON.stringify(page).slice(0, 300));
      if (page.messages.length === 0) break;
      pages += 1;
      assert.ok(page.messages.length < 100, `a page of ${page.messages.length} messages of 100 KB`);
      fetched.push(...page.messages.map((m) => m.offset));
      assert.equal(page.next, page.messages.at(-1).offset + 1);
      from = page.next;
    }
    assert.deepEqual(fetched, replayed, 'fetch and replay give the same messages');
    assert.ok(pages >= 40, `${pages} pages for 50 MB`);

    // Eight fetches at once for everything (limit 1000): each answered, the connection kept.
    const answers = await Promise.all(Array.from({ length: 8 }, () =>
      reader.request({ type: 'fetch', queue: 'big', from: 1, limit: 1000 }, { timeout: 30000 })));
    for (const page of answers) {
      assert.equal(page.type, 'messages');
      assert.equal(page.messages[0].offset, replayed[0]);
    }
    assert.ok(reader.isOpen, 'the reader is still connected');
    await reader.close();
  });

  test('eight fetches of 1 MiB messages keep the RSS within a bound', async () => {
    // About 1 MiB stored each (the node wraps what the client sent).
    await storeBacklog(edge, 'huge', 48, 1000 * 1000);
    const reader = await WsClient.connect(edge);
    await reader.hello();
    const pid = edge.child.process.pid;
    const before = rssBytes(pid);
    const peak = await peakRss(pid, async () => {
      const answers = await Promise.all(Array.from({ length: 8 }, () =>
        reader.request({ type: 'fetch', queue: 'huge', from: 1, limit: 1000 }, { timeout: 60000 })));
      for (const page of answers) assert.equal(page.type, 'messages');
    });
    console.log(`fetches of 1 MiB messages: RSS ${mb(before)} before, peak ${mb(peak)}`);
    assert.ok(peak - before <= FETCH_GROWTH,
      `RSS grew by ${mb(peak - before)} (bound ${mb(FETCH_GROWTH)})`);
    await reader.close();
  });

  test('after a flood the RSS comes back near its baseline; a quiet client is served during it', async () => {
    const pid = edge.child.process.pid;
    const flood = async ({ clients, size, window, ms }) => {
      const sockets = await Promise.all(Array.from({ length: clients }, async () => {
        const c = await WsClient.connect(edge);
        await c.hello();
        c.onmessage = () => {};  // the node's replies: not kept
        return c;
      }));
      const data = 'f'.repeat(size);
      const until = Date.now() + ms;
      let acked = 0;
      const pump = async (c) => {
        while (Date.now() < until && c.isOpen) {
          const answer = await c.request({ type: 'produce', queue: 'flood', data }, { timeout: 60000 });
          if (answer.type === 'ack') acked += 1;
        }
      };
      const running = Promise.all(sockets.flatMap((c) => Array.from({ length: window }, () => pump(c))));
      return { running: running.then(() => acked), sockets };
    };
    const floodNode = startTestNode(edge.meshPort, { name: 'flood', queue: 'flood' });
    try {
      await edge.waitReady({ nodes: 3 });
      await waitNodesHearClients(edge, [floodNode]);
      // Warm-up: a short flood, then the baseline once it is quiet.
      const warm = await flood({ clients: 20, size: 100, window: 16, ms: 1000 });
      await warm.running;
      await Promise.all(warm.sockets.map((c) => c.close()));
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const baseline = rssBytes(pid);

      const small = await flood({ clients: 200, size: 100, window: 32, ms: 4000 });
      const large = await flood({ clients: 20, size: 100 * 1000, window: 8, ms: 4000 });
      // A quiet client's round trip through the store and a node while the flood runs.
      const quiet = await WsClient.connect(edge);
      await quiet.hello();
      let peak = baseline;
      const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 20);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const reply = quiet.take((f) => f.type === 'message' && f.queue === 'flood',
        { timeout: 60000, what: 'the quiet client\'s reply' });
      const asked = Date.now();
      const ack = await quiet.request({ type: 'produce', queue: 'flood', data: { quiet: true } },
        { timeout: 60000 });
      assert.equal(ack.type, 'ack', JSON.stringify(ack));
      assert.deepEqual((await reply).data.data, { quiet: true });
      const roundTrip = Date.now() - asked;  // printed, not asserted: tests time nothing
      const acked = (await small.running) + (await large.running);
      clearInterval(sampler);
      await Promise.all([...small.sockets, ...large.sockets, quiet].map((c) => c.close()));
      assert.ok(acked > 0);

      let settled = 0;
      await waitFor(() => {
        settled = rssBytes(pid);
        return settled <= baseline + FLOOD_MARGIN;
      }, { timeout: 20000, interval: 250, what: 'the RSS to come back near its baseline' }).catch((err) => {
        err.message += `: baseline ${mb(baseline)}, now ${mb(settled)}, margin ${mb(FLOOD_MARGIN)}`;
        throw err;
      });
      console.log(`flood: ${acked} produces acked; RSS baseline ${mb(baseline)}, peak ${mb(peak)}, ` +
        `after ${mb(settled)}; the quiet client's round trip took ${roundTrip} ms`);
    } finally {
      await floodNode.stop();
    }
  });
});
