// What a JavaScript plugin sees (docs/plugins.md, "JavaScript"): the global `adashta`, and
// its hooks called as hook(msg, client). The same as the Lua runtime's (prelude.lua):
// return nothing to pass the message unchanged, adashta.pass(data) to change its data,
// adashta.drop(reason) or adashta.reject(reason, code); msg.data is parsed the first time
// the hook reads it, so a hook that never looks at the data never pays for it.
import { Kind, Failure, hookNames } from './frames.mjs';

const brand = Symbol('adashta verdict');
const PASS = Object.freeze({ [brand]: true, kind: 'pass' });

function checkReason(fn, reason) {
  if (reason !== undefined && typeof reason !== 'string') throw new TypeError(`${fn}: the reason must be a string`);
}

const levels = new Set(['debug', 'info', 'warn', 'error']);
const textOf = (args) => args.map((a) => (typeof a === 'string' ? a : safeInspect(a))).join('\t');
function safeInspect(value) {
  try {
    return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
  } catch {
    return String(value);
  }
}

// The limits of produce and state (plugins/include/adashta/plugins/services.hpp has the same,
// and the edge checks the frames against them again).
export const limits = { keyBytes: 256, valueBytes: 64 * 1024, keys: 10_000, produceBytes: 1024 * 1024,
                        delayMs: 365 * 24 * 60 * 60 * 1000 };
const queueName = /^[A-Za-z0-9._:/-]{1,128}$/;

function apiError(Kind, code, text) {
  const e = new Kind(text);
  e.code = code;
  return e;
}

