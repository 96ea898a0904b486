import { CofferError } from '@coffer/protocol';
import type { Logger } from '../base/logger.js';
import type { SessionLookup, UnlockedUser } from '../port/users.js';
import type { OpenedSession, SessionInfo, SessionOwner, SessionRecordFacts, SessionTable } from './sessions.js';
import type { UserKeys } from './user-keys.js';

/** How often expired sessions are looked for, between these bounds. */
const SWEEP_MIN_MS = 250;
const SWEEP_MAX_MS = 30_000;

/**
 * Who is unlocked: each unlocked user's keys, and the sessions that keep them. A user's keys live
 * exactly as long as they have a live session: the last one ending (logout, expiry, lock) zeroes
 * and frees them. This is the `SessionLookup` the store reads secrets through.
 */
export class UnlockedRegistry implements SessionLookup {
  private readonly keys = new Map<string, UserKeys>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  private readonly expiredListeners: Array<(username: string) => void> = [];

  /** `onSweep`: other housekeeping that shares the timer (the keyring prunes its backoff records). */
  constructor(
    private readonly sessions: SessionTable,
    private readonly log: Logger,
    idleMs: number,
    private readonly onSweep: () => void = () => undefined,
  ) {
    const every = Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, Math.floor(idleMs / 4)));
    this.timer = setInterval(() => this.sweep(), every);
    // Expiry sweeping alone must never keep the process alive.
    this.timer.unref();
  }

  get unlockedCount(): number {
    return this.keys.size;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  isUnlocked(username: string): boolean {
    return this.keys.has(username);
  }

  /** Every unlocked user, as a copy (locking one while walking it is fine). */
  unlockedNames(): string[] {
    return [...this.keys.keys()];
  }

  keysOf(username: string): UserKeys | undefined {
    return this.keys.get(username);
  }

  /** Makes `keys` the user's (or merges them into the ones they have) and opens a session. */
  installAndOpen(username: string, keys: UserKeys, ttlS?: number, idleS?: number, ownerUid?: number): OpenedSession {
    this.refuseIfClosed(keys);
    this.replaceKeys(username, keys);
    return this.sessions.open(username, ttlS, idleS, ownerUid);
  }

  /** A session restored from the store, with the keys its record opened (keyring/session-vault.ts). */
  adopt(token: string, keys: UserKeys, facts: SessionRecordFacts, persistId: string): void {
    this.refuseIfClosed(keys);
    this.replaceKeys(facts.username, keys);
    this.sessions.adopt(token, facts, persistId);
  }

  /** Ends a session here only (its record is gone, or it was never live): no LOCKED for a missing one. */
  dropSession(session: string): void {
    const ended = this.sessions.end(session);
    if (ended !== null) this.dropIfIdle(ended.username);
  }

  /** A stored session of `username` ended by expiry (its record said so): the audit trail is told. */
  storedSessionExpired(username: string): void {
    this.expired(username);
  }

  /** The session table itself, for what the keyring asks of it directly (holds, refresh, ids). */
  get table(): SessionTable {
    return this.sessions;
  }

  private refuseIfClosed(keys: UserKeys): void {
    if (!this.closed) return;
    // An unlock that outlived the shutdown drain: its keys must not outlive close().
    keys.destroy();
    throw new CofferError('SHUTTING_DOWN');
  }

  /** Re-wrapped keys (a password change): merged into an unlocked user's; otherwise just zeroed. */
  replaceIfUnlocked(username: string, keys: UserKeys): void {
    if (this.keys.has(username)) this.replaceKeys(username, keys);
    else keys.destroy();
  }

  /** Told of every session that ends by expiry (found at use or by the sweep): the audit trail. */
  onExpired(listener: (username: string) => void): void {
    this.expiredListeners.push(listener);
  }

  userForSession(session: string): UnlockedUser {
    const info = this.sessions.use(session, (username) => this.expired(username));
    const keys = info ? this.keys.get(info.username) : undefined;
    if (!info || !keys) throw new CofferError('LOCKED');
    return viewOf(info.username, keys);
  }

  unlockedUser(username: string): UnlockedUser | undefined {
    const keys = this.keys.get(username);
    return keys ? viewOf(username, keys) : undefined;
  }

  /** The access gate's view of a session (keyring/sessions.ts `peek`, `bindOwner`). */
  sessionOwner(session: string): SessionOwner | null {
    return this.sessions.peek(session);
  }

  bindSession(session: string, uid: number): void {
    this.sessions.bindOwner(session, uid);
  }

  /** sessions.check: refreshes the idle timer like any other use. */
  sessionInfo(session: string): SessionInfo {
    const info = this.sessions.use(session, (username) => this.expired(username));
    if (!info) throw new CofferError('LOCKED');
    return info;
  }

  endSession(session: string): void {
    const ended = this.sessions.end(session);
    if (ended === null) throw new CofferError('LOCKED');
    // An expired one is gone too, and its user's keys with it if it was their last.
    if (ended.expired) {
      this.expired(ended.username);
      throw new CofferError('LOCKED');
    }
    this.dropIfIdle(ended.username);
  }

  /** Ends every session of the user and zeroes their keys. */
  lock(username: string): void {
    const ended = this.sessions.endAllFor(username);
    const wasUnlocked = this.keys.has(username);
    this.dropKeys(username);
    if (wasUnlocked) this.log.info({ user: username, sessions: ended }, 'user locked');
  }

  sweep(): void {
    const { expired, released } = this.sessions.sweep();
    for (const username of expired) this.expired(username);
    for (const username of released) this.dropIfIdle(username);
    this.onSweep();
  }

  /** Shutdown: every secret zeroed and freed, every session gone. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.sessions.clear();
    for (const username of [...this.keys.keys()]) this.dropKeys(username);
  }

  /** The first keys of a user are kept for as long as they are unlocked; later ones are merged in. */
  private replaceKeys(username: string, keys: UserKeys): void {
    const current = this.keys.get(username);
    if (!current) {
      this.keys.set(username, keys);
      return;
    }
    try {
      current.absorb(keys);
    } finally {
      keys.destroy();
    }
  }

  private expired(username: string): void {
    for (const listener of this.expiredListeners) listener(username);
    this.dropIfIdle(username);
  }

  private dropIfIdle(username: string): void {
    if (this.sessions.countFor(username) > 0) return;
    if (this.dropKeys(username)) this.log.info({ user: username }, 'last session ended: secret zeroed');
  }

  private dropKeys(username: string): boolean {
    const keys = this.keys.get(username);
    if (!keys) return false;
    this.keys.delete(username);
    keys.destroy();
    return true;
  }
}

/**
 * What the store gets: reads of the primary secret, and during a pending rotation of the previous
 * one too. Each call goes to the keys, so a view held across a lock answers LOCKED, never garbage.
 */
export function viewOf(username: string, keys: UserKeys): UnlockedUser {
  const primary: UnlockedUser = { username, withSecret: (fn) => keys.readPrimary(fn) };
  if (!keys.rotationPending) return primary;
  return { ...primary, previous: previousViewOf(username, keys) };
}

export function previousViewOf(username: string, keys: UserKeys): UnlockedUser {
  return { username, withSecret: (fn) => keys.readPrevious(fn) };
}
