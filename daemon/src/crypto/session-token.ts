import sodium from 'sodium-native';

export const SESSION_TOKEN_BYTES = 32;

/** A new session token: 32 random bytes as unpadded base64url (43 characters). */
export function newSessionToken(): string {
  const bytes = Buffer.alloc(SESSION_TOKEN_BYTES);
  sodium.randombytes_buf(bytes);
  const token = bytes.toString('base64url');
  sodium.sodium_memzero(bytes);
  return token;
}

/**
 * Turns tokens into the keys the session table is indexed by: a BLAKE2b hash under a key made at
 * start, so a table dump (or a core dump) gives neither the tokens nor anything to test guesses
 * against offline, and every token from before a restart is unknown afterwards.
 */
export class SessionDigester {
  private readonly key = Buffer.alloc(sodium.crypto_generichash_KEYBYTES);

  constructor() {
    sodium.randombytes_buf(this.key);
  }

  /**
   * The digest of a token, or null if it is not the canonical encoding of 32 bytes: base64url has
   * several spellings of the last character's spare bits, and only the one we issued may match.
   */
  digest(token: string): string | null {
    const bytes = Buffer.from(token, 'base64url');
    try {
      if (bytes.length !== SESSION_TOKEN_BYTES || bytes.toString('base64url') !== token) return null;
      const out = Buffer.alloc(sodium.crypto_generichash_BYTES);
      sodium.crypto_generichash(out, bytes, this.key);
      return out.toString('hex');
    } finally {
      sodium.sodium_memzero(bytes);
    }
  }
}
