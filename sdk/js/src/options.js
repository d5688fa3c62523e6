// The node's options: defaults, overridden by ADASHTA_* environment variables, overridden by
// what the application passes (camelCase), checked once. The same names and meanings as the
// C++ SDK's NodeOptions (sdk/cpp/include/adashta/node.hpp).

import { AdashtaError } from './errors.js';

/** Option name -> [environment variable, kind]. */
const table = {
  seeds: ['ADASHTA_SEEDS', 'list'],
  bind: ['ADASHTA_BIND', 'string'],
  advertise: ['ADASHTA_ADVERTISE', 'string'],
  beacon: ['ADASHTA_BEACON', 'string'],
  beaconPort: ['ADASHTA_BEACON_PORT', 'number'],
  name: ['ADASHTA_NAME', 'string'],
  heartbeatMs: ['ADASHTA_HEARTBEAT_MS', 'number'],
  peerTimeoutMs: ['ADASHTA_PEER_TIMEOUT_MS', 'number'],
  meshKey: ['ADASHTA_MESH_KEY', 'string'],
  meshSecret: ['ADASHTA_MESH_SECRET', 'string'],
  meshAllow: ['ADASHTA_MESH_ALLOW', 'string'],
};

export const defaults = Object.freeze({
  seeds: ['tcp://127.0.0.1:7700'],
  bind: 'tcp://127.0.0.1:*',
  advertise: '',
  beacon: '',
  beaconPort: 5670,
  name: '',
  heartbeatMs: 1000,
  peerTimeoutMs: 3000,
  meshKey: '',
  meshSecret: '',
  meshAllow: '',
  connectTimeoutMs: 10000,
  callTimeoutMs: 10000,
  concurrency: 1,
});

const positive = (name, value, max = 3600000) => {
  if (!Number.isInteger(value) || value <= 0 || value > max) {
    throw new AdashtaError('bad_option', `${name}=${value} is not a whole number from 1 to ${max}`);
  }
  return value;
};

/** The effective options; throws bad_option naming the variable or option that is wrong. */
export function resolveOptions(given = {}, env = process.env) {
  const out = { ...defaults };
  for (const [option, [variable, kind]] of Object.entries(table)) {
    const text = env[variable];
    if (text === undefined || text === '') continue;
    if (kind === 'list') out[option] = text.split(',').map((s) => s.trim()).filter(Boolean);
    else if (kind === 'number') {
      if (!/^\d+$/.test(text)) throw new AdashtaError('bad_option', `${variable}=${text} is not a positive number`);
      out[option] = positive(variable, Number(text));
    } else out[option] = text;
  }
  for (const [option, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!(option in defaults)) {
      throw new AdashtaError('bad_option', `unknown option "${option}"; options are ${Object.keys(defaults).join(', ')}`);
    }
    out[option] = value;
  }
  if (typeof out.seeds === 'string') out.seeds = out.seeds.split(',').map((s) => s.trim()).filter(Boolean);
  if (!Array.isArray(out.seeds) || out.seeds.some((s) => typeof s !== 'string')) {
    throw new AdashtaError('bad_option', 'seeds must be an array of endpoints like tcp://127.0.0.1:7700');
  }
  for (const key of ['bind', 'advertise', 'beacon', 'name', 'meshKey', 'meshSecret', 'meshAllow']) {
    if (typeof out[key] !== 'string') throw new AdashtaError('bad_option', `${key} must be a string`);
  }
  for (const key of ['heartbeatMs', 'peerTimeoutMs', 'connectTimeoutMs', 'callTimeoutMs']) positive(key, out[key]);
  positive('beaconPort', out.beaconPort, 65535);
  positive('concurrency', out.concurrency, 100000);
  if (out.beacon) {
    throw new AdashtaError('bad_option', 'beacon discovery is not supported by the JavaScript SDK yet; give seeds (ADASHTA_SEEDS)');
  }
  return out;
}
