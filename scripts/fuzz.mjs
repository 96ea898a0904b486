#!/usr/bin/env node
// The fuzz suite (Coffer issue 14): `npm run fuzz -- --frames 100000 --connections 16 --seed 1`.
// Sends generated frames (scripts/fuzz/generate.mjs) over many connections to a cofferd, checks
// every answer is well-formed JSON-RPC and none is INTERNAL_ERROR, then that the daemon still
// answers, every stored byte is unchanged, and reports its RSS. Without --socket it starts its own
// compiled daemon on seeded data; the tap test (test/fuzz.test.ts) points it at a running one.
// The last line is the summary (with --json, the same figures as JSON). Exit 1 on any finding.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FrameSplitter } from '@coffer/protocol';
import { startCofferd } from './bench/cofferd.mjs';
import { connectUnix, NdjsonConnection } from './bench/ndjson-client.mjs';
import { memoryOf } from './bench/proc.mjs';
import { nextFrame, prng } from './fuzz/generate.mjs';

const { values: opts } = parseArgs({
  options: {
    frames: { type: 'string', default: '100000' },
    connections: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    socket: { type: 'string' },
    'data-dir': { type: 'string' },
    pid: { type: 'string' },
    'max-frame-bytes': { type: 'string', default: String(1024 * 1024) },
    'settle-s': { type: 'string', default: '10' },
    'rare-every': { type: 'string', default: '250' },
    json: { type: 'boolean', default: false },
  },
});
const count = (name, min = 1) => {
  const n = Number(opts[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${opts[name]}`);
    process.exit(3);
  }
  return n;
};
const frames = count('frames');
const connections = count('connections');
const seed = count('seed', 0);
const maxFrameBytes = count('max-frame-bytes', 64);
const settleS = count('settle-s', 0);
const rareEvery = count('rare-every');
const log = (text) => process.stderr.write(`fuzz: ${text}\n`);

/** sha256 of every file under `dir`, by relative path. */
function snapshot(dir) {
  const out = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    out[path.relative(dir, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return out;
}

/** Users, services of both kinds, a document and an annotation, so reads find real data. */
async function seedData(socketPath) {
  const c = await NdjsonConnection.open(socketPath);
  await c.call('users.create', { username: 'u0', password: 'fuzz-password-0' });
  await c.call('users.create', { username: 'u1' });
  const { session } = await c.call('users.unlock', { username: 'u0', password: 'fuzz-password-0' });
  await c.call('services.encrypted.set', { session, service: 'vault', data: { secret: 's3cr3t', n: [1, 2, 3] } });
  await c.call('services.unencrypted.set', { username: 'u1', service: 'svc', data: { plain: 'text', nested: { a: 1 } } });
  await c.call('docs.set', { name: 'doc', data: { title: 'fuzz' } });
  await c.call('annotations.set', { username: 'u1', wallet: 'wallet', service: 'svc', kind: 'addr', id: 'bc1qfuzzfuzzfuzzfuzz', data: { label: 'l' } });
  const { methods } = await c.call('rpc.discover');
  c.close();
  return { session, methods };
}

const REASON_OK = /^[A-Z_]+$/;

/** Checks one answer (or batch of answers); returns a problem or null, counting reasons. */
function checkAnswer(message, stats) {
  const items = Array.isArray(message) ? message : [message];
  if (items.length === 0) return 'empty array answer';
  for (const item of items) {
    if (item?.jsonrpc !== '2.0') return 'no jsonrpc 2.0';
    if (item.method === undefined && !('id' in item)) return 'answer without id';
    if ('error' in item) {
      const reason = item.error?.data?.reason;
      if (!Number.isInteger(item.error?.code) || typeof reason !== 'string' || !REASON_OK.test(reason)) return 'error without code or reason';
      stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
      if (reason === 'INTERNAL_ERROR') stats.internal++;
    } else if (!('result' in item)) return 'neither result nor error';
    else stats.results++;
  }
  stats.answers++;
  return null;
}

/** One fuzzing connection: writes frames, reads and checks answers, waits for probes. */
class FuzzConnection {
  constructor(socket, stats) {
    this.socket = socket;
    this.stats = stats;
    this.waiters = new Map();
    this.closed = false;
    const splitter = new FrameSplitter(512 * 1024 * 1024);
    socket.on('data', (chunk) => {
      for (const frame of splitter.push(chunk).frames) this.onFrame(frame);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      for (const wake of this.waiters.values()) wake();
      this.waiters.clear();
    });
  }

  onFrame(frame) {
    let message;
    try {
      message = JSON.parse(frame.toString('utf8'));
    } catch {
      this.stats.malformed.push(frame.subarray(0, 200).toString('utf8'));
      return;
    }
    const problem = checkAnswer(message, this.stats);
    if (problem) this.stats.malformed.push(`${problem}: ${frame.subarray(0, 200).toString('utf8')}`);
    const wake = this.waiters.get(message?.id);
    if (wake) {
      this.waiters.delete(message.id);
      wake();
    }
  }

  async write(frame) {
    if (this.closed) return;
    if (!this.socket.write(frame)) {
      await new Promise((resolve) => {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.on('drain', done);
        this.socket.on('close', done);
      });
    }
  }

  /** A daemon.status whose answer must come: everything sent before it has been read. */
  async probe(id) {
    if (this.closed) return true;
    const answered = new Promise((resolve) => this.waiters.set(id, resolve));
    await this.write(`${JSON.stringify({ jsonrpc: '2.0', id, method: 'daemon.status', params: {} })}\n`);
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
    return (await Promise.race([answered, timeout])) !== 'timeout';
  }
}

async function main() {
  let daemon;
  let tmp;
  let socketPath = opts.socket;
  let dataDir = opts['data-dir'];
  let pid = opts.pid === undefined ? undefined : Number(opts.pid);
  if (socketPath === undefined) {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'coffer-fuzz-'));
    daemon = await startCofferd(tmp, ['--max-frame-bytes', String(maxFrameBytes)]);
    ({ socketPath, dataDir, pid } = daemon);
  }
  if (dataDir === undefined) throw new Error('--data-dir is needed with --socket');
  const { session, methods } = await seedData(socketPath);
  const before = snapshot(dataDir);
  const rssBefore = pid ? memoryOf(pid)?.rssMiB : undefined;
  const names = ['u0', 'u1', 'vault', 'svc', 'doc', 'wallet', 'bc1qfuzzfuzzfuzzfuzz', session, 'nobody'];
  const ctx = { methods, names, maxFrameBytes, rareEvery };
  const r = prng(seed);
  const stats = { answers: 0, results: 0, internal: 0, reasons: {}, malformed: [], reconnects: 0, stuck: 0, peakRssMiB: rssBefore ?? 0 };
  const started = performance.now();
  let sent = 0;
  const tick = setInterval(() => {
    const rss = pid ? memoryOf(pid)?.rssMiB : undefined;
    if (rss) stats.peakRssMiB = Math.max(stats.peakRssMiB, rss);
    log(`${sent}/${frames} frames, ${stats.answers} answers, ${stats.reconnects} reconnects, RSS ${rss?.toFixed(0) ?? '?'} MiB`);
  }, 5000);
  const worker = async () => {
    let conn = new FuzzConnection(await connectUnix(socketPath), stats);
    while (sent < frames) {
      const n = sent++;
      await conn.write(nextFrame(r, ctx, n));
      if (n % 50 === 49 && !(await conn.probe(`probe-${n}`))) stats.stuck++;
      if (conn.closed) {
        stats.reconnects++;
        conn = new FuzzConnection(await connectUnix(socketPath), stats);
      }
    }
    await conn.probe('last');
    conn.socket.destroy();
  };
  await Promise.all(Array.from({ length: connections }, worker));
  clearInterval(tick);
  const elapsedS = (performance.now() - started) / 1000;
  const peakRun = pid ? memoryOf(pid)?.peakMiB : undefined;
  if (settleS > 0) await new Promise((resolve) => setTimeout(resolve, settleS * 1000));
  const rssAfter = pid ? memoryOf(pid)?.rssMiB : undefined;
  let alive = false;
  try {
    const check = await NdjsonConnection.open(socketPath);
    alive = (await check.call('daemon.status')).pid === (pid ?? (await check.call('daemon.status')).pid);
    check.close();
  } catch {
    alive = false;
  }
  const after = snapshot(dataDir);
  const changed = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((f) => before[f] !== after[f]);
  if (daemon) await daemon.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  const summary = {
    frames, connections, seed, elapsedS: Math.round(elapsedS * 10) / 10,
    answers: stats.answers, results: stats.results, reasons: stats.reasons, internal: stats.internal,
    malformed: stats.malformed.length, stuck: stats.stuck, reconnects: stats.reconnects, alive,
    storedFiles: Object.keys(before).length, changed,
    rssMiB: { before: round(rssBefore), peak: round(Math.max(stats.peakRssMiB, peakRun ?? 0)), after: round(rssAfter), settleS },
  };
  for (const m of stats.malformed.slice(0, 5)) log(`malformed answer: ${m}`);
  if (changed.length > 0) log(`changed files: ${changed.join(', ')}`);
  const ok = alive && changed.length === 0 && stats.internal === 0 && stats.malformed.length === 0 && stats.stuck === 0;
  const line =
    `fuzz: ${frames} frames over ${connections} connections (seed ${seed}) in ${summary.elapsedS} s: ${stats.answers} answers checked, ` +
    `${stats.malformed.length} malformed, ${stats.internal} internal errors, ${stats.stuck} stuck, ${stats.reconnects} connections closed by the daemon; ` +
    `daemon ${alive ? 'alive' : 'DEAD'}; ${summary.storedFiles} stored files ${changed.length ? `CHANGED: ${changed.length}` : 'unchanged'}; ` +
    `RSS ${summary.rssMiB.before} MiB before, peak ${summary.rssMiB.peak} MiB, ${summary.rssMiB.after} MiB ${settleS} s after — ${ok ? 'PASS' : 'FAIL'}`;
  console.log(opts.json ? JSON.stringify({ ...summary, ok }) : line);
  if (opts.json) log(line);
  process.exit(ok ? 0 : 1);
}

function round(n) {
  return n === undefined ? null : Math.round(n);
}

main().catch((error) => {
  console.error(error);
  process.exit(2);
});
