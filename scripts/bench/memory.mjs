// Memory: cofferd's resident set (VmRSS from /proc) idle, with 1 000 idle connections (each has
// made one call), and with 1 000 unlocked users (then each with a cached 1 KiB encrypted
// service). Connections and users are measured on two fresh daemons so neither colours the other.
// RSS is read after a short pause so that freed buffers settle; V8 may still hold garbage, so
// treat per-item figures as an upper bound.
import { startCofferd } from './cofferd.mjs';
import { SERVICE } from './coffer-ops.mjs';
import { createUnlockedUsers, inPool, LOW_KDF, userNames, value1KiB } from './fixtures.mjs';
import { openConnections } from './ndjson-client.mjs';
import { openFileLimit } from './proc.mjs';
import { fmtMiB } from './table.mjs';

export const name = 'memory';
export const title = 'Memory (RSS of cofferd)';

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

async function rssOf(daemon) {
  await settle();
  return daemon.memory()?.rssMiB;
}

export async function run(ctx) {
  const notes = [];
  let connections = ctx.settings.idleConnections;
  const limit = openFileLimit();
  if (Number.isFinite(limit) && limit < connections + 100) {
    connections = Math.max(10, limit - 100);
    notes.push(`ulimit -n is ${limit}: measured ${connections} connections instead of ${ctx.settings.idleConnections}`);
  }
  const users = ctx.settings.memoryUsers;

  const a = await startCofferd(ctx.tempDir(), [...LOW_KDF, '--max-connections', String(connections + 100)]);
  ctx.defer(() => a.stop());
  const idle = await rssOf(a);
  ctx.progress.step(`opening ${connections} connections`);
  const conns = await openConnections(a.socketPath, connections);
  ctx.defer(() => conns.forEach((c) => c.close()));
  await Promise.all(conns.map((c) => c.call('daemon.status', {})));
  const withConnections = await rssOf(a);
  conns.forEach((c) => c.close());
  await a.stop();

  const b = await startCofferd(ctx.tempDir(), LOW_KDF);
  ctx.defer(() => b.stop());
  const idleB = await rssOf(b);
  const setup = await openConnections(b.socketPath, 4);
  ctx.defer(() => setup.forEach((c) => c.close()));
  const sessions = await createUnlockedUsers(setup, userNames('m', users), ctx.progress, `${users} users`);
  const withUsers = await rssOf(b);
  await inPool(sessions, 16, (session, i) => setup[i % 4].call('services.encrypted.set', { session, service: SERVICE, data: value1KiB(String(i)) }), ctx.progress, 'storing a 1 KiB service each');
  const withData = await rssOf(b);
  const status = await setup[0].call('daemon.status', {});

  const perKiB = (total, base, n) => ((total - base) * 1024) / n;
  const results = {
    idleMiB: idle,
    connections,
    withConnectionsMiB: withConnections,
    perConnectionKiB: perKiB(withConnections, idle, connections),
    users,
    unlocked: status.users?.unlocked,
    idleUsersDaemonMiB: idleB,
    withUnlockedUsersMiB: withUsers,
    perUnlockedUserKiB: perKiB(withUsers, idleB, users),
    withCachedDataMiB: withData,
    perCachedServiceKiB: perKiB(withData, withUsers, users),
  };
  const row = (what, mib, per) => [what, fmtMiB(mib), per];
  return {
    results,
    table: {
      title,
      columns: ['state', 'RSS', 'per item'],
      rows: [
        row('idle (fresh daemon, empty data dir)', idle, ''),
        row(`${connections} idle connections`, withConnections, `${results.perConnectionKiB.toFixed(1)} KiB/connection`),
        row(`${users} unlocked users (another fresh daemon)`, withUsers, `${results.perUnlockedUserKiB.toFixed(1)} KiB/user`),
        row(`… and a 1 KiB encrypted service each, cached`, withData, `${results.perCachedServiceKiB.toFixed(1)} KiB/user`),
      ],
      notes,
    },
  };
}
