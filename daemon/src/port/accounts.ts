/**
 * The accounts seam: everything that depends on how a layout stores its users (file format,
 * password check, how the user secret is wrapped) sits behind `AccountsCodec`. The keyring
 * (registry, sessions, backoff, rotation, serialized writes) only ever talks to this interface, so
 * the specter layout (PBKDF2 password hash + Fernet-wrapped 44-char secret, users.json as an array,
 * shared/specter-format.md §3–§5) plugs in as a second implementation beside `CofferAccounts`.
 *
 * Records (`R`) are immutable values owned by the codec; the keyring stores them in a Map keyed by
 * username (never a plain object, so no name can reach a prototype) and hands them back unchanged.
 */

/**
 * Views into one user's guarded allocation (keyring/user-keys.ts), valid only while the keyring
 * holds it open for the call. Secrets are `secretBytes` long, keys `kekBytes`.
 */
export interface KeySlots {
  /** The secret new data is encrypted under; during a pending rotation, the new one. */
  readonly primary: Buffer;
  /** During a pending rotation, the secret being replaced (still needed to read old data). */
  readonly previous: Buffer;
  /**
   * The key-encryption key derived from the password. Kept while the user is unlocked so that
   * users.rotateSecret can wrap a new secret without asking for the password again.
   */
  readonly kek: Buffer;
  /** Where a re-wrap puts the new key; the keyring commits it to `kek` once the record is on disk. */
  readonly nextKek: Buffer;
}

/** What the keyring needs to know about a record to route a call. */
export interface AccountFacts {
  readonly hasPassword: boolean;
  /** A new secret is recorded next to the old one: users.rotateSecret did not finish. */
  readonly rotationPending: boolean;
  /**
   * Why users.delete refuses this account (the specter layout's admin: Specter needs one), said
   * before any password check or file removal; undefined when it may be deleted.
   */
  readonly undeletable?: string;
  /**
   * The user has a password but no secret yet: their first unlock makes one and must record it (a
   * write of the accounts file; the specter layout's users whose secret is null).
   */
  readonly awaitsSecret?: boolean;
  /**
   * The wrapped secret as stored (ciphertext and KDF parameters, nothing secret), for telling
   * whether another writer changed it (keyring/follow.ts: Specter, another daemon on the same
   * database, a hand edit) and whether a stored session was sealed from this wrap
   * (keyring/session-vault.ts). Any re-wrap changes it.
   */
  readonly secretIdentity: string;
}

export interface OpenResult {
  /** `primary` holds the new secret and `previous` the old one. */
  readonly rotationPending: boolean;
  /** The stored KDF parameters are weaker than the configured ones: re-wrap with `rewrap`. */
  readonly wantsRewrap: boolean;
  /**
   * The record had no secret, so `open` made one in `keys.primary` (Specter's first unlock, spec
   * §5). It exists nowhere else: the re-wrap that records it must be durable before the unlock
   * succeeds, or data written under it would be lost. Implies `wantsRewrap`.
   */
  readonly secretCreated?: boolean;
}

export interface AccountsCodec<R> {
  readonly layout: 'coffer' | 'specter';
  /** The accounts file, relative to the data dir. */
  readonly fileName: string;
  readonly secretBytes: number;
  readonly kekBytes: number;

  /**
   * The accounts in file order. `null` means there is no file yet. Throws CofferError CORRUPT for
   * anything it does not fully understand: such a file is never rewritten.
   */
  decode(bytes: Buffer | null): Map<string, R>;
  encode(accounts: ReadonlyMap<string, R>): Buffer;
  /** The layout's name rule; `existing` names may be looser than new ones (the specter layout). */
  isValidUsername(name: string, existing: boolean): boolean;
  /** The rule in words, for error messages (which never echo the name itself). */
  readonly usernameRule: string;
  facts(record: R): AccountFacts;

  /**
   * A new account. With a password: a new random secret in `keys.primary`, wrapped under a key
   * derived from the password into `keys.kek`. Without: no secret (or PASSWORD_REQUIRED where the
   * layout needs one).
   */
  create(username: string, password: Buffer | undefined, keys: KeySlots): Promise<R>;
  /**
   * The record as it joins `accounts` (inside the serialized users.json write, so it sees every
   * other account): where a layout derives something from the others, e.g. Specter's user id.
   */
  admit(username: string, record: R, accounts: ReadonlyMap<string, R>): R;
  /**
   * Checks `password` and unwraps the secret(s) into `keys`, the derived key into `keys.kek`.
   * Null when the password is wrong (the specter layout: when the secret does not open under it).
   * Throws CORRUPT when a stored value is malformed, or does not authenticate although the password
   * was shown right.
   */
  open(username: string, record: R, password: Buffer, keys: KeySlots): Promise<OpenResult | null>;
  /**
   * The same secret(s), as opened in `keys`, wrapped under `password` with a new salt and the
   * configured parameters (never weaker than the stored ones); the new key goes to `keys.nextKek`.
   */
  rewrap(username: string, record: R, keys: KeySlots, password: Buffer): Promise<R>;
  /**
   * The KDF an unlock of a real user would run, on `password` with a random salt and the layout's
   * default cost, into `out` (`kekBytes`, wiped by the caller): the decoy run for an unknown name,
   * so it answers after as long as a wrong password (issue 13: no username probing).
   */
  decoy(password: Buffer, out: Buffer): Promise<void>;
  /** Records `next` wrapped under `keys.kek` beside the current secret (synchronous: no KDF). */
  beginRotation(username: string, record: R, keys: KeySlots, next: Buffer): R;
  /** Drops the old secret: the pending one becomes the secret. */
  finishRotation(record: R): R;
}
