import sodium from 'sodium-native';
import { deriveInChild } from './kdf-child.js';

/** Argon2id cost, as libsodium counts it: passes over memory, and bytes of memory. */
export interface KdfParams {
  readonly opslimit: number;
  readonly memlimit: number;
}

export const KDF_INTERACTIVE: KdfParams = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_INTERACTIVE,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_INTERACTIVE,
};

export const KDF_MODERATE: KdfParams = {
  opslimit: sodium.crypto_pwhash_OPSLIMIT_MODERATE,
  memlimit: sodium.crypto_pwhash_MEMLIMIT_MODERATE,
};

/**
 * Bounds for parameters read from a file: anything libsodium accepts up to 4 GiB and 64 passes.
 * A hand-edited users.json asking for 1 TiB would otherwise make every unlock fail with ENOMEM.
 */
export const KDF_STORED_MAX: KdfParams = { opslimit: 64, memlimit: 4 * 1024 * 1024 * 1024 };
/**
 * The KDF floor (issue 13): a stored record below INTERACTIVE in either dimension is refused as
 * CORRUPT when users.json is read, before any KDF runs: a tampered file must not make the
 * password cheap to guess from the wrap written at the next password change or unlock.
 */
export const KDF_STORED_MIN: KdfParams = KDF_INTERACTIVE;

export const KDF_SALT_BYTES = sodium.crypto_pwhash_SALTBYTES;
export const KDF_KEY_BYTES = 32;

export function isStorableKdfParams(params: KdfParams): boolean {
  return (
    Number.isSafeInteger(params.opslimit) &&
    Number.isSafeInteger(params.memlimit) &&
    params.opslimit >= KDF_STORED_MIN.opslimit &&
    params.opslimit <= KDF_STORED_MAX.opslimit &&
    params.memlimit >= KDF_STORED_MIN.memlimit &&
    params.memlimit <= KDF_STORED_MAX.memlimit
  );
}

/**
 * The parameters a record should be re-wrapped with after a successful unlock, or null when the
 * stored ones are already at least as strong in both dimensions. Never weakens either.
 */
export function upgradedParams(stored: KdfParams, configured: KdfParams): KdfParams | null {
  if (configured.opslimit <= stored.opslimit && configured.memlimit <= stored.memlimit) return null;
  return {
    opslimit: Math.max(stored.opslimit, configured.opslimit),
    memlimit: Math.max(stored.memlimit, configured.memlimit),
  };
}

export function randomSalt(): Buffer {
  const salt = Buffer.alloc(KDF_SALT_BYTES);
  sodium.randombytes_buf(salt);
  return salt;
}

/**
 * Argon2id(password, salt) into `out`, in a child process (kdf-child.ts: the traces the KDF leaves
 * on its thread's stack go with the process), so the event loop keeps serving other clients.
 * `out` and `password` must stay untouched until it resolves.
 */
export function argon2id(out: Buffer, password: Buffer, salt: Buffer, params: KdfParams): Promise<void> {
  return deriveInChild(out, password, { alg: 'argon2id', opslimit: params.opslimit, memlimit: params.memlimit, salt });
}

/** A password as UTF-8 bytes (no Unicode normalisation, as Specter), in a buffer the caller wipes. */
export function passwordBytes(password: string): Buffer {
  // Buffer.alloc, not Buffer.from: a pooled slab would keep the bytes next to unrelated data.
  const bytes = Buffer.alloc(Buffer.byteLength(password, 'utf8'));
  bytes.write(password, 'utf8');
  return bytes;
}
