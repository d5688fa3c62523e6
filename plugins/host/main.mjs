// The JavaScript plugin host: the process the edge starts (plugins/src/js_host.cpp) to run
// JavaScript plugins, one worker thread per plugin (plugin_worker.mjs). It reads frames on
// stdin and answers on stdout (frames.mjs); nothing else may write to stdout, so the
// workers' stdout and stderr are captured and sent to the edge as log lines.
//
// Everything here runs on the host's main thread, which owns every Plugin record: the
// workers only ever see the calls posted to them.
//
// Limits, per plugin: a call that runs past callMs has its worker terminated (answered
// failure time); a worker over its heap (memoryMB) dies (failure memory); either way a new
// worker loads the plugin again and gets the calls that were waiting, in their order.
import { Worker } from 'node:worker_threads';
import { CallRuns } from './call_runs.mjs';
import { FrameReader, FrameWriter, Kind, Failure, answerIds, hookNames, produceFrame } from './frames.mjs';

const workerUrl = new URL('./plugin_worker.mjs', import.meta.url);

// The edge starts the host with Node's permission model (js_host.cpp, testing.mjs); a host
// without it would run plugins with the edge's rights, so it refuses to start.
function checkSandbox() {
  const p = process.permission;
  if (!p || p.has('child') || p.has('fs.write')) {
    process.stderr.write('adashta plugin host: start it with --experimental-permission and without ' +
      '--allow-child-process or --allow-fs-write (the edge does this; see docs/plugins.md, "JavaScript")\n');
    process.exit(2);
  }
}
checkSandbox();

const out = new FrameWriter(process.stdout);
const log = (p, level, text) => out.json('G', { p, level, text });

// (A worker answers in batches and counts the calls it finished in a shared counter,
// plugin_worker.mjs: the watch below sees progress through it, and knows which call runs.
// The calls' texts are never read here: a worker gets the calls' bodies as one byte batch
// and answers with frames ready to write, frames.mjs.)
// At most this many calls are posted to a worker ahead of its answers: they live in the
// plugin's own heap (memoryMB), so the rest wait here.
const maxPosted = 256;

// Produces sent to the edge and not answered yet: the host's number → {plugin, worker, r}
// (an answer for a worker that has since stopped settles nothing).
const producing = new Map();
let nextProduce = 1;
// A plugin's entry (its top level and its imports) must have run within this long.
const loadMs = 10_000;

class Plugin {
  constructor(index, spec) {
    this.index = index;      // the edge's number for it
    this.spec = spec;        // the load frame: folder, entry, limits, config
    this.queue = new CallRuns();  // calls not answered yet, oldest first, as they came
    this.posted = 0;         // how many of queue the current worker has been given
    this.worker = null;      // the current worker, null between one's death and the next
    this.ready = false;      // the current worker has loaded the plugin
    this.loaded = false;     // the plugin loaded once (later loads are restarts)
    this.lastProgress = 0;   // when the worker last answered, or was given work while idle
    this.timer = null;       // the call-time watch while calls are posted
    this.gone = false;       // unloaded: answers nothing more
    this.brokenWhy = null;   // a restart could not load it: every call fails with this
    this.failedStarts = 0;   // workers in a row that died before loading the plugin
    this.state = new Map(Object.entries(spec.state ?? {}));  // key → JSON text: the plugin's
                             // state, each worker's start copy, changed by its 'state' messages
    this.start();
  }

  start() {
    const { spec } = this;
    this.ready = false;
    this.posted = 0;
    this.answered = 0;       // answers the current worker sent
    this.seenDone = 0;       // its finished count when the watch last looked
    const progress = new SharedArrayBuffer(4);
    this.progress = new Int32Array(progress);
    const memoryMB = Math.max(4, spec.memoryMB);
    const worker = new Worker(workerUrl, {
      env: {},                 // the plugin's process.env is empty
      argv: [],
      // No execArgv here: a worker given execArgv runs without the host's permission model.
      stdout: true,            // captured, never on the host's stdout (the frames)
      stderr: true,
      workerData: { folder: spec.folder, entry: spec.entry, name: spec.name, version: spec.version,
                    config: spec.config, http: spec.http, hooks: spec.hooks, progress,
                    services: { produce: !!spec.produce, store: !!spec.store, offered: !!spec.services },
                    state: Object.fromEntries(this.state) },
      resourceLimits: { maxOldGenerationSizeMb: memoryMB, maxYoungGenerationSizeMb: Math.min(16, Math.max(1, memoryMB >> 2)) },
    });
    this.worker = worker;
    for (const [stream, level] of [[worker.stdout, 'info'], [worker.stderr, 'warn']]) {
      stream.setEncoding('utf8');
      stream.on('data', (text) => {
        for (const line of text.split('\n')) if (line) log(this.index, level, line);
      });
    }
    const loadTimer = setTimeout(() => {
      if (worker !== this.worker || this.ready) return;
      this.onLoadError(`its top level (with its imports) ran past ${loadMs / 1000} s`);
    }, loadMs);
    worker.on('message', (m) => {
      if (m.t === 'ready' || m.t === 'loadError') clearTimeout(loadTimer);
      this.onMessage(worker, m);
    });
    worker.on('exit', () => clearTimeout(loadTimer));
    worker.on('error', (e) => this.onDeath(worker, e));
    worker.on('exit', (code) => this.onDeath(worker, new Error(`its worker exited (code ${code})`)));
  }

