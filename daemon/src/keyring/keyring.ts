import { CofferError } from '@coffer/protocol';
import type { MemoryOps } from '../crypto/secret-memory.js';
import type { Logger } from '../base/logger.js';
import type { Units } from '../port/storage.js';
import type { Store } from '../store/store.js';
import type { AccountsCodec } from '../port/accounts.js';
import { AccountsFile } from './accounts-file.js';
import { DEFAULT_BACKOFF, UnlockBackoff, type BackoffPolicy } from './backoff.js';
import type { SessionLookup, UnlockedUser, UserDataHooks, UserDirectory } from '../port/users.js';
import { KeyedMutex } from '../base/keyed-mutex.js';
import { PasswordGate, withOptionalPassword, withPassword, type PasswordArg } from './password-gate.js';
import { AccountsWatch, lockChanged, readOnly } from './follow.js';
import { SecretRotation } from './rotation.js';
import { isExpired, SessionTable, type OpenedSession, type SessionInfo, type SessionOwner } from './sessions.js';
import { UnlockedRegistry } from './unlocked-registry.js';
import { openForUnlock, replaceRecord, type UnlockDeps } from './unlock-keys.js';
import type { SessionVault, StoredSession } from './session-vault.js';
import { digestOf } from '../base/digest.js';
import { UnitMovedError } from '../port/storage.js';

export interface KeyringOptions<R> {
  /** users.json is one of the store's documents: same queue, durability and daemon.status as any file. */
  readonly store: Store;
  readonly dataDir: string;
  readonly codec: AccountsCodec<R>;
  /** Where users.json is stored: the layout's backend (the specter layout keeps `users.json.bkp`). */
  readonly units: Units;
  readonly hooks: UserDataHooks;
  readonly log: Logger;
  /** Password-hashing runs at most this many at once (--unlock-concurrency). */
  readonly unlockConcurrency: number;
  readonly sessionTtlS: number;
  readonly sessionIdleS: number;
  /** Unlocked keys stay readable this long after a read before they are no-access again (--secret-linger-ms). */
  readonly secretLingerMs?: number;
  /** Seams for tests: the clock, the secure-memory calls, the backoff policy. */
  readonly now?: () => number;
  readonly memory?: MemoryOps;
  readonly backoff?: BackoffPolicy;
  /**
   * Follow mode (keyring/follow.ts): the accounts file belongs to another program (Specter), so the
   * keyring never writes it, refuses what would (READ_ONLY), and follows its changes. `watch` also
   * watches the file, so a change locks who it must without waiting for a call.
   */
  readonly follow?: { readonly watch: boolean };
  /**
   * Persisted sessions (--persist-sessions; always with --store postgres): every session is also
   * stored, sealed under its token (keyring/session-vault.ts), so any daemon on the same store, and
   * this one after a restart, can serve it. The stored record is then the truth about a session.
   */
  readonly vault?: SessionVault;
}

export interface UserListEntry {
  username: string;
  hasPassword: boolean;
  unlocked: boolean;
}

export interface Unlocked {
  session: string;
  username: string;
  /** Epoch ms. */
  expiresAt: number;
  /** Epoch ms: the end if the session is not used until then. */
  idleExpiresAt: number;
}

/**
 * Users, unlock and sessions (DESIGN §4), for any accounts layout (`AccountsCodec`). Every
 * operation that reads a user's record, hashes a password and writes the record back holds that
 * user's lock, so none works from a stale record; the password hashing itself waits for a slot of
 * the KDF pool. It is also the `SessionLookup` and `UserDirectory` the store is wired to.
 */
export class Keyring<R> implements SessionLookup, UserDirectory {
  private readonly file: AccountsFile<R>;
  private readonly codec: AccountsCodec<R>;
  private readonly registry: UnlockedRegistry;
  private readonly gate: PasswordGate<R>;
  private readonly backoff: UnlockBackoff;
  private readonly userLocks = new KeyedMutex();
  private readonly rotation: SecretRotation<R>;
  private readonly unlockDeps: UnlockDeps<R>;
  private watch: AccountsWatch | undefined;
  private readonly now: () => number;

