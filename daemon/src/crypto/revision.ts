import sodium from 'sodium-native';

const REVISION_BYTES = 16;

/**
 * The revision of a stored entry (DESIGN §3.3): a BLAKE2b-128 of what is stored, bound to the
 * entry's scope. It changes whenever the stored form changes, whoever wrote it, survives restarts,
 * and is the same in both layouts. Encrypted values are stored with a random nonce, so hashing the
 * stored form reveals nothing about them, and it can be computed without the user's secret.
 */
export function revisionOf(scope: string, stored: string): string {
  const out = Buffer.alloc(REVISION_BYTES);
  sodium.crypto_generichash_batch(out, [Buffer.from(`coffer.rev.v1\0${scope}\0`, 'utf8'), Buffer.from(stored, 'utf8')]);
  return out.toString('base64url');
}
