import sodium from 'sodium-native';

export interface Keys {
  /** Argon2id(password, salt): the key that unwraps the user secret. */
  kek: Buffer;
  secret: Buffer;
}

/**
 * The key derived from the password and the unwrapped user secret, computed from a coffer
 * users.json with real crypto, as an attacker with the password would (to look for them where they
 * must never be: a process's memory, a database's rows).
 */
export function cofferKeys(usersJson: Buffer, username: string, password: string): Keys {
  const file = JSON.parse(usersJson.toString('utf8')) as {
    users: Record<string, { kdf: { opslimit: number; memlimit: number; salt: string }; secret: { nonce: string; ciphertext: string } }>;
  };
  const user = file.users[username]!;
  const kek = Buffer.alloc(32);
  sodium.crypto_pwhash(kek, Buffer.from(password), Buffer.from(user.kdf.salt, 'base64'), user.kdf.opslimit, user.kdf.memlimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
  const secret = Buffer.alloc(32);
  const aad = Buffer.from(`coffer.users.v1\0${username}\0user_secret`, 'utf8');
  sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(secret, null, Buffer.from(user.secret.ciphertext, 'base64'), aad, Buffer.from(user.secret.nonce, 'base64'), kek);
  return { kek, secret };
}
