import { randomBytes } from 'node:crypto';
import { CofferError } from '@coffer/protocol';
import {
  deriveKek,
  encodeBase64Text,
  openUserSecret,
  sealUserSecret,
  userSecretSalt,
  USER_SECRET_ITERATIONS,
  type EncryptedUserSecret,
  type FernetOptions,
  type PasswordInput,
} from '../../daemon/src/specter/index.js';

/**
 * A Specter `encrypted_user_secret` record made and opened with the password, as Specter's
 * login does (spec §5): for tests that build or check users.json records with Specter's own
 * parameters. The daemon derives the key once (in a child process, into guarded memory) and uses
 * openUserSecret / sealUserSecret directly; these compose the same functions.
 */

/**
 * Unlocks the secret with `password`: returns its 32 raw bytes, which the caller must wipe.
 * A failing HMAC is the only sign of a wrong password (BAD_PASSWORD); check the login hash first,
 * since a token that fails under a password whose hash matches is damage, not a typo (spec §5).
 * A token that decrypts to anything but a Fernet key is CORRUPT.
 */
export async function decryptUserSecret(record: EncryptedUserSecret, password: PasswordInput): Promise<Buffer> {
  const kek = await deriveKek(password, userSecretSalt(record), record.iterations);
  try {
    const secret = openUserSecret(kek, record.token);
    if (!secret) throw new CofferError('BAD_PASSWORD', 'Wrong password: the user secret does not decrypt');
    return secret;
  } finally {
    kek.fill(0);
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
  try {
    return { token: sealUserSecret(kek, secret, options.fernet), salt: encodeBase64Text(salt, 'standard'), iterations };
  } finally {
    kek.fill(0);
  }
}

