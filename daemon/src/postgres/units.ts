import pg from 'pg';
import { CofferError } from '@coffer/protocol';
import { digestOf } from '../base/digest.js';
import { SharedLook } from '../base/shared-look.js';
import type { Logger } from '../base/logger.js';
import { BackendError, readFailed } from '../port/errors.js';
import { UnitMovedError, type BackendHealth, type Codec, type Loaded, type Unit, type Units, type UnitVersion } from '../port/storage.js';
import { CHANGES_CHANNEL, migrate } from './schema.js';

/** How long the change feed waits before it connects again after losing its connection. */
const FEED_RETRY_MS = 1000;

/**
 * The PostgreSQL backend (issue 16): a unit is a row of `coffer_units` — its key (the path the
 * coffer layout would give the file, relative: `services/alice_services.json`), its bytes (exactly
 * what the file would hold: ciphertext and wrapped secrets only, for encrypted data), and its
 * revision. Revisions come from one sequence, so a key deleted and created again never shows an
 * earlier revision: "same revision" always means "same row version", across every daemon.
 *
 * Several daemons may share the database. Every read from memory first asks for the row's
 * revision (reads share that query: SharedLook), so a write by one daemon is seen by the next read
 * on any other; every write is a compare-and-set on the revision it was based on, and one that
 * finds another revision writes nothing and says so (UnitMovedError): the store re-applies its
 * group to the new row. One statement per write: a group commit is one transaction, durable when
 * PostgreSQL answers (synchronous_commit, the default).
 */

/** A row's version: its revision (null: no row) and the digest of its bytes. */
class RowVersion implements UnitVersion {
  constructor(
    readonly rev: string | null,
    readonly digest: string,
  ) {}

  get exists(): boolean {
    return this.rev !== null;
  }
}

/** A failed query, as STORAGE_FAILED will say it: the driver's code, and what to check. */
function databaseFailed(error: unknown): BackendError {
  const code = (error as { code?: unknown } | undefined)?.code;
  return new BackendError(typeof code === 'string' ? code : 'error', 'check that PostgreSQL runs and that cofferd can reach it (--store)');
}

class RowUnit<T> implements Unit<T> {
  readonly writersCompareAndSet = true;
  version: RowVersion | undefined;
  private readonly check = new SharedLook(() => this.unchanged());

  constructor(
    private readonly db: pg.Pool,
    readonly key: string,
    private readonly codec: Codec<T>,
  ) {}

  forget(): void {
    this.version = undefined;
  }

  async read(corrupt: (key: string) => CofferError): Promise<Loaded<T>> {
    let row: { bytes: Buffer; rev: string } | undefined;
    try {
      row = (await this.db.query<{ bytes: Buffer; rev: string }>('SELECT bytes, rev FROM coffer_units WHERE key = $1', [this.key])).rows[0];
    } catch (error) {
      throw readFailed(this.key, databaseFailed(error));
    }
    let model: T;
    try {
      model = row === undefined ? this.codec.empty() : this.codec.decode(row.bytes);
    } catch (error) {
      throw error instanceof CofferError ? error : corrupt(this.key);
    }
    const version = new RowVersion(row?.rev ?? null, digestOf(row?.bytes ?? null));
    this.version = version;
    return { model, version };
  }

  async unchanged(): Promise<boolean> {
    const version = this.version;
    if (version === undefined) return false;
    try {
      const row = (await this.db.query<{ rev: string }>('SELECT rev FROM coffer_units WHERE key = $1', [this.key])).rows[0];
      return (row?.rev ?? null) === version.rev;
    } catch {
      return false;
    }
  }

  checkUnchanged(): Promise<boolean> {
    return this.check.run();
  }

  /** A compare-and-set on the remembered revision (the store always reads before it writes). */
  async write(bytes: Buffer | null): Promise<void> {
    try {
      await this.compareAndSet(bytes);
    } catch (error) {
      throw error instanceof UnitMovedError ? error : databaseFailed(error);
    }
  }

  private async compareAndSet(bytes: Buffer | null): Promise<void> {
    const base = this.version?.rev ?? null;
    let rev: string | null;
    if (bytes === null) {
      const deleted = base === null ? 0 : (await this.db.query('DELETE FROM coffer_units WHERE key = $1 AND rev = $2', [this.key, base])).rowCount;
      // Nothing to delete is fine only if there is still nothing.
      if (deleted === 0 && (base !== null || (await this.db.query('SELECT 1 FROM coffer_units WHERE key = $1', [this.key])).rowCount !== 0)) {
        throw new UnitMovedError(this.key);
      }
      rev = null;
    } else {
      const result =
        base === null
          ? await this.db.query<{ rev: string }>(
              "INSERT INTO coffer_units (key, bytes, rev) VALUES ($1, $2, nextval('coffer_rev')) ON CONFLICT (key) DO NOTHING RETURNING rev",
              [this.key, bytes],
            )
          : await this.db.query<{ rev: string }>(
              "UPDATE coffer_units SET bytes = $2, rev = nextval('coffer_rev') WHERE key = $1 AND rev = $3 RETURNING rev",
              [this.key, bytes, base],
            );
      if (result.rows.length === 0) throw new UnitMovedError(this.key);
      rev = result.rows[0]!.rev;
    }
    this.version = new RowVersion(rev, digestOf(bytes));
  }
}

