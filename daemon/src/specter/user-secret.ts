import { randomBytes } from 'node:crypto';
import { CofferError } from '@coffer/protocol';
import { decodeBase64, decodeBase64Text, encodeBase64, encodeBase64Text } from './base64.js';
import { deriveInChild } from '../crypto/kdf-child.js';
import { fernetDecrypt, fernetEncrypt, InvalidToken, type FernetOptions } from './fernet.js';
import { withPasswordBytes, type PasswordInput } from './password-bytes.js';

/**
 * `encrypted_user_secret` (spec §5): the user secret is a Fernet key, i.e. the 44-character url-safe
 * base64 text of 32 random bytes. It is stored as a Fernet token of those 44 ASCII bytes under the
 * key-encryption key PBKDF2-HMAC-SHA256(password, base64-decode(salt), iterations, 32).
 *
 * The secret crosses this module only as the 32 raw bytes in a Buffer the caller owns (it goes to
 * sodium secure memory); its text form and every KEK are Buffers made and wiped here, never strings.
 */
export interface EncryptedUserSecret {
  token: string;
  /** Standard base64 of 16 random bytes. */
  salt: string;
  iterations: number;
}

export const USER_SECRET_ITERATIONS = 390000;
/** Refuse absurd counts from a hand-edited file rather than spin the thread pool for hours. */
const MAX_ITERATIONS = 10_000_000;
/**
 * The KDF floor (issue 13): a record below it is refused as CORRUPT before any KDF runs, so a
 * tampered users.json cannot make a password cheap to guess from the next wrap it gets. Specter
 * has written 390000 since 2023 and 150000 before (the legacy vector): both are above.
 */
export const MIN_ITERATIONS = 100_000;

function corrupt(what: string): CofferError {
  return new CofferError('CORRUPT', `users.json: encrypted_user_secret ${what}; it was left untouched`);
}

/**
 * The KEK as 32 raw bytes (signing key = first 16, AES key = last 16), which the caller wipes.
 * In a child process (crypto/kdf-child.ts): node:crypto's async PBKDF2 copies the password into
 * its job on a pool thread, where nothing wipes it.
 */
export async function deriveKek(password: PasswordInput, salt: Buffer, iterations: number): Promise<Buffer> {
  const kek = Buffer.alloc(32);
  await deriveKekInto(kek, password, salt, iterations);
  return kek;
}

/** The KEK straight into `out` (32 bytes, e.g. a guarded slot): no other copy in this process. */
export async function deriveKekInto(out: Buffer, password: PasswordInput, salt: Buffer, iterations: number): Promise<void> {
  await withPasswordBytes(password, (bytes) => deriveInChild(out, bytes, { alg: 'pbkdf2-sha256', iterations, salt }));
}

/** The record's KDF salt, once its iteration count and salt are checked (CORRUPT when malformed). */
export function userSecretSalt(record: EncryptedUserSecret): Buffer {
  const { iterations } = record;
  if (!Number.isSafeInteger(iterations) || iterations > MAX_ITERATIONS) throw corrupt('has a bad iteration count');
  if (iterations < MIN_ITERATIONS) throw corrupt(`has ${iterations} iterations, below the floor of ${MIN_ITERATIONS}`);
  const salt = decodeBase64Text(record.salt, 'standard');
  if (!salt || salt.length === 0) throw corrupt('has a bad salt');
  return salt;
}

/**
 * Decrypts a secret token under a KEK already derived (kept, e.g. in secure memory, to wrap a new
 * secret without the password): the secret's 32 raw bytes, which the caller must wipe, or undefined
 * when the KEK does not open it. A token that opens to anything but a Fernet key is CORRUPT.
 */
export function openUserSecret(kek: Buffer, token: string): Buffer | undefined {
  let text: Buffer;
  try {
    text = fernetDecrypt(kek, token);
  } catch (error) {
    if (error instanceof InvalidToken) return undefined;
    /* c8 ignore next */
    throw error;
  }
  try {
    const secret = text.length === 44 ? decodeBase64(text, 'either') : undefined;
    if (secret?.length !== 32) {
      secret?.fill(0);
      throw corrupt('does not hold a Fernet key');
    }
    return secret;
  } finally {
    text.fill(0);
  }
}

/** The token of `secret` (32 raw bytes) under a KEK already derived. */
export function sealUserSecret(kek: Buffer, secret: Buffer, fernet?: FernetOptions): string {
  if (secret.length !== 32) throw new RangeError('a user secret is 32 bytes');
  // The plaintext is the secret's 44-character key text (what Specter stores), not the raw bytes.
  const text = encodeBase64(secret, 'urlsafe');
  try {
    return fernetEncrypt(kek, text, fernet);
  } finally {
    text.fill(0);
  }
}

/** A fresh KDF salt for a secret record: 16 random bytes. */
export function newUserSecretSalt(): Buffer {
  return randomBytes(16);
}

/** A fresh user secret: 32 random bytes (a Fernet key). The caller owns and wipes it. */
export function newUserSecret(): Buffer {
  return randomBytes(32);
}

/** Specter re-encrypts records below the current count after an unlock (spec §5); so may the daemon. */
export function needsIterationUpgrade(record: EncryptedUserSecret): boolean {
  return record.iterations < USER_SECRET_ITERATIONS;
}
