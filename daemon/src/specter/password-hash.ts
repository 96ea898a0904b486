import { randomBytes, timingSafeEqual } from 'node:crypto';
import { deriveInChild } from '../crypto/kdf-child.js';
import { decodeBase64Text, encodeBase64Text } from './base64.js';
import { withPasswordBytes, type PasswordInput } from './password-bytes.js';

/**
 * Specter's login hash, `users.json` → `password` (spec §4): PBKDF2-HMAC-SHA256 over the UTF-8
 * password with the salt *text's* bytes as salt (not base64-decoded), 10000 iterations, 32 bytes,
 * stored as standard base64. Not the KDF of the user secret (user-secret.ts), which differs in all three.
 */
export interface PasswordHash {
  salt: string;
  pwdhash: string;
}

export const PASSWORD_HASH_ITERATIONS = 10000;

async function derive(password: PasswordInput, salt: string): Promise<Buffer> {
  // Python's `salt.encode()` is UTF-8; for the base64 text Specter writes that is its ASCII bytes.
  // In a child process, like every password KDF (crypto/kdf-child.ts): no copy of the password stays here.
  const dk = Buffer.alloc(32);
  await withPasswordBytes(password, (bytes) => deriveInChild(dk, bytes, { alg: 'pbkdf2-sha256', iterations: PASSWORD_HASH_ITERATIONS, salt: Buffer.from(salt, 'utf8') }));
  return dk;
}

/** True when `password` matches; compared in constant time. A malformed stored hash never matches. */
export async function verifyPasswordHash(stored: PasswordHash, password: PasswordInput): Promise<boolean> {
  const expected = decodeBase64Text(stored.pwdhash, 'standard');
  // timingSafeEqual throws on a length mismatch, so check the length first.
  if (!expected || expected.length !== 32) return false;
  const dk = await derive(password, stored.salt);
  try {
    return timingSafeEqual(dk, expected);
  } finally {
    dk.fill(0);
  }
}

export interface CreatePasswordHashOptions {
  /** 32 bytes whose standard base64 becomes the salt text; random by default (test seam). */
  saltBytes?: Buffer;
}

/** A new `{salt, pwdhash}` record for `password`, with a fresh salt. */
export async function createPasswordHash(password: PasswordInput, options: CreatePasswordHashOptions = {}): Promise<PasswordHash> {
  // Specter's salt is the base64 of SHA-256(60 random bytes): 44 characters; 32 random bytes give the same form.
  const saltBytes = options.saltBytes ?? randomBytes(32);
  if (saltBytes.length !== 32) throw new RangeError('the password salt is made from 32 bytes');
  const salt = encodeBase64Text(saltBytes, 'standard');
  const dk = await derive(password, salt);
  try {
    return { salt, pwdhash: encodeBase64Text(dk, 'standard') };
  } finally {
    dk.fill(0);
  }
}
