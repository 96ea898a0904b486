import { CofferError, isUsername, USERNAME_RULE } from '@coffer/protocol';
import { argon2id, KDF_KEY_BYTES, randomSalt, upgradedParams, type KdfParams } from '../../crypto/argon2id.js';
import { fillRandom, unwrapSecret, wrapSecret, type Wrapped } from '../../crypto/secret-wrap.js';
import type { AccountFacts, AccountsCodec, KeySlots, OpenResult } from '../../port/accounts.js';
import { decodeUsersJson, encodeUsersJson, SECRET_BYTES, type CofferAccount, type StoredKdf } from './users-json.js';

/**
 * The coffer layout's accounts (DESIGN §3.1): the 32-byte user_secret wrapped with
 * XChaCha20-Poly1305 under Argon2id(password, salt16). There is no separate password hash: the
 * wrap's tag is the password check, so a wrong password and a tampered wrap look the same
 * (BAD_PASSWORD), and nothing about the password can be tested offline without paying Argon2id.
 */
export class CofferAccounts implements AccountsCodec<CofferAccount> {
  readonly layout = 'coffer' as const;
  readonly fileName = 'users.json';
  readonly secretBytes = SECRET_BYTES;
  readonly kekBytes = KDF_KEY_BYTES;
  readonly usernameRule = USERNAME_RULE;

  /** `params`: what new wraps use, and what older records are upgraded to on unlock. */
  constructor(private readonly params: KdfParams) {}

  decode(bytes: Buffer | null): Map<string, CofferAccount> {
    return decodeUsersJson(bytes);
  }

  encode(accounts: ReadonlyMap<string, CofferAccount>): Buffer {
    return encodeUsersJson(accounts);
  }

  isValidUsername(name: string): boolean {
    return isUsername(name);
  }

  facts(record: CofferAccount): AccountFacts {
    return {
      hasPassword: record.kdf !== null,
      rotationPending: record.pendingSecret !== undefined,
      secretIdentity: secretIdentityOf(record),
    };
  }

  async create(username: string, password: Buffer | undefined, keys: KeySlots): Promise<CofferAccount> {
    if (password === undefined) return { kdf: null, secret: null };
    fillRandom(keys.primary);
    const kdf: StoredKdf = { ...this.params, salt: randomSalt() };
    await argon2id(keys.kek, password, kdf.salt, kdf);
    return { kdf, secret: wrapSecret(keys.kek, keys.primary, aadFor(username)) };
  }

  /** Nothing to derive from the other accounts. */
  admit(_username: string, record: CofferAccount): CofferAccount {
    return record;
  }

  async open(username: string, record: CofferAccount, password: Buffer, keys: KeySlots): Promise<OpenResult | null> {
    const { kdf, secret, pendingSecret } = passwordFieldsOf(record);
    await argon2id(keys.kek, password, kdf.salt, kdf);
    const aad = aadFor(username);
    // During a rotation the stored `secret` is the old one: it goes to `previous`, the new one to `primary`.
    if (!unwrapSecret(keys.kek, secret, aad, pendingSecret ? keys.previous : keys.primary)) return null;
    if (pendingSecret && !unwrapSecret(keys.kek, pendingSecret, aad, keys.primary)) {
      throw new CofferError('CORRUPT', `users.json: the pending secret of "${username}" does not authenticate; it was left untouched`);
    }
    return { rotationPending: pendingSecret !== undefined, wantsRewrap: upgradedParams(kdf, this.params) !== null };
  }

  async rewrap(username: string, record: CofferAccount, keys: KeySlots, password: Buffer): Promise<CofferAccount> {
    const stored = passwordFieldsOf(record);
    const kdf: StoredKdf = { ...(upgradedParams(stored.kdf, this.params) ?? pick(stored.kdf)), salt: randomSalt() };
    await argon2id(keys.nextKek, password, kdf.salt, kdf);
    const aad = aadFor(username);
    if (!stored.pendingSecret) return { kdf, secret: wrapSecret(keys.nextKek, keys.primary, aad) };
    return {
      kdf,
      secret: wrapSecret(keys.nextKek, keys.previous, aad),
      pendingSecret: wrapSecret(keys.nextKek, keys.primary, aad),
    };
  }

  decoy(password: Buffer, out: Buffer): Promise<void> {
    return argon2id(out, password, randomSalt(), this.params);
  }

  beginRotation(username: string, record: CofferAccount, keys: KeySlots, next: Buffer): CofferAccount {
    const { kdf, secret } = passwordFieldsOf(record);
    return { kdf, secret, pendingSecret: wrapSecret(keys.kek, next, aadFor(username)) };
  }

  finishRotation(record: CofferAccount): CofferAccount {
    const { kdf, pendingSecret } = passwordFieldsOf(record);
    if (!pendingSecret) return record;
    return { kdf, secret: pendingSecret };
  }
}

/**
 * Binds a wrapped secret to its user: a wrap copied onto another user's entry fails to
 * authenticate instead of handing them someone else's secret. The pending secret shares the
 * label so finishing a rotation only moves it.
 */
function aadFor(username: string): Buffer {
  return Buffer.from(`coffer.users.v1\0${username}\0user_secret`, 'utf8');
}

/**
 * The stored wraps of the secret, as text (nothing secret: ciphertext and nonces). Every wrap has a
 * fresh nonce, so a password change, a KDF upgrade or a rotation shows here; another daemon sharing
 * the database (or a hand edit) that changed it locks the user here (keyring/follow.ts).
 */
function secretIdentityOf(record: CofferAccount): string {
  const wraps = [record.secret, record.pendingSecret].map((w) => (w ? `${w.nonce.toString('base64')}:${w.ciphertext.toString('base64')}` : '-'));
  return wraps.join(' ');
}

function pick(kdf: KdfParams): KdfParams {
  return { opslimit: kdf.opslimit, memlimit: kdf.memlimit };
}

interface PasswordAccount {
  readonly kdf: StoredKdf;
  readonly secret: Wrapped;
  readonly pendingSecret: Wrapped | undefined;
}

/** The keyring routes passwordless users away before any of these; reaching here is a bug. */
function passwordFieldsOf(record: CofferAccount): PasswordAccount {
  if (!record.kdf || !record.secret) throw new CofferError('PASSWORD_REQUIRED');
  return { kdf: record.kdf, secret: record.secret, pendingSecret: record.pendingSecret };
}