  private constructor(private readonly options: KeyringOptions<R>) {
    const now = options.now ?? Date.now;
    this.codec = options.codec;
    this.file = new AccountsFile(options.store, options.dataDir, options.codec, options.units);
    const limits = { ttlMs: options.sessionTtlS * 1000, idleMs: options.sessionIdleS * 1000 };
    this.backoff = new UnlockBackoff(now, options.backoff ?? DEFAULT_BACKOFF);
    this.now = now;
    this.registry = new UnlockedRegistry(new SessionTable(limits, now), options.log, limits.idleMs, () => {
      this.backoff.prune();
      options.vault?.prune(this.registry.table.persistIds());
    });
    this.gate = new PasswordGate(options.codec, this.backoff, options.unlockConcurrency, options.log, options.memory, options.secretLingerMs ?? 0);
    this.rotation = new SecretRotation(this.file, options.codec, options.hooks, options.log);
    this.unlockDeps = { file: this.file, codec: this.codec, gate: this.gate, rotation: this.rotation, log: options.log, follows: this.follows };
    options.vault?.onExpired((username) => this.registry.storedSessionExpired(username));
    options.store.subscribeChanges((change) => {
      // Changed outside cofferd and re-read: lock whoever it no longer lets in (keyring/follow.ts).
      if (change.topic.scope !== 'accounts' || change.source !== 'external') return;
      lockChanged(this.codec, this.registry, options.log, change.before as ReadonlyMap<string, R>, change.after as ReadonlyMap<string, R>);
    });
  }

  static async open<R>(options: KeyringOptions<R>): Promise<Keyring<R>> {
    const keyring = new Keyring(options);
    await keyring.file.load();
    if (options.follow?.watch) keyring.watch = new AccountsWatch(keyring.file.path, () => void keyring.followAccounts(), options.log);
    return keyring;
  }

  /** Where the accounts file (users.json) is: daemon.backup and daemon.verify list it. */
  get accountsPath(): string {
    return this.file.path;
  }

  /** Decodes accounts-file bytes without adopting them (daemon.verify); throws CORRUPT as a load would. */
  checkAccountsBytes(bytes: Buffer): void {
    this.codec.decode(bytes);
  }

  /** Follow mode: the accounts file is another program's, never written here. */
  get follows(): boolean {
    return this.options.follow !== undefined;
  }

  /**
   * Follow mode, before a call that uses a session or names a user: re-reads the accounts file if
   * it changed, which locks a deleted user or one whose secret changed (keyring/follow.ts). A file
   * that does not parse changes nothing here: the sessions stay, users.* calls answer CORRUPT.
   */
  async followAccounts(): Promise<void> {
    await this.file.current().catch((error: unknown) => {
      /* c8 ignore next */
      if (!(error instanceof CofferError)) throw error;
    });
  }

  /** `total` is null while users.json does not parse (daemon.status lists it in corruptFiles). */
  status(): { total: number | null; unlocked: number; sessions: number } {
    const total = this.file.isCorrupt ? null : this.file.snapshot().size;
    return { total, unlocked: this.registry.unlockedCount, sessions: this.registry.sessionCount };
  }

  async create(username: string, password: PasswordArg | undefined): Promise<{ username: string; hasPassword: boolean }> {
    this.refuseInFollowMode('creating a user');
    this.checkName(username, false);
    if ((await this.file.current()).has(username)) throw alreadyExists();
    if (await this.options.hooks.leftoverFile?.(username)) {
      throw new CofferError(
        'ALREADY_EXISTS',
        'Already exists: service data of a former user of this name is still in the data dir (Specter leaves it when it deletes a user); move it away first',
      );
    }
    return this.userLocks.run(username, () =>
      withOptionalPassword(password, async (pw) => {
        const record = await this.gate.create(username, pw);
        await this.file.mutate((draft) => {
          if (draft.has(username)) throw alreadyExists();
          draft.set(username, this.codec.admit(username, record, draft));
        });
        this.options.log.info({ user: username }, 'user created');
        return { username, hasPassword: this.codec.facts(record).hasPassword };
      }),
    );
  }

  async list(): Promise<UserListEntry[]> {
    const accounts = await this.file.current();
    return [...accounts].map(([username, record]) => ({
      username,
      hasPassword: this.codec.facts(record).hasPassword,
      unlocked: this.registry.isUnlocked(username),
    }));
  }

