import { CofferError, isUsername, USERNAME_RULE } from '@coffer/protocol';
import { fillRandom } from '../../crypto/secret-wrap.js';
import {
  createPasswordHash,
  defaultAdminRecord,
  deriveKekInto,
  encodeBase64Text,
  needsIterationUpgrade,
  newUserRecord,
  newUserSecretSalt,
  openUserSecret,
  passwordHashOf,
  passwordHashValue,
  pyDumps,
  sealUserSecret,
  specterUserId,
  USER_SECRET_ITERATIONS,
  userSecretOf,
  userSecretSalt,
  userSecretValue,
  verifyPasswordHash,
  type EncryptedUserSecret,
  type PyObject,
} from '../../specter/index.js';
import type { AccountFacts, AccountsCodec, KeySlots, OpenResult } from '../../port/accounts.js';
import {
  accountOf,
  decodeSpecterUsers,
  encodeSpecterUsers,
  PENDING_SECRET_KEY,
  pendingSecretOf,
  withKey,
  withoutKey,
  type SpecterAccount,
} from './users-json.js';

/** Secrets are Fernet keys (32 raw bytes in secure memory); keks are PBKDF2 outputs (32 bytes). */
const KEY_BYTES = 32;

/**
 * The specter layout's accounts (DESIGN §3.2, specter-format §3–§5): the user secret is a Fernet
 * key, stored as a Fernet token of its 44-character text under PBKDF2-SHA256(password, salt,
 * iterations from the record); opening that token is the password check (see `open`). All
 * PBKDF2 runs are async (libuv pool); the secret and the kek only ever rest in the keyring's
 * guarded slots, heap copies made by node:crypto are wiped at once.
 */
export class SpecterAccounts implements AccountsCodec<SpecterAccount> {
  readonly layout = 'specter' as const;
  readonly fileName = 'users.json';
  readonly secretBytes = KEY_BYTES;
  readonly kekBytes = KEY_BYTES;
  readonly usernameRule = USERNAME_RULE;

  private constructor(private readonly defaultAdmin: PyObject) {}

  /**
   * The default admin of a folder without users.json is Specter's (user `admin`, password `admin`,
   * no secret yet); its hash is made once here, since `decode` is synchronous.
   */
  static async create(): Promise<SpecterAccounts> {
    const hash = await createPasswordHash('admin');
    return new SpecterAccounts(defaultAdminRecord(hash));
  }

  decode(bytes: Buffer | null): Map<string, SpecterAccount> {
    return decodeSpecterUsers(bytes, this.defaultAdmin);
  }

  encode(accounts: ReadonlyMap<string, SpecterAccount>): Buffer {
    return encodeSpecterUsers(accounts);
  }

  /** Specter's users may have spaces and Unicode; one rule for existing and new ones (USERNAME_RULE). */
  isValidUsername(name: string): boolean {
    return isUsername(name);
  }

  facts(record: SpecterAccount): AccountFacts {
    return {
      // Specter has no user without a password record (checkUser refuses one).
      hasPassword: true,
      rotationPending: record.user.has(PENDING_SECRET_KEY),
      undeletable: record.isAdmin ? "Specter's admin cannot be deleted: Specter needs one" : undefined,
      awaitsSecret: (record.user.get('encrypted_user_secret') ?? null) === null,
      secretIdentity: secretIdentityOf(record),
    };
  }

  /** Specter's registration (spec §3): hash, secret made and encrypted at once, default config. */
  async create(username: string, password: Buffer | undefined, keys: KeySlots): Promise<SpecterAccount> {
    if (password === undefined) {
      throw new CofferError('PASSWORD_REQUIRED', 'The specter layout needs a password for every user: Specter has no users without one');
    }
    fillRandom(keys.primary);
    const hash = await createPasswordHash(password);
    const secret = await this.wrap(keys.kek, password, keys.primary, newUserSecretSalt(), USER_SECRET_ITERATIONS);
    // The id is set by admit, against the other ids.
    return accountOf(newUserRecord('', username, hash, secret));
  }

  /** Specter's id for the name (spec §1): `Bob Smith` → `bob_smith`, then `2`, `3`, … while taken. */
  admit(username: string, record: SpecterAccount, accounts: ReadonlyMap<string, SpecterAccount>): SpecterAccount {
    const taken = new Set([...accounts.values()].map((account) => account.id));
    return withKey(record, 'id', specterUserId(username, (id) => taken.has(id)));
  }

