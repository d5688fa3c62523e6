// Turns bench/results/results.json into results.md (tables with ratios against each peer and
// the issue's targets) and chart.png (bars per scenario, drawn as SVG and rendered by headless
// Chromium).
//
//   node bench/report.mjs [results/results.json]     re-renders the report from a saved run
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

const fmt = (n, digits = 0) => (n === undefined || n === null || Number.isNaN(n) ? '—'
  : Number(n).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const us = (n) => (n === undefined || n === null ? '—' : n >= 10000 ? `${fmt(n / 1000, 1)} ms` : `${fmt(n)} µs`);
const ratio = (a, b) => (a && b ? `${fmt(a / b, 2)}×` : '—');
const bytes = (n) => (n >= 1024 ? `${fmt(n / 1024)} KiB` : `${fmt(n)} B`);
const mib = (n) => (n ? `${fmt(n / 2 ** 20)} MiB` : '—');
// Flood scenario: a percentile the lost requests reach is at least the 2 s grace.
const FLOOD_GRACE_US = 2e6;
const lostShare = (phase) => (phase?.sent ? (phase.lost ?? 0) / phase.sent : 0);
const floodLatency = (phase) => {
  const l = phase?.latency_us ?? {};
  const at = (q, v) => (lostShare(phase) > 1 - q ? `≥ ${FLOOD_GRACE_US / 1e6} s` : us(v));
  return { p50: at(0.5, l.p50), p99: at(0.99, l.p99), p999: at(0.999, l.p999) };
};
/** p99 in the flood ÷ p99 alone; with the flood's p99 a lower bound when too many were lost. */
const floodRatioValue = (r) => {
  const alone = r.quiet?.latency_us?.p99;
  const during = lostShare(r.flood) > 0.01 ? Math.max(FLOOD_GRACE_US, r.flood?.latency_us?.p99 ?? 0) : r.flood?.latency_us?.p99;
  return alone && during ? during / alone : null;
};
const floodRatio = (r) => {
  const v = floodRatioValue(r);
  return v === null ? '—' : `${lostShare(r.flood) > 0.01 ? '≥ ' : ''}${fmt(v, v >= 10 ? 0 : 1)}×`;
};
const yes = (ok) => (ok === undefined ? '—' : ok ? 'met' : '**not met**');

// Adashta runs ingress and request→reply twice: with its queues stored (at least once, the
// default) and at most once ("durable": false), the delivery the peers in those tables give.
// The "-sec" rows are the same with security on: tokens for every browser, a CURVE mesh.
// The "-node" and "-go" rows run the same edge with the server application on the Node.js or
// the Go SDK (bench/apps/node, bench/apps/go) instead of the C++ one.
const label = (sys) => ({
  adashta: 'adashta (stored)', 'adashta-amo': 'adashta (at most once)',
  'adashta-sec': 'adashta (stored, tokens + CURVE)', 'adashta-amo-sec': 'adashta (at most once, tokens + CURVE)',
  'adashta-node': 'adashta (stored), Node.js SDK app', 'adashta-amo-node': 'adashta (at most once), Node.js SDK app',
  'adashta-go': 'adashta (stored), Go SDK app', 'adashta-amo-go': 'adashta (at most once), Go SDK app',
})[sys] ?? sys;
// Short names under the chart's bars.
const barLabel = (sys) => sys.replace('adashta-amo', 'amo').replace(/-node$/, '·js').replace(/-go$/, '·go');
// The issue's targets for the Node.js and Go SDKs, each against a row of the same run.
const SDK_TARGETS = { node: { name: 'Node.js', wq: 3, ingress: 0.7 }, go: { name: 'Go', wq: 3, ingress: 0.8 } };
const modes = (rows, key = (sys) => sys) => [['stored', rows[key('adashta')]], ['at most once', rows[key('adashta-amo')]]]
  .filter(([, r]) => r && !r.error);

/** The rows of every table, plus the bars for the chart. */
export function summarize(results) {
  const s = results.scenarios;
  const sections = [];
  const charts = [];

  if (s.ingress && !s.ingress.error) {
    const a = s.ingress.adashta;
    const amo = s.ingress['adashta-amo'];
    const rows = Object.entries(s.ingress).map(([sys, r]) => [label(sys), r.error ? `error: ${r.error.slice(0, 80)}` : fmt(r.rate),
      fmt(r.cpu_s_per_million, 2), ratio(a?.rate, r.rate), ratio(amo?.rate, r.rate)]);
    const { socketio, nats } = s.ingress;
    sections.push({
      title: '1. Ingress — 1,000 WebSocket clients → server application, 64-byte messages, flat out',
      head: ['system', 'messages/s received', 'CPU-s per million (SUT)', 'Adashta stored ÷ system', 'Adashta at most once ÷ system'], rows,
      targets: modes(s.ingress).flatMap(([mode, r]) => [
        [`≥ 10× Socket.IO, ${mode}`, yes(socketio?.rate ? r.rate >= 10 * socketio.rate : undefined)],
        [`≥ 1× NATS (WebSocket), ${mode}`, yes(nats?.rate ? r.rate >= nats.rate : undefined)]]),
      note: 'Socket.IO, ws and NATS core deliver at most once, from memory; "adashta (stored)" commits every message to SQLite before it goes on.',
    });
    charts.push({ title: 'Ingress (msg/s, higher is better)', bars: Object.entries(s.ingress).map(([k, r]) => [barLabel(k), r.rate ?? 0]) });
  }
  if (s.reqrep && !s.reqrep.error) {
    const rows = Object.entries(s.reqrep).map(([key, r]) => {
      const [sys, rate] = key.split('@');
      const l = r.latency_us ?? {};
      return [label(sys), fmt(Number(rate)), r.error ? `error: ${r.error.slice(0, 80)}` : us(l.p50), us(l.p99), us(l.p999), us(l.max),
        r.lost !== undefined ? fmt(r.lost) : '—'];
    });
    const top = Math.max(...Object.keys(s.reqrep).map((k) => Number(k.split('@')[1])));
    sections.push({
      title: '2. Request → reply latency at a fixed offered rate (100 clients)',
      head: ['system', 'offered msg/s', 'p50', 'p99', 'p99.9', 'max', 'lost'], rows,
      targets: modes(s.reqrep, (sys) => `${sys}@${top}`).map(([mode, r]) => [`Adashta p99 ≤ 1 ms at ${fmt(top)} msg/s, ${mode}`,
        yes(r.latency_us?.p99 === undefined ? undefined : r.latency_us.p99 <= 1000)]),
    });
    charts.push({ title: `Request→reply p99 at ${fmt(top)}/s (µs, lower is better)`,
      bars: Object.entries(s.reqrep).filter(([k]) => k.endsWith(`@${top}`))
        .map(([k, r]) => [barLabel(k.split('@')[0]), r.latency_us?.p99 ?? 0]) });
  }
  const ingressSec = s.ingress && !s.ingress.error ? s.ingress : {};
  const reqrepSec = s.reqrep && !s.reqrep.error ? s.reqrep : {};
  const secRows = [];
  for (const base of ['adashta', 'adashta-amo']) {
    const off = ingressSec[base];
    const on = ingressSec[`${base}-sec`];
    if (off && on) secRows.push([label(base), 'ingress msg/s', fmt(off.rate), fmt(on.rate), ratio(on.rate, off.rate)]);
    if (off?.cpu_s_per_million && on?.cpu_s_per_million)
      secRows.push([label(base), 'ingress CPU-s per million', fmt(off.cpu_s_per_million, 2), fmt(on.cpu_s_per_million, 2), ratio(on.cpu_s_per_million, off.cpu_s_per_million)]);
    for (const key of Object.keys(reqrepSec).filter((k) => k.startsWith(`${base}@`))) {
      const rate = key.split('@')[1];
      const a = reqrepSec[key]?.latency_us;
      const b = reqrepSec[`${base}-sec@${rate}`]?.latency_us;
      if (a && b) {
        secRows.push([label(base), `request→reply p50 at ${fmt(Number(rate))}/s`, us(a.p50), us(b.p50), ratio(b.p50, a.p50)]);
        secRows.push([label(base), `request→reply p99 at ${fmt(Number(rate))}/s`, us(a.p99), us(b.p99), ratio(b.p99, a.p99)]);
      }
    }
  }
  if (secRows.length) {
    sections.push({
      title: '2a. What security costs — tokens (HS256, --auth required) and a CURVE mesh, against the same runs without',
      head: ['Adashta', 'measure', 'security off', 'security on', 'on ÷ off'], rows: secRows, targets: [],
      note: 'The token is checked once per connection (hello); CURVE encrypts every mesh frame between the edge and the node.',
    });
  }
  if (s.idle && !s.idle.error) {
    const rows = Object.entries(s.idle).map(([key, r]) => {
      const [sys, n] = key.split('@');
      return [sys, fmt(Number(n)), r.error ? `error: ${r.error.slice(0, 80)}` : fmt(r.rss_bytes_per_conn), fmt(r.kernel_bytes_per_conn),
        fmt(r.total_bytes_per_conn)];
    });
    const big = Math.max(...Object.entries(s.idle).filter(([, r]) => !r.error).map(([k]) => Number(k.split('@')[1])));
    const ours = s.idle[`adashta@${big}`]?.total_bytes_per_conn;
    sections.push({
      title: '3. Idle connections — memory per connection',
      head: ['system', 'connections', 'process RSS B/conn', 'kernel B/conn', 'total B/conn'], rows,
      targets: [[`Adashta ≤ 4 KiB per idle connection in total (${fmt(big)})`, yes(ours === undefined ? undefined : ours <= 4096)]],
      note: 'Kernel: growth of slab + TCP buffer pages while the connections are up, halved (both ends of each loopback connection live in this kernel).',
    });
    charts.push({ title: `Idle memory at ${fmt(big)} connections (B/conn, lower is better)`,
      bars: Object.entries(s.idle).filter(([k]) => k.endsWith(`@${big}`)).map(([k, r]) => [k.split('@')[0], r.total_bytes_per_conn ?? 0]) });
  }
  if (s.durable && !s.durable.error) {
    const a = s.durable.adashta;
    const rows = Object.entries(s.durable).map(([sys, r]) => [sys === 'nats' ? 'nats JetStream (file)' : sys,
      r.error ? `error: ${r.error.slice(0, 80)}` : fmt(r.rate), us(r.latency_us?.p50), us(r.latency_us?.p99), fmt(r.errors),
      sys === 'adashta' ? '1×' : ratio(a?.rate, r.rate)]);
    sections.push({
      title: '4. Durable publish with acknowledgement (100 clients, 16 in flight each)',
      head: ['system', 'acked msg/s', 'p50', 'p99', 'errors', 'Adashta ÷ system'], rows,
      targets: [['≥ 1× JetStream', yes(a?.rate && s.durable.nats?.rate ? a.rate >= s.durable.nats.rate : undefined)]],
    });
    charts.push({ title: 'Durable publish (acked msg/s)', bars: Object.entries(s.durable).map(([k, r]) => [k, r.rate ?? 0]) });
  }
  if (s.workqueue && !s.workqueue.error) {
    const { adashta: a, rsmq: r } = s.workqueue;
    const wqLabel = { adashta: 'adashta (C++ SDK)', 'adashta-node': 'adashta (Node.js SDK)', 'adashta-go': 'adashta (Go SDK)' };
    const present = ['adashta', 'adashta-node', 'adashta-go', 'rsmq'].filter((sys) => s.workqueue[sys]);
    const rows = present.map((sys) => [sys, s.workqueue[sys]]).map(([sys, x]) => [wqLabel[sys] ?? sys,
      x?.error ? `error: ${x.error.slice(0, 80)}` : fmt(x?.rate), us(x?.latency_us?.p50), us(x?.latency_us?.p99),
      sys === 'rsmq' ? '1×' : ratio(x?.rate, r?.rate), sys === 'adashta' ? '1×' : ratio(x?.rate, a?.rate)]);
    const targets = [];
    if (a) targets.push(['C++ SDK ≥ 5× RSMQ', yes(a?.rate && r?.rate ? a.rate >= 5 * r.rate : undefined)]);
    for (const [sdk, t] of Object.entries(SDK_TARGETS)) {
      const x = s.workqueue[`adashta-${sdk}`];
      if (x) targets.push([`${t.name} SDK ≥ ${t.wq}× RSMQ (${ratio(x.rate, r?.rate)})`,
        yes(x.rate && r?.rate ? x.rate >= t.wq * r.rate : undefined)]);
    }
    sections.push({
      title: '5. Work queue full cycle (send → receive → delete), 8 producers, 8 consumers',
      head: ['system', 'cycles/s', 'p50', 'p99', 'system ÷ RSMQ', 'system ÷ C++ SDK'], rows, targets,
      note: 'Every Adashta row is one process with 8 producer and 8 consumer loops (threads in C++, goroutines in Go, ' +
        'async loops in Node.js, as the RSMQ script), one job per call, one call in flight per loop, against the same edge.',
    });
    charts.push({ title: 'Work queue (cycles/s)', bars: present.map((sys) => [barLabel(sys), s.workqueue[sys]?.rate ?? 0]) });
  }
  // The server SDKs side by side: what the Node.js and Go applications reach against the C++ one
  // on the same edge, in the same run.
  const sdkRows = [];
  const sdkTargets = [];
  for (const [sdk, t] of Object.entries(SDK_TARGETS)) {
    const ing = s.ingress && !s.ingress.error ? s.ingress : {};
    for (const base of ['adashta-amo', 'adashta']) {
      const cpp = ing[base];
      const x = ing[`${base}-${sdk}`];
      if (!x) continue;
      sdkRows.push([`${t.name}`, `ingress received, ${base === 'adashta' ? 'stored' : 'at most once'} (msg/s)`,
        x.error ? `error: ${x.error.slice(0, 80)}` : fmt(x.rate), fmt(cpp?.rate), ratio(x.rate, cpp?.rate)]);
      if (x.cpu_s_per_million && cpp?.cpu_s_per_million)
        sdkRows.push([`${t.name}`, `ingress CPU-s per million (edge + app), ${base === 'adashta' ? 'stored' : 'at most once'}`,
          fmt(x.cpu_s_per_million, 2), fmt(cpp.cpu_s_per_million, 2), ratio(x.cpu_s_per_million, cpp.cpu_s_per_million)]);
      if (base === 'adashta-amo')
        sdkTargets.push([`${t.name} sink ≥ ${Math.round(t.ingress * 100)} % of the C++ node's at-most-once ingress (${ratio(x.rate, cpp?.rate)})`,
          yes(x.rate && cpp?.rate ? x.rate >= t.ingress * cpp.rate : undefined)]);
    }
    const wq = s.workqueue && !s.workqueue.error ? s.workqueue : {};
    const x = wq[`adashta-${sdk}`];
    if (x) sdkRows.push([`${t.name}`, 'work-queue cycles/s', x.error ? `error: ${x.error.slice(0, 80)}` : fmt(x.rate),
      fmt(wq.adashta?.rate), ratio(x.rate, wq.adashta?.rate)]);
  }
  if (sdkRows.length) {
    sections.push({
      title: '5a. The server SDKs — Node.js and Go applications against the C++ one, same edge, same run',
      head: ['SDK', 'measure', 'this SDK', 'C++ SDK', 'SDK ÷ C++'], rows: sdkRows, targets: sdkTargets,
      note: 'Ingress: the same 1,000 clients and edge as table 1, the sink application written on each SDK ' +
        '(bench/apps/node/sink.mjs, bench/apps/go/sink). The work-queue targets are in table 5.',
    });
  }
  if (s.scheduled && !s.scheduled.error) {
    const { adashta: a, rsmq: r } = s.scheduled;
    const rows = [['adashta', a], ['rsmq', r]].map(([sys, x]) => [sys, x?.error ? `error: ${x.error.slice(0, 80)}` : fmt(x?.received),
      fmt(x?.early), us(x?.lateness_us?.p50), us(x?.lateness_us?.p99), us(x?.lateness_us?.max)]);
    sections.push({
      title: '6. Scheduled delivery lateness, 100,000 pending',
      head: ['system', 'received', 'early', 'p50 late', 'p99 late', 'max late'], rows,
      targets: [['Adashta p99 lateness ≤ 5 ms', yes(a?.lateness_us?.p99 === undefined ? undefined : a.lateness_us.p99 <= 5000)]],
      note: "RSMQ's delay is in whole seconds; its script rounds each wanted delay up, so nothing is due early.",
    });
    charts.push({ title: 'Scheduled p99 lateness (µs, lower is better)', bars: [['adashta', a?.lateness_us?.p99 ?? 0], ['rsmq', r?.lateness_us?.p99 ?? 0]] });
  }
  if (s.hop && !s.hop.error) {
    const { mesh: m, zmq: z } = s.hop;
    sections.push({
      title: '7. One mesh hop vs raw libzmq (tcp loopback, 64 bytes)',
      head: ['path', 'msg/s one way', 'rtt p50', 'rtt p99', 'mesh ÷ zmq'],
      rows: [['Adashta mesh', fmt(m?.rate), us(m?.rtt_us?.p50), us(m?.rtt_us?.p99), ratio(m?.rate, z?.rate)],
        ['raw libzmq DEALER→ROUTER', fmt(z?.rate), us(z?.rtt_us?.p50), us(z?.rtt_us?.p99), '1×']],
      targets: [],
    });
    charts.push({ title: 'Mesh hop (msg/s)', bars: [['mesh', m?.rate ?? 0], ['zmq', z?.rate ?? 0]] });
  }
  if (s.crowd && !s.crowd.error) {
    const amo = s.crowd['adashta-amo']?.cpu_us_per_request;
    const n = Object.values(s.crowd).find((r) => r.idle)?.idle;
    const rows = Object.entries(s.crowd).map(([sys, r]) => [label(sys), r.error ? `error: ${r.error.slice(0, 80)}` : us(r.latency_us?.p50),
      us(r.latency_us?.p99), r.lost !== undefined ? fmt(r.lost) : '—', fmt(r.cpu_us_per_request), ratio(r.cpu_us_per_request, amo)]);
    sections.push({
      title: `8. Request → reply among ${fmt(n)} idle connections (2,000 msg/s offered, 100 clients)`,
      head: ['system', 'p50', 'p99', 'lost', 'SUT CPU µs per request', 'system ÷ Adashta at most once (CPU)'], rows, targets: [],
      note: 'Not one of the issue\'s scenarios: what a request costs while the server also holds connections that say nothing.',
    });
    charts.push({ title: `CPU per request among ${fmt(n)} idle (µs, lower is better)`,
      bars: Object.entries(s.crowd).map(([k, r]) => [k === 'adashta-amo' ? 'adashta·amo' : k, r.cpu_us_per_request ?? 0]) });
  }
  if (s.flood && !s.flood.error) {
    const rows = Object.entries(s.flood).map(([key, r]) => {
      const [sys] = key.split('@');
      if (r.error) return [label(sys), bytes(r.size), `error: ${r.error.slice(0, 80)}`, '', '', '', '', '', '', '', '', '', '', ''];
      const q = floodLatency(r.quiet);
      const f = floodLatency(r.flood);
      return [label(sys), bytes(r.size), q.p50, q.p99, q.p999, f.p50, f.p99, f.p999, floodRatio(r), fmt(r.flood?.lost),
        r.flood_rate ? `${fmt(r.flood_rate)}${r.flood_measured_by === 'generator steady rate' ? ' (generator)' : ''}` : '—', `${mib(r.rss_peak_bytes)}${r.rss_cap_hit ? ' (cap: flood stopped)' : ''}`,
        mib(r.rss_after_bytes), r.kernel_tcp ? `${fmt(r.kernel_tcp.rto_timeouts)} / ${fmt(r.kernel_tcp.rcvq_drops)}` : '—'];
    });
    const any = Object.values(s.flood).find((r) => !r.error) ?? {};
    const lag = Object.entries(s.flood).filter(([, r]) => r.flood?.send_lag_us)
      .map(([key, r]) => `${key.replace('@', ' ')} B ${us(r.quiet.send_lag_us?.p99)} → ${us(r.flood.send_lag_us.p99)}`);
    sections.push({
      title: `9. Fair service under a flood — ${fmt(any.quiet_clients)} request → reply clients at ${fmt(any.offered_rate)} msg/s, ` +
        `alone and beside ${fmt(any.flooders)} clients sending flat out`,
      head: ['system', 'flood message', 'p50 alone', 'p99 alone', 'p99.9 alone', 'p50 in flood', 'p99 in flood',
        'p99.9 in flood', 'p99 in flood ÷ alone', 'lost in flood', 'flood msg/s received', 'SUT RSS peak (flood)',
        `SUT RSS ${fmt(any.rss_after_s)} s after`, 'kernel TCP RTOs / receive-queue drops (flood phase)'], rows, targets: [],
      note: 'The same quiet connections, in the same run: first alone, then while the flooders send to the server ' +
        'application (as in ingress); their requests are echoed (as in request → reply). Latency from each request\'s ' +
        `slot on the rate grid; a request not answered within 2 s of the phase's end is lost, so where more than 1 % ` +
        '(0.1 %) are lost p99 (p99.9) is at least 2 s ("≥"). RSS: every SUT process (edge + node for Adashta). ' +
        `Both load generators share CPU 0, the flooders ${any.flooder_sched === 'normal' ? 'at the normal priority' : 'under SCHED_IDLE'}, ` +
        `the quiet clients' generator ${any.quiet_sched === 'fifo' ? 'under SCHED_FIFO' : 'at the normal priority'}; that generator's own lateness ` +
        `(send lag p99, alone → in flood): ${lag.join('; ') || '—'}. Flood msg/s: what the application counted, over ` +
        'its first to last flood message; "(generator)": the application gave no count (it did not answer SIGTERM ' +
        'within 60 s), so the flooders\' write rate over the second half of their run stands in. Kernel: the whole ' +
        'machine\'s TCP retransmission timeouts and segments dropped for a full receive queue during the flood phase ' +
        `(${fmt(any.flooders)} flooders can fill more socket buffers than tcp_mem allows; then the kernel itself delays everyone).`,
    });
    charts.push({ title: 'Quiet p99 in flood ÷ alone, 64 B (lower is better)',
      bars: Object.entries(s.flood).filter(([k]) => k.endsWith('@64')).map(([k, r]) => [barLabel(k.split('@')[0]), floodRatioValue(r) ?? 0]) });
  }
  if (s.plugins && !s.plugins.error) {
    const p = s.plugins;
    const names = { none: 'no plugin', lua: 'Lua pass-through on_message', js: 'JavaScript pass-through on_message' };
    const rows = Object.entries(p).map(([variant, r]) => [names[variant] ?? variant,
      r.error ? `error: ${r.error.slice(0, 80)}` : fmt(r.rate), fmt(r.cpu_s_per_million, 2),
      variant === 'none' ? '1.00×' : ratio(r.rate, p.none?.rate),
      (r.runs ?? []).map((x) => (x.error ? 'error' : fmt(x.rate))).join(', ')]);
    sections.push({
      title: '10. Plugins — at-most-once ingress with a pass-through on_message (issue #15)',
      head: ['plugin on the bench queue', 'messages/s received (median)', 'CPU-s per million (edge + host + app)', '÷ no plugin', 'each run'], rows,
      targets: [
        ['Lua pass-through ≥ 80 % of at-most-once ingress without plugins', yes(p.lua?.ratio === undefined ? undefined : p.lua.ratio >= 0.8)],
        ['JavaScript pass-through ≥ 50 %', yes(p.js?.ratio === undefined ? undefined : p.js.ratio >= 0.5)]],
      note: 'As scenario 1 for adashta-amo (1,000 clients, 64-byte messages, the C++ sink), the three variants alternating ' +
        'in one run; every process of the system under test (edge, its JavaScript plugin host, the sink) shares CPU 1.',
    });
    charts.push({ title: 'Ingress with plugins ÷ without (higher is better)',
      bars: ['lua', 'js'].filter((v) => p[v]?.ratio).map((v) => [v, p[v].ratio]) });
  }
  for (const [name, v] of Object.entries(s)) if (v?.error) sections.push({ title: name, head: ['error'], rows: [[v.error]], targets: [] });
  return { sections, charts };
}

export function markdown(results, { sections }) {
  const m = results.machine ?? {};
  const out = ['# Benchmark results', '',
    `Run ${results.when}${results.quick ? ' (**--quick**: short smoke run, not comparable)' : ''} on ${m.cpus} CPUs (${m.model}), ` +
    `${m.memory_gib} GiB, Linux ${m.kernel}. Systems under test on CPU 1, load generators on CPU 0, loopback only. ` +
    'Reproduce: `bash bench/run.sh` (bench/README.md). Raw numbers: `results.json`; chart: `chart.png`.', ''];
  // Scenarios rerun later (--merge) replaced theirs: the last rerun of each, and where.
  const last = new Map();
  for (const merge of results.merged ?? []) for (const name of merge.scenarios ?? []) last.set(name, merge);
  if (last.size) {
    out.push(`Rerun later (\`--merge\`): ${[...last].map(([name, merge]) => `${name} ${merge.when}` +
      (merge.machine ? ` (${merge.machine.cpus} CPUs, ${merge.machine.model})` : '')).join('; ')}.`, '');
  }
  for (const sec of sections) {
    out.push(`## ${sec.title}`, '', `| ${sec.head.join(' | ')} |`, `|${sec.head.map(() => '---').join('|')}|`);
    for (const row of sec.rows) out.push(`| ${row.join(' | ')} |`);
    out.push('');
    if (sec.note) out.push(sec.note, '');
    for (const [target, met] of sec.targets) out.push(`- Target ${target}: ${met}`);
    if (sec.targets.length) out.push('');
  }
  return out.join('\n');
}

function chartHtml({ charts }) {
  const W = 380; const H = 230;
  const panels = charts.map((c) => {
    const max = Math.max(1, ...c.bars.map(([, v]) => v));
    const bw = Math.min(70, (W - 40) / c.bars.length - 12);
    const bars = c.bars.map(([label, v], i) => {
      const h = (v / max) * (H - 80);
      const x = 30 + i * (bw + 12);
      const color = label.startsWith('adashta') || label.startsWith('amo') || label === 'mesh' ? '#d9480f' : '#868e96';
      return `<rect x="${x}" y="${H - 40 - h}" width="${bw}" height="${h}" fill="${color}"/>` +
        `<text x="${x + bw / 2}" y="${H - 24}" font-size="${c.bars.length > 5 ? 9 : 11}" text-anchor="middle">${label}</text>` +
        `<text x="${x + bw / 2}" y="${H - 44 - h}" font-size="10" text-anchor="middle">${fmt(v)}</text>`;
    }).join('');
    return `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><text x="10" y="18" font-size="13" font-weight="bold">${c.title}</text>${bars}</svg>`;
  });
  return `<!doctype html><meta charset="utf-8"><body style="margin:8px;font-family:sans-serif;background:#fff">
<div style="display:grid;grid-template-columns:repeat(3,${W}px);gap:8px">${panels.join('')}</div></body>`;
}

async function renderPng(html, file) {
  const require = createRequire(path.join(here, '..', 'tests', 'package.json'));
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1180, height: 400 } });
    await page.setContent(html);
    await page.screenshot({ path: file, fullPage: true });
  } finally {
    await browser.close();
  }
}

export async function writeReport(results, outDir) {
  const summary = summarize(results);
  await writeFile(path.join(outDir, 'results.md'), `${markdown(results, summary)}\n`);
  try {
    await renderPng(chartHtml(summary), path.join(outDir, 'chart.png'));
  } catch (error) {
    console.error(`bench: no chart.png (${error.message}); install Chromium with scripts/setup.sh`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? path.join(here, 'results', 'results.json');
  if (!existsSync(file)) {
    console.error(`bench: ${file} does not exist; run bash bench/run.sh first`);
    process.exit(1);
  }
  await writeReport(JSON.parse(await readFile(file, 'utf8')), path.dirname(file));
}
