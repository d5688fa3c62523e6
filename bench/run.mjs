// Runs the benchmark scenarios side by side (bench/README.md) and writes bench/results/.
//
//   node bench/run.mjs [--quick] [--only SCENARIO,...] [--systems adashta,nats,...] [--merge]
//                      [--out DIR] [--flood-sched idle|normal] [--quiet-sched fifo|normal]
//   (--merge: keep the other scenarios of results/results.json, replace the ones run now)
//
// Every system under test runs pinned to CPU 1 and every load generator to CPU 0 (taskset),
// on 127.0.0.1 only. Each scenario is bounded; the whole run takes about 10 minutes
// (--quick: about 2, with short durations and small counts, for a smoke run).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const build = process.env.ADASHTA_BUILD_DIR ?? path.join(root, 'build');
const bin = (name) => path.join(build, name);
const peers = path.join(here, 'peers');
// The server SDKs other than C++ have their bench tools in bench/apps/<sdk>: Node.js scripts
// run from the source, Go programs built by goTools() into bench/apps/go/bin (not the C++
// build dir, which may be shared).
const nodeApps = path.join(here, 'apps', 'node');
const goApps = path.join(here, 'apps', 'go');
const goBin = (name) => path.join(goApps, 'bin', name);

const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const quick = flag('quick');
const only = option('only', '').split(',').filter(Boolean);
// adashta-amo: Adashta with its bench queues at most once ("durable": false: nothing stored),
// the delivery NATS core, ws and Socket.IO give; "adashta" stores every message first.
// "-sec" (adashta-sec, adashta-amo-sec): the same with security on — every browser presents a
// token (--auth required, HS256) and the mesh is CURVE-encrypted with an allow-list — to show
// what security costs; they run in ingress and request -> reply only.
// "-node" and "-go" (adashta-node, adashta-amo-go, ...): the same edge with the server
// application written on the Node.js or the Go SDK instead of the C++ one (bench/apps/node,
// bench/apps/go); they run in ingress, request -> reply and the work queue (adashta-node,
// adashta-go there: the SDK's WorkQueues).
const systems = option('systems', 'adashta,adashta-amo,adashta-node,adashta-amo-node,adashta-go,adashta-amo-go,' +
  'adashta-sec,adashta-amo-sec,socketio,ws,nats,rsmq').split(',');
const secure = (system) => system.endsWith('-sec');
/** The SDK a system's server application is written with: cpp, node or go. */
const sdkOf = (system) => /^adashta.*-(node|go)$/.exec(system)?.[1] ?? 'cpp';
/** The edge a system runs: adashta (stored) or adashta-amo (at most once). */
const baseOf = (system) => system.replace(/-sec$/, '').replace(/-(node|go)$/, '');
// Those spoken to over WebSocket (rsmq is only in the work-queue and scheduling scenarios).
const wsSystems = systems.filter((s) => s !== 'rsmq');
// The other scenarios run each system once, without the security and SDK variants.
const plainWsSystems = wsSystems.filter((s) => !secure(s) && sdkOf(s) === 'cpp');
// The protocol the load generator speaks to a system.
const protoOf = (system) => (baseOf(system) === 'adashta-amo' ? 'adashta' : baseOf(system));
// The load generator's extra flags for a started system (its connection token).
const tokenArgs = (sut) => (sut.token ? ['--token', sut.token] : []);
const outDir = option('out', path.join(here, 'results'));
// The flood scenario's flooders run under SCHED_IDLE ("idle", the default) or at the normal
// priority ("normal": to see what sharing CPU 0 with them does to the quiet clients' generator).
const floodSched = option('flood-sched', 'idle');
if (!['idle', 'normal'].includes(floodSched)) throw new Error(`--flood-sched must be idle or normal, not ${floodSched}`);
// Its quiet clients' generator runs SCHED_FIFO ("fifo", the default: it sleeps most of the time
// and must wake on its request grid even when other work shares CPU 0) or at the normal priority.
const quietSched = option('quiet-sched', 'fifo');
if (!['fifo', 'normal'].includes(quietSched)) throw new Error(`--quiet-sched must be fifo or normal, not ${quietSched}`);

const SUT_CPU = '1';
const LOAD_CPU = '0';
// Listen ports sit below Linux's ephemeral range (32768-60999 by default). A port inside it can
// be the local end of any outgoing connection on the machine, and while that connection is open
// or in TIME_WAIT (60 s) nothing can listen there: EADDRINUSE.
const PORTS = {
  http: 28080, mesh: 27700, socketio: 29001, ws: 29002, nats: 24222, natsWs: 28222, redis: 26379,
};
const seeds = `tcp://127.0.0.1:${PORTS.mesh}`;

// Scenario sizes: full run, and --quick.
const SIZE = quick
  ? { duration: 2, ingressConns: 100, reqrepConns: 20, rates: [1000, 5000], idle: [1000], crowd: 1000,
    durableConns: 20, wqMessages: 2000, schedMessages: 5000, schedSpread: 2000, schedLead: 2000,
    hopMessages: 20000, flood: { flooders: 100, quiet: 20, rate: 500, warmS: 1, afterS: 1, sizes: [64] } }
  : { duration: 10, ingressConns: 1000, reqrepConns: 100, rates: [1000, 20000], idle: [10000, 50000], crowd: 10000,
    durableConns: 100, wqMessages: 20000, schedMessages: 100000, schedSpread: 30000, schedLead: 15000,
    hopMessages: 500000, flood: { flooders: 1000, quiet: 100, rate: 1000, warmS: 2, afterS: 3, sizes: [64, 16384] } };

