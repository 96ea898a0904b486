import sodium from 'sodium-native';

/**
 * BLAKE2b-128 of a unit's bytes ('' when there is no unit): equal digests, equal content. Every
 * backend's `UnitVersion.digest` (port/storage.ts) is this, so a version that moved without a change
 * to the data is recognised the same way for files and rows.
 */
export function digestOf(bytes: Buffer | null): string {
  if (bytes === null) return '';
  const out = Buffer.alloc(16);
  sodium.crypto_generichash(out, bytes);
  return out.toString('base64');
}
