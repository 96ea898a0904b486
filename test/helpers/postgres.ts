import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import pg from 'pg';
import { createDatabase, postgresBinDir, startCluster, type Cluster } from '../../scripts/lib/postgres-cluster.mjs';

/**
 * A real PostgreSQL for the --store postgres tests. With COFFER_TEST_POSTGRES_URL (a server the
 * caller runs, as a superuser), each test gets a fresh database on it. Otherwise the first test of a
 * file starts a throwaway cluster (scripts/lib/postgres-cluster.mjs, shared with the bench),
 * listening on a Unix socket only, and stops it when the file ends. Without either, the tests
 * skip, and under CI (COFFER_REQUIRE_POSTGRES=1, set by .ci/run, which installs the binaries) they
 * fail instead.
 */

export const POSTGRES_REQUIRED = process.env['COFFER_REQUIRE_POSTGRES'] === '1';

/** Why there is no PostgreSQL to test against, or undefined when there is one. */
export function postgresMissing(): string | undefined {
  if (process.env['COFFER_TEST_POSTGRES_URL']) return undefined;
  if (!postgresBinDir()) return 'no PostgreSQL server binaries (apt-get install -y postgresql), and no COFFER_TEST_POSTGRES_URL';
  return undefined;
}

/** tap's skip option for a test that needs PostgreSQL (never a skip under CI). */
export function skipWithoutPostgres(): string | false {
  const missing = postgresMissing();
  return missing !== undefined && !POSTGRES_REQUIRED ? missing : false;
}

let cluster: Cluster | undefined;

/** tap's skip reason for a test that stops and starts the server: only a throwaway cluster of ours. */
export const NOT_OUR_SERVER: string | false = process.env['COFFER_TEST_POSTGRES_URL'] ? 'COFFER_TEST_POSTGRES_URL names a server this test may not stop' : false;

/**
 * The URL of a fresh, empty database for this test (dropped with the cluster, or left on a server
 * given by COFFER_TEST_POSTGRES_URL, whose databases are named coffer_test_<random>).
 */
export async function freshDatabase(t: Test): Promise<string> {
  const given = process.env['COFFER_TEST_POSTGRES_URL'];
  const name = `coffer_test_${randomBytes(6).toString('hex')}`;
  let admin: string;
  let url: string;
  if (given) {
    admin = given;
    const parsed = new URL(given);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
  } else {
    if (!cluster) {
      // The cluster lives as long as the test file: its first test's parent tears it down.
      const root = rootOf(t);
      cluster = startCluster();
      const started = cluster;
      root.teardown(() => {
        started.stop();
        if (cluster === started) cluster = undefined;
      });
    }
    admin = cluster.adminUrl;
    url = cluster.url(name);
  }
  await createDatabase(admin, name);
  return url;
}

function rootOf(t: Test): Test {
  let at = t;
  while (at.parent && (at.parent as Test).parent) at = at.parent as Test;
  return at;
}

/** Runs one query on `url` (for tests that look at or change rows behind the daemons' backs). */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * The throwaway cluster's server, to stop as a crash would and start again (a database gone and
 * back); undefined with COFFER_TEST_POSTGRES_URL, whose server is not ours to stop.
 */
export function ownServer(): Pick<Cluster, 'kill' | 'start'> | undefined {
  return cluster;
}
