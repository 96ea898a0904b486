import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeBase64Text, encodeBase64Text } from './base64.js';

/**
 * Fernet as pyca/cryptography implements it (spec §6, §14), composed from node:crypto's AES-128-CBC
 * and HMAC-SHA256: the only cipher Specter uses. Token bytes:
 * 0x80 ‖ timestamp u64 BE ‖ IV(16) ‖ AES-128-CBC/PKCS#7 ciphertext ‖ HMAC-SHA256 of all before (32).
 *
 * Decrypt reaches Python's verdict on every case of the vectors' fernet_cases.json. The two cases a
 * reader may choose: a token with its `=` padding stripped is REFUSED, as Python does (accepting it
 * would let us read a file that Specter cannot); `+` and `/` in place of `-` and `_` are ACCEPTED, as
 * Python does (refusing would call a file that Specter reads corrupt). Unlike Python we refuse stray
 * characters (Python skips them): writers never produce them. The writer emits only `-_` with padding.
 */

/** The one error of Fernet decryption: malformed, tampered, wrong key or bad padding alike. */
export class InvalidToken extends Error {
  constructor() {
    super('invalid Fernet token');
    this.name = 'InvalidToken';
  }
}

/** Seams for byte-exact tests; production leaves both out (fresh random IV, current time). */
export interface FernetOptions {
  iv?: Buffer;
  /** Unix seconds. */
  timestamp?: number;
}

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const MAC = 32;
const BLOCK = 16;

function checkKey(key: Buffer): void {
  if (key.length !== 32) throw new RangeError(`a Fernet key is 32 bytes, got ${key.length}`);
}

/** Encrypts `plaintext` under the raw 32-byte key (signing = first 16, AES = last 16). */
export function fernetEncrypt(key: Buffer, plaintext: Buffer, options: FernetOptions = {}): string {
  checkKey(key);
  const iv = options.iv ?? randomBytes(16);
  if (iv.length !== 16) throw new RangeError('a Fernet IV is 16 bytes');
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError('a Fernet timestamp is a non-negative integer');
  const header = Buffer.alloc(9);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(timestamp), 1);
  const cipher = createCipheriv('aes-128-cbc', key.subarray(16), iv);
  const body = Buffer.concat([header, iv, cipher.update(plaintext), cipher.final()]);
  const mac = createHmac('sha256', key.subarray(0, 16)).update(body).digest();
  // Python rejects a token without `=` padding, so never use Node's unpadded 'base64url' here.
  return encodeBase64Text(Buffer.concat([body, mac]), 'urlsafe');
}

/**
 * Whether `text` has a Fernet token's shape (padded base64 of version 0x80, header, whole AES
 * blocks and a MAC), without a key. Generic data files do not say which fields are encrypted
 * (the declaration is in Specter's code): a value of this shape is one; a user-written string
 * that has it by chance is not to be expected.
 */
export function isFernetToken(text: string): boolean {
  const data = decodeBase64Text(text, 'urlsafe');
  return data !== undefined && data.length >= HEADER + BLOCK + MAC && data[0] === VERSION && (data.length - HEADER - MAC) % BLOCK === 0;
}

/** Decrypts a token under the raw 32-byte key. Any failure is InvalidToken; the timestamp is never checked. */
export function fernetDecrypt(key: Buffer, token: string): Buffer {
  checkKey(key);
  const data = decodeBase64Text(token, 'either');
  if (!data || data.length < HEADER + BLOCK + MAC || data[0] !== VERSION) throw new InvalidToken();
  const ciphertextLength = data.length - HEADER - MAC;
  if (ciphertextLength % BLOCK !== 0) throw new InvalidToken();
  const body = data.subarray(0, data.length - MAC);
  const expected = createHmac('sha256', key.subarray(0, 16)).update(body).digest();
  if (!timingSafeEqual(expected, data.subarray(data.length - MAC))) throw new InvalidToken();
  const decipher = createDecipheriv('aes-128-cbc', key.subarray(16), data.subarray(9, HEADER));
  const head = decipher.update(data.subarray(HEADER, data.length - MAC));
  let tail: Buffer;
  try {
    tail = decipher.final(); // throws on bad PKCS#7 padding
  } catch {
    head.fill(0);
    throw new InvalidToken();
  }
  const plaintext = Buffer.concat([head, tail]);
  head.fill(0);
  tail.fill(0);
  return plaintext;
}
