import { pbkdf2 as pbkdf2Callback, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { CofferError } from '@coffer/protocol';
import { decodeBase64, decodeBase64Text, encodeBase64, encodeBase64Text } from './base64.js';
import { fernetDecrypt, fernetEncrypt, InvalidToken, type FernetOptions } from './fernet.js';
import { withPasswordBytes, type PasswordInput } from './password-bytes.js';

const pbkdf2 = promisify(pbkdf2Callback);

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

function corrupt(what: string): CofferError {
  return new CofferError('CORRUPT', `users.json: encrypted_user_secret ${what}; it was left untouched`);
}

/** The KEK as 32 raw bytes (signing key = first 16, AES key = last 16). Async: 390k rounds take a while. */
export async function deriveKek(password: PasswordInput, salt: Buffer, iterations: number): Promise<Buffer> {
  return withPasswordBytes(password, (bytes) => pbkdf2(bytes, salt, iterations, 32, 'sha256'));
}

function checkRecord(record: EncryptedUserSecret): Buffer {
  const { iterations } = record;
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw corrupt('has a bad iteration count');
  const salt = decodeBase64Text(record.salt, 'standard');
  if (!salt || salt.length === 0) throw corrupt('has a bad salt');
  return salt;
}

/**
 * Unlocks the secret with `password`: returns its 32 raw bytes, which the caller must wipe.
 * A failing HMAC is the only sign of a wrong password (BAD_PASSWORD); check the login hash first,
 * since a token that fails under a password whose hash matches is damage, not a typo (spec §5).
 * A token that decrypts to anything but a Fernet key is CORRUPT.
 */
export async function decryptUserSecret(record: EncryptedUserSecret, password: PasswordInput): Promise<Buffer> {
  const salt = checkRecord(record);
  const kek = await deriveKek(password, salt, record.iterations);
  let text: Buffer;
  try {
    text = fernetDecrypt(kek, record.token);
  } catch (error) {
    if (error instanceof InvalidToken) throw new CofferError('BAD_PASSWORD', 'Wrong password: the user secret does not decrypt');
    /* c8 ignore next */
    throw error;
  } finally {
    kek.fill(0);
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

export interface EncryptUserSecretOptions {
  /** 16 bytes; random by default (test seam). */
  salt?: Buffer;
  /** USER_SECRET_ITERATIONS by default; lower only to mirror an existing legacy record in tests. */
  iterations?: number;
  fernet?: FernetOptions;
}

/** A new record holding `secret` (32 raw bytes) under `password`, with a fresh salt. */
export async function encryptUserSecret(
  secret: Buffer,
  password: PasswordInput,
  options: EncryptUserSecretOptions = {},
): Promise<EncryptedUserSecret> {
  if (secret.length !== 32) throw new RangeError('a user secret is 32 bytes');
  const salt = options.salt ?? randomBytes(16);
  const iterations = options.iterations ?? USER_SECRET_ITERATIONS;
  const kek = await deriveKek(password, salt, iterations);
  // The plaintext is the secret's 44-character key text (what Specter stores), not the raw bytes.
  const text = encodeBase64(secret, 'urlsafe');
  try {
    const token = fernetEncrypt(kek, text, options.fernet);
    return { token, salt: encodeBase64Text(salt, 'standard'), iterations };
  } finally {
    kek.fill(0);
    text.fill(0);
  }
}

/** A fresh user secret: 32 random bytes (a Fernet key). The caller owns and wipes it. */
export function newUserSecret(): Buffer {
  return randomBytes(32);
}

/** Specter re-encrypts records below the current count after an unlock (spec §5); so may the daemon. */
export function needsIterationUpgrade(record: EncryptedUserSecret): boolean {
  return record.iterations < USER_SECRET_ITERATIONS;
}
