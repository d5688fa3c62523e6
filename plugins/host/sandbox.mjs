// The sandbox inside one plugin's worker, set up by plugin_worker.mjs before any plugin code
// runs (docs/plugins.md, "JavaScript": what is a boundary and what is not).
//
//   const sandbox = lockDown({ folder, http });   // then import the plugin's entry
//
// What this file does is a wall inside the worker's own JavaScript realm: it removes what
// would reach outside (process.kill, process.binding, process.report, ...), gives require
// the same module rules as import (rules.mjs), and hands out fs, os and tty versions
// without raw file descriptors. The walls that do not depend on it are Node's permission
// model (files, child processes, addons, inspector), set by the host's command line, and the
// worker's own heap and empty environment.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import Module from 'node:module';
import { decide } from './rules.mjs';

// The versions of wrapped modules plugins get (rules.mjs `wrapped`); safe/*.mjs export them
// to import, the require hook below returns them.
export const safe = {};

function accessDenied(message) {
  const error = new Error(message);
  error.code = 'ERR_ACCESS_DENIED';
  return error;
}

// fs: every path-based call as Node has it (the permission model decides what is read;
// nothing is written), and descriptors only those the plugin opened: the host's pipes to
// the edge are descriptors too, and the permission model does not guard descriptors.
function safeFs() {
  const owned = new Set();
  const check = (fd, fn) => {
    if (typeof fd === 'number' && !owned.has(fd)) {
      throw accessDenied(`fs.${fn}: descriptor ${fd} was not opened by this plugin`);
    }
  };
  const checkOptions = (options, fn) => {
    if (options && typeof options === 'object' && options.fd !== undefined && options.fd !== null) {
      check(typeof options.fd === 'number' ? options.fd : -1, fn);
    }
  };
  const out = { ...fs };
  const byFd = ['close', 'fchmod', 'fchown', 'fdatasync', 'fstat', 'fsync', 'ftruncate', 'futimes',
                'read', 'readv', 'write', 'writev', 'readFile', 'writeFile', 'appendFile'];
  for (const name of byFd) {
    for (const fn of [name, `${name}Sync`]) {
      const original = fs[fn];
      if (typeof original !== 'function') continue;
      out[fn] = function (fd, ...rest) {
        check(fd, fn);
        if (name === 'close') owned.delete(fd);
        return original.call(fs, fd, ...rest);
      };
    }
  }
  out.open = function (file, ...rest) {
    const callback = rest.pop();
    if (typeof callback !== 'function') throw new TypeError('fs.open: the last argument must be a callback');
    return fs.open(file, ...rest, (error, fd) => {
      if (!error) owned.add(fd);
      callback(error, fd);
    });
  };
  out.openSync = function (...args) {
    const fd = fs.openSync(...args);
    owned.add(fd);
    return fd;
  };
  out.createReadStream = function (file, options) {
    checkOptions(options, 'createReadStream');
    return fs.createReadStream(file, options);
  };
  out.createWriteStream = function (file, options) {
    checkOptions(options, 'createWriteStream');
    return fs.createWriteStream(file, options);
  };
  out.ReadStream = class ReadStream extends fs.ReadStream {
    constructor(file, options) {
      checkOptions(options, 'ReadStream');
      super(file, options);
    }
  };
  out.WriteStream = class WriteStream extends fs.WriteStream {
    constructor(file, options) {
      checkOptions(options, 'WriteStream');
      super(file, options);
    }
  };
  out.promises = fs.promises; // path-based, and a FileHandle is always one it opened
  return out;
}

function safeOs() {
  const out = { ...os };
  // The user's name and home (from the edge's environment), the machine's addresses, and
  // other processes' priorities are not a plugin's business.
  for (const name of ['userInfo', 'homedir', 'networkInterfaces', 'setPriority', 'getPriority']) {
    out[name] = () => { throw accessDenied(`os.${name} is not available to a plugin`); };
  }
  return out;
}

function safeTty() {
  const refuse = (name) => class {
    constructor() { throw accessDenied(`tty.${name} is not available to a plugin`); }
  };
  return { isatty: (fd) => tty.isatty(fd), ReadStream: refuse('ReadStream'), WriteStream: refuse('WriteStream') };
}

// What of process a plugin keeps: facts about the runtime, timers and its own usage.
const processKept = new Set([
  'version', 'versions', 'arch', 'platform', 'release', 'config', 'features', 'permission', 'env',
  'argv', 'execArgv', 'title', 'pid', 'uptime', 'cpuUsage', 'resourceUsage', 'memoryUsage',
  'constrainedMemory', 'availableMemory', 'hrtime', 'nextTick', 'emitWarning', 'stdout', 'stderr',
  'exitCode', 'allowedNodeEnvironmentFlags', 'sourceMapsEnabled',
  // Node's own machinery reads these.
  '_events', '_eventsCount', '_maxListeners', 'domain', '_exiting', '_fatalException',
  '_tickCallback', 'setUncaughtExceptionCaptureCallback', 'hasUncaughtExceptionCaptureCallback',
  '_preload_modules', 'assert',
]);

function scrubProcess() {
  for (const name of Object.getOwnPropertyNames(process)) {
    if (processKept.has(name)) continue;
    const unavailable = () => { throw accessDenied(`process.${name} is not available to a plugin`); };
    const d = Object.getOwnPropertyDescriptor(process, name);
    if (d.configurable) {
      delete process[name];
      if (typeof d.value === 'function') Object.defineProperty(process, name, { value: unavailable });
    } else if (d.writable) {
      process[name] = typeof d.value === 'function' ? unavailable : undefined;
    } else if (typeof d.value === 'function' || d.get) {
      throw new Error(`the sandbox cannot remove process.${name}`); // a Node version to look at
    }
  }
  process.argv = [];
  process.execArgv = [];
}

// require (CommonJS, in the plugin's npm dependencies) follows the same rules as import.
function guardRequire(folder, http) {
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    if (Module.isBuiltin(request)) {
      const name = request.startsWith('node:') ? request.slice(5) : request;
      const decision = decide(name, http);
      if (decision === 'wrap') return safe[name];
      if (decision !== 'allow') throw accessDenied(decision);
      return load.call(this, request, parent, isMain);
    }
    const file = Module._resolveFilename(request, parent, isMain);
    if (!file.startsWith(folder + path.sep)) {
      throw accessDenied(`require('${request}'): a plugin requires only files inside its own folder`);
    }
    return load.call(this, request, parent, isMain);
  };
  // New module hooks could undo the import rules (CommonJS code reaches Module as
  // module.constructor).
  for (const name of ['register', 'registerHooks']) {
    if (name in Module) Object.defineProperty(Module, name, { value: () => { throw accessDenied(`module.${name} is not available to a plugin`); } });
  }
}

// Globals that reach outside: fetch without the http permission, and a channel to every
// other worker in the host.
function scrubGlobals(http) {
  const gone = ['BroadcastChannel'];
  if (!http) gone.push('fetch', 'WebSocket', 'EventSource');
  for (const name of gone) delete globalThis[name];
}

export function lockDown({ folder, http }) {
  safe.fs = safeFs();
  safe['fs/promises'] = fs.promises;
  safe.os = safeOs();
  safe.tty = safeTty();
  guardRequire(folder, http);
  scrubGlobals(http);
  scrubProcess();
}
