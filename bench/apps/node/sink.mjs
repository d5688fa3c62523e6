#!/usr/bin/env node
// The server application of the load generator's adashta scenarios on the Node.js SDK, the
// twin of adashta-bench-node (bench/apps/bench_node.cpp; bench/CONTRACT.md, "Server
// applications"). It joins the mesh through ADASHTA_SEEDS and either counts what browsers
// produce to "bench" (sink) or answers every message on "echo" to its sender (echo). On
// SIGTERM or SIGINT it prints the result line.
//
//   ADASHTA_SEEDS=tcp://127.0.0.1:7700 node bench/apps/node/sink.mjs --mode sink
//   {"event":"ready"}
//   ... kill -TERM ...
//   {"tool":"adashta-bench-js-sink","mode":"sink","received":N,"first_ms":..,"last_ms":..,"rate":..}
//
// Handlers run with the SDK's default concurrency (1, as the C++ SDK's handler thread).
import { parse_flags, print_json } from '../../peers/flags.mjs';
import { Adashta } from './sdk.mjs';

const tool = 'adashta-bench-js-sink';
const usage = 'usage: sink.mjs --mode sink|echo [--name N]';
const flags = parse_flags(process.argv.slice(2), usage, { mode: null, name: '' });
if (flags.mode !== 'sink' && flags.mode !== 'echo') {
  process.stderr.write(`--mode must be sink or echo\n${usage}\n`);
  process.exit(2);
}
const name = flags.name || `bench-js-${flags.mode}`;

// The hot path of a sink: one clock read and two stores per message.
let received = 0;
let first_ms = 0;
let last_ms = 0;
let reply_failures = 0;
const count_one = () => {
  const now = Date.now();
  if (received++ === 0) first_ms = now;
  last_ms = now;
};

const adashta = new Adashta({ name });
adashta.on('error', (err) => process.stderr.write(`${tool}: ${err.message}\n`));
if (flags.mode === 'sink') {
  adashta.consume('bench', () => { count_one(); });
  // The durable-publish scenario produces to "durable", and the edge refuses a queue no node
  // consumes: the sink takes it too, without counting it.
  adashta.consume('durable', () => {});
} else {
  adashta.consume('echo', async (msg) => {
    count_one();
    try {
      await adashta.produce('echo', msg.data, { to: msg.client });
    } catch {
      reply_failures++;
    }
  });
}

const stop = (signal) => {
  const rate = last_ms > first_ms ? Math.round((received * 1000) / (last_ms - first_ms)) : 0;
  if (reply_failures > 0) process.stderr.write(`${tool}: ${reply_failures} replies could not be sent\n`);
  process.stderr.write(`${tool}: stopped by ${signal}\n`);
  print_json({ tool, mode: flags.mode, received, first_ms, last_ms, rate });
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

try {
  await adashta.connect();
} catch (err) {
  process.stderr.write(`${tool}: ${err.message} (ADASHTA_SEEDS=${process.env.ADASHTA_SEEDS ?? 'unset'}; ` +
    'start an edge, e.g. `adashta edge --mesh 127.0.0.1:7700`)\n');
  process.exit(1);
}
process.stderr.write(`${tool}: ${flags.mode} node ${name} at ${adashta.endpoint} consuming "${flags.mode === 'sink' ? 'bench' : 'echo'}"\n`);
print_json({ event: 'ready' });
