// Starts and stops the real processes the integration and browser tests talk to: an edge
// (`adashta edge`), the C++ echo node (`adashta-echo`) and test nodes (`adashta-test-node`),
// on free loopback ports.
//
//   const edge = new Edge({ appDir });  await edge.start();  await edge.waitReady({ nodes: 1 });
//   const echo = startEchoNode(edge.meshPort);
//   ...  await echo.stop();  await edge.stop();

import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const buildDir = path.resolve(process.env.ADASHTA_BUILD_DIR || path.join(repoDir, 'build'));
export const adashtaBin = path.join(buildDir, 'adashta');
export const echoBin = path.join(buildDir, 'adashta-echo');
export const testNodeBin = path.join(buildDir, 'adashta-test-node');

/** Throws a message that says how to get the binaries, instead of a bare ENOENT later. */
export function requireBinaries() {
  for (const bin of [adashtaBin, echoBin, testNodeBin]) {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: build first (cmake -S . -B build -G Ninja && ninja -C build) ` +
        'or point ADASHTA_BUILD_DIR at a build directory');
    }
  }
}

/** A loopback port nobody listens on right now (the OS picks it for a throwaway listener). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value, which it then returns. */
export async function waitFor(check, { timeout = 20000, interval = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (lastError ? `: ${lastError.message}` : ''));
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/** A child process whose output is kept (the tail) to explain failures. */
export class Child {
  constructor(name, file, args, env) {
    this.name = name;
    this.output = '';
    this.exited = false;
    this.process = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => {
      this.process.once('exit', (code, signal) => {
        this.exited = true;
        resolve({ code, signal });
      });
      this.process.once('error', (err) => {
        this.output += `spawn failed: ${err.message}\n`;
        this.exited = true;
        resolve({ code: null, signal: null });
      });
    });
    const keep = (chunk) => {
      this.output = (this.output + chunk).slice(-8000);
      if (process.env.ADASHTA_E2E_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
    };
    this.process.stdout.on('data', keep);
    this.process.stderr.on('data', keep);
  }

  /** SIGTERM, then SIGKILL if it is still alive after `grace` ms. */
  async stop({ signal = 'SIGTERM', grace = 5000 } = {}) {
    if (this.exited) return this.exit;
    this.process.kill(signal);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), grace);
    const result = await this.exit;
    clearTimeout(timer);
    return result;
  }

  describe() {
    return `--- ${this.name} output (tail) ---\n${this.output || '(none)'}\n---`;
  }
}

/** An edge on fixed ports, so it can be killed and started again where clients expect it. */
export class Edge {
  constructor({ appDir, httpPort, meshPort, args = [] } = {}) {
    this.appDir = appDir;
    this.args = args;
    this.httpPort = httpPort;
    this.meshPort = meshPort;
    this.child = null;
    this.dataDir = null;
  }

  get url() { return `http://127.0.0.1:${this.httpPort}`; }
  get meshEndpoint() { return `tcp://127.0.0.1:${this.meshPort}`; }

  async start() {
    this.httpPort ??= await freePort();
    this.meshPort ??= await freePort();
    this.dataDir ??= await mkdtemp(path.join(os.tmpdir(), 'adashta-e2e-'));
    this.child = new Child('edge', adashtaBin, ['edge',
      '--http', `127.0.0.1:${this.httpPort}`, '--mesh', `127.0.0.1:${this.meshPort}`,
      '--data', this.dataDir, ...this.args, ...(this.appDir ? [this.appDir] : [])]);
  }

  /** Resolves with /healthz once the edge is up and sees at least `nodes` server nodes. */
  async waitReady({ nodes = 0, timeout = 20000 } = {}) {
    try {
      return await waitFor(async () => {
        if (this.child.exited) throw new Error('the edge exited');
        const response = await fetch(`${this.url}/healthz`);
        const health = await response.json();
        return health.status === 'ok' && health.nodes >= nodes && health;
      }, { timeout, what: `edge /healthz with nodes >= ${nodes}` });
    } catch (err) {
      err.message += '\n' + this.child.describe();
      throw err;
    }
  }

  async stop(options) {
    if (this.child) await this.child.stop(options);
  }

  /** Stops the edge and removes its data directory. */
  async destroy() {
    await this.stop();
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** The C++ echo node (examples/echo), joined to the mesh through the edge. */
export function startEchoNode(meshPort) {
  return new Child('echo', echoBin, [], { ADASHTA_SEEDS: `tcp://127.0.0.1:${meshPort}` });
}

/**
 * A test node (tests/integration/test_node.cpp): consumes `queue` and answers each message
 * to its sender with {"node": name, "data": ...}; prints "ready NAME ENDPOINT" when joined.
 */
export function startTestNode(meshPort, { name, queue = 'work', env = {} } = {}) {
  return new Child(name, testNodeBin, ['--name', name, '--queue', queue],
    { ADASHTA_SEEDS: `tcp://127.0.0.1:${meshPort}`, ADASHTA_HEARTBEAT_MS: '200', ADASHTA_PEER_TIMEOUT_MS: '1000', ...env });
}

/** Runs `adashta ARGS...`; resolves with { code, stdout, stderr } and never rejects on a failed exit. */
export function runCli(args, { timeout = 10000 } = {}) {
  return new Promise((resolve) => {
    execFile(adashtaBin, args, { timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (err.code ?? 'killed') : 0, stdout, stderr });
    });
  });
}
