import { newSessionToken, SessionDigester } from '../crypto/session-token.js';

export interface SessionLimits {
  /** Absolute lifetime from unlock. */
  readonly ttlMs: number;
  /** Lifetime since last use. */
  readonly idleMs: number;
}

/** Live sessions one user may hold; a new unlock past it ends that user's least recently used one. */
export const MAX_SESSIONS_PER_USER = 100;

export interface SessionInfo {
  readonly username: string;
  /** Epoch ms: the absolute end. */
  readonly expiresAt: number;
  /** Epoch ms: the end if unused until then (never after expiresAt). */
  readonly idleExpiresAt: number;
}

interface Session {
  readonly username: string;
  readonly expiresAt: number;
  readonly idleMs: number;
  lastUsedAt: number;
  /** The uid of the peer that unlocked it (access/gate.ts): the session works for that uid only. */
  ownerUid?: number;
  /** Its stored record's id, when sessions persist (keyring/session-vault.ts). */
  persistId?: string;
}

/** A session as it is stored or restored (keyring/session-vault.ts). */
export interface SessionRecordFacts {
  readonly username: string;
  readonly expiresAt: number;
  readonly idleMs: number;
  readonly lastUsedAt: number;
  readonly ownerUid: number | undefined;
}

/** A new session: its token (given out once), its limits, and the stored id of one it pushed out. */
export interface OpenedSession {
  readonly token: string;
  readonly info: SessionInfo;
  readonly facts: SessionRecordFacts;
  /** The user was at MAX_SESSIONS_PER_USER: their least recently used session ended (its stored id, if any). */
  readonly evictedPersistId: string | undefined;
}

/** A live session as the access gate sees it, without counting as a use. */
export interface SessionOwner {
  readonly username: string;
  readonly ownerUid: number | undefined;
}

/**
 * Sessions by the keyed hash of their token (crypto/session-token.ts): the table never holds a
 * token, and a restart (new hash key, empty table) ends every session. Expiry is checked on every
 * use; `sweep` finds the expired ones that nobody uses so their users' secrets can be zeroed.
 */
