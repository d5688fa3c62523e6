// Starts a conformance driver (DRIVER.md) for one SDK and speaks its JSON-lines protocol.
//
//   const node = await Driver.start('go', { seeds: [edge.meshEndpoint], name: 'n1' });
//   await node.call('consume', { queue: 'work', behavior: 'echo' });
//   const m = await node.event((e) => e.event === 'message');
//   await node.close();
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { buildDir, repoDir, withTimeout } from '../lib/cluster.mjs';

export const kinds = ['cpp', 'js', 'go'];
// Where sdk/js and sdk/go are: this tree, or ADASHTA_SDK_ROOT (another checkout's).
const sdkRoot = process.env.ADASHTA_SDK_ROOT || repoDir;

const goDriver = path.join(buildDir, 'adashta-go-conformance-driver');
let goBuilt = null;

/** Builds what a driver needs once per process (the Go driver binary); throws with the reason. */
export async function prepare(kind) {
  if (kind === 'cpp') {
    const bin = path.join(buildDir, 'adashta-conformance-driver');
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build the tree first (scripts/build.sh)`);
  } else if (kind === 'js') {
    if (!existsSync(path.join(sdkRoot, 'sdk/js/node_modules')) || !existsSync(path.join(sdkRoot, 'sdk/js/dist')))
      throw new Error('sdk/js is not built: run sdk/js/setup.sh');
  } else if (kind === 'go') {
    const go = existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : 'go';
    goBuilt ??= promisify(execFile)(go, ['build', '-buildvcs=false', '-o', goDriver, './cmd/adashta-conformance-driver'],
      { cwd: path.join(sdkRoot, 'sdk/go'), timeout: 240000 });
    await goBuilt;
  } else {
    throw new Error(`unknown driver ${kind}; ADASHTA_DRIVER is one of ${kinds.join(', ')}`);
  }
}

function command(kind) {
  switch (kind) {
    case 'cpp': return [path.join(buildDir, 'adashta-conformance-driver'), []];
    case 'js': return [process.execPath, [path.join(sdkRoot, 'sdk/js/test/driver.mjs')]];
    case 'go': return [goDriver, []];
  }
  throw new Error(`unknown driver ${kind}`);
}

/** An error a driver answered: code and name from proto/errors.json. */
export class DriverError extends Error {
  constructor(cmd, error) {
    super(`${cmd}: ${error.name} (${error.code}): ${error.message}`);
    this.code = error.code;
    this.codeName = error.name;
  }
}

export class Driver {
  /**
   * Starts the driver of `kind` with the environment of a node joining `seeds`, waits for
   * its ready event, and (unless connect is false) connects it.
   */
  static async start(kind, { seeds, name, env = {}, connect = true, options = {} } = {}) {
    await prepare(kind);
    const driver = new Driver(kind, name ?? kind, {
      ADASHTA_SEEDS: seeds.join(','), ADASHTA_NAME: name ?? kind,
      ADASHTA_HEARTBEAT_MS: '200', ADASHTA_PEER_TIMEOUT_MS: '1500', ...env,
    });
    await driver.event((e) => e.event === 'ready', { timeout: 15000, what: 'the ready event' });
    if (connect) driver.info = await driver.call('connect', { options });
    return driver;
  }

  constructor(kind, name, env) {
    this.kind = kind;
    this.name = name;
    this.output = '';
    this.events = [];
    this.waiters = [];
    this.pending = new Map();
    this.nextRef = 1;
    const [file, args] = command(kind);
    this.process = spawn(file, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.exit = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
    this.process.once('error', (err) => { this.output += `spawn failed: ${err.message}\n`; });
    this.process.stdin.on('error', () => {});
    this.process.stderr.on('data', (chunk) => {
      this.output = (this.output + chunk).slice(-8000);
      if (process.env.ADASHTA_E2E_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
    });
    readline.createInterface({ input: this.process.stdout }).on('line', (line) => this.receive(line));
  }

  receive(line) {
    let frame;
    try {
      frame = JSON.parse(line);
    } catch {
      this.output += `(not JSON on stdout) ${line}\n`;
      return;
    }
    if (frame.ref !== undefined && !frame.event) {
      const pending = this.pending.get(frame.ref);
      this.pending.delete(frame.ref);
      pending?.(frame);
      return;
    }
    this.events.push(frame);
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Sends cmd; resolves with its result or rejects with a DriverError. */
  async call(cmd, fields = {}, { timeout = 20000 } = {}) {
    const ref = this.nextRef++;
    const answer = new Promise((resolve) => this.pending.set(ref, resolve));
    this.process.stdin.write(JSON.stringify({ cmd, ref, ...fields }) + '\n');
    const frame = await withTimeout(answer, timeout, `${this.name}'s answer to ${cmd}\n${this.describe()}`,
      () => this.pending.delete(ref));
    if (!frame.ok) throw new DriverError(cmd, frame.error ?? { code: 0, name: 'unknown', message: JSON.stringify(frame) });
    return frame.result ?? {};
  }

  /** Resolves with the first event (seen already or still to come) that match accepts, and takes it. */
  event(match, { timeout = 15000, what = 'an event' } = {}) {
    return this.events_(match, 1, { timeout, what }).then(([e]) => e);
  }

  /** Resolves with the first `count` events that match accepts, and takes them. */
  events_(match, count, { timeout = 15000, what = 'events' } = {}) {
    let waiter;
    const found = new Promise((resolve) => {
      waiter = () => {
        const hits = this.events.filter(match);
        if (hits.length < count) return;
        const taken = hits.slice(0, count);
        this.events = this.events.filter((e) => !taken.includes(e));
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(taken);
      };
      this.waiters.push(waiter);
      waiter();
    });
    return withTimeout(found, timeout, `${count} × ${what} from ${this.name}\n${this.describe()}`,
      () => { this.waiters = this.waiters.filter((w) => w !== waiter); });
  }

  /** Events that match, without waiting or taking them. */
  seen(match) { return this.events.filter(match); }

  get alive() { return this.process.exitCode === null && this.process.signalCode === null; }

  describe() { return `--- ${this.name} (${this.kind} driver) stderr (tail) ---\n${this.output || '(none)'}\n---`; }

  /** close, then end of stdin; kills it if it has not exited 5 s later. */
  async close() {
    if (!this.alive) return this.exit;
    this.call('close', {}, { timeout: 5000 }).catch(() => {});
    this.process.stdin.end();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    const result = await this.exit;
    clearTimeout(timer);
    return result;
  }

  kill() { if (this.alive) this.process.kill('SIGKILL'); return this.exit; }
}
