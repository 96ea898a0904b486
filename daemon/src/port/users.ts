/**
 * What the rest of the daemon (the store, the RPC handlers) needs from the keyring. The keyring
 * implements it; nothing outside keyring/ and crypto/ ever holds a user secret longer than one
 * `withSecret` call.
 */

/** A user whose secret is unlocked in memory. */
export interface UnlockedUser {
  readonly username: string;
  /**
   * Runs `fn` with the user's secret readable: 32 bytes in sodium secure memory, protected again as
   * soon as `fn` returns. `fn` must be synchronous and must not keep a reference to the buffer.
   */
  withSecret<T>(fn: (secret: Buffer) => T): T;
  /**
   * Set only while a users.rotateSecret is unfinished (DESIGN §5, crash safety): `withSecret` is
   * then the new secret, which every write must use, and `previous` the old one, which values not
   * re-encrypted yet are still under. Read with `withSecret` first and fall back to `previous`.
   */
  readonly previous?: UnlockedUser;
}

export interface SessionLookup {
  /**
   * The user behind a live session token, refreshing its idle timer. Throws CofferError LOCKED
   * (unknown, ended or expired session, or one from before a daemon restart).
   */
  userForSession(session: string): UnlockedUser;
  /** The user's secret, if some session of theirs is live; undefined otherwise. */
  unlockedUser(username: string): UnlockedUser | undefined;
}

/** What the store needs to know about accounts. */
export interface UserDirectory {
  /** Throws CofferError NOT_FOUND if the user does not exist. */
  requireUser(username: string): void;
}

/**
 * What the keyring asks of the store for operations that span both (implemented by the store; until
 * it exists, app.ts passes a no-op). Order matters for crash safety (DESIGN §5): the keyring calls
 * these *before* it rewrites users.json.
 */
export interface UserDataHooks {
  /** users.delete: remove every file of the user (services, unencrypted services, annotations). */
  deleteUserFiles(username: string): Promise<void>;
  /**
   * users.rotateSecret: re-encrypt every encrypted value of the user from `from` to `to` in one
   * durable write per file. Must be idempotent: after a crash the keyring calls it again, and
   * values already under `to` are left as they are.
   */
  reencryptUserData(username: string, from: UnlockedUser, to: UnlockedUser): Promise<void>;
  /**
   * users.create: the name of a data file a former user of this name left behind, if any (Specter
   * leaves a deleted user's files in place, spec §12.3); a new user must not inherit them.
   */
  leftoverFile?(username: string): Promise<string | undefined>;
}
