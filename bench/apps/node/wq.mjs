#!/usr/bin/env node
// The full work-queue cycle (send -> receive -> delete) through the Node.js SDK's
// WorkQueues, the twin of adashta-bench-wq (bench/apps/bench_wq.cpp; bench/CONTRACT.md,
// "Other Adashta tools") and of RSMQ's bench/peers/rsmq_wq.mjs.
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 node bench/apps/node/wq.mjs --producers 8 --consumers 8 --messages 20000
//
// One process, one node, 8 producer and 8 consumer async loops, one job per call and one call
// in flight per loop (as rsmq_wq.mjs runs RSMQ): each producer awaits one sendMessage after
// another, each consumer loops a long-poll receiveMessage and a deleteMessage. A job's body
// starts with the time its send started (µs, performance.now()); its latency ends when its
// delete has resolved.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse_flags, print_json } from '../../peers/flags.mjs';
import { Histogram } from '../../peers/histogram.mjs';
import { Adashta, codes } from './sdk.mjs';

const tool = 'adashta-bench-js-wq';
const usage = 'usage: wq.mjs --messages N [--producers 8] [--consumers 8] [--size 64] [--queue benchwq]\n' +
  '              [--seeds tcp://HOST:PORT] [--wait-ms 1000] [--max-s 300]';
const flags = parse_flags(process.argv.slice(2), usage, {
  messages: null, producers: 8, consumers: 8, size: 64, queue: 'benchwq', seeds: '', wait_ms: 1000, max_s: 300,
});
const whole = (n, lo, hi) => Number.isInteger(n) && n >= lo && n <= hi;
if (!whole(flags.messages, 1, 1e8) || !whole(flags.producers, 1, 256) || !whole(flags.consumers, 1, 256) ||
    !whole(flags.size, 1, 60000) || !whole(flags.wait_ms, 0, 20000) || !whole(flags.max_s, 1, 3600)) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

const now_us = () => performance.now() * 1000;
const padding = 'x'.repeat(flags.size);
// Body: "<send start µs>:" padded with x to --size bytes.
const body_of = (send_us) => {
  const prefix = `${send_us.toFixed(1)}:`;
  return prefix + padding.slice(prefix.length);
};

let deleted = 0;
let errors = 0;
let last_delete_us = 0;
let deadline_us = Infinity;
const latency = new Histogram(flags.messages);
const over = () => deleted >= flags.messages || now_us() > deadline_us;
const error = (what, err) => {
  if (errors++ < 5) process.stderr.write(`${tool}: ${what}: ${err.message ?? err}\n`);
};

async function produce(rsmq, count) {
  for (let i = 0; i < count && !over(); i++) {
    try {
      await rsmq.sendMessage({ qname: flags.queue, message: body_of(now_us()) });
    } catch (err) {
      error('sendMessage', err);
    }
  }
}

async function consume(rsmq) {
  while (!over()) {
    let job;
    try {
      job = await rsmq.receiveMessage({ qname: flags.queue, wait: flags.wait_ms });
    } catch (err) {
      error('receiveMessage', err);
      await sleep(10); // a failing edge: do not spin
      continue;
    }
    if (!job.id) continue;
    const sent = Number.parseFloat(job.message);
    try {
      await rsmq.deleteMessage({ qname: flags.queue, id: job.id });
    } catch (err) {
      error('deleteMessage', err);
      continue;
    }
    const done = now_us();
    if (!Number.isFinite(sent)) {
      error('a job without a send time', job.message.slice(0, 40));
      continue;
    }
    latency.record(done - sent);
    last_delete_us = done;
    deleted++;
  }
}

const options = { name: 'bench-js-wq' };
if (flags.seeds) options.seeds = String(flags.seeds).split(',');
const adashta = new Adashta(options);
try {
  await adashta.connect();
} catch (err) {
  process.stderr.write(`${tool}: ${err.message} (start an edge, e.g. \`adashta edge --mesh 127.0.0.1:7700\`, ` +
    'and give its mesh endpoint in ADASHTA_SEEDS or --seeds)\n');
  process.exit(1);
}
const rsmq = adashta.workQueues({ units: 'ms' });
try {
  await rsmq.deleteQueue({ qname: flags.queue });
} catch (err) {
  if (err.code !== codes.unknown_queue) {
    process.stderr.write(`${tool}: deleteQueue ${flags.queue}: ${err.message}\n`);
    process.exit(1);
  }
}
await rsmq.createQueue({ qname: flags.queue, vt: 30000 });
process.stderr.write(`${tool}: ${flags.messages} messages of ${flags.size} bytes, ${flags.producers} producers, ` +
  `${flags.consumers} consumers, 1 node, queue ${flags.queue}, 1 job per call\n`);

const start_us = now_us();
deadline_us = start_us + flags.max_s * 1e6;
const loops = [];
for (let c = 0; c < flags.consumers; c++) loops.push(consume(rsmq));
for (let p = 0; p < flags.producers; p++) {
  const share = Math.floor(flags.messages / flags.producers) + (p < flags.messages % flags.producers ? 1 : 0);
  loops.push(produce(rsmq, share));
}
await Promise.all(loops);

const duration_s = (last_delete_us - start_us) / 1e6;
process.stderr.write(`${tool}: ${deleted} cycles in ${duration_s.toFixed(3)} s, ${errors} errors\n`);
print_json({
  tool, producers: flags.producers, batch: 1, consumers: flags.consumers, nodes: 1, messages: flags.messages,
  completed: deleted, errors, duration_s: Math.round(duration_s * 1e6) / 1e6,
  rate: duration_s > 0 ? Math.round(deleted / duration_s) : 0, latency_us: latency.summary(),
});
if (deleted < flags.messages) {
  process.stderr.write(`${tool}: stopped after ${flags.max_s} s with ${deleted} of ${flags.messages} messages done\n`);
  process.exit(1);
}
await adashta.close();