export class SessionTable {
  private readonly byDigest = new Map<string, Session>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly digester = new SessionDigester();

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.byDigest.size;
  }

  countFor(username: string): number {
    return this.byUser.get(username)?.size ?? 0;
  }

  /**
   * A new session; `ttlS`/`idleS` may shorten the configured limits, never extend them. The token
   * goes to the client once and is never stored. A user at the cap loses their least recently used
   * session (the user stays unlocked: they still have this new one).
   */
  open(username: string, ttlS?: number, idleS?: number, ownerUid?: number): OpenedSession {
    const now = this.now();
    const ttlMs = Math.min(this.limits.ttlMs, (ttlS ?? Infinity) * 1000);
    const idleMs = Math.min(this.limits.idleMs, (idleS ?? Infinity) * 1000);
    const token = newSessionToken();
    const session: Session = { username, expiresAt: now + ttlMs, idleMs, lastUsedAt: now, ownerUid };
    const evicted = this.insert(this.digester.digest(token)!, session);
    return { token, info: infoOf(session), facts: factsOf(session), evictedPersistId: evicted?.persistId };
  }

  /**
   * A session restored from its stored record (another daemon, or before a restart, opened it).
   * Like `open`, a user at the cap loses their least recently used session here.
   */
  adopt(token: string, facts: SessionRecordFacts, persistId: string): void {
    const digest = this.digester.digest(token);
    if (digest === null || this.byDigest.has(digest)) return;
    const { username, expiresAt, idleMs, lastUsedAt, ownerUid } = facts;
    this.insert(digest, { username, expiresAt, idleMs, lastUsedAt, ownerUid, persistId });
  }

  /** Records the stored id of a session just saved. */
  setPersistId(token: string, persistId: string): void {
    const session = this.lookup(token);
    if (session) session.persistId = persistId;
  }

  /** Another daemon used the session later than this one knows: its idle timer follows. */
  refresh(token: string, lastUsedAt: number): void {
    const session = this.lookup(token);
    if (session && lastUsedAt > session.lastUsedAt) session.lastUsedAt = lastUsedAt;
  }

  /** Whether the table has the session, live or not yet swept. */
  holds(token: string): boolean {
    return this.lookup(token) !== undefined;
  }

  /** The stored ids of the sessions held here (the vault keeps only their records). */
  persistIds(): Set<string> {
    const ids = new Set<string>();
    for (const session of this.byDigest.values()) if (session.persistId !== undefined) ids.add(session.persistId);
    return ids;
  }

  private insert(digest: string, session: Session): Session | undefined {
    const mine = this.byUser.get(session.username) ?? new Set<string>();
    const evicted = mine.size >= MAX_SESSIONS_PER_USER ? this.leastRecentlyUsed(mine) : undefined;
    const gone = evicted === undefined ? undefined : this.byDigest.get(evicted);
    if (evicted !== undefined) this.remove(evicted);
    this.byDigest.set(digest, session);
    mine.add(digest);
    this.byUser.set(session.username, mine);
    return gone;
  }

  /**
   * The live session for `token`, its idle timer refreshed; null if unknown, ended or expired (an
   * expired one is removed, and `onExpired` is told whose it was).
   */
  use(token: string, onExpired: (username: string) => void): SessionInfo | null {
    const digest = this.digester.digest(token);
    const session = digest === null ? undefined : this.byDigest.get(digest);
    if (!session || digest === null) return null;
    const now = this.now();
    if (isExpired(session, now)) {
      this.remove(digest);
      onExpired(session.username);
      return null;
    }
    session.lastUsedAt = now;
    return infoOf(session);
  }

  /** Binds a just-opened session to the uid that opened it; an unknown token changes nothing. */
  bindOwner(token: string, uid: number): void {
    const session = this.lookup(token);
    if (session) session.ownerUid = uid;
  }

  /** Whose live session this is and which uid opened it; not a use (the idle timer stays). */
  peek(token: string): SessionOwner | null {
    const session = this.lookup(token);
    if (!session || isExpired(session, this.now())) return null;
    return { username: session.username, ownerUid: session.ownerUid };
  }

  private lookup(token: string): Session | undefined {
    const digest = this.digester.digest(token);
    return digest === null ? undefined : this.byDigest.get(digest);
  }

  /** Ends one session; returns whose it was and whether it had already expired, or null if there was none. */
  end(token: string): { username: string; expired: boolean } | null {
    const digest = this.digester.digest(token);
    const session = digest === null ? undefined : this.byDigest.get(digest);
    if (!session || digest === null) return null;
    this.remove(digest);
    return { username: session.username, expired: isExpired(session, this.now()) };
  }

  endAllFor(username: string): number {
    const mine = [...(this.byUser.get(username) ?? [])];
    for (const digest of mine) this.remove(digest);
    return mine.length;
  }

  /**
   * Removes every session that expired by this table's clock; returns the users who lost one,
   * `expired` for sessions that lived here only, `released` for stored ones: another daemon may
   * have used those since (their record says), so here they are only let go, not called expired.
   */
  sweep(): { expired: Set<string>; released: Set<string> } {
    const now = this.now();
    const expired = new Set<string>();
    const released = new Set<string>();
    for (const [digest, session] of this.byDigest) {
      if (!isExpired(session, now)) continue;
      this.remove(digest);
      (session.persistId === undefined ? expired : released).add(session.username);
    }
    return { expired, released };
  }

  clear(): void {
    this.byDigest.clear();
    this.byUser.clear();
  }

  private leastRecentlyUsed(digests: Set<string>): string {
    let oldest: string | undefined;
    let oldestAt = Infinity;
    for (const digest of digests) {
      const at = this.byDigest.get(digest)!.lastUsedAt;
      if (at < oldestAt) [oldest, oldestAt] = [digest, at];
    }
    return oldest!;
  }

  private remove(digest: string): void {
    const session = this.byDigest.get(digest);
    if (!session) return;
    this.byDigest.delete(digest);
    const mine = this.byUser.get(session.username);
    mine?.delete(digest);
    if (mine?.size === 0) this.byUser.delete(session.username);
  }
}

/** Past its absolute end, or unused for its idle limit: a session here or a stored one (session-vault.ts). */
export function isExpired(session: Pick<Session, 'expiresAt' | 'lastUsedAt' | 'idleMs'>, now: number): boolean {
  return now >= session.expiresAt || now >= session.lastUsedAt + session.idleMs;
}

function factsOf(session: Session): SessionRecordFacts {
  const { username, expiresAt, idleMs, lastUsedAt, ownerUid } = session;
  return { username, expiresAt, idleMs, lastUsedAt, ownerUid };
}

function infoOf(session: Session): SessionInfo {
  return {
    username: session.username,
    expiresAt: session.expiresAt,
    idleExpiresAt: Math.min(session.expiresAt, session.lastUsedAt + session.idleMs),
  };
}
