// CURVE keys and the allow-list, in the formats the C++ members use (mesh/src/keys.cpp):
//
// - key files are CZMQ zcerts as `adashta keys new FILE` writes them: FILE holds
//   `public-key = "..."`, FILE_secret also `secret-key = "..."`;
// - the allow-list has one member a line: `KEY ROLES [tcp://HOST:PORT] [# name]`, ROLES a
//   comma list of edge, node, tool;
// - seeds may carry their member's key: `tcp://HOST:PORT|KEY`.

import { createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { AdashtaError } from './errors.js';
import { normalizeEndpoint } from './endpoint.js';
import { isZ85Key, z85Decode, z85Encode } from './z85.js';

/** The public key (Z85) of a Z85 secret key, as zmq_curve_public computes it (X25519). */
export function publicKeyOf(secretZ85) {
  if (!isZ85Key(secretZ85)) {
    throw new AdashtaError('bad_key', 'a mesh secret key is 40 characters of Z85 (adashta keys new makes one)');
  }
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), z85Decode(secretZ85)]);
  const spki = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }))
    .export({ format: 'der', type: 'spki' });
  return z85Encode(spki.subarray(spki.length - 32));
}

/** { publicKey, secretKey } of a Z85 secret key. */
export function keyPairFromSecret(secretZ85) {
  return { publicKey: publicKeyOf(secretZ85), secretKey: secretZ85 };
}

/** Loads the key pair of FILE_secret (given FILE, reads FILE_secret beside it, as zcert names them). */
export function loadKeyPair(file) {
  let path = file;
  if (!path.endsWith('_secret') && existsSync(path + '_secret')) path += '_secret';
  if (!existsSync(path)) {
    throw new AdashtaError('bad_key', `mesh key file "${path}" does not exist; make one with: adashta keys new ${file}`);
  }
  const text = readFileSync(path, 'utf8');
  const pub = /^\s*public-key\s*=\s*"(.{40})"/m.exec(text);
  const secret = /^\s*secret-key\s*=\s*"(.{40})"/m.exec(text);
  if (!pub) throw new AdashtaError('bad_key', `"${path}" is not a key file written by adashta keys new (a CZMQ certificate)`);
  if (!secret || secret[1] === '0'.repeat(40)) {
    throw new AdashtaError('bad_key', `"${path}" holds only a public key; give the FILE_secret that adashta keys new wrote`);
  }
  return { publicKey: pub[1], secretKey: secret[1] };
}

/**
 * The allow-list: Map key -> { key, roles: Set('edge'|'node'|'tool'), endpoint, name }.
 * Throws bad_key with the file and line of what is wrong.
 */
export function loadAllowList(file) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new AdashtaError('bad_key', `cannot read the mesh allow-list "${file}" (one line per member: KEY ROLES [ENDPOINT] [# NAME])`);
  }
  const list = new Map();
  text.split('\n').forEach((raw, index) => {
    const at = `${file}:${index + 1}: `;
    let line = raw;
    let name = '';
    // A comment starts with # at the line's start or after white space: Z85 holds # too.
    const hash = line.search(/(^|[ \t])#/);
    if (hash >= 0) {
      const start = line.indexOf('#', hash);
      name = line.slice(start + 1).trim();
      line = line.slice(0, start);
    }
    const words = line.trim().split(/[ \t]+/).filter(Boolean);
    if (words.length === 0) return;
    if (words.length < 2 || words.length > 3) {
      throw new AdashtaError('bad_key', at + 'expected KEY ROLES [ENDPOINT] [# NAME], like "<40 Z85 characters> node"');
    }
    if (!isZ85Key(words[0])) throw new AdashtaError('bad_key', at + `"${words[0].slice(0, 48)}" is not a public key (40 Z85 characters)`);
    const roles = new Set();
    for (const role of words[1].split(',')) {
      if (!['edge', 'node', 'tool'].includes(role)) throw new AdashtaError('bad_key', at + `"${role}" is not a role; roles are edge, node and tool`);
      roles.add(role);
    }
    let endpoint = '';
    if (words.length === 3) {
      endpoint = normalizeEndpoint(words[2], { quiet: true });
      if (!endpoint || endpoint.endsWith(':*')) throw new AdashtaError('bad_key', at + `"${words[2]}" is not an endpoint (tcp://HOST:PORT)`);
    }
    if (list.has(words[0])) throw new AdashtaError('bad_key', at + 'this key is listed twice');
    list.set(words[0], { key: words[0], roles, endpoint, name });
  });
  if (list.size === 0) throw new AdashtaError('bad_key', `${file}: lists no key`);
  return list;
}

/** Splits `tcp://H:P|KEY` into [endpoint, key]; key is '' without a bar. */
export function splitSeed(seed) {
  const bar = seed.indexOf('|');
  if (bar < 0) return [seed, ''];
  const key = seed.slice(bar + 1);
  if (!isZ85Key(key)) {
    throw new AdashtaError('bad_key', `seed "${seed.slice(0, 200)}": the part after | must be the member's public key (40 Z85 characters)`);
  }
  return [seed.slice(0, bar), key];
}
