#!/usr/bin/env node
// Benchmark (not a test): how much do running unlocks slow other clients down?
// Starts the compiled cofferd on a temp dir, creates users, then measures the latency of
// daemon.status calls from one client while another keeps 2 unlocks in flight, against the same
// calls with the daemon idle. Prints a table and a JSON object.
//
//   npm run build && node scripts/bench/unlock-latency.mjs [--quick] [--samples N] [--unlocks N]
//
// Default: the daemon's default KDF limits (libsodium MODERATE); the busy phase lasts until
// --unlocks unlocks have completed. --quick: INTERACTIVE limits and fewer of both, for a smoke run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CofferClient } from '@coffer/client';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const daemonMain = path.join(root, 'daemon/dist/main.js');
const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, samples: { type: 'string' }, unlocks: { type: 'string' } },
});
const quick = values.quick;
const samples = Number(values.samples ?? (quick ? 300 : 2000));
const minUnlocks = Number(values.unlocks ?? (quick ? 6 : 20));
const kdfArgs = quick ? ['--kdf-opslimit', '2', '--kdf-memlimit', String(64 * 1024 * 1024)] : [];
const UNLOCKS_IN_FLIGHT = 2;

if (!existsSync(daemonMain)) {
  console.error('daemon/dist/main.js is missing: run `npm run build` first');
  process.exit(2);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-'));
const socketPath = path.join(dir, 'cofferd.sock');
const daemon = spawn(process.execPath, [daemonMain, '--data-dir', path.join(dir, 'data'), '--socket', socketPath, '--log-level', 'warn', '--log-format', 'json', ...kdfArgs], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const cleanup = () => {
  daemon.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
};

try {
  const watcher = await CofferClient.connect({ socketPath, connectWaitMs: 10_000 });
  const worker = await CofferClient.connect({ socketPath, connectWaitMs: 10_000 });
  const users = Array.from({ length: UNLOCKS_IN_FLIGHT }, (_, i) => ({ username: `bench${i}`, password: `bench-password-${i}` }));
  for (const user of users) await worker.call('users.create', user);

  // Warm up the connection and both JITs, so neither phase pays for it.
  await statusLatencies(watcher, 2000);

  let stop = false;
  const unlockMs = [];
  const unlockLoops = users.map(async (user) => {
    while (!stop) {
      const started = performance.now();
      await worker.call('users.unlock', user);
      unlockMs.push(performance.now() - started);
    }
  });
  // Let both unlocks start before sampling.
  await new Promise((resolve) => setTimeout(resolve, 20));
  // Sample for as long as it takes the unlocks to complete `minUnlocks` times.
  const busy = [];
  while (unlockMs.length < minUnlocks || busy.length < samples) busy.push(...(await statusLatencies(watcher, 50)));
  stop = true;
  await Promise.all(unlockLoops);
  // Idle measured after the busy phase, on the same warmed-up daemon.
  const idle = await statusLatencies(watcher, samples);
  watcher.close();
  worker.close();

  const rows = [
    { phase: 'idle', ...summary(idle) },
    { phase: `${UNLOCKS_IN_FLIGHT} unlocks running`, ...summary(busy) },
    { phase: 'users.unlock itself', ...summary(unlockMs) },
  ];
  console.log(`daemon.status latency (ms), KDF ${quick ? 'INTERACTIVE (--quick)' : 'MODERATE (default)'}, ${os.cpus().length} CPUs`);
  console.log(['phase'.padEnd(22), 'n'.padStart(6), 'p50'.padStart(8), 'p99'.padStart(8), 'max'.padStart(8)].join(' '));
  for (const row of rows) {
    console.log([row.phase.padEnd(22), String(row.n).padStart(6), fmt(row.p50), fmt(row.p99), fmt(row.max)].join(' '));
  }
  console.log(JSON.stringify({ bench: 'unlock-latency', kdf: quick ? 'interactive' : 'moderate', unlocksInFlight: UNLOCKS_IN_FLIGHT, idle: rows[0], busy: rows[1], unlock: rows[2] }));
} finally {
  cleanup();
}

/** `n` sequential daemon.status calls; each latency in ms. */
async function statusLatencies(client, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await client.call('daemon.status', {});
    out.push(performance.now() - started);
  }
  return out;
}

/** Nearest-rank percentiles. */
function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  return { n: sorted.length, p50: round(at(50)), p99: round(at(99)), max: round(sorted.at(-1) ?? NaN) };
}

function round(ms) {
  return Math.round(ms * 1000) / 1000;
}

function fmt(ms) {
  return ms.toFixed(3).padStart(8);
}
