// A plugin's own tests load it through a real plugin host, with the sandbox and the limits
// the edge gives it (plugins/templates/js/test/plugin.test.mjs is an example):
//
//   import { loadPlugin } from '<adashta>/plugins/host/testing.mjs';
//   const plugin = await loadPlugin(new URL('..', import.meta.url), { greeting: 'hi' });
//   const v = await plugin.call('on_message', { queue: 'chat', id: 'm1', data: { text: 'hi' } }, { user: 'alice' });
//   // v: { kind: 'pass', data?: ... } | { kind: 'drop', reason } | { kind: 'reject', reason, code }
//   //    | { failure: 'error' | 'time' | 'memory', error }
//   await plugin.close();
import { spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameReader, Kind, callFrame, jsonFrame, readAnswer, hookNames } from './frames.mjs';

const hostDir = path.dirname(fileURLToPath(import.meta.url));

// The command line the edge starts the host with (plugins/src/js_host.cpp builds the same):
// Node's permission model, reads of the host's and the plugins' folders only, no writes, no
// child processes, no addons, no WASI; workers only for the host's own.
export function hostArguments(folders) {
  return [
    '--experimental-permission', '--allow-worker', '--no-addons',
    '--disable-warning=ExperimentalWarning', '--disable-warning=SecurityWarning',
    `--allow-fs-read=${hostDir}${path.sep}`,
    ...folders.map((f) => `--allow-fs-read=${f}${path.sep}`),
    path.join(hostDir, 'main.mjs'),
  ];
}

const failures = { 1: 'error', 2: 'time', 3: 'memory' };

export async function loadPlugin(folderOrUrl, config = {}) {
  const folder = realpathSync(folderOrUrl instanceof URL ? fileURLToPath(folderOrUrl) : String(folderOrUrl));
  const manifest = JSON.parse(readFileSync(path.join(folder, 'adashta-plugin.json'), 'utf8'));
  const limits = manifest.limits ?? {};
  const host = spawn(process.execPath, hostArguments([folder]), { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map(); // call id → resolve
  let loaded;
  const loadedPromise = new Promise((resolve, reject) => { loaded = { resolve, reject }; });
  const logs = [];
  const reader = new FrameReader((type, body) => {
    if (type === 0x41) { // 'A'
      const a = readAnswer(body);
      const resolve = waiting.get(a.id);
      waiting.delete(a.id);
      if (a.kind === Kind.failed) return resolve({ failure: failures[a.code] ?? 'error', error: a.text });
      if (a.kind === Kind.pass) return resolve({ kind: 'pass' });
      if (a.kind === Kind.passChanged) return resolve({ kind: 'pass', data: JSON.parse(a.text) });
      if (a.kind === Kind.drop) return resolve({ kind: 'drop', reason: a.text });
      return resolve({ kind: 'reject', reason: a.text, code: a.code });
    }
    if (type === 0x6c) { // 'l'
      const m = JSON.parse(body.toString('utf8'));
      return m.error ? loaded.reject(new Error(m.error)) : loaded.resolve();
    }
    if (type === 0x47) { // 'G'
      const m = JSON.parse(body.toString('utf8'));
      logs.push({ level: m.level, text: m.text });
    }
  });
  host.stdout.on('data', (chunk) => reader.push(chunk));
  host.on('exit', (code) => {
    loaded.reject(new Error(`the plugin host exited (code ${code})`));
    for (const resolve of waiting.values()) resolve({ failure: 'error', error: 'the plugin host exited' });
    waiting.clear();
  });
  host.stdin.write(jsonFrame('L', {
    p: 0, folder, entry: manifest.entry, name: manifest.name, version: manifest.version,
    callMs: limits.callMs ?? 50, memoryMB: limits.memoryMB ?? 16,
    http: (manifest.permissions ?? []).includes('http'), hooks: manifest.hooks, config,
  }));
  try {
    await loadedPromise;
  } catch (error) {
    host.kill();
    throw error;
  }
  let nextId = 1;
  return {
    logs, // what the plugin logged: [{ level, text }]
    call(hook, msg = {}, client) {
      const h = hookNames.indexOf(hook);
      if (h < 0) throw new Error(`no hook ${hook}: one of ${hookNames.join(', ')}`);
      const { data, ...subject } = msg;
      const id = nextId++;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        host.stdin.write(callFrame(id, 0, h, JSON.stringify(subject),
          'data' in msg ? JSON.stringify(data) : '', client === undefined ? '' : JSON.stringify(client)));
      });
    },
    close() {
      return new Promise((resolve) => {
        if (host.exitCode !== null) return resolve();
        host.once('exit', () => resolve());
        host.stdin.end();
      });
    },
  };
}
