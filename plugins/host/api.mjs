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

export function makeApi({ name, version, config, log }) {
  const adashta = {
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

// Runs one call: [kind, code, text], or a promise of it when the hook is async.
export function runCall(hooks, call, name, folder) {
  const hook = hookNames[call.hook];
  const failed = (error) => [Kind.failed, Failure.error, `${hook}: ${describeError(error, name, folder)}`];
  let v;
  try {
    const msg = JSON.parse(call.subject);
    if (call.data !== '') {
      let data;
      let parsed = false;
      Object.defineProperty(msg, 'data', {
        enumerable: true,
        configurable: true,
        get() {
          if (!parsed) {
            data = JSON.parse(call.data);
            parsed = true;
          }
          return data;
        },
        set(value) {
          data = value;
          parsed = true;
        },
      });
    }
    const client = call.context !== '' ? JSON.parse(call.context) : undefined;
    v = hooks[call.hook](msg, client);
  } catch (error) {
    return failed(error);
  }
  const answer = hook === 'on_http' ? httpAnswerOf : (r) => answerOf(r, hook);
  if (v !== null && typeof v === 'object' && typeof v.then === 'function') {
    return Promise.resolve(v).then(answer, failed);
  }
  return answer(v);
}
