// A throwaway PostgreSQL cluster of Debian's server binaries (/usr/lib/postgresql/<v>/bin), for the
// --store postgres tests (test/helpers/postgres.ts) and `npm run bench` (scripts/bench/postgres.mjs):
// initdb into a temp dir, listening on a Unix socket only. initdb refuses to run as root, so as
// root the cluster belongs to the `postgres` user (the Debian package creates it).
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/** The newest installed server's bin directory, or undefined. */
export function postgresBinDir() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(root, versions[0], 'bin');
}

function asOwner(args) {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...args] : args;
}

function run(args) {
  const [cmd, ...rest] = args;
  const result = spawnSync(cmd, rest, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
}

/**
 * Starts a cluster. `durable: false` runs it with fsync off (tests: nothing to keep); the bench
 * keeps PostgreSQL's default, durable commits, as the file backend's writes are.
 */
export function startCluster({ durable = false } = {}) {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries: apt-get install -y postgresql');
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
  const settings = `-k ${socketDir} -c listen_addresses=''${durable ? '' : ' -c fsync=off'}`;
  const start = () => run(asOwner([path.join(bin, 'pg_ctl'), '-D', data, '-o', settings, '-w', 'start', '-l', path.join(dir, 'pg.log')]));
  const kill = () => run(asOwner([path.join(bin, 'pg_ctl'), '-D', data, '-m', 'immediate', 'stop']));
  start();
  const url = (database) => `postgres://postgres@localhost/${database}?host=${encodeURIComponent(socketDir)}`;
  return {
    /** The maintenance database's URL, for CREATE DATABASE. */
    adminUrl: url('postgres'),
    url,
    start,
    /** Stops the server as a crash would (immediate), keeping the cluster to start again. */
    kill,
    /** Stops the server and removes the cluster. */
    stop: () => {
      kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Creates database `name` (letters, digits, underscores) through `adminUrl`. */
export async function createDatabase(adminUrl, name) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
}
