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
    return withTokenBytes(token, (bytes) => {
      const out = Buffer.alloc(sodium.crypto_generichash_BYTES);
      sodium.crypto_generichash(out, bytes, this.key);
      return out.toString('hex');
    });
  }
}

/**
 * Runs `use` on the token's 32 bytes, zeroed when it returns; null (without calling it) for a token
 * that is not the canonical encoding of 32 bytes: base64url has several spellings of the last
 * character's spare bits, and only the one we issued may match.
 */
function withTokenBytes<T>(token: string, use: (bytes: Buffer) => T): T | null {
  const bytes = Buffer.from(token, 'base64url');
  try {
    if (bytes.length !== SESSION_TOKEN_BYTES || bytes.toString('base64url') !== token) return null;
    return use(bytes);
  } finally {
    sodium.sodium_memzero(bytes);
  }
}

/** crypto_kdf's context for what a token persists under (8 bytes, fixed forever). */
const PERSIST_CONTEXT = Buffer.from('cofsessn');
const PERSIST_ID_SUBKEY = 1;
const PERSIST_WRAP_SUBKEY = 2;

/**
 * What a persisted session is stored and sealed under (--persist-sessions, issue 16 §3): two keys
 * derived from the token by crypto_kdf (BLAKE2b; a token is 256 random bits, so a fast KDF is
 * enough). `id` names the stored record and is the same on every daemon; `wrapKey` seals the user
 * secret in it. Neither gives the token back, and the token itself is never stored. `use` gets the
 * wrap key and must not keep it: it is zeroed when `use` returns. Null for a token that is not the
 * canonical encoding of 32 bytes.
 */
export function withPersistKeys<T>(token: string, use: (id: string, wrapKey: Buffer) => T): T | null {
  return withTokenBytes(token, (master) => {
    const wrapKey = Buffer.alloc(32);
    try {
      sodium.crypto_kdf_derive_from_key(wrapKey, PERSIST_WRAP_SUBKEY, PERSIST_CONTEXT, master);
      return use(idOf(master), wrapKey);
    } finally {
      sodium.sodium_memzero(wrapKey);
    }
  });
}

/** The stored id of a token's session alone (what every call's check needs): one derivation, no key. */
export function persistedIdOf(token: string): string | null {
  return withTokenBytes(token, idOf);
}

function idOf(master: Buffer): string {
  const id = Buffer.alloc(32);
  sodium.crypto_kdf_derive_from_key(id, PERSIST_ID_SUBKEY, PERSIST_CONTEXT, master);
  return id.toString('hex');
}