// What a plugin can do besides its hooks (docs/plugins.md): produce (permission "produce")
// and state (permission "store"). services: {produce, store, offered} (the permissions, and
// whether the edge offers services at all), state (a Map key → JSON text, the worker's copy,
// changed here), send(message) (to the host's main thread: {t: 'state', k, v} or
// {t: 'produce', r, head, data}), and pending (a Map r → {resolve, reject}).
function makeServices(services) {
  const may = (api, permission) => {
    if (!services[permission]) {
      throw apiError(Error, 'not_allowed', `${api} needs the "${permission}" permission: add it to "permissions" in adashta-plugin.json`);
    }
    if (!services.offered) {
      throw apiError(Error, 'not_allowed', `${api}: this edge gives plugins no services (adashta plugin test and the unit tests run plugins without an edge's store)`);
    }
  };
  const checkKey = (api, key) => {
    if (typeof key !== 'string') throw apiError(TypeError, 'bad_option', `${api}: the key must be a string, not a ${typeof key}`);
    const n = Buffer.byteLength(key);
    if (n < 1 || n > limits.keyBytes) throw apiError(RangeError, 'bad_option', `${api}: a key is 1 to ${limits.keyBytes} bytes, not ${n}`);
  };
  const { state } = services;
  const remove = (key) => {
    if (!state.has(key)) return;
    state.delete(key);
    services.send({ t: 'state', k: key });
  };
  let nextRequest = 1;
  const produceOptions = { to: 'string', user: 'string', toServer: 'boolean', session: 'string', delayMs: 'number' };
  const produce = (queue, data, opts = {}) => {
    may('adashta.produce', 'produce');
    if (typeof queue !== 'string' || !queueName.test(queue)) {
      throw apiError(TypeError, 'bad_queue', `adashta.produce: the queue ${JSON.stringify(String(queue)).slice(0, 70)} is not a queue name ([A-Za-z0-9._:/-], 1 to 128 bytes)`);
    }
    if (opts === null || typeof opts !== 'object') throw apiError(TypeError, 'bad_option', 'adashta.produce: the options must be an object, like { to: session }');
    for (const [key, value] of Object.entries(opts)) {
      const want = produceOptions[key];
      if (!want) throw apiError(TypeError, 'bad_option', `adashta.produce: ${key} is not an option (to, user, toServer, session, delayMs)`);
      if (value !== undefined && typeof value !== want) throw apiError(TypeError, 'bad_option', `adashta.produce: ${key} must be a ${want}`);
    }
    const delayMs = opts.delayMs ?? 0;
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > limits.delayMs) {
      throw apiError(RangeError, 'bad_timeout', `adashta.produce: delayMs is 0 to ${limits.delayMs} (365 days), not ${delayMs}`);
    }
    if (opts.toServer && (opts.to !== undefined || opts.user !== undefined)) {
      throw apiError(TypeError, 'bad_option', 'adashta.produce: toServer goes to the queue\'s server nodes; to and user name browsers: give one or the other');
    }
    if (!opts.toServer && opts.session !== undefined) {
      throw apiError(TypeError, 'bad_option', 'adashta.produce: session picks a server node and needs toServer: true');
    }
    let text;
    try {
      text = JSON.stringify(data);
    } catch (error) {
      throw apiError(TypeError, 'bad_data', `adashta.produce: the data cannot be sent as JSON: ${error.message}`);
    }
    if (text === undefined) throw apiError(TypeError, 'bad_data', `adashta.produce: the data cannot be sent as JSON: a ${typeof data}`);
    const n = Buffer.byteLength(text);
    if (n > limits.produceBytes) {
      throw apiError(RangeError, 'message_too_large', `adashta.produce: the data is ${n} bytes of JSON, a plugin produces at most ${limits.produceBytes >> 20} MiB`);
    }
    const r = nextRequest++;
    const head = { queue };
    for (const key of ['to', 'user', 'toServer', 'session']) if (opts[key] !== undefined) head[key] = opts[key];
    if (delayMs) head.delayMs = delayMs;
    return new Promise((resolve, reject) => {
      services.pending.set(r, { resolve, reject });
      services.send({ t: 'produce', r, head, data: text });
    });
  };
  const stateApi = Object.freeze({
    get(key) {
      may('adashta.state.get', 'store');
      checkKey('adashta.state.get', key);
      const text = state.get(key);
      return text === undefined ? undefined : JSON.parse(text);
    },
    set(key, value) {
      may('adashta.state.set', 'store');
      checkKey('adashta.state.set', key);
      if (value === undefined) return remove(key);
      let text;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        throw apiError(TypeError, 'bad_data', `adashta.state.set: the value cannot be saved as JSON: ${error.message}`);
      }
      if (text === undefined) throw apiError(TypeError, 'bad_data', `adashta.state.set: the value cannot be saved as JSON: a ${typeof value}`);
      const n = Buffer.byteLength(text);
      if (n > limits.valueBytes) {
        throw apiError(RangeError, 'bad_option', `adashta.state.set: a value is at most ${limits.valueBytes >> 10} KiB of JSON, this one is ${n} bytes: keep large data in messages, or split it over keys`);
      }
      if (!state.has(key) && state.size >= limits.keys) {
        throw apiError(RangeError, 'bad_option', `adashta.state.set: the plugin holds ${state.size} keys, the most a plugin may: delete some first (adashta.state.delete)`);
      }
      state.set(key, text);
      services.send({ t: 'state', k: key, v: text });
    },
    delete(key) {
      may('adashta.state.delete', 'store');
      checkKey('adashta.state.delete', key);
      remove(key);
    },
    keys(prefix = '') {
      may('adashta.state.keys', 'store');
      if (typeof prefix !== 'string') throw apiError(TypeError, 'bad_option', 'adashta.state.keys: the prefix must be a string');
      return [...state.keys()].filter((k) => k.startsWith(prefix)).sort();
    },
  });
  return { produce, state: stateApi };
}

// An answer to a produce (from the host's main thread): settles its promise.
export function settleProduce(pending, { r, error }) {
  const p = pending.get(r);
  if (!p) return;
  pending.delete(r);
  if (!error) return p.resolve();
  p.reject(apiError(Error, error.code, `adashta.produce: ${error.text}`));
}

export function makeApi({ name, version, config, log, services }) {
  const { produce, state } = makeServices(services);
  const adashta = {
    produce,
    state,
    name,
    version,
    config,
    pass(...args) {
      if (args.length === 0) return PASS;
      return Object.freeze({ [brand]: true, kind: 'pass', data: args[0], changed: true });
    },
    drop(reason) {
      checkReason('adashta.drop', reason);
      return Object.freeze({ [brand]: true, kind: 'drop', reason });
    },
    reject(reason, code) {
      checkReason('adashta.reject', reason);
      if (code !== undefined && (!Number.isInteger(code) || code < 4000 || code > 4999)) {
        throw new RangeError('adashta.reject: a close code is an integer from 4000 to 4999');
      }
      return Object.freeze({ [brand]: true, kind: 'reject', reason, code });
    },
    log(level, ...args) {
      if (!levels.has(level)) throw new TypeError('adashta.log: the level is "debug", "info", "warn" or "error"');
      log(level, textOf(args));
    },
  };
  deepFreeze(config);
  return Object.freeze(adashta);
}