  /** `ownerUid`: the uid of the peer unlocking; the session works for that uid only (access/gate.ts). */
  async unlock(username: string, password: PasswordArg, ttlS?: number, idleS?: number, ownerUid?: number): Promise<Unlocked> {
    this.checkName(username, true);
    const record = (await this.file.current()).get(username);
    if (record === undefined) {
      // An unknown name answers like a wrong password, blocked names included (issue 13).
      this.backoff.check(username);
      return withPassword(password, (pw) => this.gate.refuseUnknown(username, pw));
    }
    if (!this.codec.facts(record).hasPassword) throw new CofferError('PASSWORD_REQUIRED', 'This user has no password, so nothing to unlock; set one with users.changePassword');
    // Before queueing for the user's lock: a blocked name costs nothing, not even a wait.
    this.backoff.check(username);
    return this.userLocks.run(username, () =>
      withPassword(password, async (pw) => {
        const keys = await openForUnlock(this.unlockDeps, username, this.recordOf(username), pw);
        this.backoff.succeed(username);
        const identity = this.identityOf(this.recordOf(username));
        const opened = this.registry.installAndOpen(username, keys, ttlS, idleS, ownerUid);
        const { token, info } = opened;
        if (this.options.vault) await this.persist(opened, identity);
        this.options.log.info({ user: username, expiresAt: new Date(info.expiresAt).toISOString() }, 'user unlocked');
        return { session: token, username, expiresAt: info.expiresAt, idleExpiresAt: info.idleExpiresAt };
      }),
    );
  }

  /** Works from memory for an unlocked user: locking must not depend on users.json being readable. */
  async lock(username: string): Promise<void> {
    this.checkName(username, true);
    if (!this.registry.isUnlocked(username)) await this.existing(username);
    // Stored sessions first: a store that cannot be reached leaves the user as they were.
    await this.options.vault?.removeUser(username);
    this.registry.lock(username);
  }

  async changePassword(username: string, oldPassword: PasswordArg | undefined, newPassword: PasswordArg): Promise<void> {
    this.refuseInFollowMode('changing a password');
    const record = await this.existing(username);
    if (this.codec.facts(record).hasPassword) this.backoff.check(username);
    await this.userLocks.run(username, () =>
      withPassword(newPassword, async (newPw) => {
        const basis = this.recordOf(username);
        if (!this.codec.facts(basis).hasPassword) {
          // A first password: a new secret (a user without one has no encrypted data to keep).
          await replaceRecord(this.file, username, basis, await this.gate.create(username, newPw));
          this.options.log.info({ user: username }, 'first password set');
          return;
        }
        await withPassword(requirePassword(oldPassword, 'give it as oldPassword'), async (oldPw) => {
          const { keys, opened } = await this.gate.open(username, basis, oldPw);
          try {
            const rewrapped = await this.gate.rewrap(username, basis, keys, newPw);
            keys.seal(opened.rotationPending);
            await replaceRecord(this.file, username, basis, rewrapped);
            keys.commitNextKek();
          } catch (error) {
            keys.destroy();
            throw error;
          }
          this.backoff.succeed(username);
          // A kept older users.json (specter: .bkp) would still open the secret with the old password.
          await this.file.supersede().catch((error: unknown) =>
            this.options.log.warn({ user: username, err: error }, 'could not replace the backup of users.json after a password change'),
          );
          // An unlocked user keeps their sessions; their keys now hold the new password's kek.
          this.registry.replaceIfUnlocked(username, keys);
          // Except stored ones: they are sealed from the old wrap, and a password change is also
          // how a user shuts out whoever may hold a token. Every session of the user ends.
          if (this.options.vault) await this.endEverywhere(username);
        });
        this.options.log.info({ user: username }, 'password changed');
      }),
    );
  }

  async delete(username: string, password: PasswordArg | undefined): Promise<void> {
    this.refuseInFollowMode('deleting a user');
    const record = await this.existing(username);
    const undeletable = this.codec.facts(record).undeletable;
    if (undeletable !== undefined) throw new CofferError('INVALID_PARAMS', `Invalid params: ${undeletable}`);
    if (this.codec.facts(record).hasPassword) this.backoff.check(username);
    await this.userLocks.run(username, async () => {
      const basis = this.recordOf(username);
      if (this.codec.facts(basis).hasPassword) {
        await withPassword(requirePassword(password, 'give it to delete them'), async (pw) => {
          (await this.gate.open(username, basis, pw)).keys.destroy();
        });
        this.backoff.succeed(username);
      }
      // Locked first, so no session writes while the files go; files before the account (crash:
      // an account without files reads as empty, files without an account would be orphans).
      await this.options.vault?.removeUser(username);
      this.registry.lock(username);
      await this.options.hooks.deleteUserFiles(username);
      await this.file.mutate((draft) => {
        if (!draft.delete(username)) throw new CofferError('NOT_FOUND');
      });
      this.options.log.info({ user: username }, 'user deleted');
    });
  }

