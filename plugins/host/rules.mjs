// Which of Node's built-in modules a plugin may import or require (docs/plugins.md,
// "JavaScript": the sandbox). Read by the worker (sandbox.mjs, for require) and by the
// module hooks (loader.mjs, for import), so both refuse the same ones.

// Computation, encoding, streams and timers: nothing here reaches outside the worker.
export const allowed = new Set([
  'assert', 'assert/strict', 'async_hooks', 'buffer', 'console', 'crypto', 'events', 'path',
  'path/posix', 'path/win32', 'perf_hooks', 'process', 'punycode', 'querystring', 'stream',
  'stream/consumers', 'stream/promises', 'stream/web', 'string_decoder', 'timers',
  'timers/promises', 'url', 'util', 'util/types', 'zlib',
]);

// Given as a version of our own (safe/*.mjs, sandbox.mjs): fs without descriptors the plugin
// did not open itself, os without the user's name, home and network interfaces, tty without
// its streams. Node's permission model still decides which files can be read.
export const wrapped = new Set(['fs', 'fs/promises', 'os', 'tty']);

// Only for a plugin whose manifest asks for the http permission (webhooks, Web Push).
export const network = new Set(['dns', 'dns/promises', 'http', 'http2', 'https', 'net', 'tls']);

// Why a built-in module is refused, for the error the plugin sees.
export function refusal(name, http) {
  if (network.has(name) && !http) {
    return `module '${name}' needs the "http" permission in adashta-plugin.json ("permissions": ["http"])`;
  }
  return `module '${name}' is not available to a plugin: it reaches outside the plugin's sandbox ` +
    '(docs/plugins.md, "JavaScript")';
}

// The decision for one built-in: 'allow', 'wrap', or a refusal text.
export function decide(name, http) {
  if (allowed.has(name)) return 'allow';
  if (wrapped.has(name)) return 'wrap';
  if (http && network.has(name)) return 'allow';
  return refusal(name, http);
}
