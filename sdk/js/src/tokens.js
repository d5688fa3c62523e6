// Connection tokens for browser clients: JWTs the edge checks (common/src/token.cpp).
// Claims: sub (the user), exp (seconds since the epoch), and the grants produce, consume and
// fetch, each an array of queue patterns where * matches any run of characters.
//
//   const token = await Adashta.mintToken({ sub: 'alice', ttl: 3600, consume: ['chat.*'] },
//                                         { secret: process.env.ADASHTA_TOKEN_SECRET });
//   const claims = await Adashta.verifyToken(token, { secret });

import { SignJWT, importPKCS8, importSPKI, jwtVerify } from 'jose';
import { AdashtaError } from './errors.js';

async function signingKey({ secret, privateKey, alg }) {
  if (secret !== undefined) {
    const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    if (bytes.length < 32) throw new AdashtaError('bad_option', `an HS256 token secret needs at least 32 bytes, got ${bytes.length}`);
    return { key: bytes, alg: 'HS256' };
  }
  if (!privateKey) throw new AdashtaError('bad_option', 'give { secret } (HS256) or { privateKey, alg } (RS256, ES256)');
  const algorithm = alg ?? (/EC PRIVATE|BEGIN PRIVATE KEY/.test(privateKey) && !/RSA/.test(privateKey) ? 'ES256' : 'RS256');
  if (!['RS256', 'ES256'].includes(algorithm)) throw new AdashtaError('bad_option', `alg ${algorithm}: the edge accepts HS256, RS256 and ES256`);
  try {
    return { key: typeof privateKey === 'string' ? await importPKCS8(privateKey, algorithm) : privateKey, alg: algorithm };
  } catch (err) {
    throw new AdashtaError('bad_option', `privateKey is not a PKCS#8 PEM ${algorithm} key (${err.message})`);
  }
}

/**
 * Signs a token. claims: sub (required), exp (seconds since the epoch) or ttl (seconds from
 * now, default 3600), produce / consume / fetch (arrays of queue patterns). key: { secret }
 * for HS256, or { privateKey (PKCS#8 PEM or a KeyObject), alg: 'RS256' | 'ES256' }.
 */
export async function mintToken(claims, key) {
  const { sub, exp, ttl = 3600, produce, consume, fetch, ...extra } = claims ?? {};
  if (typeof sub !== 'string' || !sub) throw new AdashtaError('bad_option', 'a token needs sub, the user it stands for');
  const payload = { ...extra };
  for (const [name, list] of Object.entries({ produce, consume, fetch })) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) {
      throw new AdashtaError('bad_option', `${name} must be an array of queue patterns like "chat.*"`);
    }
    payload[name] = list;
  }
  const { key: signing, alg } = await signingKey(key ?? {});
  return new SignJWT(payload).setProtectedHeader({ alg, typ: 'JWT' }).setSubject(sub)
    .setIssuedAt().setExpirationTime(exp ?? Math.floor(Date.now() / 1000) + ttl).sign(signing);
}

/**
 * Checks a token as the edge does; resolves with its claims. Rejects with token_expired or
 * token_invalid. key: { secret } or { publicKey (SPKI PEM or KeyObject), alg }.
 */
export async function verifyToken(token, { secret, publicKey, alg } = {}) {
  let key;
  let algorithms;
  if (secret !== undefined) {
    key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
    algorithms = ['HS256'];
  } else if (publicKey) {
    algorithms = alg ? [alg] : ['RS256', 'ES256'];
    key = typeof publicKey === 'string' ? await importSPKI(publicKey, algorithms[0]) : publicKey;
  } else {
    throw new AdashtaError('bad_option', 'give { secret } or { publicKey }');
  }
  try {
    const { payload } = await jwtVerify(token, key, { algorithms, requiredClaims: ['sub', 'exp'] });
    return payload;
  } catch (err) {
    if (err.code === 'ERR_JWT_EXPIRED') throw new AdashtaError('token_expired', err.message);
    throw new AdashtaError('token_invalid', err.message);
  }
}