  /**
   * Unlock is the unwrap of the user's secret (Fernet authenticates it: a wrong password does not
   * open it), never the login hash: RaspiBlitz's `rpcpasswordaspin` users log in with Bitcoin
   * Core's RPC password, which wraps their secret while `password` keeps the hash of an older one
   * (specter-api §5). Only a user without a secret yet is checked against the hash, since there is
   * nothing else to check; Specter makes their secret at that login, and so does `open` (a write:
   * the keyring allows it only when it owns users.json).
   */
  async open(username: string, record: SpecterAccount, password: Buffer, keys: KeySlots): Promise<OpenResult | null> {
    const stored = userSecretOf(record.user);
    const pending = pendingSecretOf(record);
    if (stored === null) {
      if (pending) throw damaged(username, `a ${PENDING_SECRET_KEY} but no encrypted_user_secret`);
      if (!(await verifyPasswordHash(passwordHashOf(record.user), password))) return null;
      fillRandom(keys.primary);
      return { rotationPending: false, wantsRewrap: true, secretCreated: true };
    }
    await derive(keys.kek, password, userSecretSalt(stored), stored.iterations);
    // During a rotation the stored secret is the old one: it goes to `previous`, the new one to `primary`.
    if (!openInto(keys.kek, stored.token, pending ? keys.previous : keys.primary)) return null;
    if (pending && (pending.salt !== stored.salt || pending.iterations !== stored.iterations || !openInto(keys.kek, pending.token, keys.primary))) {
      throw damaged(username, `a ${PENDING_SECRET_KEY} that does not decrypt`);
    }
    return { rotationPending: pending !== undefined, wantsRewrap: needsIterationUpgrade(stored) };
  }

  /**
   * The same secret(s) under `password` with a fresh salt at 390000 iterations or more (spec §5:
   * a password change, the iteration upgrade, or recording a secret made at first unlock). The
   * login hash is kept when `password` still matches it, so only `encrypted_user_secret` changes.
   */
  async rewrap(_username: string, record: SpecterAccount, keys: KeySlots, password: Buffer): Promise<SpecterAccount> {
    const keepHash = await verifyPasswordHash(passwordHashOf(record.user), password);
    const iterations = Math.max(USER_SECRET_ITERATIONS, userSecretOf(record.user)?.iterations ?? 0);
    const salt = newUserSecretSalt();
    const pending = record.user.has(PENDING_SECRET_KEY);
    let next = withKey(
      record,
      'encrypted_user_secret',
      userSecretValue(await this.wrap(keys.nextKek, password, pending ? keys.previous : keys.primary, salt, iterations)),
    );
    if (pending) next = withKey(next, PENDING_SECRET_KEY, userSecretValue(wrapWith(keys.nextKek, keys.primary, salt, iterations)));
    if (!keepHash) next = withKey(next, 'password', passwordHashValue(await createPasswordHash(password)));
    return next;
  }

  /** Specter's unlock cost: PBKDF2 at 390000 iterations (a user's first unlock also checks the login hash, not mimicked). */
  decoy(password: Buffer, out: Buffer): Promise<void> {
    return derive(out, password, newUserSecretSalt(), USER_SECRET_ITERATIONS);
  }

  /** `next` wrapped under the kek in memory, beside the current secret (no KDF run: no password). */
  beginRotation(username: string, record: SpecterAccount, keys: KeySlots, next: Buffer): SpecterAccount {
    const stored = userSecretOf(record.user);
    if (stored === null) throw damaged(username, 'no encrypted_user_secret to rotate');
    return withKey(record, PENDING_SECRET_KEY, userSecretValue(wrapWith(keys.kek, next, userSecretSalt(stored), stored.iterations)));
  }

  finishRotation(record: SpecterAccount): SpecterAccount {
    const pending = record.user.get(PENDING_SECRET_KEY);
    if (pending === undefined) return record;
    return withoutKey(withKey(record, 'encrypted_user_secret', pending), PENDING_SECRET_KEY);
  }

  /** Derives the kek into `kek` (a guarded slot) and wraps `secret` under it. */
  private async wrap(kek: Buffer, password: Buffer, secret: Buffer, salt: Buffer, iterations: number): Promise<EncryptedUserSecret> {
    await derive(kek, password, salt, iterations);
    return wrapWith(kek, secret, salt, iterations);
  }
}

/**
 * The stored wrap of the secret, as text: Specter re-wraps with a fresh salt and Fernet IV on every
 * password change or KDF upgrade, and a new secret has a new token, so any change shows here.
 */
function secretIdentityOf(record: SpecterAccount): string {
  return pyDumps([record.user.get('encrypted_user_secret') ?? null, record.user.get(PENDING_SECRET_KEY) ?? null]);
}

function wrapWith(kek: Buffer, secret: Buffer, salt: Buffer, iterations: number): EncryptedUserSecret {
  return { token: sealUserSecret(kek, secret), salt: encodeBase64Text(salt, 'standard'), iterations };
}

/** PBKDF2 straight into a guarded slot (in a child process: crypto/kdf-child.ts). */
function derive(out: Buffer, password: Buffer, salt: Buffer, iterations: number): Promise<void> {
  return deriveKekInto(out, password, salt, iterations);
}

/** Decrypts a secret token into `out` (a guarded slot); false when the kek does not open it. */
function openInto(kek: Buffer, token: string, out: Buffer): boolean {
  const secret = openUserSecret(kek, token);
  if (!secret) return false;
  secret.copy(out);
  secret.fill(0);
  return true;
}

function damaged(username: string, what: string): CofferError {
  // The name is the user's own, from the request; the file is never rewritten by this.
  return new CofferError('CORRUPT', `users.json: user "${username}" has ${what}; it was left untouched`);
}
