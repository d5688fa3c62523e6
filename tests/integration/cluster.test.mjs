// Integration: one edge and three server nodes in separate processes; 200 WebSocket clients
// each send 100 messages. Every message reaches exactly one node, each session always the
// same node, and each reply the right client. `kill -9` of one node moves only its sessions,
// to the others, within a few seconds.
//
//   cd tests && node --test integration/cluster.test.mjs     (ADASHTA_BUILD_DIR=../build)
//
// The nodes are adashta-test-node: each answers a message to its sender with
// {"node": NAME, "data": DATA}, so a reply says which node handled the message. A message
// handled by two nodes would come back twice, so "exactly one reply per message" is
// "exactly one node per message".

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Edge, WsClient, mapLimit, requireBinaries, startTestNode, waitFor, waitNodesHearClients,
} from '../lib/cluster.mjs';

const CLIENTS = 200;
const MESSAGES = 100;          // per client
const WINDOW = 10;             // produce frames one client keeps unanswered at a time
const QUEUE = 'work';
const NODE_NAMES = ['n1', 'n2', 'n3'];
const VICTIM = 'n2';           // the node the failover test kills
const FAILOVER_LIMIT_MS = 5000; // kill -9 to every client answered again
const RETRY_CODES = new Set([4104, 4503]);  // no_consumer, node_unavailable: retry briefly

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (n) => Array.from({ length: n }, (_, i) => i);
const healthz = async (edge) => (await fetch(`${edge.url}/healthz`)).json();

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * A browser stand-in: one session that sends {"c": index, "i": i, "r": round} messages to
 * the work queue and keeps every reply the nodes send it.
 */
class LoadClient {
  static async open(edge, index) {
    const ws = await WsClient.connect(edge);
    await ws.hello();
    return new LoadClient(index, ws);
  }

  constructor(index, ws) {
    this.index = index;
    this.replies = [];          // every "message" frame, in arrival order
    this.listeners = new Set(); // called with each new reply
    this.attach(ws);
  }

  attach(ws) {
    this.ws = ws;
    ws.onmessage = (frame) => {
      this.replies.push(frame);
      for (const listener of this.listeners) listener(frame);
    };
  }

  get session() { return this.ws.session; }

  /** Closes the connection and says hello again with the same session id. */
  async reconnect(edge) {
    await this.ws.close();
    const ws = await WsClient.connect(edge);
    const welcome = await ws.hello(this.session);
    this.attach(ws);
    return welcome;
  }

  repliesOf(round) {
    return this.replies.filter((frame) => frame.data?.data?.r === round);
  }

  /** Sends `count` messages of `round`, at most WINDOW unanswered; resolves with the answers. */
  async produceMany(round, count) {
    const answers = new Array(count);
    let next = 0;
    const lane = async () => {
      while (next < count) {
        const i = next++;
        answers[i] = await this.ws.request({ type: 'produce', queue: QUEUE, data: { c: this.index, i, r: round } });
      }
    };
    await Promise.all(range(WINDOW).map(lane));
    return answers;
  }

  /** Resolves with the first reply (already here or still to come) that `match` accepts, or null. */
  waitReply(match, timeout) {
    const found = this.replies.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const listener = (frame) => {
        if (!match(frame)) return;
        done(frame);
      };
      const timer = setTimeout(() => done(null), timeout);
      const done = (frame) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(frame);
      };
      this.listeners.add(listener);
    });
  }

  /**
   * Sends one message of `round` until a node answers it: a produce refused with no_consumer
   * or node_unavailable is sent again, and so is one whose reply does not come within
   * `replyTimeout` (it went to a node that died with it). Resolves with what it took.
   */
  async roundTrip(round, { until, replyTimeout = 1000 }) {
    const outcome = { node: null, at: 0, attempts: 0, refused: 0, lost: 0 };
    for (;;) {
      const attempt = ++outcome.attempts;
      const data = { c: this.index, i: attempt, r: round };
      const answer = await this.ws.request({ type: 'produce', queue: QUEUE, data });
      if (answer.type === 'error') {
        assert.ok(RETRY_CODES.has(answer.code), `client ${this.index}: unexpected ${JSON.stringify(answer)}`);
        ++outcome.refused;
      } else {
        assert.equal(answer.type, 'ack', `client ${this.index}: ${JSON.stringify(answer)}`);
        const reply = await this.waitReply((f) => f.data?.data?.r === round && f.data.data.i === attempt, replyTimeout);
        if (reply) {
          assert.equal(reply.data.data.c, this.index, `client ${this.index} got a reply meant for another client`);
          outcome.node = reply.data.node;
          outcome.at = Date.now();
          return outcome;
        }
        ++outcome.lost;
      }
      if (Date.now() > until) {
        throw new Error(`client ${this.index} (${this.session}) got no reply in round ${round}: ` +
          JSON.stringify(outcome));
      }
      if (answer.type === 'error') await sleep(50);
    }
  }
}

