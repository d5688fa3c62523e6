// Z85 (ZeroMQ RFC 32), the text form of CURVE keys: 32 bytes <-> 40 characters.

const kAlphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const kDecode = new Map([...kAlphabet].map((c, i) => [c, i]));

/** True for a 40-character Z85 key. */
export function isZ85Key(text) {
  return typeof text === 'string' && text.length === 40 && [...text].every((c) => kDecode.has(c));
}

/** Bytes (length a multiple of 4) as Z85. */
export function z85Encode(bytes) {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i] << 24) >>> 0) + (bytes[i + 1] << 16) + (bytes[i + 2] << 8) + bytes[i + 3];
    let chunk = '';
    for (let j = 0; j < 5; j++) { chunk = kAlphabet[value % 85] + chunk; value = Math.floor(value / 85); }
    out += chunk;
  }
  return out;
}

/** Z85 (length a multiple of 5) as bytes. */
export function z85Decode(text) {
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    let value = 0;
    for (let j = 0; j < 5; j++) value = value * 85 + kDecode.get(text[i + j]);
    out.writeUInt32BE(value >>> 0, o);
  }
  return out;
}
