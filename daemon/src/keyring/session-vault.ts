import path from 'node:path';
import { CofferError } from '@coffer/protocol';
import { KeyedMutex } from '../base/keyed-mutex.js';
import type { Logger } from '../base/logger.js';
import { persistedIdOf, withPersistKeys } from '../crypto/session-token.js';
import { unwrapSecret, wrapSecret, type Wrapped } from '../crypto/secret-wrap.js';
import { readFailed, storageFailed } from '../port/errors.js';
import { UnitMovedError, type Codec, type Unit, type Units } from '../port/storage.js';
import { isExpired, type SessionRecordFacts } from './sessions.js';

/**
 * Persisted sessions (--persist-sessions; always with --store postgres; issue 16 §3): a session
 * any daemon sharing the store can serve, and that outlives a restart. At unlock the user secret is
 * sealed under a key derived from the session token (crypto/session-token.ts `withPersistKeys`)
 * and stored, with the session's limits, under an id derived from the token the same way. The
 * token is never stored: without it a record opens nothing.
 *
 * The stored record is the truth for a persisted session: a daemon that holds the session in
 * memory checks the record is still there before every call (a cheap version check, shared by
 * concurrent calls), so `sessions.end`, `users.lock`, a password change, a user's deletion and
 * expiry, done by any daemon, end it on every daemon at its next call.
 */

/**
 * One stored session: the session table's facts (its `lastUsedAt` refreshed at most every
 * `touchEveryMs` of use, a write each time; its owner uid binds it on any daemon), and the sealed
 * secret. Everything but `lastUsedAt` is authenticated with the seal.
 */
export interface StoredSession extends SessionFacts {
  readonly sealed: Wrapped;
}

/** What a record is made from at unlock (the secret is read from the user's keys). */
export interface SessionFacts extends SessionRecordFacts {
  /** Which wrap of the user secret in users.json it was sealed from (Keyring `identityOf`): a changed wrap makes it stale. */
  readonly identity: string;
}

const VERSION = 1;

/** A stored session's file (or row): strict JSON, decoded whole or CORRUPT. */
const storedSessionCodec: Codec<StoredSession | null> = {
  empty: () => null,
  clone: (model) => model,
  encode(model) {
    if (model === null) throw new Error('an absent session is removed, never encoded');
    const { username, expiresAt, idleMs, lastUsedAt, ownerUid, identity, sealed } = model;
    const record = { v: VERSION, user: username, expiresAt, idleMs, lastUsedAt, ownerUid: ownerUid ?? null, identity };
    return Buffer.from(JSON.stringify({ ...record, nonce: sealed.nonce.toString('base64'), sealed: sealed.ciphertext.toString('base64') }), 'utf8');
  },
  decode(bytes) {
    const raw: unknown = JSON.parse(bytes.toString('utf8'));
    if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
    const r = raw as Record<string, unknown>;
    const numbers = [r['expiresAt'], r['idleMs'], r['lastUsedAt']];
    if (r['v'] !== VERSION || typeof r['user'] !== 'string' || typeof r['identity'] !== 'string') throw new Error('bad fields');
    if (!numbers.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0)) throw new Error('bad times');
    if (r['ownerUid'] !== null && !(typeof r['ownerUid'] === 'number' && Number.isSafeInteger(r['ownerUid']))) throw new Error('bad uid');
    if (typeof r['nonce'] !== 'string' || typeof r['sealed'] !== 'string') throw new Error('bad seal');
    return {
      username: r['user'],
      expiresAt: r['expiresAt'] as number,
      idleMs: r['idleMs'] as number,
      lastUsedAt: r['lastUsedAt'] as number,
      ownerUid: (r['ownerUid'] as number | null) ?? undefined,
      identity: r['identity'],
      sealed: { nonce: Buffer.from(r['nonce'], 'base64'), ciphertext: Buffer.from(r['sealed'], 'base64') },
    };
  },
};

/** Binds the sealed secret to its session, user, limits, owner and the wrap it came from. */
function aadOf(id: string, facts: SessionFacts): Buffer {
  const { username, expiresAt, idleMs, ownerUid, identity } = facts;
  return Buffer.from(`coffer.session.v1\0${id}\0${username}\0${expiresAt}\0${idleMs}\0${ownerUid ?? '-'}\0${identity}`, 'utf8');
}