function deepFreeze(value) {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
}

// The hooks of an imported entry: its named exports, or the object it exports as default.
// Throws, naming what to change, when a hook the manifest names is missing.
export function hooksOf(module, names, where) {
  const source = typeof module.default === 'object' && module.default !== null ? module.default : module;
  const hooks = [];
  for (const name of names) {
    const fn = source[name];
    if (typeof fn !== 'function') {
      throw new Error(`the manifest names hook ${name} but the module's ${name} is ${fn === undefined ? 'missing' : `a ${typeof fn}`}: ` +
        `export function ${name}(msg, client) { ... } (or export default { ${name} })`);
    }
    hooks[hookNames.indexOf(name)] = fn;
  }
  return hooks;
}

// An error as the edge logs it: its message and where in the plugin it happened.
export function describeError(error, name, folder) {
  if (!(error instanceof Error)) return `threw ${safeInspect(error)}`;
  const prefix = `file://${folder}/`;
  const frame = String(error.stack ?? '').split('\n').find((line) => line.includes(prefix));
  const where = frame?.match(/file:\/\/[^\s)]*?\/([^/\s)]+:\d+:\d+)\)?$/);
  const at = frame ? ` (${name}/${frame.slice(frame.indexOf(prefix) + prefix.length).replace(/\)$/, '')})` : '';
  return `${error.message}${at || (where ? ` (${where[1]})` : '')}`;
}

function answerOf(v, hook) {
  if (v === undefined) return [Kind.pass, 0, ''];
  if (v === null || typeof v !== 'object' || v[brand] !== true) {
    return [Kind.failed, Failure.error, `${hook} returned ${v === null ? 'null' : `a ${typeof v}`}: return adashta.pass(data), ` +
      'adashta.drop(reason) or adashta.reject(reason), or nothing to let the message pass unchanged'];
  }
  switch (v.kind) {
    case 'pass': {
      if (!v.changed) return [Kind.pass, 0, ''];
      let text;
      try {
        text = JSON.stringify(v.data);
      } catch (error) {
        return [Kind.failed, Failure.error, `${hook}: the data cannot be sent as JSON: ${error.message}`];
      }
      if (text === undefined) return [Kind.failed, Failure.error, `${hook}: the data cannot be sent as JSON: a ${typeof v.data}`];
      return [Kind.passChanged, 0, text];
    }
    case 'drop': return [Kind.drop, 0, v.reason ?? ''];
    default: return [Kind.reject, v.code ?? 0, v.reason ?? ''];
  }
}

// msg.data: parsed from its text the first time it is read. The accessor functions are
// shared by every msg and keep their state under a symbol, so every msg has the same shape
// (an accessor made of fresh closures per call gives each msg a shape of its own, which cost
// about 4 µs a call, most of a pass-through call's time).
const lazyData = Symbol('adashta msg.data');
function getData() {
  const lazy = this[lazyData];
  if (!lazy.parsed) {
    lazy.value = JSON.parse(lazy.text);
    lazy.parsed = true;
  }
  return lazy.value;
}
function setData(value) {
  const lazy = this[lazyData];
  lazy.value = value;
  lazy.parsed = true;
}
const dataProperty = { enumerable: true, configurable: true, get: getData, set: setData };
// Gives obj the data property, parsed from text when first read.
function addLazyData(obj, text) {
  obj[lazyData] = { text, parsed: false, value: undefined };
  Object.defineProperty(obj, 'data', dataProperty);
}