/** Keys are paths; `folder/name` is directly under `folder`. */
function namesUnder(folder: string, keys: string[]): string[] {
  const prefix = folder === '' ? '' : `${folder}/`;
  return keys.map((key) => key.slice(prefix.length)).filter((name) => name !== '' && !name.includes('/'));
}

/** How long daemon.status waits for the database before it says unreachable. */
const HEALTH_TIMEOUT_MS = 2000;

export class PostgresUnits implements Units {
  readonly kind = 'database' as const;
  private feed: 'up' | 'down' | 'off' = 'off';

  private constructor(
    private readonly db: pg.Pool,
    /** Kept for the change feed's own connection; never logged (it may hold a password). */
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  /**
   * Connects, and creates or migrates the schema (schema.ts). Throws a StartupError-worthy
   * message when the database cannot be reached; a connection lost later fails the calls that
   * needed it (STORAGE_FAILED) and is retried by the next one.
   */
  static async open(url: string, log: Logger): Promise<PostgresUnits> {
    const db = new pg.Pool({ connectionString: url, max: 8 });
    // An idle connection that breaks (the server restarted) is only logged: the pool makes a new one.
    db.on('error', (error) => log.warn({ err: { message: error.message } }, 'a PostgreSQL connection broke; the next call opens a new one'));
    try {
      await migrate(db, log);
    } catch (error) {
      await db.end().catch(() => undefined);
      throw error;
    }
    return new PostgresUnits(db, url, log);
  }

  /**
   * Follows every change any daemon commits (schema step 2's notifications) on a connection of
   * its own. Lost, it connects again every FEED_RETRY_MS and then reports a gap: what changed in
   * between was not heard, so the store checks every cached unit.
   */
  async follow(onChange: (key: string) => void, onGap: () => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let retry: NodeJS.Timeout | undefined;
    const connect = async (): Promise<void> => {
      const feed = new pg.Client({ connectionString: this.url });
      feed.on('notification', (message) => {
        // `<revision> <key>` or `- <key>`: keys hold no space before their first character.
        if (message.channel === CHANGES_CHANNEL && message.payload) onChange(message.payload.slice(message.payload.indexOf(' ') + 1));
      });
      // A broken connection ends it; 'end' below takes over.
      feed.on('error', () => undefined);
      feed.on('end', () => {
        if (stopped || client !== feed) return;
        this.feed = 'down';
        this.log.warn('the PostgreSQL change feed broke: connecting again (changes by other daemons are checked at each read meanwhile)');
        retry = setTimeout(() => void again(), FEED_RETRY_MS);
      });
      try {
        await feed.connect();
        await feed.query(`LISTEN ${CHANGES_CHANNEL}`);
      } catch (error) {
        await feed.end().catch(() => undefined);
        throw error;
      }
      client = feed;
      this.feed = 'up';
    };
    const again = async (): Promise<void> => {
      if (stopped) return;
      try {
        await connect();
        this.log.info('the PostgreSQL change feed is back: checking every cached unit');
        onGap();
      } catch {
        retry = setTimeout(() => void again(), FEED_RETRY_MS);
      }
    };
    await connect();
    return async () => {
      stopped = true;
      this.feed = 'off';
      clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  }

  open<T>(key: string, codec: Codec<T>): Unit<T> {
    return new RowUnit(this.db, key, codec);
  }

  async present(key: string): Promise<boolean> {
    try {
      return (await this.db.query('SELECT 1 FROM coffer_units WHERE key = $1', [key])).rowCount !== 0;
    } catch (error) {
      throw readFailed(key, databaseFailed(error));
    }
  }

  async list(folder: string): Promise<string[]> {
    const prefix = folder === '' ? '' : `${folder}/`;
    try {
      const keys = (await this.db.query<{ key: string }>('SELECT key FROM coffer_units WHERE starts_with(key, $1)', [prefix])).rows;
      return namesUnder(folder, keys.map((row) => row.key));
    } catch (error) {
      throw readFailed(folder, databaseFailed(error));
    }
  }

  async health(): Promise<BackendHealth> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    try {
      await Promise.race([this.db.query('SELECT 1'), timeout]);
      return { reachable: true, changeFeed: this.feed, error: null };
    } catch (error) {
      return { reachable: false, changeFeed: this.feed, error: (error as { message?: string } | undefined)?.message ?? String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    return this.db.end();
  }
}
