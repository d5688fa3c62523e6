#!/usr/bin/env node
// RSMQ work-queue full cycle, the peer of adashta-bench-wq (bench/CONTRACT.md):
// producers send N messages to queue "benchwq", consumers receive and delete them.
// Latency per message = delete done − send start (the body carries the send time).
//
//   node rsmq_wq.mjs --producers 8 --consumers 8 --messages 20000 --redis 26379
//
// How it runs, and why that is fair to RSMQ:
// - One Node.js process with 8 producer and 8 consumer async loops, each loop with its
//   own RedisSMQ client (own Redis connection) and awaiting its own call, as 16
//   separate workers would. A cycle costs 5 round trips (send: queue lookup + MULTI;
//   receive: lookup + Lua script; delete: MULTI), and the client side of that (RSMQ's
//   JavaScript and node_redis) is what saturates first: measured on the 2-core
//   machine, Node ~95 % of its core, Redis ~60 % of its own. That client cost is part
//   of what RSMQ costs its users, so it is kept. worker_threads would not help: the
//   runner pins the tool to one core and Redis to the other, and a tool spread over
//   both cores takes CPU from Redis (unpinned: 8.5k cycles/s against 10.5k pinned).
// - RSMQ has no long poll. A consumer that finds the queue empty sleeps 10 ms and
//   polls again. (rsmq-worker, RSMQ's own worker module, polls again at once while
//   messages flow and backs off to 1 s, 5 s, 10 s when empty; 10 ms is RSMQ's best
//   case.) The realtime option is not used: RSMQ's README warns against several
//   workers subscribing to it.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parse_flags, print_json } from "./flags.mjs";
import { Histogram } from "./histogram.mjs";
import { close_clients, ensure_redis_reachable, open_clients, parse_endpoint, recreate_queue } from "./rsmq_clients.mjs";

const usage =
  "usage: rsmq_wq.mjs --producers 8 --consumers 8 --messages N --redis [HOST:]PORT [--size 64] [--timeout-s 600]";
const flags = parse_flags(process.argv.slice(2), usage, {
  producers: 8,
  consumers: 8,
  messages: null,
  redis: null,
  size: 64,
  timeout_s: 600,
});
if (![flags.producers, flags.consumers, flags.messages, flags.size].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

const qname = "benchwq";
const empty_queue_sleep_ms = 10;
const padding = "x".repeat(flags.size);

let sent = 0; // send calls started
let completed = 0; // messages deleted by this run
let first_send_us = 0;
let last_delete_us = 0;
const latency = new Histogram(flags.messages);

const now_us = () => performance.now() * 1000;

// Body: "<send start µs>:" padded with x to --size bytes.
function make_body(send_us) {
  const prefix = `${send_us.toFixed(1)}:`;
  return prefix + padding.slice(prefix.length);
}

async function produce(client) {
  while (sent < flags.messages) {
    sent++;
    await client.sendMessageAsync({ qname, message: make_body(now_us()) });
  }
}

async function consume(client) {
  while (completed < flags.messages) {
    const message = await client.receiveMessageAsync({ qname });
    if (!message.id) {
      await sleep(empty_queue_sleep_ms);
      continue;
    }
    // 0 means another consumer deleted it first (a redelivery after the 30 s visibility timeout).
    if ((await client.deleteMessageAsync({ qname, id: message.id })) !== 1) continue;
    const done_us = now_us();
    latency.record(done_us - Number.parseFloat(message.message));
    last_delete_us = done_us;
    completed++;
  }
}

function result() {
  const duration_s = (last_delete_us - first_send_us) / 1e6;
  return {
    tool: "rsmq_wq",
    producers: flags.producers,
    consumers: flags.consumers,
    messages: flags.messages,
    completed,
    duration_s: Math.round(duration_s * 1000) / 1000,
    rate: duration_s > 0 ? Math.round(completed / duration_s) : 0,
    latency_us: latency.summary(),
  };
}

const endpoint = parse_endpoint(flags.redis);
await ensure_redis_reachable(endpoint, "rsmq_wq");
const clients = open_clients(endpoint, flags.producers + flags.consumers);
await recreate_queue(clients[0], qname);

const hard_cap = setTimeout(() => {
  process.stderr.write(`rsmq_wq: stopped after ${flags.timeout_s} s with ${completed} of ${flags.messages} done\n`);
  print_json({ ...result(), error: "timeout" });
  process.exit(1);
}, flags.timeout_s * 1000);

process.stderr.write(`rsmq_wq: ${flags.messages} messages, ${flags.producers} producers, ${flags.consumers} consumers\n`);
first_send_us = now_us();
await Promise.all([
  ...clients.slice(0, flags.producers).map(produce),
  ...clients.slice(flags.producers).map(consume),
]);
clearTimeout(hard_cap);

await clients[0].deleteQueueAsync({ qname });
await close_clients(clients);
print_json(result());
