#!/usr/bin/env node
// `npm run bench`: measures cofferd side by side with its baselines (a raw echo server, Redis,
// itself with group commit off) in one run on one machine, prints a table with ratios, and
// writes bench/results.json. Each section lives in scripts/bench/<section>.mjs.
//
//   --quick            a short smoke run (seconds, not minutes; numbers are rough)
//   --only a,b         run only these sections (names below)
//   --out <file>       where to write the JSON (default bench/results.json)
//   --markdown         print the tables as Markdown too (for BENCHMARKS.md)
//   --profile <dir>    run every cofferd under --cpu-prof, profiles into <dir>
//   --rounds <n>, --duration <ms>   override the rounds and the time per case and round
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { profileDaemonsInto, repoRoot } from './bench/cofferd.mjs';
import { BenchContext } from './bench/context.mjs';
import { loadAverage, machineInfo } from './bench/proc.mjs';
import { createProgress } from './bench/progress.mjs';
import { renderMarkdown, renderText } from './bench/table.mjs';
import { evaluateTargets } from './bench/targets.mjs';
import * as growth from './bench/growth.mjs';
import * as memory from './bench/memory.mjs';
import * as postgres from './bench/postgres.mjs';
import * as reads from './bench/reads.mjs';
import * as redis from './bench/redis-vs-coffer.mjs';
import * as transport from './bench/transport.mjs';
import * as unlock from './bench/unlock.mjs';
import * as writes from './bench/writes.mjs';

const SECTIONS = [transport, reads, writes, redis, unlock, growth, memory, postgres];

function usage(message) {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(
    `usage: node scripts/bench.mjs [--quick] [--only ${SECTIONS.map((s) => s.name).join(',')}] [--out file] [--markdown] [--profile dir] [--rounds n] [--duration ms]\n`,
  );
  process.exit(message ? 3 : 0);
}

let args;
try {
  args = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      out: { type: 'string', default: path.join(repoRoot, 'bench', 'results.json') },
      markdown: { type: 'boolean', default: false },
      profile: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }).values;
} catch (error) {
  usage(error.message);
}
if (args.help) usage();
const only = (args.only ?? []).flatMap((s) => s.split(',')).filter(Boolean);
for (const name of only) if (!SECTIONS.some((s) => s.name === name)) usage(`unknown section ${name}`);
const selected = only.length ? SECTIONS.filter((s) => only.includes(s.name)) : SECTIONS;
if (args.profile) profileDaemonsInto(path.resolve(args.profile));

const progress = createProgress();
const positive = (name, value) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) usage(`--${name} needs a positive integer`);
  return n;
};
const root = new BenchContext({
  quick: args.quick,
  progress,
  overrides: { rounds: positive('rounds', args.rounds), durationMs: positive('duration', args.duration) },
});
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('\ninterrupted: stopping servers and removing temp dirs\n');
  void root.cleanup().then(() => process.exit(130));
});

const report = {
  startedAt: new Date().toISOString(),
  quick: args.quick,
  machine: machineInfo(os.tmpdir()),
  loadAverageBefore: loadAverage(),
  settings: root.settings,
  sections: {},
  skipped: {},
};
const tables = [];
let failed = false;
try {
  for (const section of selected) {
    progress.section(section.name);
    const ctx = root.scope();
    const started = performance.now();
    try {
      const out = await section.run(ctx);
      if (out.skipped) {
        report.skipped[section.name] = out.skipped;
        progress.note(`skipped: ${out.skipped}`);
      } else {
        report.sections[section.name] = { ...out.results, seconds: Math.round(performance.now() - started) / 1000 };
        tables.push(...[out.table].flat());
      }
    } catch (error) {
      failed = true;
      report.skipped[section.name] = `failed: ${error.message}`;
      progress.note(`FAILED: ${error.stack ?? error}`);
    } finally {
      await ctx.cleanup();
    }
  }
} finally {
  await root.cleanup();
}
progress.done();
report.loadAverageAfter = loadAverage();
report.finishedAt = new Date().toISOString();
const targets = evaluateTargets(report.sections);
report.targets = targets.results;
tables.push(targets.table);

const m = report.machine;
process.stdout.write(
  `\ncofferd benchmarks${args.quick ? ' (--quick: short runs, rough numbers)' : ''}\n` +
    `${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.kernel}, Node ${m.node}\n` +
    `temp dir on ${m.tmpFs}\n` +
    `load average before ${report.loadAverageBefore.join(' ')}, after ${report.loadAverageAfter.join(' ')}\n`,
);
for (const table of tables) process.stdout.write(`${renderText(table)}\n`);
for (const [name, why] of Object.entries(report.skipped)) process.stdout.write(`\n${name}: ${why}\n`);
if (args.markdown) for (const table of tables) process.stdout.write(`\n${renderMarkdown(table)}\n`);

mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`\nresults: ${path.relative(process.cwd(), args.out) || args.out}\n`);
process.exit(failed ? 1 : 0);
