#!/usr/bin/env node
// RSMQ scheduled delivery, the peer of adashta-bench-sched (bench/CONTRACT.md):
// schedules N messages on queue "benchsched" with due times spread evenly over
// --spread-ms, starting --lead-ms after the run starts, so all are sent (pending at
// once) before the first is due; consumers receive and delete them and record
// lateness = receive time − intended due time (µs).
//
//   node rsmq_sched.mjs --messages 100000 --spread-ms 10000 --redis 26379
//
// RSMQ's `delay` is whole seconds (its own limit: sendMessage takes `delay` in
// seconds and adds delay*1000 to Redis's clock in ms). The wanted delay is rounded
// UP, so nothing is delivered before its intended due time; the lateness this
// measures therefore includes up to 1 s of rounding, which is what an RSMQ user gets.
// The intended due time (Unix ms) travels in the body.
//
// Consumers poll as in rsmq_wq.mjs: no long poll in RSMQ, so an empty receive sleeps
// 10 ms (RSMQ's best case; rsmq-worker backs off to 1 s). One Node.js process, one
// RedisSMQ client per loop.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { parse_flags, print_json } from "./flags.mjs";
import { Histogram } from "./histogram.mjs";
import { close_clients, ensure_redis_reachable, open_clients, parse_endpoint, recreate_queue } from "./rsmq_clients.mjs";

const usage =
  "usage: rsmq_sched.mjs --messages 100000 --spread-ms 10000 --redis [HOST:]PORT " +
  "[--lead-ms 5000] [--consumers 4] [--senders 16] [--size 64] [--timeout-s 120]";
const flags = parse_flags(process.argv.slice(2), usage, {
  messages: null,
  spread_ms: null,
  redis: null,
  lead_ms: 5000,
  consumers: 4,
  senders: 16,
  size: 64,
  timeout_s: 120,
});
const counts = [flags.messages, flags.consumers, flags.senders, flags.size];
if (!counts.every((n) => Number.isInteger(n) && n > 0) || !(flags.spread_ms >= 0) || !(flags.lead_ms >= 0)) {
  process.stderr.write(`${usage}\n`);
  process.exit(2);
}

const qname = "benchsched";
const empty_queue_sleep_ms = 10;
const padding = "x".repeat(flags.size);

// Unix time in ms with µs precision, from the monotonic clock.
const epoch_ms = () => performance.timeOrigin + performance.now();

let start_ms = 0; // when scheduling began; message i is due at start + lead + i*spread/N
let next_index = 0; // next message to schedule
let send_done_ms = 0; // when the last sendMessage returned
let received = 0; // messages received and deleted
let early = 0; // received before their intended due time (should stay 0)
const lateness = new Histogram(flags.messages);

const due_ms_of = (index) => start_ms + flags.lead_ms + (flags.spread_ms * index) / flags.messages;

async function schedule(client) {
  while (next_index < flags.messages) {
    const due_ms = due_ms_of(next_index++);
    // Date.now() is whole ms, never ahead of the Redis TIME that sendMessage reads a
    // moment later, so the rounded-up delay never makes a message due early.
    const delay = Math.max(0, Math.ceil((due_ms - Date.now()) / 1000));
    const prefix = `${due_ms.toFixed(3)}:`;
    await client.sendMessageAsync({ qname, message: prefix + padding.slice(prefix.length), delay });
  }
  send_done_ms = Math.max(send_done_ms, epoch_ms());
}

async function consume(client) {
  while (received < flags.messages) {
    const message = await client.receiveMessageAsync({ qname });
    if (!message.id) {
      await sleep(empty_queue_sleep_ms);
      continue;
    }
    const late_us = (epoch_ms() - Number.parseFloat(message.message)) * 1000;
    // 0 means another consumer deleted it first (a redelivery after the 30 s visibility timeout).
    if ((await client.deleteMessageAsync({ qname, id: message.id })) !== 1) continue;
    if (late_us < 0) early++;
    lateness.record(late_us);
    received++;
  }
}

function result() {
  const send_s = send_done_ms ? (send_done_ms - start_ms) / 1000 : 0;
  return {
    tool: "rsmq_sched",
    messages: flags.messages,
    received,
    early,
    send_s: Math.round(send_s * 1000) / 1000,
    all_sent_before_first_due: send_done_ms !== 0 && send_done_ms <= due_ms_of(0),
    spread_ms: flags.spread_ms,
    lateness_us: lateness.summary(),
  };
}

const endpoint = parse_endpoint(flags.redis);
await ensure_redis_reachable(endpoint, "rsmq_sched");
const clients = open_clients(endpoint, flags.senders + flags.consumers);
await recreate_queue(clients[0], qname);

const hard_cap = setTimeout(() => {
  process.stderr.write(`rsmq_sched: stopped after ${flags.timeout_s} s with ${received} of ${flags.messages} received\n`);
  print_json({ ...result(), error: "timeout" });
  process.exit(1);
}, flags.timeout_s * 1000);

process.stderr.write(
  `rsmq_sched: ${flags.messages} messages due over ${flags.spread_ms} ms, first due in ${flags.lead_ms} ms\n`,
);
start_ms = epoch_ms();
const consuming = Promise.all(clients.slice(flags.senders).map(consume));
await Promise.all(clients.slice(0, flags.senders).map(schedule));
const sent_in_s = (send_done_ms - start_ms) / 1000;
process.stderr.write(`rsmq_sched: all sent in ${sent_in_s.toFixed(3)} s\n`);
if (send_done_ms > due_ms_of(0)) {
  process.stderr.write(`rsmq_sched: sending outlasted --lead-ms ${flags.lead_ms}; raise it\n`);
}
await consuming;
clearTimeout(hard_cap);

await clients[0].deleteQueueAsync({ qname });
await close_clients(clients);
print_json(result());
