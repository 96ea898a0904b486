// Coffer vs Redis, head to head in interleaved rounds: Redis GET/SET of a 1 KiB value with
// `appendfsync always` against cofferd's encrypted get/update of a 1 KiB value, at the same
// concurrencies, each client on its own connection. Redis appends to one log and fsyncs once per
// event-loop pass (so it groups commits too); cofferd replaces a whole file per commit.
import { ops, startServiceDaemon } from './coffer-ops.mjs';
import { value1KiB } from './fixtures.mjs';
import { measureSideBySide } from './load.mjs';
import { openConnections } from './ndjson-client.mjs';
import { RespConnection, redisVersion, startRedis } from './redis.mjs';
import { ratio } from './stats.mjs';
import { fmtRatio, LOAD_COLUMNS, loadRow } from './table.mjs';

export const name = 'redis';
export const title = 'Coffer vs Redis (appendonly yes, appendfsync always)';

export async function run(ctx) {
  const version = redisVersion();
  if (!version) return { skipped: 'redis-server is not installed (Debian: apt-get install redis-server); Coffer/Redis ratios not measured' };
  const redis = await startRedis(ctx.tempDir());
  ctx.defer(() => redis.stop());
  const files = ctx.settings.files;
  const d = await startServiceDaemon(ctx, { files, label: 'cofferd' });
  const redisPool = async (n) => {
    const conns = await openConnections(redis.socketPath, n, RespConnection.open);
    ctx.defer(() => conns.forEach((c) => c.close()));
    return conns;
  };
  const setup = (await redisPool(1))[0];
  await setup.command('SET', 'bench', JSON.stringify(value1KiB('redis')));

  const redisGet = (conn) => conn.command('GET', 'bench');
  const redisSet = (conn, k, seq) => conn.command('SET', 'bench', JSON.stringify(value1KiB(`${k}-${seq}`)));
  let spread = 0;
  const redisSetSpread = (conn, k, seq) => conn.command('SET', `bench:${spread++ % files}`, JSON.stringify(value1KiB(`${k}-${seq}`)));

  // [key, redis label, redis op, coffer label, coffer op, clients]
  const pairs = [
    ['get1', 'GET, serial', redisGet, 'encrypted.get, serial', ops.encryptedGet(d.main), 1],
    ['get50', 'GET, 50 conns', redisGet, 'encrypted.get, 50 conns', ops.encryptedGet(d.main), 50],
    ['set1', 'SET, 1 key, 1 client', redisSet, 'encrypted.update, 1 file, 1 client', ops.encryptedUpdate(d.main), 1],
    ['set8', 'SET, 1 key, 8 clients', redisSet, 'encrypted.update, 1 file, 8 clients', ops.encryptedUpdate(d.main), 8],
    ['set64', 'SET, 1 key, 64 clients', redisSet, 'encrypted.update, 1 file, 64 clients', ops.encryptedUpdate(d.main), 64],
    [
      'setSpread64',
      `SET, ${files} keys, 64 clients`,
      redisSetSpread,
      `encrypted.update, ${files} files, 64 clients`,
      ops.encryptedUpdateSpread(d.fileSessions),
      64,
    ],
  ];
  const cases = [];
  for (const [key, redisLabel, redisOp, cofferLabel, cofferOp, clients] of pairs) {
    cases.push(
      { key: `redis_${key}`, label: `Redis ${redisLabel}`, connections: await redisPool(clients), clients, op: redisOp, pid: redis.pid },
      { key: `coffer_${key}`, label: `Coffer ${cofferLabel}`, connections: await d.pool(clients), clients, op: cofferOp, pid: d.daemon.pid },
    );
  }
  const r = await measureSideBySide(cases, ctx.timing);
  const ratios = {
    encGetVsGet1: ratio(r.coffer_get1.rps, r.redis_get1.rps),
    encGetVsGet50: ratio(r.coffer_get50.rps, r.redis_get50.rps),
    updateVsSet1: ratio(r.coffer_set1.rps, r.redis_set1.rps),
    updateVsSet8: ratio(r.coffer_set8.rps, r.redis_set8.rps),
    updateVsSet64: ratio(r.coffer_set64.rps, r.redis_set64.rps),
    updateVsSetSpread64: ratio(r.coffer_setSpread64.rps, r.redis_setSpread64.rps),
  };
  const ratioKey = { get1: 'encGetVsGet1', get50: 'encGetVsGet50', set1: 'updateVsSet1', set8: 'updateVsSet8', set64: 'updateVsSet64', setSpread64: 'updateVsSetSpread64' };
  const rows = [];
  for (const [key] of pairs) {
    rows.push(loadRow(r[`redis_${key}`]), loadRow(r[`coffer_${key}`], { ratio: fmtRatio(ratios[ratioKey[key]], 'Redis') }));
  }
  return {
    results: { redisVersion: version, files, ...r, ratios },
    table: {
      title,
      columns: LOAD_COLUMNS,
      rows,
      notes: [`${version}; Redis's own figures come from the same load generator and client machine.`],
    },
  };
}