const log = (...a) => console.error('bench:', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- processes -------------------------------------------------------------------------------

/** A child process pinned to a CPU, with its JSON stdout lines collected. */
class Proc {
  constructor(name, cpu, cmd, argv, env = {}) {
    this.name = name;
    this.lines = [];
    this.stderr = '';
    this.waiters = [];
    this.child = spawn('taskset', ['-c', cpu, cmd, ...argv], {
      env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const value = JSON.parse(line);
          this.lines.push(value);
          for (const w of [...this.waiters]) if (w.test(value)) { w.resolve(value); this.waiters.splice(this.waiters.indexOf(w), 1); }
        } catch { /* not JSON: ignore */ }
      }
    });
    this.child.stderr.on('data', (chunk) => { this.stderr = (this.stderr + chunk).slice(-8000); });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid() { return this.child.pid; }

  /** Resolves with the first stdout JSON line that passes test (also one already seen). */
  waitLine(test, timeoutMs, what) {
    const seen = this.lines.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-1500)}`)), timeoutMs);
      const waiter = { test, resolve: (v) => { clearTimeout(timer); resolve(v); } };
      this.waiters.push(waiter);
      this.exited.then(({ code, signal }) => {
        if (!this.waiters.includes(waiter)) return;
        clearTimeout(timer);
        reject(new Error(`${this.name} exited (${code ?? signal}) before ${what}; stderr: ${this.stderr.slice(-1500)}`));
      });
    });
  }

  /** Waits for the process to end by itself; its last JSON line is the result. */
  async result(timeoutMs) {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const { code, signal } = await this.exited;
    clearTimeout(timer);
    const last = this.lines.at(-1);
    if (code !== 0 || !last) throw new Error(`${this.name} failed (${code ?? signal}): ${this.stderr.slice(-1500)}`);
    return last;
  }

  /** SIGTERM, then the last JSON line (a server's result). */
  async stop(timeoutMs = 10000) {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.lines.at(-1);
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return this.lines.at(-1);
  }
}

// The real pid under taskset: taskset execs the command, so they are the same.
const CLK_TCK = 100;
async function cpuSeconds(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK;  // utime, stime
    } catch { /* gone */ }
  }
  return total;
}
async function rssBytes(pids) {
  let total = 0;
  for (const pid of pids) {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      total += Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
    } catch { /* gone */ }
  }
  return total;
}
/** Kernel memory that grows with connections: slab plus TCP buffer pages. */
async function kernelBytes() {
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const slab = Number(/^Slab:\s+(\d+) kB/m.exec(meminfo)[1]) * 1024;
  const sockstat = await readFile('/proc/net/sockstat', 'utf8');
  const tcpPages = Number(/^TCP:.* mem (\d+)/m.exec(sockstat)[1]);
  return slab + tcpPages * 4096;
}

/**
 * The kernel's TCP counters that show it under strain (/proc/net/netstat): times it entered
 * memory pressure (tcp_mem), retransmission timeouts, segments dropped for a full receive
 * queue, receive-queue prunes.
 */
async function tcpCounters() {
  const text = await readFile('/proc/net/netstat', 'utf8');
  const lines = text.split('\n').filter((l) => l.startsWith('TcpExt:'));
  const names = lines[0].split(/\s+/).slice(1);
  const values = lines[1].split(/\s+/).slice(1).map(Number);
  const all = Object.fromEntries(names.map((n, i) => [n, values[i]]));
  return { memory_pressures: all.TCPMemoryPressures, rto_timeouts: all.TCPTimeouts,
    rcvq_drops: all.TCPRcvQDrop, prunes: all.PruneCalled };
}

/** Throws with the process's last words if it has exited, since waiting longer cannot help. */
function checkAlive(proc, what) {
  const { exitCode: code, signalCode: signal } = proc.child;
  if (code !== null || signal !== null)
    throw new Error(`${proc.name} exited (${code ?? signal}) before ${what}; stderr: ${proc.stderr.slice(-1500)}`);
}

/** Polls url until test(json) holds; proc is the process that should answer. */
async function waitHttp(url, test, timeoutMs, what, proc) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.ok && test(await response.json())) return;
    } catch { /* not up yet */ }
    checkAlive(proc, what);
    if (Date.now() > deadline) throw new Error(`no ${what} at ${url} within ${timeoutMs} ms; stderr: ${proc.stderr.slice(-1500)}`);
    await sleep(50);
  }
}

// --- systems under test ----------------------------------------------------------------------

let scratch;

/** Runs an adashta command to its end; its stdout. */
function adashtaTool(argv) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin('adashta'), argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err += c; });
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`adashta ${argv[0]} failed (${code}): ${err.slice(-800)}`))));
  });
}

/**
 * Security on, as a production edge runs it: an HS256 token for every connection (--auth
 * required) and a CURVE mesh whose allow-list names the edge and the bench node.
 */
async function securitySetup(dir) {
  const edgeKey = path.join(dir, 'edge.key');
  const nodeKey = path.join(dir, 'node.key');
  await adashtaTool(['keys', 'new', edgeKey, '--name', 'bench-edge']);
  await adashtaTool(['keys', 'new', nodeKey, '--name', 'bench-node']);
  const publicKey = async (file) => (await adashtaTool(['keys', 'show', file])).match(/[0-9A-Za-z.\-:+=^!/*?&<>()[\]{}@%$#]{40}/)[0];
  const allow = path.join(dir, 'mesh-allow');
  await writeFile(allow, `${await publicKey(edgeKey)} edge tcp://127.0.0.1:${PORTS.mesh}\n${await publicKey(nodeKey)} node\n`);
  const secret = 'bench-secret-0123456789abcdef0123456789abcdef';
  const token = (await adashtaTool(['token', '--sub', 'bench', '--produce', '*', '--consume', '*', '--fetch', '*',
    '--ttl-s', '3600', '--secret', secret])).trim();
  return {
    edgeArgs: ['--auth', 'required', '--token-secret', secret, '--mesh-key', `${edgeKey}_secret`, '--mesh-allow', allow],
    nodeEnv: { ADASHTA_MESH_KEY: `${nodeKey}_secret`, ADASHTA_MESH_ALLOW: allow },
    token,
  };
}