  onMessage(worker, m) {
    if (worker !== this.worker) return;
    switch (m.t) {
      case 'ready': return this.onReady();
      case 'answers': return this.onAnswers(m.frames);
      case 'log': return log(this.index, m.level, m.text);
      case 'loadError': return this.onLoadError(m.error);
      case 'state': return this.onState(m);
      case 'produce': return this.onProduce(worker, m);
    }
  }

  // The worker changed a key: the plugin's copy here, and the edge saves it.
  onState({ k, v }) {
    if (v === undefined) this.state.delete(k);
    else this.state.set(k, v);
    out.json('S', v === undefined ? { p: this.index, k } : { p: this.index, k, v });
  }

  onProduce(worker, { r, head, data }) {
    const id = nextProduce++;
    producing.set(id, { plugin: this, worker, r });
    out.raw(produceFrame({ ...head, p: this.index, r: id }, data));
  }

  onReady() {
    this.ready = true;
    this.failedStarts = 0;
    if (!this.loaded) {
      this.loaded = true;
      out.json('l', { p: this.index });
    }
    this.post();
  }

  onLoadError(error) {
    this.worker?.terminate();
    this.worker = null;
    if (!this.loaded) {
      this.gone = true;
      out.json('l', { p: this.index, error });
      plugins.delete(this.index);
      return;
    }
    // It loaded before and does not now (its files changed?): nothing will serve the calls.
    this.brokenWhy = `could not be loaded again after its worker stopped: ${error}`;
    log(this.index, 'error', this.brokenWhy);
    this.failAll(Failure.error, this.brokenWhy);
  }

  // bytes: answer frames from the worker (frames.mjs answerFrames), for the oldest calls.
  onAnswers(bytes) {
    const frames = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.lastProgress = performance.now();
    const ids = answerIds(frames);
    if (ids.length > this.posted || !this.queue.shiftAnswered(ids)) {
      throw new Error(`plugin ${this.spec.name}: answers ${ids[0]}.. out of order`);
    }
    this.posted -= ids.length;
    this.answered += ids.length;
    out.frames(frames);
    this.answerFailed();
    if (this.posted === 0) this.stopWatch();
    this.post();
  }

  onDeath(worker, error) {
    if (worker !== this.worker || this.gone) return;
    this.worker = null;
    this.stopWatch();
    if (this.brokenWhy) return;
    if (!this.ready && !this.loaded) return this.onLoadError(describe(error));
    if (!this.ready && ++this.failedStarts >= 3) return this.onLoadError(describe(error));
    if (this.posted > 0) {
      const k = this.running();
      const hook = hookNames[this.queue.hookAt(k)];
      if (error?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        this.queue.setFailed(k, [Failure.memory, `${hook}: stopped at its ${this.spec.memoryMB} MiB memory limit (memoryMB)`]);
      } else {
        this.queue.setFailed(k, [Failure.error, `${hook}: ${describe(error)}`]);
      }
    } else {
      log(this.index, 'warn', `its worker stopped between calls (${describe(error)}); starting another`);
    }
    this.start();
    this.answerFailed();
  }

  // count calls with ids first, first + 1, ..., their bytes as call_runs.mjs keeps them.
  add(first, count, bytes) {
    if (this.brokenWhy) {
      for (let i = 0; i < count; i++) out.answer(first + i, Kind.failed, Failure.error, this.brokenWhy);
      return;
    }
    this.queue.push(first, count, bytes);
    if (this.ready) this.schedulePost();
  }

  // Calls arrive one frame at a time; they are posted to the worker in one batch per turn.
  schedulePost() {
    if (this.postScheduled) return;
    this.postScheduled = true;
    setImmediate(() => {
      this.postScheduled = false;
      this.post();
    });
  }

