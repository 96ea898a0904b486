// The load generator: N concurrent closed-loop clients over M connections, for a fixed duration
// or a fixed number of calls, timing every call; and the runner that measures several cases side
// by side in interleaved rounds (A B A B …) so that a slow patch on a shared machine lands on
// every case alike instead of on whichever happened to run then.
import { cpuSecondsOf, ownCpuSeconds } from './proc.mjs';
import { Samples, summarize } from './stats.mjs';

/**
 * Runs `clients` callers at once; caller k uses connections[k % connections.length] and calls
 * `op(connection, k, seq)`, waiting for each answer before its next call (a closed loop: what a
 * web worker does). Stops at `durationMs` or after `ops` calls in total, whichever comes first.
 * `thinkMs` pauses each caller between calls (paced readers). Errors are counted, not thrown.
 */
export async function runLoad({ connections, clients, op, durationMs = Infinity, ops = Infinity, thinkMs = 0 }) {
  const samples = new Samples();
  let issued = 0;
  let errors = 0;
  let firstError;
  const started = performance.now();
  const deadline = started + durationMs;
  const caller = async (k) => {
    const connection = connections[k % connections.length];
    let seq = 0;
    while (issued < ops && performance.now() < deadline) {
      issued++;
      const t0 = performance.now();
      try {
        await op(connection, k, seq++);
        samples.push(performance.now() - t0);
      } catch (error) {
        errors++;
        firstError ??= error;
      }
      if (thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, thinkMs));
    }
  };
  await Promise.all(Array.from({ length: clients }, (_, k) => caller(k)));
  return { ops: samples.length, errors, firstError, elapsedMs: performance.now() - started, samples };
}

/**
 * Measures `cases` side by side: a warm-up of each, then `rounds` rounds in which every case runs
 * for `durationMs` in turn. A case is
 *   { key, label, connections, clients, op, pid?, thinkMs?, counters?, background? }
 * where `pid` is the server process whose CPU time is read around each round, `counters`
 * (async () => ({name: n}), e.g. cofferd's committed-writes count) is read before and after each
 * round, and `background` ({start, stop}) is other work kept running during the case's runs
 * (e.g. unlocks), started before and stopped after each.
 * Returns one result per case, keyed by `key`: throughput over all rounds, latency percentiles
 * over every call, per-round req/s (the spread shows the noise), CPU of server and client, and
 * counter deltas. Any failed call fails the bench: a benchmark of errors is meaningless.
 */
export async function measureSideBySide(cases, { rounds, durationMs, warmupMs, progress }) {
  const acc = new Map(cases.map((c) => [c.key, { samples: new Samples(), ops: 0, ms: 0, serverCpu: 0, clientCpu: 0, rps: [], counters: {} }]));
  for (const c of cases) {
    progress?.step(`${c.label}: warm-up`);
    await c.background?.start();
    const warm = await runLoad({ ...c, durationMs: warmupMs });
    await c.background?.stop();
    failOnErrors(c, warm);
  }
  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) {
      progress?.step(`${c.label}: round ${round}/${rounds}`);
      const a = acc.get(c.key);
      const before = await c.counters?.();
      await c.background?.start();
      const server0 = c.pid ? cpuSecondsOf(c.pid) : null;
      const client0 = ownCpuSeconds();
      const run = await runLoad({ ...c, durationMs });
      const client1 = ownCpuSeconds();
      const server1 = c.pid ? cpuSecondsOf(c.pid) : null;
      await c.background?.stop();
      const after = await c.counters?.();
      failOnErrors(c, run);
      a.samples.append(run.samples);
      a.ops += run.ops;
      a.ms += run.elapsedMs;
      a.rps.push((run.ops / run.elapsedMs) * 1000);
      a.clientCpu += client1 - client0;
      if (server0 !== null && server1 !== null) a.serverCpu += server1 - server0;
      for (const [name, value] of Object.entries(after ?? {})) a.counters[name] = (a.counters[name] ?? 0) + value - before[name];
    }
  }
  return Object.fromEntries(cases.map((c) => [c.key, resultOf(c, acc.get(c.key))]));
}

function failOnErrors(c, run) {
  if (run.errors > 0) {
    throw new Error(`${c.label}: ${run.errors} of ${run.ops + run.errors} calls failed; first: ${run.firstError?.message ?? run.firstError}`);
  }
}

function round1(x) {
  return Math.round(x * 10) / 10;
}

function resultOf(c, a) {
  const latency = summarize(a.samples);
  const seconds = a.ms / 1000;
  return {
    label: c.label,
    clients: c.clients,
    connections: c.connections.length,
    ops: a.ops,
    seconds: Math.round(seconds * 1000) / 1000,
    rps: a.ops / seconds,
    rpsPerRound: a.rps.map(Math.round),
    latencyMs: latency,
    // Percent of one core over the measured time; 200 % would be both cores of this machine.
    serverCpuPct: c.pid ? round1((a.serverCpu / seconds) * 100) : null,
    // Server CPU time per call: unlike req/s, it does not depend on whether the load generator
    // (sharing this machine's cores) kept the server busy.
    serverCpuUsPerCall: c.pid && a.ops ? round1((a.serverCpu / a.ops) * 1e6) : null,
    clientCpuPct: round1((a.clientCpu / seconds) * 100),
    counters: a.counters,
  };
}
