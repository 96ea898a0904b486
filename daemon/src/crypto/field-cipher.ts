import sodium from 'sodium-native';
import { CofferError } from '@coffer/protocol';

const PREFIX = 'cf1:';
const KDF_CONTEXT = Buffer.from('coffer01');
const FIELD_KEY_ID = 1;
const NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
const TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES;

/**
 * Where a value lives, bound into its ciphertext as AAD (DESIGN §3.1), so a ciphertext moved to
 * another user, file kind or key fails to authenticate instead of decrypting in the wrong place.
 * `key` may itself be several parts (a document name and a field); they are NUL-joined, and only
 * the last part may contain a NUL, so the encoding is unambiguous.
 */
export interface FieldPlace {
  username: string;
  kind: 'services' | 'docs';
  key: readonly string[];
}

export function placeBytes(place: FieldPlace): Buffer {
  const parts = ['coffer.v1', place.username, place.kind, ...place.key];
  if (parts.slice(0, -1).some((part) => part.includes('\0'))) {
    throw new Error('only the last part of a field place may contain NUL');
  }
  return Buffer.from(parts.join('\0'), 'utf8');
}

/**
 * The coffer layout's value cipher: `"cf1:" + base64(nonce24 || ciphertext)`, XChaCha20-Poly1305
 * under `crypto_kdf_derive_from_key(user_secret, 1, "coffer01")`. The subkey lives in one sodium
 * buffer owned by this object, derived for each call and wiped right after (derivation is one
 * BLAKE2b; keeping no derived keys around is worth that).
 */
export class CofferFieldCipher {
  private readonly subkey = sodium.sodium_malloc(sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

  encrypt(secret: Buffer, place: FieldPlace, plaintext: Buffer): string {
    const out = Buffer.alloc(NONCE_BYTES + plaintext.length + TAG_BYTES);
    const nonce = out.subarray(0, NONCE_BYTES);
    sodium.randombytes_buf(nonce);
    this.withSubkey(secret, (key) =>
      sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(out.subarray(NONCE_BYTES), plaintext, placeBytes(place), null, nonce, key),
    );
    return PREFIX + out.toString('base64');
  }

  /** The plaintext, or CORRUPT if the token is malformed, moved, altered, or under another key. */
  decrypt(secret: Buffer, place: FieldPlace, token: string): Buffer {
    const raw = token.startsWith(PREFIX) ? Buffer.from(token.slice(PREFIX.length), 'base64') : undefined;
    if (!raw || raw.length < NONCE_BYTES + TAG_BYTES) throw corrupt();
    const plaintext = Buffer.alloc(raw.length - NONCE_BYTES - TAG_BYTES);
    try {
      this.withSubkey(secret, (key) =>
        sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
          plaintext,
          null,
          raw.subarray(NONCE_BYTES),
          placeBytes(place),
          raw.subarray(0, NONCE_BYTES),
          key,
        ),
      );
    } catch {
      throw corrupt();
    }
    return plaintext;
  }

  private withSubkey<T>(secret: Buffer, fn: (key: Buffer) => T): T {
    try {
      sodium.crypto_kdf_derive_from_key(this.subkey, FIELD_KEY_ID, KDF_CONTEXT, secret);
      return fn(this.subkey);
    } finally {
      sodium.sodium_memzero(this.subkey);
    }
  }
}

function corrupt(): CofferError {
  return new CofferError(
    'CORRUPT',
    'A stored value does not authenticate (moved from another user or slot, altered, or under another key); it was left untouched',
  );
}
