// Growth with users on disk: one data dir per size (10, 1 000, 10 000 users), each with one
// password user (`probe`) made through RPC and the rest added to users.json by the bench, every
// one of them owning an unencrypted services file with a 1 KiB value written through cofferd.
// Per size: start-up time (median of several restarts) and RSS, RSS once every user's file is
// cached, then serial get / update of a different user's file on each call and daemon.status,
// with the three daemons running at once and measured in interleaved rounds.
import { startCofferd } from './cofferd.mjs';
import { SERVICE } from './coffer-ops.mjs';
import { addPasswordlessUsers, createUnlockedUsers, inPool, LOW_KDF, userNames, value1KiB } from './fixtures.mjs';
import { measureSideBySide } from './load.mjs';
import { openConnections } from './ndjson-client.mjs';
import { median, ratio } from './stats.mjs';
import { fmtMiB, fmtMs, fmtRatio } from './table.mjs';

async function restartTimed(ctx, dir, previous, runs) {
  const times = [];
  let daemon = previous;
  for (let i = 0; i < runs; i++) {
    await daemon?.stop();
    daemon = await startCofferd(dir, LOW_KDF);
    times.push(daemon.startupMs);
  }
  ctx.defer(() => daemon.stop());
  return { daemon, startupMs: median(times), startupRunsMs: times.map(Math.round) };
}

/** Builds the data dir for `total` users and returns the running daemon and its figures. */
async function prepare(ctx, total, startupRuns) {
  const dir = ctx.tempDir();
  let daemon = await startCofferd(dir, LOW_KDF);
  let conns = await openConnections(daemon.socketPath, 1);
  await createUnlockedUsers(conns, ['probe'], null);
  conns[0].close();
  await daemon.stop();
  const bulk = userNames('b', total - 1);
  addPasswordlessUsers(daemon.dataDir, bulk);

  daemon = await startCofferd(dir, LOW_KDF);
  conns = await openConnections(daemon.socketPath, 16);
  await inPool(bulk, 64, (username, i) => conns[i % 16].call('services.unencrypted.set', { username, service: SERVICE, data: value1KiB(username) }), ctx.progress, `${total} users: writing files`);
  conns.forEach((c) => c.close());

  // Restart on the full data dir: what start-up costs with this many users.
  const started = await restartTimed(ctx, dir, daemon, startupRuns);
  daemon = started.daemon;
  const rssAtStart = daemon.memory()?.rssMiB;
  conns = await openConnections(daemon.socketPath, 16);
  ctx.defer(() => conns.forEach((c) => c.close()));
  await inPool(bulk, 64, (username, i) => conns[i % 16].call('services.unencrypted.get', { username, service: SERVICE }), ctx.progress, `${total} users: reading every file once`);
  const status = await conns[0].call('daemon.status', {});
  return {
    daemon,
    conns,
    bulk,
    figures: { users: status.users?.total ?? total, startupMs: started.startupMs, startupRunsMs: started.startupRunsMs, rssAtStartMiB: rssAtStart, rssAllCachedMiB: daemon.memory()?.rssMiB },
  };
}

/** Spreads calls over users: a different file each call, the same sequence at every size. */
function spreadUser(bulk, k, seq) {
  return bulk[(k * 7919 + seq * 104_729) % bulk.length];
}

export async function runUsersOnDisk(ctx) {
  const sizes = ctx.settings.growthUsers;
  const startupRuns = ctx.quick ? 1 : 3;
  const prepared = [];
  for (const total of sizes) {
    ctx.progress.step(`preparing ${total} users`);
    prepared.push([total, await prepare(ctx, total, startupRuns)]);
  }
  const cases = [];
  for (const [total, p] of prepared) {
    const base = { connections: p.conns.slice(0, 1), clients: 1, pid: p.daemon.pid };
    cases.push(
      { ...base, key: `get_${total}`, label: `unencrypted.get, ${total} users`, op: (c, k, seq) => c.call('services.unencrypted.get', { username: spreadUser(p.bulk, k, seq), service: SERVICE }) },
      {
        ...base,
        key: `update_${total}`,
        label: `unencrypted.update, ${total} users`,
        op: (c, k, seq) => c.call('services.unencrypted.update', { username: spreadUser(p.bulk, k, seq), service: SERVICE, patch: value1KiB(`${k}-${seq}`) }),
      },
      { ...base, key: `status_${total}`, label: `daemon.status, ${total} users`, op: (c) => c.call('daemon.status', {}) },
    );
  }
  const r = await measureSideBySide(cases, ctx.timing);
  const [first, last] = [sizes[0], sizes[sizes.length - 1]];
  const flat = (kind) => ratio(r[`${kind}_${last}`].latencyMs.p50, r[`${kind}_${first}`].latencyMs.p50);
  const flatness = { read: flat('get'), write: flat('update'), status: flat('status'), p99: { read: ratio(r[`get_${last}`].latencyMs.p99, r[`get_${first}`].latencyMs.p99), write: ratio(r[`update_${last}`].latencyMs.p99, r[`update_${first}`].latencyMs.p99) } };
  const rows = prepared.map(([total, p]) => [
    total.toLocaleString('en-US'),
    fmtMs(p.figures.startupMs),
    fmtMiB(p.figures.rssAtStartMiB),
    fmtMiB(p.figures.rssAllCachedMiB),
    ...['get', 'update', 'status'].flatMap((kind) => {
      const x = r[`${kind}_${total}`].latencyMs;
      return [`${fmtMs(x.p50)} / ${fmtMs(x.p99)}`];
    }),
  ]);
  rows.push([
    `${last}/${first}`,
    fmtRatio(ratio(prepared.at(-1)[1].figures.startupMs, prepared[0][1].figures.startupMs), ''),
    '',
    '',
    fmtRatio(flatness.read, 'p50'),
    fmtRatio(flatness.write, 'p50'),
    fmtRatio(flatness.status, 'p50'),
  ]);
  return {
    results: { sizes: Object.fromEntries(prepared.map(([total, p]) => [total, p.figures])), ...r, flatness },
    table: {
      title: 'Growth: users on disk (serial calls, each to a different user)',
      columns: ['users', 'start-up ms', 'RSS at start', 'RSS all cached', 'get p50/p99 ms', 'update p50/p99 ms', 'status p50/p99 ms'],
      rows,
      notes: [
        'One password user made through RPC; the others are passwordless users added to users.json by the bench, each with an unencrypted services file written through cofferd.',
        'Start-up: spawn to "listening", Node start included (median of restarts). "All cached": after one get of every user\'s file.',
      ],
    },
  };
}
