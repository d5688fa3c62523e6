// Ids the node makes: its node id (its DEALERs' routing id, a secret-ish name peers answer
// to, so from the CSPRNG) and message ids (26-character ULID-like Crockford base32, time
// first, monotonic within the process, as common/src/ids.cpp makes them).

import { randomBytes } from 'node:crypto';

/** 32 hex characters from the CSPRNG. */
export function newNodeId() {
  return randomBytes(16).toString('hex');
}

const kBase32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
// Owned by this module (the event loop): the last time used and its 80 random bits.
let lastMs = 0;
let random = 0n;

/** A new message id: 10 characters of ms since the epoch, 16 of (incremented) randomness. */
export function newMessageId() {
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    random = (random + 1n) & ((1n << 80n) - 1n);
  } else {
    lastMs = ms;
    // 79 bits: headroom so that increments within one millisecond do not wrap.
    random = BigInt('0x' + randomBytes(10).toString('hex')) >> 1n;
  }
  let out = '';
  let t = BigInt(ms);
  for (let i = 0; i < 10; i++) { out = kBase32[Number(t & 31n)] + out; t >>= 5n; }
  let r = random;
  let tail = '';
  for (let i = 0; i < 16; i++) { tail = kBase32[Number(r & 31n)] + tail; r >>= 5n; }
  return out + tail;
}
