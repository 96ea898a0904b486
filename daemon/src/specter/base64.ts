/**
 * Strict base64 over bytes. Two reasons not to use `Buffer.from(text, 'base64')`: Node silently skips
 * characters outside the alphabet and accepts missing padding, where Python's Fernet rejects a token
 * without its `=` (spec §6); and the user secret is base64 text, which must never become a JS string
 * (strings cannot be wiped and outlive GCs), so it is encoded and decoded from Buffer to Buffer.
 */

const STANDARD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URLSAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const PAD = 0x3d; // '='

/** Which characters 62 and 63 may be: `+/`, `-_`, or either (Python's urlsafe_b64decode takes both). */
export type Base64Alphabet = 'standard' | 'urlsafe' | 'either';

const decodeTables: Record<Base64Alphabet, Int16Array> = {
  standard: table([STANDARD]),
  urlsafe: table([URLSAFE]),
  either: table([STANDARD, URLSAFE]),
};

function table(alphabets: string[]): Int16Array {
  const t = new Int16Array(256).fill(-1);
  for (const alphabet of alphabets) for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
}

/**
 * Decodes padded base64 held as ASCII bytes. Returns undefined unless every character is in the
 * alphabet, the length is a multiple of 4 and `=` appears only as the final one or two characters.
 */
export function decodeBase64(src: Uint8Array, alphabet: Base64Alphabet): Buffer | undefined {
  if (src.length % 4 !== 0) return undefined;
  let pads = 0;
  while (pads < 2 && pads < src.length && src[src.length - 1 - pads] === PAD) pads++;
  const t = decodeTables[alphabet];
  const out = Buffer.alloc((src.length / 4) * 3 - pads);
  let acc = 0;
  let o = 0;
  for (let i = 0; i < src.length - pads; i++) {
    const v = t[src[i] as number] as number;
    if (v < 0) return wipe(out);
    acc = (acc << 6) | v;
    if (i % 4 === 3) {
      out[o++] = (acc >> 16) & 0xff;
      out[o++] = (acc >> 8) & 0xff;
      out[o++] = acc & 0xff;
      acc = 0;
    }
  }
  if (pads === 2) out[o] = (acc >> 4) & 0xff;
  if (pads === 1) {
    out[o] = (acc >> 10) & 0xff;
    out[o + 1] = (acc >> 2) & 0xff;
  }
  acc = 0;
  return out;
}

function wipe(buffer: Buffer): undefined {
  buffer.fill(0);
  return undefined;
}

/** Decodes padded base64 text (not secret: tokens, salts). */
export function decodeBase64Text(text: string, alphabet: Base64Alphabet): Buffer | undefined {
  // A non-ASCII character would be mangled by 'latin1'; it is never valid base64 anyway.
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(text)) return undefined;
  return decodeBase64(Buffer.from(text, 'latin1'), alphabet);
}

/** Encodes to padded base64 as ASCII bytes, never passing through a string. */
export function encodeBase64(src: Uint8Array, alphabet: 'standard' | 'urlsafe'): Buffer {
  const chars = alphabet === 'standard' ? STANDARD : URLSAFE;
  const out = Buffer.alloc(Math.ceil(src.length / 3) * 4, PAD);
  let o = 0;
  for (let i = 0; i < src.length; i += 3) {
    const b0 = src[i] as number;
    const b1 = src[i + 1] ?? 0;
    const b2 = src[i + 2] ?? 0;
    out[o++] = chars.charCodeAt(b0 >> 2);
    out[o++] = chars.charCodeAt(((b0 & 3) << 4) | (b1 >> 4));
    if (i + 1 < src.length) out[o++] = chars.charCodeAt(((b1 & 15) << 2) | (b2 >> 6));
    if (i + 2 < src.length) out[o++] = chars.charCodeAt(b2 & 63);
  }
  return out;
}

/** Encodes to padded base64 text (not secret). */
export function encodeBase64Text(src: Uint8Array, alphabet: 'standard' | 'urlsafe'): string {
  return encodeBase64(src, alphabet).toString('latin1');
}
