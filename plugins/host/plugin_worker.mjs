// One plugin's worker thread (started by main.mjs): sets up the sandbox, imports the
// plugin's entry, then runs the calls it is posted, one at a time and in order, and posts
// the answers back in batches. The API the plugin sees is the global `adashta` (api.mjs).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'node:module';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lockDown } from './sandbox.mjs';
import { makeApi, hooksOf, runCall, settleProduce } from './api.mjs';
import { readCallBatch, answerFrames } from './frames.mjs';

const { entry, name, version, config, http, hooks: hookNames } = workerData;
const folder = realpathSync(workerData.folder);
const hostUrl = new URL('./', import.meta.url).href;

const send = (m) => parentPort.postMessage(m);

register('./loader.mjs', import.meta.url, {
  data: { folderUrl: pathToFileURL(folder + path.sep).href, hostUrl, http },
});
// The plugin's state: this worker's copy (the host's main thread keeps the plugin's, for the
// next worker); produces wait here for the edge's answer.
const pending = new Map();
const services = { ...workerData.services, state: new Map(Object.entries(workerData.state ?? {})), send, pending };
const adashta = makeApi({ name, version, config, log: (level, text) => send({ t: 'log', level, text }), services });
Object.defineProperty(globalThis, 'adashta', { value: adashta, enumerable: false, writable: false, configurable: false });
lockDown({ folder, http });

let hooks;
try {
  const module = await import(pathToFileURL(path.join(folder, entry)).href);
  hooks = hooksOf(module, hookNames, `${name} (${path.join(folder, entry)})`);
} catch (error) {
  send({ t: 'loadError', error: `${name} (${path.join(folder, entry)}): ${error?.message ?? error}` });
  await new Promise(() => {}); // the host terminates this worker
}

// Answers go back in batches (at the end of what was posted, before an async hook waits,
// and at least every 2 ms); progress[0] counts the calls this worker finished, so the host
// knows which call is running even when answers are still held here (main.mjs, watch).
const progress = new Int32Array(workerData.progress);
const progressMs = 2;
const queue = [];
let running = false;
let answers = [];
let lastPost = performance.now();
let finished = 0;

// The answers as frames the host writes out as they are, their buffer handed over.
function flush() {
  if (answers.length) {
    const frames = answerFrames(answers);
    parentPort.postMessage({ t: 'answers', frames }, [frames.buffer]);
  }
  answers = [];
  lastPost = performance.now();
}

async function run() {
  running = true;
  while (queue.length) {
    const call = queue.shift();
    let answer = runCall(hooks, call, name, folder);
    if (answer instanceof Promise) {
      flush();
      answer = await answer;
    }
    answers.push([call.id, answer[0], answer[1], answer[2]]);
    Atomics.store(progress, 0, ++finished);
    if (performance.now() - lastPost >= progressMs) flush();
  }
  flush();
  running = false;
}

// A batch of calls (frames.mjs readCallBatch), or the edge's answer to a produce.
parentPort.on('message', (m) => {
  if (m?.t === 'produced') return settleProduce(pending, m); // {t: 'produced', r, error?}
  for (const call of readCallBatch(m)) queue.push(call);
  if (!running) run();
});
send({ t: 'ready' });