  async rotateSecret(session: string): Promise<void> {
    this.refuseInFollowMode('replacing a user secret');
    const { username } = this.registry.userForSession(session);
    await this.file.current();
    await this.userLocks.run(username, async () => {
      // Re-fetched under the lock: the user may have been locked while this call waited.
      const keys = this.registry.keysOf(username);
      if (!keys) throw new CofferError('LOCKED');
      if (!keys.hasKek) throw resumedWithoutPassword();
      await this.rotation.rotate(username, keys);
      if (this.options.vault) await this.resealAfterRotation(session, username);
    });
  }

  checkSession(session: string): SessionInfo {
    return this.registry.sessionInfo(session);
  }

  /** Who holds a session and which uid opened it, for the access gate (access/gate.ts). */
  sessionOwner(session: string): SessionOwner | null {
    return this.registry.sessionOwner(session);
  }

  /** Binds a new session to the uid of the peer that unlocked it: no other uid may use it. */
  bindSession(session: string, uid: number): void {
    this.registry.bindSession(session, uid);
  }

  async endSession(session: string): Promise<void> {
    // The record first, so a store that cannot be reached leaves the session as it was.
    await this.options.vault?.end(session);
    this.registry.endSession(session);
  }

  /**
   * Before a call that names a session (rpc/dispatcher.ts, ahead of the access gate): with
   * persisted sessions, brings the stored record and the session here into agreement. A record
   * that is gone (ended or locked by any daemon) ends the session here; one this daemon does not
   * hold yet (opened by another daemon, or before a restart) is opened with the token and served
   * from guarded memory. Without persisted sessions, nothing to do.
   */
  async prepareSession(session: string): Promise<void> {
    const vault = this.options.vault;
    if (!vault) return;
    const stored = await vault.current(session);
    if (stored === null) return;
    const { id, record } = stored;
    const table = this.registry.table;
    if (record === null) {
      if (table.holds(session)) this.registry.dropSession(session);
      return;
    }
    const now = this.now();
    if (isExpired(record, now)) {
      const removed = await vault.remove(id);
      if (table.holds(session)) this.registry.dropSession(session);
      // Once, by whichever daemon removed the record.
      if (removed) this.registry.storedSessionExpired(record.username);
      return;
    }
    if (table.holds(session)) table.refresh(session, record.lastUsedAt);
    else if (!(await this.restore(session, id, record))) return;
    vault.touch(id, record, now);
  }

  userForSession(session: string): UnlockedUser {
    return this.registry.userForSession(session);
  }

  unlockedUser(username: string): UnlockedUser | undefined {
    return this.registry.unlockedUser(username);
  }

  /** The accounts as last read (throws CORRUPT): for a layout that names files after account fields. */
  accounts(): ReadonlyMap<string, R> {
    return this.file.snapshot();
  }

  requireUser(username: string): void {
    if (!this.codec.isValidUsername(username, true) || !this.file.snapshot().has(username)) throw new CofferError('NOT_FOUND');
  }

  /** Told the user whenever one of their sessions ends by expiry (the audit trail records it). */
  onSessionExpired(listener: (username: string) => void): void {
    this.registry.onExpired(listener);
  }

  /**
   * Shutdown: sessions end here and every secret is zeroed and freed. Stored sessions stay: this
   * daemon after a restart, or another one, serves them.
   */
  close(): void {
    this.watch?.close();
    this.options.vault?.close();
    this.registry.close();
  }

  /** Stores a just-opened session; if that fails the unlock fails and the session is gone. */
  private async persist(opened: OpenedSession, identity: string): Promise<void> {
    const vault = this.options.vault!;
    const { token, facts } = opened;
    const keys = this.registry.keysOf(facts.username);
    try {
      if (!keys) throw new CofferError('LOCKED', 'Locked: the user was locked meanwhile; log in again');
      const id = await vault.save(token, { ...facts, identity }, (fn) => keys.readPrimary(fn));
      this.registry.table.setPersistId(token, id);
    } catch (error) {
      this.registry.dropSession(token);
      throw error;
    }
    if (opened.evictedPersistId !== undefined) {
      await vault.remove(opened.evictedPersistId).catch((error: unknown) =>
        this.options.log.warn({ user: facts.username, err: error }, 'could not remove the stored copy of a session pushed out by a new one; it ends at its expiry'),
      );
    }
  }

