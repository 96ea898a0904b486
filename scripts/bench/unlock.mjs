// Unlock under load: cofferd with its default Argon2id limits (MODERATE: 3 passes, 256 MiB), and
// other clients reading while 2 unlocks run without pause (each starts again as soon as it ends),
// against the same readers with no unlock running, in interleaved rounds. Readers are paced
// (1 ms between calls, 4 clients on their own connections) to measure the latency an ordinary
// client sees, not a saturated server's queueing.
import { SERVICE } from './coffer-ops.mjs';
import { startCofferd } from './cofferd.mjs';
import { createUnlockedUsers, PASSWORD, value1KiB } from './fixtures.mjs';
import { measureSideBySide } from './load.mjs';
import { openConnections } from './ndjson-client.mjs';
import { ratio } from './stats.mjs';
import { fmtMs, fmtRatio, LOAD_COLUMNS, loadRow } from './table.mjs';

export const name = 'unlock';
export const title = 'Reads while 2 unlocks run (Argon2id at the default MODERATE limits)';

const READERS = 4;
const UNLOCKERS = ['unlock-a', 'unlock-b'];

/** Keeps one unlock of `username` in flight until stopped; collects how long each took. */
function unlockLoop(conn, username, durations) {
  let running = true;
  let done = Promise.resolve();
  return {
    start() {
      running = true;
      done = (async () => {
        while (running) {
          const t0 = performance.now();
          await conn.call('users.unlock', { username, password: PASSWORD });
          durations.push(performance.now() - t0);
        }
      })();
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

export async function run(ctx) {
  const daemon = await startCofferd(ctx.tempDir());
  ctx.defer(() => daemon.stop());
  const setup = await openConnections(daemon.socketPath, 2);
  ctx.defer(() => setup.forEach((c) => c.close()));
  ctx.progress.step('creating 3 users at MODERATE limits');
  const [session] = await createUnlockedUsers(setup, ['reader', ...UNLOCKERS], ctx.progress, 'users');
  await setup[0].call('services.encrypted.set', { session, service: SERVICE, data: value1KiB('enc') });

  const unlockDurations = [];
  const loops = UNLOCKERS.map((u, i) => unlockLoop(setup[i], u, unlockDurations));
  const background = {
    start: async () => loops.forEach((l) => l.start()),
    stop: async () => Promise.all(loops.map((l) => l.stop())),
  };
  const readers = await openConnections(daemon.socketPath, READERS);
  ctx.defer(() => readers.forEach((c) => c.close()));
  const status = (conn) => conn.call('daemon.status', {});
  const get = (conn) => conn.call('services.encrypted.get', { session, service: SERVICE });
  const base = { connections: readers, clients: READERS, thinkMs: 1, pid: daemon.pid };
  const cases = [
    { ...base, key: 'idle_status', label: 'daemon.status, idle', op: status },
    { ...base, key: 'busy_status', label: 'daemon.status, 2 unlocks running', op: status, background },
    { ...base, key: 'idle_get', label: 'encrypted.get, idle', op: get },
    { ...base, key: 'busy_get', label: 'encrypted.get, 2 unlocks running', op: get, background },
  ];
  const r = await measureSideBySide(cases, ctx.timing);
  const unlockMs = unlockDurations.reduce((a, b) => a + b, 0) / unlockDurations.length;
  const results = {
    readers: READERS,
    idle: { status: r.idle_status, get: r.idle_get },
    busy: { status: r.busy_status, get: r.busy_get },
    unlocks: unlockDurations.length,
    meanUnlockMs: unlockMs,
    ratios: {
      statusP99BusyVsIdle: ratio(r.busy_status.latencyMs.p99, r.idle_status.latencyMs.p99),
      getP99BusyVsIdle: ratio(r.busy_get.latencyMs.p99, r.idle_get.latencyMs.p99),
    },
  };
  return {
    results,
    table: {
      title,
      columns: LOAD_COLUMNS,
      rows: [
        loadRow(r.idle_status),
        loadRow(r.busy_status, { ratio: fmtRatio(results.ratios.statusP99BusyVsIdle, 'idle p99') }),
        loadRow(r.idle_get),
        loadRow(r.busy_get, { ratio: fmtRatio(results.ratios.getP99BusyVsIdle, 'idle p99') }),
      ],
      notes: [
        `${READERS} paced readers (1 ms pause between calls). ${unlockDurations.length} unlocks completed, ` +
          `${fmtMs(unlockMs)} ms each on average while the readers ran.`,
      ],
    },
  };
}
