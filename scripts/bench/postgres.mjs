// The PostgreSQL backend beside the file backend (issue 16): cached encrypted reads and grouped
// durable writes to one service, on the data dir, on one cofferd over a database, and on two
// cofferd sharing it (the clients split between them, serving the same session: stored sessions
// are on with a database). PostgreSQL runs as a throwaway cluster of Debian's binaries with its
// default durable commits (scripts/lib/postgres-cluster.mjs), or on COFFER_BENCH_POSTGRES_URL (a
// superuser's URL; a database is created on it). Skipped when neither is there.
import { randomBytes } from 'node:crypto';
import { createDatabase, postgresBinDir, startCluster } from '../lib/postgres-cluster.mjs';
import { startCofferd } from './cofferd.mjs';
import { ops, startServiceDaemon } from './coffer-ops.mjs';
import { LOW_KDF } from './fixtures.mjs';
import { measureSideBySide } from './load.mjs';
import { openConnections } from './ndjson-client.mjs';
import { ratio } from './stats.mjs';
import { fmtRatio, LOAD_COLUMNS, loadRow } from './table.mjs';

export const name = 'postgres';
export const title = 'PostgreSQL backend vs files: cached reads and grouped writes, 1 and 2 daemons';

async function databaseUrl(ctx) {
  const given = process.env.COFFER_BENCH_POSTGRES_URL;
  const database = `coffer_bench_${randomBytes(6).toString('hex')}`;
  if (given) {
    await createDatabase(given, database);
    const url = new URL(given);
    url.pathname = `/${database}`;
    return url.toString();
  }
  ctx.progress.step('starting a throwaway PostgreSQL cluster');
  const cluster = startCluster({ durable: true });
  ctx.defer(() => cluster.stop());
  await createDatabase(cluster.adminUrl, database);
  return cluster.url(database);
}

export async function run(ctx) {
  if (!process.env.COFFER_BENCH_POSTGRES_URL && !postgresBinDir()) {
    return { skipped: 'no PostgreSQL (apt-get install -y postgresql, or COFFER_BENCH_POSTGRES_URL)' };
  }
  const url = await databaseUrl(ctx);
  const files = await startServiceDaemon(ctx, { label: 'files cofferd' });
  const stored = await startServiceDaemon(ctx, { args: ['--persist-sessions', 'on'], label: 'files cofferd, stored sessions' });
  const one = await startServiceDaemon(ctx, { args: ['--store', url], label: 'postgres cofferd' });
  const second = await startCofferd(ctx.tempDir(), [...LOW_KDF, '--store', url]);
  ctx.defer(() => second.stop());
  const pool = async (n) => {
    // Half the connections on each daemon: callers alternate between them.
    const a = await one.pool(Math.ceil(n / 2));
    const b = await openConnections(second.socketPath, Math.floor(n / 2));
    ctx.defer(() => b.forEach((c) => c.close()));
    return a.flatMap((c, i) => (b[i] ? [c, b[i]] : [c]));
  };
  const backends = [
    ['files', files, (n) => files.pool(n), files.daemon.pid],
    ['stored', stored, (n) => stored.pool(n), stored.daemon.pid],
    ['pg1', one, (n) => one.pool(n), one.daemon.pid],
    // Two processes serve this one: server CPU is not shown (one pid would be half the story).
    ['pg2', one, pool, undefined],
  ];
  const shapes = [
    ['read', 1],
    ['read', 50],
    ['update', 8],
    ['update', 64],
  ];
  const cases = [];
  for (const [op, clients] of shapes) {
    for (const [backend, d, connect, pid] of backends) {
      const where = { files: 'files', stored: 'files, stored sessions', pg1: 'PostgreSQL, 1 daemon', pg2: 'PostgreSQL, 2 daemons' }[backend];
      const connections = await connect(op === 'read' ? clients : Math.min(clients, 8));
      cases.push({
        key: `${backend}_${op}_${clients}`,
        label: `${op === 'read' ? 'encrypted.get' : 'encrypted.update, 1 service'}, ${where}, ${clients} client${clients > 1 ? 's' : ''}`,
        connections,
        clients,
        op: op === 'read' ? ops.encryptedGet(d.main) : ops.encryptedUpdate(d.main),
        pid,
      });
    }
  }
  const r = await measureSideBySide(cases, ctx.timing);
  const ratios = {};
  const rows = [];
  for (const c of cases) {
    const [backend, ...rest] = c.key.split('_');
    const shape = rest.join('_');
    let shown = '';
    if (backend !== 'files') {
      ratios[`${backend}VsFiles_${shape}`] = ratio(r[c.key].rps, r[`files_${shape}`].rps);
      shown = fmtRatio(ratios[`${backend}VsFiles_${shape}`], 'files');
    }
    rows.push(loadRow(r[c.key], { ratio: shown }));
  }
  return {
    results: { ...r, ratios },
    table: {
      title,
      columns: LOAD_COLUMNS,
      rows,
      notes: [
        'Reads: every read served from memory first asks PostgreSQL for the row revision (one SELECT), as a file read stats the file.',
        'Updates: one compare-and-set statement per group commit; with 2 daemons a group that lost the race is applied again.',
        'Stored sessions (on with PostgreSQL, --persist-sessions on for files): one version check of the record per call (a stat; a SELECT on PostgreSQL).',
        'Update clients share at most 8 connections.',
      ],
    },
  };
}