  /**
   * Serves a stored session this daemon does not hold: its user must still exist with the wrap it
   * was sealed from (no rotation under way), and the token must open it; otherwise the call is
   * answered as for an unknown token. The record stays: a daemon in the middle of a rotation is
   * about to seal it again, and what can never open again goes at the user's lock or its expiry.
   */
  private async restore(session: string, id: string, record: StoredSession): Promise<boolean> {
    const vault = this.options.vault!;
    const current = (await this.file.current()).get(record.username);
    if (current === undefined || this.identityOf(current) !== record.identity || this.codec.facts(current).rotationPending) {
      this.options.log.info({ user: current === undefined ? undefined : record.username }, 'stored session does not match its user now: not served');
      return false;
    }
    const keys = this.gate.allocateKeys();
    if (!vault.open(session, id, record, keys.fillSlots().primary)) {
      keys.destroy();
      this.options.log.warn({ user: record.username }, 'a stored session did not open with its token: not served');
      return false;
    }
    keys.seal(false);
    keys.markWithoutKek();
    this.registry.adopt(session, keys, record, id);
    this.options.log.info({ user: record.username }, 'stored session resumed');
    return true;
  }

  /** Every session of the user, stored or here, ends. */
  private async endEverywhere(username: string): Promise<void> {
    await this.options.vault!.removeUser(username);
    this.registry.lock(username);
  }

  /**
   * After a rotation the stored sessions are sealed under the old secret: the caller's is sealed
   * again under the new one (its token is in hand), every other one of the user ends.
   */
  private async resealAfterRotation(session: string, username: string): Promise<void> {
    const vault = this.options.vault!;
    const identity = this.identityOf(this.recordOf(username));
    for (let attempt = 0; ; attempt++) {
      const stored = await vault.current(session);
      const keys = this.registry.keysOf(username);
      if (!stored?.record || !keys || !this.registry.table.holds(session)) return;
      try {
        // Over the record in place (compare-and-set on the version just read): never a moment without one.
        await vault.save(session, { ...stored.record, identity }, (fn) => keys.readPrimary(fn));
        await vault.removeUser(username, stored.id);
        return;
      } catch (error) {
        // Another daemon recorded a use of it meanwhile: read it again and seal that.
        if (!(error instanceof UnitMovedError) || attempt >= 10) throw error;
      }
    }
  }

  /** A digest of the record's wrap of the secret: what a stored session is sealed from. */
  private identityOf(record: R): string {
    return digestOf(Buffer.from(this.codec.facts(record).secretIdentity, 'utf8'));
  }

  private refuseInFollowMode(action: string): void {
    if (this.follows) throw readOnly(action);
  }

  /** Name check, fresh file, and the user's record; NOT_FOUND if there is none. */
  private async existing(username: string): Promise<R> {
    this.checkName(username, true);
    const record = (await this.file.current()).get(username);
    if (record === undefined) throw new CofferError('NOT_FOUND', 'Not found: no such user');
    return record;
  }

  private recordOf(username: string): R {
    const record = this.file.snapshot().get(username);
    if (record === undefined) throw new CofferError('NOT_FOUND', 'Not found: no such user');
    return record;
  }

  /** The layout's name rule, before the name reaches any path, key or log (DESIGN §3). */
  private checkName(username: string, existing: boolean): void {
    if (!this.codec.isValidUsername(username, existing)) {
      throw new CofferError('INVALID_PARAMS', `Invalid params: params.username: not a valid username (${this.codec.usernameRule})`);
    }
  }
}

/** A user with a password must give it; absent is answered like a wrong one, without a KDF run. */
function requirePassword(password: PasswordArg | undefined, hint: string): PasswordArg {
  if (password === undefined) throw new CofferError('BAD_PASSWORD', `This user has a password: ${hint}`);
  return password;
}

function resumedWithoutPassword(): CofferError {
  return new CofferError(
    'PASSWORD_REQUIRED',
    'This session was resumed from the store (--persist-sessions) and holds no key derived from the password, which a rotation needs: unlock again with the password, then rotate',
  );
}

function alreadyExists(): CofferError {
  return new CofferError('ALREADY_EXISTS', 'Already exists: a user with this name exists');
}