/**
 * Starts a system with its server application; returns {pids, url, token, stop()}.
 * configExtra: more keys for adashta-amo's config file (the plugins scenario's "plugins").
 */
async function startSystem(system, mode, configExtra = {}) {
  const procs = [];
  const stop = async () => {
    const results = [];
    for (const p of procs.reverse()) results.push(await p.stop());
    return results;
  };
  try {
    if (baseOf(system) === 'adashta' || baseOf(system) === 'adashta-amo') {
      const data = await mkdtemp(path.join(scratch, 'edge-'));
      const config = [];
      const sec = secure(system) ? await securitySetup(data) : { edgeArgs: [], nodeEnv: {} };
      if (baseOf(system) === 'adashta-amo') {
        config.push('--config', path.join(data, 'queues.json'));
        await writeFile(config[1], JSON.stringify({ queues: { bench: { durable: false }, echo: { durable: false } },
          ...configExtra }));
      }
      const edge = new Proc('edge', SUT_CPU, bin('adashta'), ['edge', '--http', `127.0.0.1:${PORTS.http}`,
        '--mesh', `127.0.0.1:${PORTS.mesh}`, '--data', data, ...config, ...sec.edgeArgs]);
      procs.push(edge);
      await waitHttp(`http://127.0.0.1:${PORTS.http}/healthz`, () => true, 10000, 'healthz', edge);
      if (mode) {
        const [cmd, argv] = {
          cpp: [bin('adashta-bench-node'), []],
          node: [process.execPath, [path.join(nodeApps, 'sink.mjs')]],
          go: [goBin('adashta-bench-go-sink'), []],
        }[sdkOf(system)];
        const node = new Proc(`bench-node (${sdkOf(system)})`, SUT_CPU, cmd, [...argv, '--mode', mode],
          { ADASHTA_SEEDS: seeds, ...sec.nodeEnv });
        procs.push(node);
        await node.waitLine((l) => l.event === 'ready', 10000, 'ready');
        await waitHttp(`http://127.0.0.1:${PORTS.http}/healthz`, (h) => h.nodes >= 1, 10000, 'a node', edge);
        await sleep(300);  // the edge learns the node's queues with its hello
      }
      return { procs, app: procs[1], url: `ws://127.0.0.1:${PORTS.http}/ws`, token: sec.token, stop };
    }
    if (system === 'socketio' || system === 'ws') {
      const port = PORTS[system];
      const server = new Proc(system, SUT_CPU, process.execPath,
        [path.join(peers, `${system === 'ws' ? 'ws' : 'socketio'}_server.mjs`), '--port', String(port), '--mode', mode ?? 'sink']);
      procs.push(server);
      await server.waitLine((l) => l.event === 'ready', 10000, 'ready');
      const url = system === 'ws' ? `ws://127.0.0.1:${port}/` : `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
      return { procs, app: server, url, stop };
    }
    if (system === 'nats') {
      const dir = await mkdtemp(path.join(scratch, 'nats-'));
      const conf = path.join(dir, 'nats.conf');
      await writeFile(conf, [
        `listen: 127.0.0.1:${PORTS.nats}`,
        `websocket { listen: "127.0.0.1:${PORTS.natsWs}", no_tls: true }`,
        `jetstream { store_dir: "${path.join(dir, 'js')}" }`, '',
      ].join('\n'));
      const server = new Proc('nats-server', SUT_CPU, 'nats-server', ['-c', conf]);
      procs.push(server);
      await waitPort(PORTS.natsWs, 10000, server);
      if (mode) {
        const app = new Proc('nats-app', SUT_CPU, bin('adashta-bench'), ['nats-app', '--url',
          `nats://127.0.0.1:${PORTS.nats}`, '--mode', mode]);
        procs.push(app);
        await sleep(500);
      }
      return { procs, app: procs[1], url: `ws://127.0.0.1:${PORTS.natsWs}/`, stop };
    }
    if (system === 'redis') {
      const server = new Proc('redis-server', SUT_CPU, 'redis-server', ['--port', String(PORTS.redis),
        '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
      procs.push(server);
      await waitPort(PORTS.redis, 10000, server);
      return { procs, stop };
    }
    throw new Error(`unknown system ${system}`);
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitPort(port, timeoutMs, proc) {
  const net = await import('node:net');
  const what = `a listener on 127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (ok) return;
    checkAlive(proc, what);
    if (Date.now() > deadline) throw new Error(`${proc.name}: no ${what} within ${timeoutMs} ms; stderr: ${proc.stderr.slice(-1500)}`);
    await sleep(50);
  }
}

function loadgen(argv, name = 'adashta-bench') {
  return new Proc(name, LOAD_CPU, bin('adashta-bench'), argv);
}

// --- scenarios -------------------------------------------------------------------------------

async function ingress() {
  const rows = {};
  for (const system of wsSystems) {
    let sut;
    try {
      sut = await startSystem(system, 'sink');
      const pids = sut.procs.map((p) => p.pid);
      const cpu0 = await cpuSeconds(pids);
      const gen = loadgen(['ingress', '--proto', protoOf(system), '--url', sut.url, ...tokenArgs(sut),
        '--connections', String(SIZE.ingressConns), '--duration', String(SIZE.duration), '--size', '64']);
      const load = await gen.result((SIZE.duration + 60) * 1000);
      await sleep(1000);  // let the backlog drain into the application
      const cpu = (await cpuSeconds(pids)) - cpu0;
      // A server still working through the kernel's backlog answers SIGTERM late: wait.
      const app = await sut.app.stop(60000);
      const counted = app?.tool && app.received > 0;
      // Without the application's own count, the generator's rate over the second half of
      // the run (socket buffers full, so what the server read) stands in for it.
      const rate = counted ? app.rate : load.steady_rate ?? 0;
      rows[system] = {
        rate, measured_by: counted ? 'application' : 'generator steady rate',
        received: app?.received ?? 0, sent: load.sent, generator_steady_rate: load.steady_rate,
        cpu_s_per_million: counted ? (cpu / app.received) * 1e6 : null,
      };
      log(`ingress ${system}: ${Math.round(rows[system].rate)} msg/s received`);
    } catch (error) {
      rows[system] = { error: String(error.message ?? error) };
      log(`ingress ${system}: ${rows[system].error}`);
    } finally {
      await sut?.stop();
    }
  }
  return rows;
}

async function reqrep() {
  const rows = {};
  for (const rate of SIZE.rates) {
    for (const system of wsSystems) {
      const key = `${system}@${rate}`;
      let sut;
      try {
        sut = await startSystem(system, 'echo');
        const gen = loadgen(['reqrep', '--proto', protoOf(system), '--url', sut.url, ...tokenArgs(sut),
          '--connections', String(SIZE.reqrepConns), '--duration', String(SIZE.duration),
          '--rate', String(rate), '--size', '64']);
        rows[key] = await gen.result((SIZE.duration + 60) * 1000);
        log(`reqrep ${key}: p99 ${rows[key].latency_us?.p99} us`);
      } catch (error) {
        rows[key] = { error: String(error.message ?? error) };
        log(`reqrep ${key}: ${rows[key].error}`);
      } finally {
        await sut?.stop();
      }
    }
  }
  return rows;
}

async function idle() {
  const rows = {};
  // Both the server and the load generator hold one descriptor per connection; a sandbox
  // without CAP_SYS_RESOURCE cannot raise the hard limit, so sizes above it are reported
  // as blocked, and the largest size that fits is run instead.
  const nofile = Number(process.env.ADASHTA_BENCH_NOFILE ?? 1048576);
  const fits = (n) => n + 1000 <= nofile;
  const sizes = SIZE.idle.filter(fits);
  for (const n of SIZE.idle.filter((n) => !fits(n))) {
    rows[`blocked@${n}`] = { error: `blocked: ${n} connections need ${n + 1000} open files; the hard limit here is ${nofile} and cannot be raised (no CAP_SYS_RESOURCE)` };
    const largest = Math.floor((nofile - 1000) / 1000) * 1000;
    if (largest > Math.max(0, ...sizes)) sizes.push(largest);
  }
  for (const count of sizes) {
    // An idle connection costs the same whatever its queues' durability.
    for (const system of plainWsSystems.filter((s) => s !== 'adashta-amo')) {
      const key = `${system}@${count}`;
      let sut;
      try {
        sut = await startSystem(system, null);
        const pids = sut.procs.map((p) => p.pid);
        await sleep(500);
        const rss0 = await rssBytes(pids);
        const kernel0 = await kernelBytes();
        const gen = loadgen(['idle', '--proto', system, '--url', sut.url, '--connections', String(count),
          '--hold', quick ? '3' : '8', '--source-ips', '8']);
        const up = await gen.waitLine((l) => l.event === 'connected', 120000, 'all connections up');
        await sleep(quick ? 1000 : 3000);
        const rss = (await rssBytes(pids)) - rss0;
        const kernel = (await kernelBytes()) - kernel0;
        const load = await gen.result(120000);
        // Both ends of every connection live in this kernel; half is the server's share.
        rows[key] = {
          connections: up.connections, rss_bytes_per_conn: rss / up.connections,
          kernel_bytes_per_conn: kernel / 2 / up.connections,
          total_bytes_per_conn: (rss + kernel / 2) / up.connections, errors: load.errors,
        };
        log(`idle ${key}: ${Math.round(rows[key].total_bytes_per_conn)} B/conn`);
      } catch (error) {
        rows[key] = { error: String(error.message ?? error) };
        log(`idle ${key}: ${rows[key].error}`);
      } finally {
        await sut?.stop();
      }
      await sleep(5000);  // TIME_WAIT sockets and slab settle
    }
  }
  return rows;
}

/**
 * Request → reply among many idle connections (not one of the seven): what one
 * request costs the server while it also holds SIZE.crowd connections that say nothing. A
 * server whose event loop looks at every connection on each wake-up pays for all of them.
 */
async function crowd() {
  const rows = {};
  const rate = 2000;
  for (const system of plainWsSystems) {
    let sut;
    let holder;
    try {
      sut = await startSystem(system, 'echo');
      const pids = sut.procs.map((p) => p.pid);
      holder = loadgen(['idle', '--proto', protoOf(system), '--url', sut.url, '--connections', String(SIZE.crowd),
        '--hold', String(SIZE.duration + 60), '--source-ips', '8'], 'adashta-bench idle');
      await holder.waitLine((l) => l.event === 'connected', 120000, 'all idle connections up');
      await sleep(1000);
      const cpu0 = await cpuSeconds(pids);
      const gen = loadgen(['reqrep', '--proto', protoOf(system), '--url', sut.url,
        '--connections', String(SIZE.reqrepConns), '--duration', String(SIZE.duration),
        '--rate', String(rate), '--size', '64']);
      const r = await gen.result((SIZE.duration + 60) * 1000);
      const cpu = (await cpuSeconds(pids)) - cpu0;
      rows[system] = { idle: SIZE.crowd, offered_rate: rate, answered: r.answered, lost: r.lost,
        latency_us: r.latency_us, cpu_us_per_request: r.answered ? (cpu / r.answered) * 1e6 : null };
      log(`crowd ${system}: ${Math.round(rows[system].cpu_us_per_request)} us CPU per request, p99 ${r.latency_us?.p99} us`);
    } catch (error) {
      rows[system] = { error: String(error.message ?? error) };
      log(`crowd ${system}: ${rows[system].error}`);
    } finally {
      await holder?.stop();
      await sut?.stop();
    }
    await sleep(5000);  // TIME_WAIT sockets and slab settle
  }
  return rows;
}

/**
 * Fair service under a flood (the issue's): SIZE.flood.quiet request → reply clients at a fixed
 * open-loop rate, first alone, then — on the same connections, in the same run — while
 * SIZE.flood.flooders other clients send flat out (64-byte messages, then 16 KiB ones). The
 * flood goes to the server application as in ingress, the requests are echoed as in
 * request → reply; the application does both at once (mode "both"). Measured: the quiet
 * clients' latency in both phases (from each request's slot on the rate grid), what the
 * application received of the flood, the SUT's peak RSS during the flood and its RSS
 * SIZE.flood.afterS seconds after the flooders have gone.
 *
 * Two load generators, both on LOAD_CPU (the machine has two cores; the SUT has the other):
 * the flooders' adashta-bench runs under SCHED_IDLE (chrt -i) and the quiet clients' one under
 * SCHED_FIFO (chrt -f), so the latter, mostly asleep, gets the CPU the moment it wakes, even
 * when other work shares the machine. Its own lateness (send_lag_us: the loop round that sent
 * a request minus its slot) is in the row, to show whether the generator is what the latency
 * measures; so are the kernel's TCP strain counters over the flood phase (1,000 flooders can
 * fill more socket buffers than tcp_mem allows, and then the kernel drops and retransmits).
 */
async function flood() {
  const rows = {};
  const f = SIZE.flood;
  const floodS = f.warmS + SIZE.duration + 2;  // the quiet phase starts after warmS and ends by its 2 s grace
  // Past this much SUT memory the flood is stopped early (the row says so): a bounded run.
  const rssCap = Math.min(8 * 2 ** 30, os.totalmem() * 0.4);
  // SCHED_FIFO needs CAP_SYS_NICE (or an RLIMIT_RTPRIO): without it, the normal priority.
  let quietPolicy = quietSched;
  if (quietPolicy === 'fifo' && spawnSync('chrt', ['-f', '10', 'true']).status !== 0) {
    log('flood: chrt -f is not permitted here (no CAP_SYS_NICE): the quiet clients\' generator runs at the normal priority');
    quietPolicy = 'normal';
  }
  for (const size of f.sizes) {
    for (const system of plainWsSystems) {
      const key = `${system}@${size}`;
      let sut;
      let quiet;
      let flooders;
      let sampler;
      try {
        sut = await startSystem(system, 'both');
        const pids = sut.procs.map((p) => p.pid);
        // ws has no queues or events: the server tells the quiet clients by their path.
        const quietUrl = system === 'ws' ? `${sut.url}echo` : sut.url;
        const [quietCmd, ...quietPre] = quietPolicy === 'fifo' ? ['chrt', '-f', '10', bin('adashta-bench')] : [bin('adashta-bench')];
        quiet = new Proc('adashta-bench quiet', LOAD_CPU, quietCmd, [...quietPre, 'reqrep', '--proto', protoOf(system),
          '--url', quietUrl, ...tokenArgs(sut), '--connections', String(f.quiet), '--duration', String(SIZE.duration),
          '--rate', String(f.rate), '--size', '64', '--phases', '2']);
        const alone = await quiet.waitLine((l) => l.event === 'phase_done', (SIZE.duration + 60) * 1000, 'the quiet phase');
        const rssBefore = await rssBytes(pids);
        const [cmd, ...pre] = floodSched === 'idle' ? ['chrt', '-i', '0', bin('adashta-bench')] : [bin('adashta-bench')];
        flooders = new Proc('adashta-bench flood', LOAD_CPU, cmd, [...pre, 'ingress',
          '--proto', protoOf(system), '--url', sut.url, ...tokenArgs(sut), '--connections', String(f.flooders),
          '--duration', String(floodS), '--size', String(size)]);
        await flooders.waitLine((l) => l.event === 'loading', 120000, 'the flood');
        const peak = { all: rssBefore, server: 0, capHit: false };
        sampler = setInterval(async () => {
          const all = await rssBytes(pids);
          peak.all = Math.max(peak.all, all);
          peak.server = Math.max(peak.server, await rssBytes([pids[0]]));
          if (all > rssCap && !peak.capHit) {
            peak.capHit = true;
            log(`flood ${key}: SUT RSS ${Math.round(all / 2 ** 20)} MiB is over the cap of ${Math.round(rssCap / 2 ** 20)} MiB: stopping the flood`);
            flooders.child.kill('SIGTERM');
          }
        }, 200);
        await sleep(f.warmS * 1000);  // socket buffers fill; the server is at its flood pace
        const tcp0 = await tcpCounters();
        quiet.child.kill('SIGUSR1');
        const during = await quiet.result((SIZE.duration + 60) * 1000);
        const tcp1 = await tcpCounters();
        const flood = await flooders.result((floodS + 60) * 1000).catch((error) => ({ error: String(error.message ?? error) }));
        clearInterval(sampler);
        sampler = undefined;
        await sleep(f.afterS * 1000);
        const rssAfter = await rssBytes(pids);
        const app = await sut.app.stop(60000);
        const pick = (r) => ({ sent: r.sent, answered: r.answered, lost: r.lost, errors: r.errors,
          dropped_connections: r.dropped_connections, latency_us: r.latency_us, send_lag_us: r.send_lag_us });
        const p99 = (r) => r.latency_us?.p99;
        rows[key] = {
          size, flooders: f.flooders, quiet_clients: f.quiet, offered_rate: f.rate, flooder_sched: floodSched,
          quiet_sched: quietPolicy,
          // The kernel's own share: its TCP counters over the quiet clients' flood phase (whole
          // machine: anything else running adds to them).
          kernel_tcp: Object.fromEntries(Object.keys(tcp1).map((k) => [k, tcp1[k] - (tcp0[k] ?? 0)])),
          quiet: pick(alone), flood: pick(during),
          p99_ratio: p99(alone) && p99(during) !== undefined ? p99(during) / p99(alone) : null,
          // A server still reading the kernel's backlog may answer SIGTERM too late to count
          // (SIGKILL after 60 s): the flooders' rate over the second half of their run, when
          // the socket buffers are full, stands in for it then (as in ingress). Not when it is
          // 0: a server reading a little from each of 1,000 full sockets may reopen no TCP
          // window (the receiver's silly-window avoidance), so the flooders write nothing
          // although it reads.
          flood_received: app?.received ?? null,
          flood_rate: app?.received > 0 ? app.rate : flood.steady_rate || null,
          flood_measured_by: app?.received > 0 ? 'application' : flood.steady_rate ? 'generator steady rate' : 'none',
          flood_generator: flood.error ? { error: flood.error } : { sent: flood.sent, rate: flood.rate,
            steady_rate: flood.steady_rate, errors: flood.errors, dropped_connections: flood.dropped_connections },
          echoed: app?.echoed ?? null,
          rss_before_bytes: rssBefore, rss_peak_bytes: peak.all, server_rss_peak_bytes: peak.server,
          rss_after_bytes: rssAfter, rss_after_s: f.afterS, rss_cap_hit: peak.capHit,
        };
        log(`flood ${key}: quiet p99 ${p99(alone)} us alone, ${p99(during)} us in the flood; ` +
          `flood ${Math.round(rows[key].flood_rate ?? 0)} msg/s; RSS peak ${Math.round(peak.all / 2 ** 20)} MiB, ` +
          `after ${Math.round(rssAfter / 2 ** 20)} MiB`);
      } catch (error) {
        rows[key] = { size, error: String(error.message ?? error) };
        log(`flood ${key}: ${rows[key].error}`);
      } finally {
        if (sampler) clearInterval(sampler);
        await flooders?.stop();
        await quiet?.stop();
        await sut?.stop();
      }
      await sleep(quick ? 1000 : 5000);  // TIME_WAIT sockets and slab settle
    }
  }
  return rows;
}

async function durable() {
  const rows = {};
  for (const system of systems.filter((s) => s === 'adashta' || s === 'nats')) {
    let sut;
    try {
      sut = await startSystem(system, system === 'adashta' ? 'sink' : null);
      const gen = loadgen(['durable', '--proto', system, '--url', sut.url,
        '--connections', String(SIZE.durableConns), '--duration', String(SIZE.duration),
        '--window', '16', '--size', '64']);
      rows[system] = await gen.result((SIZE.duration + 60) * 1000);
      log(`durable ${system}: ${Math.round(rows[system].rate)} acked/s`);
    } catch (error) {
      rows[system] = { error: String(error.message ?? error) };
      log(`durable ${system}: ${rows[system].error}`);
    } finally {
      await sut?.stop();
    }
  }
  return rows;
}

/**
 * Work queue (5) and scheduled delivery (6): Adashta's tools vs the RSMQ script. adashtaTools
 * maps a system (adashta, adashta-node, adashta-go) to the command and arguments of its tool.
 */
async function againstRsmq(adashtaTools, rsmqScript, toolArgs) {
  const rows = {};
  for (const [system, [cmd, argv]] of Object.entries(adashtaTools)) {
    if (!systems.includes(system)) continue;
    let sut;
    try {
      sut = await startSystem('adashta', null);
      const tool = new Proc(`${system} ${path.basename(argv.at(0) ?? cmd)}`, LOAD_CPU, cmd,
        [...argv, ...toolArgs, '--seeds', seeds], { ADASHTA_SEEDS: seeds });
      rows[system] = await tool.result(300000);
    } catch (error) {
      rows[system] = { error: String(error.message ?? error) };
    } finally {
      await sut?.stop();
    }
  }
  if (systems.includes('rsmq')) {
    let sut;
    try {
      sut = await startSystem('redis', null);
      const tool = new Proc(rsmqScript, LOAD_CPU, process.execPath,
        [path.join(peers, rsmqScript), ...toolArgs, '--redis', String(PORTS.redis)]);
      rows.rsmq = await tool.result(300000);
    } catch (error) {
      rows.rsmq = { error: String(error.message ?? error) };
    } finally {
      await sut?.stop();
    }
  }
  for (const [k, v] of Object.entries(rows)) log(`${rsmqScript.replace(/^rsmq_|\.mjs$/g, '')} ${k}: ${JSON.stringify(v).slice(0, 200)}`);
  return rows;
}

// The same cycle from each SDK: 8 producers and 8 consumers in one process, one job per call.
const workQueue = () => againstRsmq({
  adashta: [bin('adashta-bench-wq'), []],
  'adashta-node': [process.execPath, [path.join(nodeApps, 'wq.mjs')]],
  'adashta-go': [goBin('adashta-bench-go-wq'), []],
}, 'rsmq_wq.mjs',
['--producers', '8', '--consumers', '8', '--messages', String(SIZE.wqMessages)]);
const scheduled = () => againstRsmq({ adashta: [bin('adashta-bench-sched'), []] }, 'rsmq_sched.mjs',
  ['--messages', String(SIZE.schedMessages), '--spread-ms', String(SIZE.schedSpread),
    '--lead-ms', String(SIZE.schedLead), '--consumers', '16']);

async function hop() {
  const tool = new Proc('adashta-bench-hop', '0,1', bin('adashta-bench-hop'),
    ['--messages', String(SIZE.hopMessages), '--size', '64']);
  const result = await tool.result(300000);
  log(`hop: mesh ${Math.round(result.mesh?.rate)} msg/s, zmq ${Math.round(result.zmq?.rate)} msg/s`);
  return result;
}

/** A process's descendants (the edge's JavaScript plugin host), from /proc. */
async function descendants(pid) {
  const out = [];
  let tasks = [];
  try {
    const { readdir } = await import('node:fs/promises');
    tasks = await readdir(`/proc/${pid}/task`);
  } catch { return out; }
  for (const task of tasks) {
    let children = '';
    try { children = await readFile(`/proc/${pid}/task/${task}/children`, 'utf8'); } catch { /* gone */ }
    for (const child of children.split(' ').filter(Boolean).map(Number)) out.push(child, ...await descendants(child));
  }
  return out;
}

/** A plugin folder with a pass-through on_message for the bench queue. */
async function passThroughPlugin(runtime) {
  const dir = await mkdtemp(path.join(scratch, `plugin-${runtime}-`));
  const js = runtime === 'js';
  await writeFile(path.join(dir, js ? 'index.mjs' : 'main.lua'),
    js ? 'export function on_message(msg, client) {}\n' : 'return { on_message = function(msg, client) end }\n');
  // callMs far above a loaded machine's pauses: this measures calls, not the limits.
  await writeFile(path.join(dir, 'adashta-plugin.json'), JSON.stringify({
    name: `bench-${runtime}`, version: '1.0.0', runtime, entry: js ? 'index.mjs' : 'main.lua',
    hooks: ['on_message'], queues: ['bench'], limits: { callMs: 2000 },
  }));
  return dir;
}

/**
 * Issue #15's plugin target: at-most-once ingress (as in ingress, system adashta-amo) with no
 * plugin, with a pass-through Lua on_message and with a pass-through JavaScript one on the
 * bench queue, in one run; each as a ratio to the run without. The variants alternate for
 * two rounds (this machine's speed drifts between minutes); the ratios use each variant's
 * median. The plugin host is a child of the edge, pinned with it, and in its CPU.
 */
async function plugins() {
  const variants = { none: null, lua: await passThroughPlugin('lua'), js: await passThroughPlugin('js') };
  const runs = { none: [], lua: [], js: [] };
  const rounds = quick ? 1 : 2;
  for (let round = 0; round < rounds; round++) {
    for (const [variant, folder] of Object.entries(variants)) {
      let sut;
      try {
        sut = await startSystem('adashta-amo', 'sink', folder ? { plugins: [{ path: folder }] } : {});
        const edgePid = sut.procs[0].pid;
        const pids = [...sut.procs.map((p) => p.pid), ...await descendants(edgePid)];
        const cpu0 = await cpuSeconds(pids);
        const gen = loadgen(['ingress', '--proto', 'adashta', '--url', sut.url,
          '--connections', String(SIZE.ingressConns), '--duration', String(SIZE.duration), '--size', '64']);
        const load = await gen.result((SIZE.duration + 60) * 1000);
        await sleep(1000);  // let the backlog drain into the application
        const cpu = (await cpuSeconds(pids)) - cpu0;
        let metrics = '';
        try { metrics = await (await fetch(`http://127.0.0.1:${PORTS.http}/metrics`)).text(); } catch { /* none */ }
        const pluginCalls = [...metrics.matchAll(/^adashta_plugin_calls_total\{[^}]*\} (\d+)/gm)]
          .reduce((n, m) => n + Number(m[1]), 0);
        const pluginFailures = [...metrics.matchAll(/^adashta_plugin_failures_total\{[^}]*\} (\d+)/gm)]
          .reduce((n, m) => n + Number(m[1]), 0);
        const app = await sut.app.stop(60000);
        const counted = app?.tool && app.received > 0;
        const rate = counted ? app.rate : load.steady_rate ?? 0;
        runs[variant].push({
          rate, measured_by: counted ? 'application' : 'generator steady rate', received: app?.received ?? 0,
          sent: load.sent, cpu_s_per_million: counted ? (cpu / app.received) * 1e6 : null,
          plugin_calls: pluginCalls, plugin_failures: pluginFailures,
        });
        log(`plugins ${variant} (round ${round + 1}): ${Math.round(rate)} msg/s received, ${pluginCalls} plugin calls`);
      } catch (error) {
        runs[variant].push({ error: String(error.message ?? error) });
        log(`plugins ${variant}: ${error.message ?? error}`);
      } finally {
        await sut?.stop();
      }
    }
  }
  const median = (values) => {
    const v = values.filter((x) => typeof x === 'number').sort((a, b) => a - b);
    return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : null;
  };
  const rows = {};
  for (const [variant, list] of Object.entries(runs)) {
    const ok = list.filter((r) => !r.error);
    rows[variant] = ok.length
      ? { rate: median(ok.map((r) => r.rate)), cpu_s_per_million: median(ok.map((r) => r.cpu_s_per_million)), runs: list }
      : { error: list[0]?.error ?? 'no run', runs: list };
  }
  for (const variant of ['lua', 'js']) {
    if (rows[variant].rate && rows.none.rate) rows[variant].ratio = rows[variant].rate / rows.none.rate;
  }
  return rows;
}

