#!/usr/bin/env bash
# A quick run of Adashta's side of every benchmark scenario, without the peers, for the test
# suite: it keeps the load generator, the bench apps, the runner and the report working.
# Its numbers mean nothing (short runs, and the suite's other tests may run beside it).
#   ADASHTA_BUILD_DIR=build bash bench/smoke.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export ADASHTA_BENCH_NOFILE="$(ulimit -n)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
node "$here/run.mjs" --quick --systems adashta,adashta-amo --out "$out"
# Security on (tokens and a CURVE mesh): the two scenarios it runs in, into the same report.
node "$here/run.mjs" --quick --only ingress,reqrep --systems adashta-amo-sec --merge --out "$out"
# The Node.js and Go SDKs' tools: their sink/echo applications (at most once, the quickest)
# and their work-queue cycles.
node "$here/run.mjs" --quick --only ingress,reqrep --systems adashta-amo-node,adashta-amo-go --merge --out "$out"
node "$here/run.mjs" --quick --only workqueue --systems adashta-node,adashta-go --merge --out "$out"
node - "$out" <<'CHECK'
// Every scenario has an Adashta row with a measurement and no error, and the report exists.
const fs = require('node:fs');
const path = require('node:path');
const out = process.argv[2];
const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
const failures = [];
const rowsOf = (name) => {
  const rows = results.scenarios[name] ?? { error: 'missing' };
  if (rows.error) failures.push(`${name}: ${rows.error}`);
  return rows;
};
const need = (name, key, row, field) => {
  if (!row) failures.push(`${name}: no ${key} row`);
  else if (row.error) failures.push(`${name} ${key}: ${row.error}`);
  else if (!(field(row) > 0)) failures.push(`${name} ${key}: no measurement in ${JSON.stringify(row).slice(0, 200)}`);
};
for (const name of ['ingress', 'durable', 'workqueue', 'scheduled'])
  need(name, 'adashta', rowsOf(name).adashta, (r) => r.rate ?? r.received ?? r.messages);
need('ingress', 'adashta-amo', rowsOf('ingress')['adashta-amo'], (r) => r.rate);
need('ingress', 'adashta-amo-sec', rowsOf('ingress')['adashta-amo-sec'], (r) => r.rate);
for (const system of ['adashta-amo-node', 'adashta-amo-go'])
  need('ingress', system, rowsOf('ingress')[system], (r) => r.rate);
for (const system of ['adashta-node', 'adashta-go'])
  need('workqueue', system, rowsOf('workqueue')[system], (r) => r.rate);
const reqrep = rowsOf('reqrep');
for (const system of ['adashta', 'adashta-amo', 'adashta-amo-node', 'adashta-amo-go']) {
  for (const key of Object.keys(reqrep).filter((k) => k.startsWith(`${system}@`)))
    need('reqrep', key, reqrep[key], (r) => r.answered);
  if (!Object.keys(reqrep).some((k) => k.startsWith(`${system}@`))) failures.push(`reqrep: no ${system} rows`);
}
const idle = rowsOf('idle');
const idleRows = Object.keys(idle).filter((k) => k.startsWith('adashta@'));
if (!idleRows.some((k) => !idle[k].error && !idle[k].blocked)) failures.push(`idle: no adashta size measured: ${JSON.stringify(idle).slice(0, 300)}`);
need('hop', 'mesh', rowsOf('hop').mesh, (r) => r.rate);
for (const system of ['adashta', 'adashta-amo']) need('crowd', system, rowsOf('crowd')[system], (r) => r.answered);
for (const system of ['adashta', 'adashta-amo']) {
  need('flood', `${system}@64`, rowsOf('flood')[`${system}@64`], (r) => r.quiet?.answered);
  // The flood phase ran (how many quiet requests it answered in time is a measurement, not a check).
  need('flood', `${system}@64 in the flood`, rowsOf('flood')[`${system}@64`], (r) => r.flood?.sent && r.flood_received);
}
// Ingress with no plugin, a Lua and a JavaScript pass-through on_message: each measured, and
// the plugins' calls really ran in the edge.
for (const variant of ['none', 'lua', 'js']) need('plugins', variant, rowsOf('plugins')[variant], (r) => r.rate);
for (const variant of ['lua', 'js'])
  need('plugins', `${variant} calls`, rowsOf('plugins')[variant], (r) => r.runs?.[0]?.plugin_calls);
for (const file of ['results.md', 'chart.png'])
  if (!fs.existsSync(path.join(out, file))) failures.push(`no ${file}`);
if (failures.length) {
  console.error(`bench smoke: ${failures.length} problem(s):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log('bench smoke: every scenario measured Adashta; report written');
CHECK
