#!/usr/bin/env node
// The conformance driver of the JavaScript SDK (tests/conformance/DRIVER.md): one node,
// driven by JSON lines on stdin, answering and reporting events as JSON lines on stdout.
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 node sdk/js/test/driver.mjs
//   {"cmd":"connect","ref":1}
//
// Works from the repository after `npm ci && npm run build` in sdk/js: `adashta` resolves to
// this package by its own name (package.json "exports").

import readline from 'node:readline';
import { Adashta, AdashtaError } from 'adashta';

// `node --test test/` runs every file under test/, this one too, without a node's
// environment: it is not a test then. (Whoever starts it for real sets ADASHTA_SEEDS.)
if (process.env.NODE_TEST_CONTEXT && !process.env.ADASHTA_SEEDS) process.exit(0);

let node = null;
let queues = null;                // the node's work queues, in ms as DRIVER.md says
const held = new Map();           // message id -> { ack, release }
let closing = null;

const out = (object) => process.stdout.write(JSON.stringify(object) + '\n');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function errorOf(err) {
  if (err instanceof AdashtaError) return { code: err.code, name: err.codeName, message: err.message };
  return { code: 0, name: 'driver_error', message: err?.message ?? String(err) };
}

function needNode() {
  if (!node) throw new AdashtaError('not_started', 'send connect first');
  return node;
}

function handlerFor(queue, behavior) {
  return (msg) => {
    out({ event: 'message', queue, id: msg.id, client: msg.client, user: msg.user, data: msg.data, offset: msg.offset, receiveCount: msg.receiveCount });
    if (behavior === 'ack') return undefined;
    if (behavior === 'echo') return node.produce(queue, { node: node.options.name, data: msg.data }, { to: msg.client });
    if (behavior === 'throw') return Promise.reject(new Error('the handler failed (behavior throw)'));
    if (behavior === 'panic') throw new Error('the handler threw synchronously (behavior panic)');
    if (behavior === 'throwOnce') {
      if (msg.receiveCount === 1) return Promise.reject(new Error('the first delivery fails (behavior throwOnce)'));
      return undefined;
    }
    if (behavior === 'hold') {
      held.set(msg.id, msg.defer());
      return undefined;
    }
    const sleeping = /^sleep:(\d+)$/.exec(behavior ?? '');
    if (sleeping) {
      return sleep(Number(sleeping[1])).then(() => out({ event: 'done', id: msg.id }));
    }
    return Promise.reject(new Error(`unknown behavior ${behavior}`));
  };
}

const wqShapes = {
  createQueue: () => ({}),
  deleteQueue: () => ({}),
  changeMessageVisibility: () => ({}),
  listQueues: (queues) => ({ queues }),
  getQueueAttributes: (a) => a,
  setQueueAttributes: (a) => a,
  sendMessage: (id) => ({ id }),
  sendMessageBatch: (ids) => ({ ids }),
  receiveMessage: (job) => job,
  popMessage: (job) => job,
  receiveMessageBatch: (jobs) => ({ jobs }),
  deleteMessage: (n) => ({ deleted: n === 1 }),
  deleteMessageBatch: (deleted) => ({ deleted }),
};

const commands = {
  async connect({ options = {} }) {
    if (node) throw new AdashtaError('not_allowed', 'connect was sent already');
    // The runner's connectTimeout (ms, DRIVER.md's scenarios) is the SDK's connectTimeoutMs.
    const { connectTimeout, ...rest } = options;
    node = new Adashta({ ...rest, ...(connectTimeout !== undefined ? { connectTimeoutMs: connectTimeout } : {}) });
    node.on('error', (err) => out({ event: 'handlerError', queue: err.queue, id: err.messageId, message: err.message }));
    node.on('connection', (e) => out({ event: 'connection', client: e.client, user: e.user, resumed: e.resumed }));
    node.on('disconnection', (e) => out({ event: 'disconnection', client: e.client, user: e.user }));
    node.on('log', (line) => process.stderr.write(`[adashta] ${line}\n`));
    try {
      await node.connect();
    } catch (err) {
      node = null;
      throw err;
    }
    queues = node.workQueues({ units: 'ms' });
    return { id: node.id, endpoint: node.endpoint };
  },
  async consume({ queue, behavior = 'ack', concurrency }) {
    needNode().consume(queue, handlerFor(queue, behavior), concurrency ? { concurrency } : undefined);
    return {};
  },
  async unconsume({ queue }) {
    needNode().unconsume(queue);
    return {};
  },
  async produce({ queue, data, to, toUser, delay, deliverAt, confirm }) {
    return { id: await needNode().produce(queue, data, { to, toUser, delay, deliverAt, confirm }) };
  },
  async produceRaw({ queue, text }) {
    return { id: await needNode().produceJson(queue, text) };
  },
  async fetch({ queue, from, since, limit }) {
    return needNode().fetch(queue, { from, since, limit });
  },
  async cancel({ id }) {
    await needNode().cancel(id);
    return {};
  },
  async wq({ op, args = {} }) {
    needNode();
    if (!wqShapes[op]) throw new AdashtaError('bad_option', `unknown work-queue op ${op}`);
    return wqShapes[op](await queues[op](args));
  },
  async peers() {
    return { peers: needNode().peers() };
  },
  async settle({ id, ok }) {
    const message = held.get(id);
    if (!message) throw new AdashtaError('unknown_message', `the driver holds no message ${id}`);
    held.delete(id);
    if (ok) message.ack();
    else message.release();
    return {};
  },
  async close() {
    return {};
  },
};

async function finish() {
  closing ??= (async () => {
    if (node) await node.close();
    process.exit(0);
  })();
  return closing;
}

const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let command;
  try {
    command = JSON.parse(line);
  } catch (err) {
    process.stderr.write(`driver: a line that is not JSON: ${err.message}\n`);
    return;
  }
  const run = commands[command.cmd];
  const answer = run
    ? Promise.resolve().then(() => run(command))
    : Promise.reject(new AdashtaError('bad_option', `unknown command ${command.cmd}`));
  answer.then(
    (result) => {
      out({ ref: command.ref, ok: true, result });
      if (command.cmd === 'close') finish();
    },
    (err) => out({ ref: command.ref, ok: false, error: errorOf(err) }),
  );
});
lines.on('close', () => finish());
out({ event: 'ready' });
