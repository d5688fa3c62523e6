// The package `adashta`: the Node.js server SDK of Adashta Queue. See README.md.
export { Adashta, checkQueue } from './adashta.js';
export { AdashtaError, codes } from './errors.js';
export { WorkQueues } from './work-queues.js';
export { mintToken, verifyToken } from './tokens.js';
