import sodium from 'sodium-native';

export const WRAP_KEY_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
export const WRAP_NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
export const WRAP_TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;

/** A secret encrypted under a key-encryption key: XChaCha20-Poly1305 with a random 24-byte nonce. */
export interface Wrapped {
  readonly nonce: Buffer;
  readonly ciphertext: Buffer;
}

/**
 * Encrypts `plaintext` under `key`, authenticating `aad` with it. The random nonce is safe to pick
 * at random at XChaCha's 192 bits, so a re-wrap never needs a counter.
 */
export function wrapSecret(key: Buffer, plaintext: Buffer, aad: Buffer): Wrapped {
  const nonce = Buffer.alloc(WRAP_NONCE_BYTES);
  sodium.randombytes_buf(nonce);
  const ciphertext = Buffer.alloc(plaintext.length + WRAP_TAG_BYTES);
  sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(ciphertext, plaintext, aad, null, nonce, key);
  return { nonce, ciphertext };
}

/**
 * Decrypts into `out` (secure memory, exactly the plaintext length). False when the key is wrong or
 * anything was altered, including the aad; `out` is then zeroed.
 */
export function unwrapSecret(key: Buffer, wrapped: Wrapped, aad: Buffer, out: Buffer): boolean {
  if (wrapped.nonce.length !== WRAP_NONCE_BYTES || wrapped.ciphertext.length !== out.length + WRAP_TAG_BYTES) {
    return false;
  }
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(out, null, wrapped.ciphertext, aad, wrapped.nonce, key);
    return true;
  } catch {
    // sodium-native throws on a failed tag check; that is an answer here, not an error.
    sodium.sodium_memzero(out);
    return false;
  }
}

/** Fills `buf` (usually secure memory) with random bytes: a new user secret. */
export function fillRandom(buf: Buffer): void {
  sodium.randombytes_buf(buf);
}