describe('one edge and three server nodes serve 200 clients', { timeout: 150000 }, () => {
  let edge;
  const nodes = new Map();     // name -> Child
  let clients = [];
  const homeNode = new Map();  // client index -> node that answered the first round

  // Appends the processes' output to a failure, which is where the reason usually is.
  async function explained(body) {
    try {
      return await body();
    } catch (err) {
      err.message += '\n' + [edge.child, ...nodes.values()].map((child) => child.describe()).join('\n');
      throw err;
    }
  }

  before(async () => {
    requireBinaries();
    edge = new Edge({ args: ['--heartbeat-ms', '200', '--peer-timeout-ms', '1000'] });
    await edge.start();
    for (const name of NODE_NAMES) nodes.set(name, startTestNode(edge.meshPort, { name, queue: QUEUE }));
    await explained(async () => {
      await edge.waitReady({ nodes: NODE_NAMES.length });
      await waitNodesHearClients(edge, [...nodes.values()]);
      clients = await mapLimit(range(CLIENTS), 50, (index) => LoadClient.open(edge, index));
    });
  }, { timeout: 60000 });

  after(async () => {
    await Promise.all(clients.map((client) => client.ws.close()));
    await Promise.all([...nodes.values()].map((node) => node.stop()));
    await edge?.destroy();
  });

  test('every message reaches exactly one node, each session always the same node, each reply the right client',
    { timeout: 60000 }, (t) => explained(async () => {
      const started = Date.now();
      const answers = await Promise.all(clients.map((client) => client.produceMany('load', MESSAGES)));
      const acked = Date.now();

      const refused = answers.flat().filter((answer) => answer.type !== 'ack');
      assert.deepEqual(refused.slice(0, 5), [], `${refused.length} produce frames were not acked`);
      const ids = new Set(answers.flat().map((answer) => answer.id));
      assert.equal(ids.size, CLIENTS * MESSAGES, 'every ack carries its own message id');

      await waitFor(() => clients.every((client) => client.repliesOf('load').length >= MESSAGES),
        { timeout: 30000, interval: 50, what: `${MESSAGES} replies on every client` }).catch((err) => {
        const missing = clients.reduce((n, c) => n + Math.max(0, MESSAGES - c.repliesOf('load').length), 0);
        err.message += `; ${missing} replies still missing`;
        throw err;
      });
      const replied = Date.now();

      const sessionsOf = new Map(NODE_NAMES.map((name) => [name, 0]));
      const messagesOf = new Map(NODE_NAMES.map((name) => [name, 0]));
      for (const client of clients) {
        const replies = client.repliesOf('load');
        assert.equal(replies.length, MESSAGES, `client ${client.index}: exactly one reply per message`);
        assert.ok(replies.every((frame) => frame.type === 'message' && frame.queue === QUEUE));
        assert.ok(replies.every((frame) => frame.data.data.c === client.index),
          `client ${client.index} got a reply meant for another client`);
        assert.deepEqual(replies.map((frame) => frame.data.data.i).sort((a, b) => a - b), range(MESSAGES),
          `client ${client.index}: each message answered once`);
        const answeredBy = new Set(replies.map((frame) => frame.data.node));
        assert.equal(answeredBy.size, 1,
          `client ${client.index} (${client.session}) was answered by ${[...answeredBy]}`);
        const [node] = answeredBy;
        assert.ok(NODE_NAMES.includes(node), `unknown node ${node}`);
        homeNode.set(client.index, node);
        sessionsOf.set(node, sessionsOf.get(node) + 1);
        messagesOf.set(node, messagesOf.get(node) + replies.length);
      }
      const total = [...messagesOf.values()].reduce((a, b) => a + b, 0);
      assert.equal(total, CLIENTS * MESSAGES);
      for (const [node, sessions] of sessionsOf) {
        assert.ok(sessions >= CLIENTS * 0.15, `node ${node} got only ${sessions} of ${CLIENTS} sessions`);
      }

      const seconds = (replied - started) / 1000;
      t.diagnostic(`${CLIENTS * MESSAGES} messages: all acked in ${acked - started} ms, ` +
        `all replies in ${replied - started} ms (${Math.round((CLIENTS * MESSAGES) / seconds)} round trips/s)`);
      t.diagnostic('sessions per node: ' + NODE_NAMES.map((n) => `${n}=${sessionsOf.get(n)}`).join(' ') +
        '; messages per node: ' + NODE_NAMES.map((n) => `${n}=${messagesOf.get(n)}`).join(' '));
    }));

  test('a client that reconnects with its session id keeps its node', { timeout: 30000 }, (t) => explained(async () => {
    assert.equal(homeNode.size, CLIENTS, 'needs the first test to have mapped every session to its node');
    const movers = clients.filter((client) => client.index % 10 === 0);
    await Promise.all(movers.map(async (client) => {
      const before = client.session;
      const welcome = await client.reconnect(edge);
      assert.equal(welcome.session, before, 'the edge keeps the session id');
      assert.equal(welcome.resumed, true, 'the edge says the session was resumed');
      const answers = await client.produceMany('resume', 5);
      assert.ok(answers.every((answer) => answer.type === 'ack'), JSON.stringify(answers));
    }));
    await waitFor(() => movers.every((client) => client.repliesOf('resume').length >= 5),
      { timeout: 10000, interval: 50, what: 'the replies after reconnecting' });
    for (const client of movers) {
      const nodesSeen = new Set(client.repliesOf('resume').map((frame) => frame.data.node));
      assert.deepEqual([...nodesSeen], [homeNode.get(client.index)],
        `client ${client.index} (${client.session}) moved after reconnecting`);
    }
    t.diagnostic(`${movers.length} clients reconnected with their session id; each still reaches its node`);
  }));

  test('kill -9 of one node moves only its sessions, to the others, within a few seconds',
    { timeout: 60000 }, (t) => explained(async () => {
      assert.equal(homeNode.size, CLIENTS, 'needs the first test to have mapped every session to its node');
      const survivors = NODE_NAMES.filter((name) => name !== VICTIM);
      const orphans = clients.filter((client) => homeNode.get(client.index) === VICTIM);
      assert.ok(orphans.length > 0, `${VICTIM} holds no session to move`);

      const killedAt = Date.now();
      const exit = await nodes.get(VICTIM).stop({ signal: 'SIGKILL' });
      assert.equal(exit.signal, 'SIGKILL');
      const detected = waitFor(async () => (await healthz(edge)).nodes === survivors.length,
        { timeout: 15000, interval: 20, what: `/healthz to count ${survivors.length} nodes` }).then(() => Date.now());
      detected.catch(() => {});  // awaited below, after the clients
      const until = killedAt + FAILOVER_LIMIT_MS + 5000;  // give up later than we judge, to report the time
      const failover = await Promise.all(clients.map((client) => client.roundTrip('failover', { until })));
      const detectedAt = await detected;

      const delays = failover.map((outcome) => outcome.at - killedAt);
      const orphanDelays = orphans.map((client) => delays[client.index]);
      const keptDelays = clients.filter((c) => homeNode.get(c.index) !== VICTIM).map((c) => delays[c.index]);
      const slowest = Math.max(...delays);
      const moved = new Map(survivors.map((name) => [name, 0]));
      for (const client of orphans) {
        const { node } = failover[client.index];
        moved.set(node, (moved.get(node) ?? 0) + 1);
      }
      const sum = (key) => failover.reduce((n, outcome) => n + outcome[key], 0);
      t.diagnostic(`kill -9 ${VICTIM} -> /healthz counts ${survivors.length} nodes after ${detectedAt - killedAt} ms`);
      t.diagnostic(`kill -9 ${VICTIM} -> every client answered again after ${slowest} ms ` +
        `(moved sessions: median ${percentile(orphanDelays, 50)} ms, max ${Math.max(...orphanDelays)} ms; ` +
        `other sessions: median ${percentile(keptDelays, 50)} ms, max ${Math.max(...keptDelays)} ms)`);
      t.diagnostic(`${orphans.length} sessions of ${VICTIM} moved: ` +
        [...moved].map(([name, count]) => `${name}=${count}`).join(' ') +
        `; ${CLIENTS - orphans.length} others stayed; retries: ${sum('refused')} refused, ${sum('lost')} unanswered`);

      for (const client of clients) {
        const { node } = failover[client.index];
        const home = homeNode.get(client.index);
        if (home === VICTIM) {
          assert.ok(survivors.includes(node), `client ${client.index} of ${VICTIM} went to ${node}`);
        } else {
          assert.equal(node, home, `client ${client.index} lived on ${home}, which still runs, but moved`);
        }
      }
      for (const name of survivors) {
        assert.ok(moved.get(name) > 0, `none of ${VICTIM}'s ${orphans.length} sessions moved to ${name}`);
      }
      assert.ok(slowest < FAILOVER_LIMIT_MS, `the last client was answered ${slowest} ms after the kill`);

      // Once the edge has dropped the dead node from its ring, every session stays where the
      // failover put it: the fallback node was the ring's next owner all along.
      const settled = await Promise.all(clients.map((client) =>
        client.roundTrip('settled', { until: Date.now() + 10000 })));
      for (const client of clients) {
        assert.equal(settled[client.index].node, failover[client.index].node,
          `client ${client.index} moved again after the ring dropped ${VICTIM}`);
      }
      for (const client of clients) {
        assert.equal(client.repliesOf('load').length, MESSAGES, `client ${client.index}: a late duplicate reply`);
      }
    }));
});

