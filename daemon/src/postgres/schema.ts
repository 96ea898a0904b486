import type pg from 'pg';
import type { Logger } from '../base/logger.js';

/**
 * The schema cofferd keeps in its database, as numbered steps. `coffer_schema` records the last
 * step applied; a daemon applies the missing ones at start, under a transaction-scoped advisory
 * lock, so daemons starting together migrate once. A database migrated by a newer cofferd (a step
 * this build does not know) is refused rather than misread.
 */
const STEPS: readonly string[] = [
  // 1: units (schema version 1)
  `CREATE SEQUENCE coffer_rev;
   CREATE TABLE coffer_units (
     key   text   PRIMARY KEY,
     bytes bytea  NOT NULL,
     rev   bigint NOT NULL
   );`,
  // 2: every committed change is announced to the daemons sharing the database (LISTEN
  // coffer_units): the new revision (or - when removed) and the key, never the bytes.
  `CREATE FUNCTION coffer_units_changed() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'DELETE' THEN
       PERFORM pg_notify('coffer_units', '- ' || OLD.key);
     ELSE
       PERFORM pg_notify('coffer_units', NEW.rev || ' ' || NEW.key);
     END IF;
     RETURN NULL;
   END $$;
   CREATE TRIGGER coffer_units_changed AFTER INSERT OR UPDATE OR DELETE ON coffer_units
     FOR EACH ROW EXECUTE FUNCTION coffer_units_changed();`,
];

/** The channel step 2's trigger notifies (postgres/units.ts follows it). */
export const CHANGES_CHANNEL = 'coffer_units';

/** Any number: the lock that serializes migrations among daemons sharing the database. */
const MIGRATION_LOCK = 0x636f6666; // 'coff'

export const SCHEMA_VERSION = STEPS.length;

export async function migrate(db: pg.Pool, log: Logger): Promise<void> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS coffer_schema (version integer NOT NULL)');
    const row = (await client.query<{ version: number }>('SELECT version FROM coffer_schema')).rows[0];
    const from = row?.version ?? 0;
    if (from > STEPS.length) {
      throw new Error(`the database's Coffer schema is version ${from}, newer than this cofferd knows (${STEPS.length}): run a cofferd at least as new as the one that migrated it`);
    }
    for (let step = from; step < STEPS.length; step++) await client.query(STEPS[step]!);
    if (row === undefined) await client.query('INSERT INTO coffer_schema (version) VALUES ($1)', [STEPS.length]);
    else await client.query('UPDATE coffer_schema SET version = $1', [STEPS.length]);
    await client.query('COMMIT');
    if (from < STEPS.length) log.info({ from, to: STEPS.length }, 'PostgreSQL schema migrated');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
