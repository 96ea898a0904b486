#!/usr/bin/env node
// The load suite (Coffer issue 14): `npm run load`. A well-behaved client's latency idle, then
// while 1 000 callers (closed loops over 250 connections), 200 clients that send one byte a
// second and 50 clients that pipeline rpc.discover and never read all run at once; new
// connections are opened all along and timed to their first answer. Before the load, the same
// client with every core kept busy by spin loops (--floor-s): the p99 this machine gives any client
// when its CPUs are saturated, which the loaded p99 is also compared with. The well-behaved client
// runs in its own process (this one is busy driving the load). The last line is the summary
// (with --json, the same figures as JSON); exit 1 if a probe call or new connection failed.
// Without --socket it starts its own compiled daemon; the tap test points it at a running one.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startCofferd } from './bench/cofferd.mjs';
import { connectUnix, NdjsonConnection, openConnections } from './bench/ndjson-client.mjs';
import { cpuSecondsOf, memoryOf } from './bench/proc.mjs';
import { Samples, summarize } from './bench/stats.mjs';

const { values: opts } = parseArgs({
  options: {
    callers: { type: 'string', default: '1000' },
    'caller-connections': { type: 'string', default: '250' },
    slow: { type: 'string', default: '200' },
    'non-readers': { type: 'string', default: '50' },
    'idle-s': { type: 'string', default: '10' },
    'floor-s': { type: 'string', default: '10' },
    'loaded-s': { type: 'string', default: '30' },
    'settle-s': { type: 'string', default: '10' },
    socket: { type: 'string' },
    pid: { type: 'string' },
    json: { type: 'boolean', default: false },
    probe: { type: 'string' },
  },
});
const int = (name, min = 0) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${opts[name]}`);
    process.exit(3);
  }
  return n;
};
const log = (text) => process.stderr.write(`load: ${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const round = (n, digits = 2) => (n === undefined || n === null || Number.isNaN(n) ? null : Number(n.toFixed(digits)));

/**
 * The well-behaved client (a child process: `--probe <socket>`): daemon.status in a closed loop
 * for --loaded-s seconds, plus a new connection every 250 ms timed from connect to its first answer.
 */
async function probe(socketPath, durationMs) {
  const conn = await NdjsonConnection.open(socketPath);
  const samples = new Samples();
  const accepts = new Samples();
  let errors = 0;
  let firstError;
  const deadline = performance.now() + durationMs;
  const fresh = (async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        const c = await NdjsonConnection.open(socketPath);
        await c.call('daemon.status');
        accepts.push(performance.now() - t0);

        c.close();
      } catch (error) {
        errors++;
        firstError ??= String(error?.message ?? error);
      }
      await sleep(250);
    }
  })();
  while (performance.now() < deadline) {
    const t0 = performance.now();
    try {
      await conn.call('daemon.status');
      samples.push(performance.now() - t0);
    } catch (error) {
      errors++;
      firstError ??= String(error?.message ?? error);
    }
  }
  await fresh;
  conn.close();
  return { calls: summarize(samples), accepts: summarize(accepts), errors, firstError };
}

function runProbe(socketPath, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--probe', socketPath, '--loaded-s', String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`probe exited ${code}`))));
  });
}

/** 50 clients that pipeline rpc.discover (79 KB answers) and never read. */
async function startNonReaders(socketPath, count) {
  const frame = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'rpc.discover' })}\n`.repeat(500);
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const socket = await connectUnix(socketPath);
    socket.pause();
    socket.on('error', () => undefined);
    socket.write(frame);
    sockets.push(socket);
  }
  return { stop: () => sockets.forEach((s) => s.destroy()), closedByDaemon: () => sockets.filter((s) => s.destroyed || s.readableEnded).length };
}

/** 200 clients that send a status request one byte a second (a frame takes them a minute). */
async function startSlow(socketPath, count) {
  const frame = Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'daemon.status', params: {} })}\n`);
  const sockets = [];
  for (let i = 0; i < count; i++) {
    const socket = await connectUnix(socketPath);
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    sockets.push(socket);
  }
  let at = 0;
  const timer = setInterval(() => {
    for (const s of sockets) if (!s.destroyed) s.write(frame.subarray(at % frame.length, (at % frame.length) + 1));
    at++;
  }, 1000);
  return { stop: () => (clearInterval(timer), sockets.forEach((s) => s.destroy())), open: () => sockets.filter((s) => !s.destroyed).length };
}