// The edge counts (and routes to) a node only once the node has shown that it counts the
// edge as a member; before that the node would drop what the edge sends as coming from a
// stranger. So a message acked right after /healthz counts a node reaches it.
describe('a node that just joined', { timeout: 30000 }, () => {
  test('gets every message the edge acks once /healthz counts it', { timeout: 20000 }, async () => {
    const edge = new Edge({ args: ['--heartbeat-ms', '200', '--peer-timeout-ms', '1000'] });
    let node;
    let client;
    try {
      await edge.start();
      await edge.waitReady();
      client = await WsClient.connect(edge);
      await client.hello();
      const replies = new Set();
      client.onmessage = (frame) => replies.add(frame.data.data.i);
      node = startTestNode(edge.meshPort, { name: 'late', queue: QUEUE });
      await waitFor(async () => (await healthz(edge)).nodes === 1,
        { interval: 5, what: '/healthz to count the node' });
      const answers = await Promise.all(range(20).map((i) =>
        client.request({ type: 'produce', queue: QUEUE, data: { i } })));
      assert.ok(answers.every((answer) => answer.type === 'ack'), JSON.stringify(answers));
      await waitFor(() => replies.size === answers.length,
        { timeout: 1500, interval: 20, what: 'a reply to every ack' }).catch((err) => {
          err.message += `; got ${replies.size} of ${answers.length}`;
          throw err;
        });
    } finally {
      await client?.close();
      await node?.stop();
      await edge.destroy();
    }
  });
});
