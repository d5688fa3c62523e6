/*
 * adashta.mjs — the ES module face of adashta.js.
 *
 *   import adashta from '/adashta.mjs';       // adashta.connect(...)
 *   import { connect } from '/adashta.mjs';
 *
 * adashta.js is a classic script that is also a valid module body, so importing it for its
 * side effect defines globalThis.adashta: one copy of the code, no build step.
 */
import './adashta.js';

const classic = globalThis.adashta;

/**
 * Same as adashta.connect, but the default url (and a relative one) is resolved against
 * where this module was served: inside a module document.currentScript is null, and the
 * page may come from another origin than the edge.
 */
export function connect(options) {
  options = options || {};
  return classic.connect(Object.assign({}, options, {
    url: classic.socketUrl(options.url || '/ws', import.meta.url),
  }));
}

export const AdashtaError = classic.AdashtaError;
export const version = classic.version;
export const errors = classic.errors;
export default Object.freeze(Object.assign({}, classic, { connect }));