// msg and client are filled from their JSON texts when the hook first touches them (reads a
// field, writes one, lists the keys, ...), as the Lua ones are (docs/plugins.md): a hook that
// only counts messages parses nothing. Each is a Proxy over a plain object that is empty
// until then; every trap fills it first and then does what the object itself would do, so a
// touched one behaves as that plain object. The handler is the call's own (its texts), its
// traps shared.
class Lazy {
  constructor(text, data) {
    this.text = text;  // the JSON text, until filled
    this.data = data;  // msg's data text ('' when the message has none), or undefined
  }
  fill(target) {
    const text = this.text;
    if (text === undefined) return target;
    this.text = undefined;
    const value = JSON.parse(text);
    // (Object.assign would set the prototype for a "__proto__" key: defined as a field.)
    if (Object.hasOwn(value, '__proto__')) {
      Object.defineProperties(target, Object.getOwnPropertyDescriptors(value));
    } else {
      Object.assign(target, value);
    }
    if (this.data) addLazyData(target, this.data);
    return target;
  }
  get(target, key, receiver) { return Reflect.get(this.fill(target), key, receiver); }
  set(target, key, value, receiver) { return Reflect.set(this.fill(target), key, value, receiver); }
  has(target, key) { return Reflect.has(this.fill(target), key); }
  deleteProperty(target, key) { return Reflect.deleteProperty(this.fill(target), key); }
  ownKeys(target) { return Reflect.ownKeys(this.fill(target)); }
  getOwnPropertyDescriptor(target, key) { return Reflect.getOwnPropertyDescriptor(this.fill(target), key); }
  defineProperty(target, key, descriptor) { return Reflect.defineProperty(this.fill(target), key, descriptor); }
  preventExtensions(target) { return Reflect.preventExtensions(this.fill(target)); }
  setPrototypeOf(target, proto) { return Reflect.setPrototypeOf(this.fill(target), proto); }
}
const lazy = (text, data) => new Proxy({}, new Lazy(text, data));

// What on_http returned, as the edge reads it (hooks.hpp, "on_http"): nothing (the route is
// not there: 404), or {status = 200, headers = {...}, body: 'text' or an object sent as JSON}.
function httpAnswerOf(v) {
  const fail = (why) => [Kind.failed, Failure.error, `on_http: ${why}`];
  if (v === undefined || v === null) return [Kind.pass, 0, ''];
  if (typeof v !== 'object' || v[brand] === true) {
    return fail(`returned ${v[brand] === true ? 'a verdict' : `a ${typeof v}`}: return { status: 200, headers: { ... }, ` +
      "body: 'text' or an object }, or nothing for 404");
  }
  const status = v.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599) return fail('status must be an integer from 200 to 599');
  const headers = {};
  if (v.headers !== undefined) {
    if (v.headers === null || typeof v.headers !== 'object') return fail('headers must be an object of names to values');
    for (const [key, value] of Object.entries(v.headers)) {
      if (typeof value !== 'string' && typeof value !== 'number') return fail(`header ${key} must be a string, not a ${typeof value}`);
      headers[key.toLowerCase()] = String(value);
    }
  }
  let body = v.body ?? '';
  if (typeof body === 'object') {
    try {
      body = JSON.stringify(body);
    } catch (error) {
      return fail(`the body cannot be sent as JSON: ${error.message}`);
    }
    headers['content-type'] ??= 'application/json';
  } else if (typeof body !== 'string') {
    return fail(`body must be a string or an object (sent as JSON), not a ${typeof body}`);
  }
  return [Kind.passChanged, 0, JSON.stringify({ status, headers, body })];
}

const httpHook = hookNames.indexOf('on_http');
function failedCall(hook, error, name, folder) {
  return [Kind.failed, Failure.error, `${hook}: ${describeError(error, name, folder)}`];
}
// Runs one call: [kind, code, text], or a promise of it when the hook is async. The
// closures for the answer are made only for an async hook (a pass-through call's time is
// mostly allocation).
export function runCall(hooks, call, name, folder) {
  let v;
  try {
    if (call.hook === httpHook) {  // a request, read whole
      const req = JSON.parse(call.subject);
      if (call.data !== '') addLazyData(req, call.data);
      v = hooks[call.hook](req, call.context !== '' ? JSON.parse(call.context) : undefined);
    } else {
      const client = call.context !== '' ? lazy(call.context) : undefined;
      v = hooks[call.hook](lazy(call.subject, call.data), client);
    }
  } catch (error) {
    return failedCall(hookNames[call.hook], error, name, folder);
  }
  const hook = hookNames[call.hook];
  if (v !== null && typeof v === 'object' && typeof v.then === 'function') {
    const answer = hook === 'on_http' ? httpAnswerOf : (r) => answerOf(r, hook);
    return Promise.resolve(v).then(answer, (error) => failedCall(hook, error, name, folder));
  }
  return hook === 'on_http' ? httpAnswerOf(v) : answerOf(v, hook);
}
