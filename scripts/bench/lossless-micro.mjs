#!/usr/bin/env node
// Micro-measure of the lossless value path (BENCHMARKS.md "Lossless values: cost"): ns per frame
// to decode typical request frames and encode typical answers, the daemon's way against plain
// JSON.parse/JSON.stringify. In-process, single-threaded, bounded: each case runs for ~2 s.
//   npm run build && node scripts/bench/lossless-micro.mjs
import { fromPlain, mayLoseInPlainParse, parseLossless, RawJson, stringifyLossless } from '../../protocol/dist/index.js';
import { decodeRequestFrame } from '../../daemon/dist/rpc/exact-data.js';

const SESSION = 'Qm9vdHN0cmFwIHNlc3Npb24gdG9rZW4gZm9yIGJlbmNo';
const plain1KiB = { v: 'x'.repeat(1016) };
// What a wallet plugin stores: floats, ints, nested objects and lists (about 1 KiB).
const specterish = {
  api_key: 'k-3f9a1c', rate: 0.00012, fee: 1.0, limits: { '10': 100.5, '2': 2.25 },
  history: Array.from({ length: 12 }, (_, i) => ({ t: 1700000000 + i, amount: i / 7, ok: i % 2 === 0 })),
};
const frame = (method, params) => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 42, method, params }));
const frames = {
  'encrypted.get request': frame('services.encrypted.get', { session: SESSION, service: 'bench' }),
  'update, 1 KiB string': frame('services.encrypted.update', { session: SESSION, service: 'bench', patch: plain1KiB }),
  'update, 1 KiB floats': frame('services.encrypted.update', { session: SESSION, service: 'bench', patch: specterish }),
};

function timeOnce(fn, ms) {
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * ns per call of each function, medians of 7 interleaved 100 ms rounds: the machine is shared, and
 * interleaving puts the same load on each side of a ratio.
 */
function compare(...fns) {
  for (const fn of fns) for (let i = 0; i < 2000; i++) fn(); // warm-up
  const times = fns.map(() => []);
  for (let round = 0; round < 7; round++) fns.forEach((fn, i) => times[i].push(timeOnce(fn, 100)));
  return times.map(median);
}

const rows = [];
for (const [name, bytes] of Object.entries(frames)) {
  const text = bytes.toString('utf8');
  const [base, daemon, full] = compare(
    () => JSON.parse(bytes.toString('utf8')),
    () => {
      const message = decodeRequestFrame(bytes);
      // What the dispatcher then does with a data member on the fast path (the slow path has it already).
      if (!mayLoseInPlainParse(bytes) && message.params.patch) fromPlain(message.params.patch, 100);
    },
    () => parseLossless(text, { maxDepth: 100 }),
  );
  rows.push([`decode ${name} (${bytes.length} B)`, base, daemon, full]);
}

const stored = stringifyLossless(fromPlain(specterish));
const answers = {
  'get answer, spliced text': { jsonrpc: '2.0', id: 42, result: { data: new RawJson(stored), revision: 'xQQ3UPBherOiL_4ZTZF1yg' } },
  'update answer, model': { jsonrpc: '2.0', id: 42, result: { data: parseLossless(stored), revision: 'xQQ3UPBherOiL_4ZTZF1yg' } },
  'status answer, plain': { jsonrpc: '2.0', id: 42, result: { version: '0.1.0', uptimeS: 12, users: 3, writes: { committed: 10, failed: 0 } } },
};
const plainAnswer = { jsonrpc: '2.0', id: 42, result: { data: specterish, revision: 'xQQ3UPBherOiL_4ZTZF1yg' } };
for (const [name, message] of Object.entries(answers)) {
  const [base, ours] = compare(
    () => JSON.stringify(name.startsWith('status') ? message : plainAnswer),
    () => stringifyLossless(message),
  );
  rows.push([`encode ${name}`, base, ours, undefined]);
}
// Before: a get parsed the stored text and the answer was stringified; now the text is spliced.
const [before, after] = compare(
  () => JSON.stringify({ jsonrpc: '2.0', id: 42, result: { data: JSON.parse(stored), revision: 'r' } }),
  () => {
    JSON.parse(stored); // the first get of a stored value checks it once; later ones skip this (memo)
    stringifyLossless({ jsonrpc: '2.0', id: 42, result: { data: new RawJson(stored), revision: 'r' } });
  },
);
rows.push(['get of a stored value: parse + encode vs check + splice', before, after, undefined]);

const fmt = (ns) => (ns === undefined ? '–' : `${Math.round(ns).toLocaleString('en-US')}`);
console.log('| case | JSON.parse / JSON.stringify, ns | daemon now, ns | ratio | full lossless parse, ns |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, base, ours, full] of rows) console.log(`| ${name} | ${fmt(base)} | ${fmt(ours)} | ${(ours / base).toFixed(2)}× | ${fmt(full)} |`);