const SCENARIOS = { ingress, reqrep, idle, durable, workqueue: workQueue, scheduled, hop, crowd, flood, plugins };

/**
 * Builds the Go SDK's bench tools (bench/apps/go) into bench/apps/go/bin when a Go system is
 * asked for; go build is incremental, so this costs a second when nothing changed. A failure
 * is logged and leaves the Go rows to fail with it.
 */
function goTools() {
  if (!systems.some((s) => sdkOf(s) === 'go')) return;
  const go = ['/usr/local/go/bin/go', '/usr/bin/go'].find((p) => existsSync(p)) ?? 'go';
  try {
    execFileSync(go, ['build', '-o', path.join(goApps, 'bin') + path.sep, './sink', './wq'],
      { cwd: goApps, stdio: ['ignore', 'ignore', 'pipe'] });
    // go build names a binary after its package's folder.
    for (const tool of ['sink', 'wq'])
      execFileSync('mv', ['-f', path.join(goApps, 'bin', tool), goBin(`adashta-bench-go-${tool}`)]);
  } catch (error) {
    log(`go build in ${goApps} failed (run bench/setup.sh): ${String(error.stderr ?? error.message).slice(-1500)}`);
  }
}

/** The Node.js tools import sdk/js from source: it needs its modules and generated code. */
function nodeSdkReady() {
  if (!systems.some((s) => sdkOf(s) === 'node')) return;
  const sdk = path.join(root, 'sdk', 'js');
  if (!existsSync(path.join(sdk, 'node_modules')) || !existsSync(path.join(sdk, 'generated')))
    log(`${sdk} is not set up (no node_modules or generated/): run bench/setup.sh; the Node.js rows will fail`);
}