/** 1 000 closed-loop callers over 250 connections: status, a small unencrypted get, users.list. */
async function startCallers(socketPath, callers, connectionCount) {
  const connections = await openConnections(socketPath, connectionCount);
  let running = true;
  let calls = 0;
  let errors = 0;
  const ops = [
    (c) => c.call('daemon.status'),
    (c) => c.call('services.unencrypted.get', { username: 'load', service: 'app' }),
    (c) => c.call('users.list'),
  ];
  const loops = Array.from({ length: callers }, async (_, k) => {
    const conn = connections[k % connections.length];
    while (running) {
      try {
        await ops[k % ops.length](conn);
        calls++;
      } catch {
        errors++;
        if (conn.socket.destroyed) return;
      }
    }
  });
  return {
    calls: () => calls,
    errors: () => errors,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      connections.forEach((c) => c.close());
    },
  };
}

/**
 * The probe again with the daemon idle but every core kept busy by a spin loop at the same
 * priority: the p99 a client sees on this machine when its CPUs are saturated, whatever the
 * daemon does. The load mix saturates them too (the generator runs here), so this is the floor
 * of the loaded figure, and the loaded/floor ratio is what the daemon's scheduling adds.
 */
async function probeOnBusyCores(socketPath, seconds) {
  // Each spins to a deadline of its own too, so none is left behind if this process is killed.
  const spin = `const end = Date.now() + ${(seconds + 5) * 1000}; while (Date.now() < end) {}`;
  const spinners = os.cpus().map(() => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }));
  try {
    await sleep(200);
    return await runProbe(socketPath, seconds);
  } finally {
    for (const spinner of spinners) spinner.kill('SIGKILL');
  }
}

