// tcp://HOST:PORT endpoints, normalized as the C++ members do (mesh/src/transport.cpp), so
// that two spellings of one address compare equal.

import { AdashtaError } from './errors.js';

/**
 * `tcp://HOST:PORT` (a bare HOST:PORT gets tcp://; port 0 becomes *). Throws bad_endpoint,
 * or returns '' with { quiet: true }.
 */
export function normalizeEndpoint(text, { quiet = false } = {}) {
  const fail = (why) => {
    if (quiet) return '';
    throw new AdashtaError('bad_endpoint', `${text}: ${why}`);
  };
  if (typeof text !== 'string') return fail('expected a string tcp://HOST:PORT');
  let rest = text;
  if (rest.startsWith('tcp://')) rest = rest.slice(6);
  else if (rest.includes('://')) return fail('only tcp:// is supported');
  const colon = rest.lastIndexOf(':');
  if (colon <= 0) return fail('expected HOST:PORT');
  let port = rest.slice(colon + 1);
  if (port === '0') port = '*';
  if (port !== '*' && !(/^\d+$/.test(port) && Number(port) <= 65535)) return fail('port must be 0-65535 or *');
  return `tcp://${rest.slice(0, colon)}:${port}`;
}

export function hostOf(endpoint) {
  return endpoint.slice(6, endpoint.lastIndexOf(':'));
}

export function withHost(endpoint, host) {
  return `tcp://${host}${endpoint.slice(endpoint.lastIndexOf(':'))}`;
}
