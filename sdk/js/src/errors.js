// AdashtaError: every failure the SDK reports, with the catalogue's code and name
// (proto/errors.json, shared with the edge, the C++ and the Go SDK) and a message that says
// what went wrong and what to do about it.
//
//   try { await adashta.receiveMessage(...) } catch (err) {
//     if (err.codeName === 'unknown_queue') ...      // or err.code === codes.unknown_queue
//   }

import { catalogue, codes } from '../generated/errors.js';

export { codes };

export class AdashtaError extends Error {
  /**
   * @param {string|number} codeOrName a catalogue name ('unknown_queue') or code (4105)
   * @param {string} [detail] what exactly was wrong, for people
   */
  constructor(codeOrName, detail) {
    const entry = typeof codeOrName === 'number'
      ? catalogue[codeOrName]
      : catalogue[codes[codeOrName]];
    const code = entry ? entry.code : (typeof codeOrName === 'number' ? codeOrName : 0);
    const name = entry ? entry.name : String(codeOrName);
    const text = entry ? entry.message : 'unknown error';
    super(`${name} (${code}): ${text}${detail ? `: ${detail}` : ''}${entry ? `. ${entry.hint}` : ''}`);
    this.name = 'AdashtaError';
    /** The catalogue's number, e.g. 4105. */
    this.code = code;
    /** The catalogue's name, e.g. 'unknown_queue'. */
    this.codeName = name;
    /** The detail alone (the edge's Response.detail, or ours). */
    this.detail = detail ?? '';
  }
}