  // Where the call the current worker is running is in the queue: the ones before it
  // finished, their answers perhaps still held in the worker.
  running() {
    return Math.min(Math.max(0, Atomics.load(this.progress, 0) - this.answered), this.posted - 1);
  }

  // A call whose worker died on it is answered when it reaches the head, so the answers
  // stay in order (the calls before it run again in the new worker: their answers died too).
  answerFailed() {
    while (this.posted === 0 && this.queue.length && this.queue.failedAt(0)) {
      const { id, failed } = this.queue.shift();
      out.answer(id, Kind.failed, ...failed);
    }
  }

  post() {
    this.answerFailed();
    if (!this.ready || !this.worker || this.posted >= this.queue.length) return;
    const before = this.posted;
    while (this.posted < this.queue.length && this.posted < maxPosted) {
      const next = this.queue.batchFrom(this.posted, maxPosted - this.posted);
      if (!next) break;  // a call that failed: it waits for the head
      this.posted += next.count;
      this.worker.postMessage(next.batch, [next.batch.buffer]);
    }
    if (this.posted === before) return;
    if (before === 0) this.lastProgress = performance.now();
    this.watch();
  }

  // The call at the head has had callMs since the worker last showed progress: it is stuck.
  watch() {
    if (this.timer) return;
    const left = this.lastProgress + this.spec.callMs - performance.now();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (this.posted === 0 || !this.worker) return;
      const done = Atomics.load(this.progress, 0);
      if (done !== this.seenDone) {
        this.seenDone = done;
        this.lastProgress = performance.now();
        this.watch();
      } else if (performance.now() - this.lastProgress >= this.spec.callMs) {
        const k = this.running();
        this.queue.setFailed(k, [Failure.time, `${hookNames[this.queue.hookAt(k)]}: stopped after its ${this.spec.callMs} ms limit (callMs)`]);
        this.worker.terminate(); // not waited for: terminating can take a while
        this.worker = null;
        this.start();
        this.answerFailed();
      } else {
        this.watch();
      }
    }, Math.max(1, left + 1));
  }

  stopWatch() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  failAll(failure, text) {
    for (const id of this.queue.clear()) out.answer(id, Kind.failed, failure, text);
    this.posted = 0;
  }

  unload() {
    this.gone = true;
    this.stopWatch();
    this.failAll(Failure.error, `plugin ${this.spec.name} was unloaded`);
    this.worker?.terminate();
    this.worker = null;
  }
}

function describe(error) {
  if (!error) return 'unknown error';
  return error.stack ? String(error.stack).split('\n').slice(0, 3).join(' ') : String(error.message ?? error);
}

const plugins = new Map(); // the edge's plugin number → Plugin

function addCalls(index, first, count, bytes) {
  const plugin = plugins.get(index);
  if (plugin) return plugin.add(first, count, bytes);
  for (let i = 0; i < count; i++) out.answer(first + i, Kind.failed, Failure.error, `no plugin ${index} is loaded in the host`);
}

function onFrame(type, body) {
  switch (type) {
    case 0x43: // 'C': one call, u32 id, u32 plugin, then the call
      return addCalls(body.readUInt32LE(4), body.readUInt32LE(0), 1, body.subarray(8));
    case 0x42: // 'B': u32 plugin, u32 first id, u32 count, then the calls
      return addCalls(body.readUInt32LE(0), body.readUInt32LE(4), body.readUInt32LE(8), body.subarray(12));
    case 0x4c: { // 'L'
      const spec = JSON.parse(body.toString('utf8'));
      plugins.get(spec.p)?.unload();
      plugins.set(spec.p, new Plugin(spec.p, spec));
      return;
    }
    case 0x55: { // 'U'
      const { p } = JSON.parse(body.toString('utf8'));
      plugins.get(p)?.unload();
      plugins.delete(p);
      return;
    }
    case 0x70: { // 'p'
      const { r, error } = JSON.parse(body.toString('utf8'));
      const waiting = producing.get(r);
      producing.delete(r);
      if (waiting && waiting.plugin.worker === waiting.worker && !waiting.plugin.gone) {
        waiting.worker.postMessage({ t: 'produced', r: waiting.r, error });
      }
      return;
    }
    default:
      throw new Error(`unknown frame type ${type}`);
  }
}

const reader = new FrameReader(onFrame);
process.stdin.on('data', (chunk) => reader.push(chunk));
// The edge closed the pipe (it stopped, or it gave up on us): nothing left to serve.
process.stdin.on('end', () => process.exit(0));
out.json('R', { node: process.version });
