// One plugin's worker thread (started by main.mjs): sets up the sandbox, imports the
// plugin's entry, then runs the calls it is posted, one at a time and in order, and posts
// the answers back in batches. The API the plugin sees is the global `adashta` (api.mjs).
import { parentPort, workerData } from 'node:worker_threads';
import { register } from 'node:module';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lockDown } from './sandbox.mjs';
import { makeApi, hooksOf, runCall } from './api.mjs';

const { entry, name, version, config, http, hooks: hookNames } = workerData;
const folder = realpathSync(workerData.folder);
const hostUrl = new URL('./', import.meta.url).href;

const send = (m) => parentPort.postMessage(m);

register('./loader.mjs', import.meta.url, {
  data: { folderUrl: pathToFileURL(folder + path.sep).href, hostUrl, http },
});
const adashta = makeApi({ name, version, config, log: (level, text) => send({ t: 'log', level, text }) });
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

// Each answer goes back as soon as its call is over: one held back while a later call runs
// away would be lost with the worker when the host terminates it.
const queue = [];
let running = false;

async function run() {
  running = true;
  while (queue.length) {
    const call = queue.shift();
    let answer = runCall(hooks, call, name, folder);
    if (answer instanceof Promise) answer = await answer;
    send({ t: 'answers', list: [[call.id, ...answer]] });
  }
  running = false;
}

parentPort.on('message', (batch) => {
  for (const call of batch) queue.push(call);
  if (!running) run();
});
send({ t: 'ready' });
