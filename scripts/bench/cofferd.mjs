// Spawns the compiled cofferd (daemon/dist, built by `npm run bench`) on a temp socket and data
// dir, as test/helpers/daemon.ts does, and measures its start-up. Logs stay JSON on a pipe that we
// drain, so the daemon runs with its default log level and pays what it pays in production.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryOf } from './proc.mjs';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// COFFER_BENCH_DAEMON points at another build's main.js, for before/after runs of a daemon change
// (copy daemon/dist to daemon/dist-before first; it must sit in the repo to find node_modules).
const daemonMain = process.env.COFFER_BENCH_DAEMON ? path.resolve(process.env.COFFER_BENCH_DAEMON) : path.join(repoRoot, 'daemon/dist/main.js');

/** Node flags for every cofferd the bench starts (`--profile <dir>` sets --cpu-prof). */
const nodeFlags = [];

export function profileDaemonsInto(dir) {
  mkdirSync(dir, { recursive: true });
  nodeFlags.push('--cpu-prof', `--cpu-prof-dir=${dir}`);
}

/**
 * Starts cofferd with `args` on `<dir>/data` and `<dir>/cofferd.sock`. Resolves once it logs
 * "listening", with `startupMs` measured from spawn (Node's own start-up included: that is what a
 * restart costs a user).
 */
export async function startCofferd(dir, args = [], { main: chosen } = {}) {
  const main = chosen ? path.resolve(chosen) : daemonMain;
  if (!existsSync(main)) throw new Error('daemon/dist is missing: run `npm run bench` (it builds first)');
  const dataDir = path.join(dir, 'data');
  const socketPath = path.join(dir, 'cofferd.sock');
  const started = performance.now();
  const child = spawn(
    process.execPath,
    [...nodeFlags, main, '--data-dir', dataDir, '--socket', socketPath, '--log-format', 'json', ...args],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk) => {
    // Keep the tail only: a long run logs every connection.
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      keep(chunk);
      if (output.includes('"msg":"listening"')) {
        child.stdout.off('data', onData);
        child.stdout.on('data', keep);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    void exited.then((info) => reject(new Error(`cofferd exited (${info.code ?? info.signal}) before listening:\n${output}`)));
  });
  const startupMs = performance.now() - started;
  return {
    pid: child.pid,
    dir,
    dataDir,
    socketPath,
    startupMs,
    get logs() {
      return output;
    },
    memory: () => memoryOf(child.pid),
    /** SIGTERM (cofferd finishes queued writes and exits 0; a --cpu-prof profile is written then). */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      const info = await exited;
      clearTimeout(killer);
      return info;
    },
  };
}