async function main() {
  if (opts.probe) {
    process.stdout.write(JSON.stringify(await probe(opts.probe, int('loaded-s', 1) * 1000)));
    return;
  }
  let daemon;
  let tmp;
  let socketPath = opts.socket;
  let pid = opts.pid === undefined ? undefined : Number(opts.pid);
  if (socketPath === undefined) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'coffer-load-'));
    daemon = await startCofferd(tmp, []);
    ({ socketPath, pid } = daemon);
  }
  const setup = await NdjsonConnection.open(socketPath);
  await setup.call('users.create', { username: 'load' }).catch(() => undefined);
  await setup.call('services.unencrypted.set', { username: 'load', service: 'app', data: { wallet: 'w1', labels: { a: 1, b: 2 } } });
  setup.close();
  const rss = () => (pid ? memoryOf(pid) : null);
  const rssBefore = rss()?.rssMiB;

  log(`idle: the well-behaved client alone for ${int('idle-s', 1)} s`);
  const idle = await runProbe(socketPath, int('idle-s', 1));

  const floorS = int('floor-s');
  let floor;
  if (floorS > 0) {
    log(`floor: the well-behaved client alone, every core kept busy by a spin loop, for ${floorS} s`);
    floor = await probeOnBusyCores(socketPath, floorS);
  }

  const counts = { callers: int('callers', 1), callerConnections: int('caller-connections', 1), slow: int('slow'), nonReaders: int('non-readers') };
  log(`loaded: ${counts.callers} callers over ${counts.callerConnections} connections, ${counts.slow} slow, ${counts.nonReaders} non-reading clients`);
  const nonReaders = await startNonReaders(socketPath, counts.nonReaders);
  const slow = await startSlow(socketPath, counts.slow);
  const callers = await startCallers(socketPath, counts.callers, counts.callerConnections);
  let peak = rssBefore ?? 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rss()?.rssMiB ?? 0)), 250);
  await sleep(1000);
  const callsBefore = callers.calls();
  const cpuBefore = pid ? cpuSecondsOf(pid) : null;
  const t0 = performance.now();
  const loaded = await runProbe(socketPath, int('loaded-s', 1));
  const loadedCalls = callers.calls() - callsBefore;
  const callerRate = loadedCalls / ((performance.now() - t0) / 1000);
  // The daemon's CPU per call answered while loaded (its own process, from /proc): what a change to
  // how it reads and schedules costs, which calls/s alone hides (the load generator shares the cores).
  const cpuAfter = pid ? cpuSecondsOf(pid) : null;
  const daemonCpuUsPerCall = cpuBefore === null || cpuAfter === null || loadedCalls === 0 ? null : ((cpuAfter - cpuBefore) * 1e6) / (loadedCalls + loaded.calls.n);
  const status = await (async () => {
    const c = await NdjsonConnection.open(socketPath);
    const s = await c.call('daemon.status');
    c.close();
    return s;
  })();
  const closedNonReaders = nonReaders.closedByDaemon();
  const slowOpen = slow.open();
  await callers.stop();
  slow.stop();
  nonReaders.stop();
  clearInterval(sampler);
  const peakHwm = rss()?.peakMiB;
  await sleep(int('settle-s') * 1000);
  const rssAfter = rss()?.rssMiB;
  if (daemon) await daemon.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });

  const p99Ratio = loaded.calls.p99 / idle.calls.p99;
  const summary = {
    ...counts,
    idle: { p50: round(idle.calls.p50), p99: round(idle.calls.p99), n: idle.calls.n },
    loaded: { p50: round(loaded.calls.p50), p99: round(loaded.calls.p99), n: loaded.calls.n },
    p99Ratio: round(p99Ratio, 1),
    busyCores: floor ? { p50: round(floor.calls.p50), p99: round(floor.calls.p99), n: floor.calls.n } : null,
    p99OverBusyCores: floor ? round(loaded.calls.p99 / floor.calls.p99, 1) : null,
    newConnections: { n: loaded.accepts.n, p99: round(loaded.accepts.p99), max: round(loaded.accepts.max) },
    probeErrors: idle.errors + loaded.errors + (floor?.errors ?? 0),
    firstError: idle.firstError ?? loaded.firstError ?? floor?.firstError,
    callerCallsPerS: Math.round(callerRate),
    daemonCpuUsPerCall: round(daemonCpuUsPerCall, 1),
    callerErrors: callers.errors(),
    connectionsDuringLoad: status.connections,
    queuedAnswerBytesDuringLoad: status.queuedAnswerBytes,
    nonReadersClosed: closedNonReaders,
    slowStillOpen: slowOpen,
    rssMiB: { before: round(rssBefore, 0), peak: round(Math.max(peak, peakHwm ?? 0), 0), after: round(rssAfter, 0) },
  };
  const ok = summary.probeErrors === 0 && loaded.accepts.n > 0;
  const line =
    `load: well-behaved client p50/p99 ${summary.idle.p50}/${summary.idle.p99} ms idle, ${summary.loaded.p50}/${summary.loaded.p99} ms loaded ` +
    `(p99 ${summary.p99Ratio}x${floor ? `; ${summary.busyCores.p99} ms with the cores merely busy, ${summary.p99OverBusyCores}x that` : ''}; ${counts.callers} callers at ${summary.callerCallsPerS} calls/s, ${counts.slow} slow, ${counts.nonReaders} non-reading; ` +
    `daemon CPU ${summary.daemonCpuUsPerCall ?? '?'} µs/call); ` +
    `new connections answered in ${summary.newConnections.p99} ms p99, ${summary.newConnections.max} ms max (${summary.newConnections.n}); ` +
    `${summary.probeErrors} errors; queued answers ${(status.queuedAnswerBytes / 1048576).toFixed(1)} MiB; ` +
    `RSS ${summary.rssMiB.before} MiB before, peak ${summary.rssMiB.peak} MiB, ${summary.rssMiB.after} MiB after — ${ok ? 'PASS' : 'FAIL'}`;
  console.log(opts.json ? JSON.stringify({ ...summary, ok }) : line);
  if (opts.json) log(line);
  process.exit(ok ? 0 : 1);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
