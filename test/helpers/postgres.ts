import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import pg from 'pg';

/**
 * A real PostgreSQL for the --store postgres tests. With COFFER_TEST_POSTGRES_URL (a server the
 * caller runs, as a superuser), each test gets a fresh database on it. Otherwise the first test of a
 * file starts a throwaway cluster of Debian's binaries (/usr/lib/postgresql/<v>/bin), listening on
 * a Unix socket only, and stops it when the file ends. Without either, the tests skip, and under
 * CI (COFFER_REQUIRE_POSTGRES=1, set by .ci/run, which installs the binaries) they fail instead.
 */

export const POSTGRES_REQUIRED = process.env['COFFER_REQUIRE_POSTGRES'] === '1';

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(root, versions[0], 'bin');
}

/** Why there is no PostgreSQL to test against, or undefined when there is one. */
export function postgresMissing(): string | undefined {
  if (process.env['COFFER_TEST_POSTGRES_URL']) return undefined;
  if (!binDir()) return 'no PostgreSQL server binaries (apt-get install -y postgresql), and no COFFER_TEST_POSTGRES_URL';
  return undefined;
}

/** tap's skip option for a test that needs PostgreSQL (never a skip under CI). */
export function skipWithoutPostgres(): string | false {
  const missing = postgresMissing();
  return missing !== undefined && !POSTGRES_REQUIRED ? missing : false;
}

interface Cluster {
  /** Where and as whom to connect. */
  base: { host: string; user: string };
  /** Stops the server and removes the cluster. */
  stop(): void;
  /** Stops the server as a crash would (immediate), keeping the cluster to start again. */
  kill(): void;
  start(): void;
}

let cluster: Cluster | undefined;

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` user. */
function asOwner(args: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
}

function run(args: string[]): void {
  const [cmd, ...rest] = args;
  const result = spawnSync(cmd!, rest, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
}

function startCluster(): Cluster {
  const bin = binDir();
  if (!bin) throw new Error(postgresMissing());
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-pg-'));
  const data = path.join(dir, 'data');
  const socketDir = path.join(dir, 'sock');
  mkdirSync(data);
  mkdirSync(socketDir);
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    for (const d of [dir, data, socketDir]) chownSync(d, uid, gid);
    chmodSync(dir, 0o755);
  }
  run(asOwner([path.join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']));
  const start = () => run(asOwner([path.join(bin, 'pg_ctl'), '-D', data, '-o', `-k ${socketDir} -c listen_addresses='' -c fsync=off`, '-w', 'start', '-l', path.join(dir, 'pg.log')]));
  const kill = () => run(asOwner([path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']));
  start();
  return {
    base: { host: socketDir, user: 'postgres' },
    start,
    kill,
    stop: () => {
      kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

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
    const { host, user } = cluster.base;
    admin = `postgres://${user}@localhost/postgres?host=${encodeURIComponent(host)}`;
    url = `postgres://${user}@localhost/${name}?host=${encodeURIComponent(host)}`;
  }
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
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