/** How often a session in use has its `lastUsedAt` written: a tenth of its idle limit, at least 1 s. */
function touchEveryMs(record: StoredSession): number {
  return Math.max(1000, Math.floor(record.idleMs / 10));
}

/** How often every stored session is looked at for expiry (one that no daemon serves any more). */
const SWEEP_EVERY_MS = 60_000;

interface Held {
  readonly unit: Unit<StoredSession | null>;
  /** The record as last read or written (null: none). */
  model: StoredSession | null;
}

export class SessionVault {
  /**
   * The records of the sessions this daemon serves, so each call's check is a version check. Only
   * records that exist are held, and `prune` drops those of sessions no longer served here: a
   * client sending made-up tokens costs a lookup each, never memory.
   */
  private readonly held = new Map<string, Held>();
  private readonly locks = new KeyedMutex();
  private readonly expiredListeners: Array<(username: string) => void> = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly units: Units,
    /** Where records go: `sessions` on a database, a folder of the data dir on files. */
    private readonly folder: string,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    this.timer = setInterval(() => void this.sweep(), SWEEP_EVERY_MS);
    this.timer.unref();
  }

  /** The folder the start-up sweep cleans of temp files (files only). */
  get sweepDir(): string | undefined {
    return this.units.kind === 'files' ? this.folder : undefined;
  }

  /**
   * Stores a new session durably: its secret sealed under the token's key. Rejects with the
   * backend's error (the unlock then fails: a session no other daemon could serve is not made).
   */
  async save(token: string, facts: SessionFacts, readSecret: <T>(fn: (secret: Buffer) => T) => T): Promise<string> {
    const made = withPersistKeys(token, (id, wrapKey) => ({ id, sealed: readSecret((secret) => wrapSecret(wrapKey, secret, aadOf(id, facts))) }));
    /* c8 ignore next */
    if (made === null) throw new Error('a token this daemon made is not canonical');
    const { id, sealed } = made;
    await this.locks.run(id, async () => {
      const held = this.entry(id);
      try {
        await this.store(held, { ...facts, sealed });
      } catch (error) {
        this.held.delete(id);
        throw error;
      }
    });
    return id;
  }

  /**
   * The stored record of `token`'s session, re-read only when it changed since this daemon last
   * saw it; null if there is none (ended, never persisted, or not decodable: logged). Rejects
   * STORAGE_FAILED when the store cannot be asked.
   */
  async current(token: string): Promise<{ id: string; record: StoredSession | null } | null> {
    const id = persistedIdOf(token);
    if (id === null) return null;
    // Not under the id's lock: concurrent calls of one session share one look (Unit.checkUnchanged).
    return { id, record: await this.currentOf(id) };
  }

  /**
   * Opens a stored record's secret into `out` (a guarded slot) with the token's key; false if it
   * does not open (altered, or copied to another id).
   */
  open(token: string, id: string, record: StoredSession, out: Buffer): boolean {
    return withPersistKeys(token, (derivedId, wrapKey) => derivedId === id && unwrapSecret(wrapKey, record.sealed, aadOf(id, record), out)) === true;
  }

  /** A use: writes `lastUsedAt` when the stored one is older than a tenth of the idle limit. In the background. */
  touch(id: string, record: StoredSession, at: number): void {
    if (at - record.lastUsedAt < touchEveryMs(record)) return;
    void this.locks
      .run(id, async () => {
        const stored = await this.currentOf(id);
        if (stored === null || stored.lastUsedAt >= at) return;
        await this.store(this.entry(id), { ...stored, lastUsedAt: at });
      })
      .catch((error: unknown) => {
        // Another daemon's touch or end won the race, or the store is down: the next use tries again.
        if (!(error instanceof UnitMovedError)) this.log.warn({ err: error }, 'could not record a session use in the store');
      });
  }

  /** Removes one session's record (sessions.end, an expired one). Idempotent: true if this call removed it. */
  async remove(id: string): Promise<boolean> {
    return this.locks.run(id, async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          if ((await this.currentOf(id)) === null) return false;
          await this.store(this.entry(id), null);
          this.held.delete(id);
          return true;
        } catch (error) {
          // Another daemon touched it meanwhile: read it again and remove that.
          if (!(error instanceof UnitMovedError) || attempt >= 10) throw error;
          this.entry(id).unit.forget();
        }
      }
    });
  }

  /** sessions.end: removes the record of `token`'s session, if there is one. */
  async end(token: string): Promise<void> {
    const id = persistedIdOf(token);
    if (id !== null) await this.remove(id);
  }

  /** Told the user of every record the periodic sweep removes as expired (the audit trail). */
  onExpired(listener: (username: string) => void): void {
    this.expiredListeners.push(listener);
  }

  /** Keeps only the records of `served` ids (the sessions this daemon still has in memory). */
  prune(served: ReadonlySet<string>): void {
    for (const id of this.held.keys()) if (!served.has(id)) this.held.delete(id);
  }

  /**
   * Removes every stored session of `username` but `keep` (an id): users.lock, a password change,
   * a deletion, a rotation. Reads every record to find them (records are named by token, never by
   * user); returns how many went.
   */
  async removeUser(username: string, keep?: string): Promise<number> {
    let removed = 0;
    for (const id of await this.ids()) {
      if (id === keep) continue;
      if ((await this.peek(id))?.username !== username) continue;
      if (await this.remove(id)) removed++;
    }
    return removed;
  }

  /** Removes every record that has expired (by its own times, whichever daemon last used it). */
  async sweep(): Promise<number> {
    let removed = 0;
    try {
      const now = this.now();
      for (const id of await this.ids()) {
        const record = await this.peek(id);
        if (record === null || !isExpired(record, now)) continue;
        if (!(await this.remove(id))) continue;
        removed++;
        for (const listener of this.expiredListeners) listener(record.username);
      }
    } catch (error) {
      this.log.warn({ err: error }, 'could not sweep expired sessions from the store; trying again later');
    }
    return removed;
  }

  close(): void {
    clearInterval(this.timer);
    this.held.clear();
  }

  private async ids(): Promise<string[]> {
    const names = await this.units.list(this.folder).catch((error: unknown) => {
      throw error instanceof CofferError ? error : readFailed(this.folder, error);
    });
    return names.filter((name) => /^[0-9a-f]{64}\.json$/.test(name)).map((name) => name.slice(0, -'.json'.length));
  }

  /** A record read once (a sweep reads records it does not serve); a held one through its entry. */
  private async peek(id: string): Promise<StoredSession | null> {
    if (this.held.has(id)) return this.locks.run(id, () => this.currentOf(id));
    try {
      return (await this.units.open(this.keyOf(id), storedSessionCodec).read(corruptRecord)).model;
    } catch (error) {
      if (error instanceof CofferError && error.reason === 'CORRUPT') return null;
      throw error;
    }
  }

  /** The record, held only while there is one (writers call it under the id's lock). */
  private async currentOf(id: string): Promise<StoredSession | null> {
    const held = this.entry(id);
    try {
      if (held.unit.version === undefined || !(await held.unit.checkUnchanged())) held.model = (await held.unit.read(corruptRecord)).model;
    } catch (error) {
      this.held.delete(id);
      if (!(error instanceof CofferError && error.reason === 'CORRUPT')) throw error;
      this.log.warn({ key: held.unit.key }, 'a stored session does not decode: not served');
      return null;
    }
    if (held.model === null) this.held.delete(id);
    return held.model;
  }

  /** Rejects STORAGE_FAILED (what the store answers for a failed write), or UnitMovedError. */
  private async store(held: Held, model: StoredSession | null): Promise<void> {
    try {
      await held.unit.write(model === null ? null : storedSessionCodec.encode(model));
    } catch (error) {
      throw error instanceof UnitMovedError || error instanceof CofferError ? error : storageFailed(held.unit.key, error);
    }
    held.model = model;
  }

  private entry(id: string): Held {
    let held = this.held.get(id);
    if (!held) {
      held = { unit: this.units.open(this.keyOf(id), storedSessionCodec), model: null };
      this.held.set(id, held);
    }
    return held;
  }

  private keyOf(id: string): string {
    return path.join(this.folder, `${id}.json`);
  }
}

function corruptRecord(key: string): CofferError {
  return new CofferError('CORRUPT', `Corrupt: the stored session ${path.basename(key)} does not decode`);
}