async function main() {
  goTools();
  nodeSdkReady();
  scratch = await mkdtemp(path.join(os.tmpdir(), 'adashta-bench-'));
  const results = {
    when: new Date().toISOString(), quick, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model,
      memory_gib: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
    scenarios: {},
  };
  try {
    for (const [name, run] of Object.entries(SCENARIOS)) {
      if (only.length && !only.includes(name)) continue;
      log(`--- ${name}`);
      const started = Date.now();
      try {
        results.scenarios[name] = await run();
      } catch (error) {
        results.scenarios[name] = { error: String(error.message ?? error) };
        log(`${name}: ${error.message ?? error}`);
      }
      log(`${name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  await mkdir(outDir, { recursive: true });
  if (flag('merge')) {
    // Reruns of some scenarios replace theirs in the saved run and keep the others.
    try {
      const saved = JSON.parse(await readFile(path.join(outDir, 'results.json'), 'utf8'));
      for (const [name, rows] of Object.entries(results.scenarios)) {
        const before = saved.scenarios[name];
        saved.scenarios[name] = before && !before.error && !rows.error && !rows.tool
          ? { ...before, ...rows } : rows;
      }
      results.scenarios = saved.scenarios;
      // Each merge names the machine it ran on; the run's own stays the saved one.
      results.merged = [...(saved.merged ?? []), { when: results.when, scenarios: only, machine: results.machine }];
      results.when = saved.when;
      results.machine = saved.machine ?? results.machine;
    } catch { /* nothing saved: a plain run */ }
  }
  await writeFile(path.join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const { writeReport } = await import('./report.mjs');
  await writeReport(results, outDir);
  log(`wrote ${path.relative(process.cwd(), outDir)}/results.{json,md} and chart.png`);
}

await main();
