// The bench runs and reports (behaviour, never speed): a --quick transport section writes a
// well-formed results.json and prints its table. No assertion here reads a wall-clock figure.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot, tempDir } from './helpers/daemon.js';

t.setTimeout(60_000);

/** The bench runs the compiled packages (npm test builds them first), outside tap's loader and coverage. */
function benchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['NODE_OPTIONS'];
  delete env['NODE_V8_COVERAGE'];
  return env;
}

interface LoadResult {
  ops: number;
  rps: number;
  clients: number;
  connections: number;
  latencyMs: { p50: number; p99: number; max: number };
  serverCpuPct: number | null;
}

t.test('bench --quick --only transport writes results.json and a table', async (t) => {
  const out = path.join(tempDir(t), 'results.json');
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/bench.mjs'), '--quick', '--only', 'transport', '--out', out], {
    cwd: repoRoot,
    env: benchEnv(),
    encoding: 'utf8',
    timeout: 50_000,
  });
  t.equal(r.status, 0, `bench exits 0\n${r.stderr}`);
  t.match(r.stdout, /== Transport floor: raw NDJSON echo vs daemon\.status ==/);
  t.match(r.stdout, /daemon\.status, 50 conns .*× echo/);
  t.match(r.stderr, /\[transport\] echo, serial: round 1\/1/, 'progress is shown while it runs');

  const report = JSON.parse(readFileSync(out, 'utf8')) as {
    quick: boolean;
    machine: { cpu: string; cores: number; node: string };
    loadAverageBefore: number[];
    sections: { transport: Record<string, LoadResult> & { ratios: Record<string, number> } };
    skipped: Record<string, string>;
    targets: Array<{ name: string; section: string; value: number | null; met: boolean | null }>;
  };
  t.equal(report.quick, true);
  t.equal(report.machine.node, process.version);
  t.ok(report.machine.cores >= 1);
  t.equal(report.loadAverageBefore.length, 3);
  t.same(report.skipped, {});
  const transport = report.sections.transport;
  for (const key of ['echo1', 'status1', 'client1', 'echo50', 'status50', 'client50']) {
    const result = transport[key]!;
    t.ok(result.ops > 0, `${key}: calls were made`);
    t.ok(result.rps > 0, `${key}: a rate is reported`);
    t.ok(result.latencyMs.p50 <= result.latencyMs.p99 && result.latencyMs.p99 <= result.latencyMs.max, `${key}: percentiles ordered`);
    t.ok(result.serverCpuPct !== null, `${key}: server CPU read from /proc`);
  }
  t.equal(transport['status50']!.connections, 50);
  t.equal(transport['status50']!.clients, 50);
  t.ok(Number.isFinite(transport.ratios['statusVsEcho1']) && Number.isFinite(transport.ratios['statusVsEcho50']), 'ratios are numbers');

  const echoTarget = report.targets.find((x) => x.name === 'status vs raw echo, 50 conns');
  t.equal(typeof echoTarget?.met, 'boolean', 'the echo target is evaluated');
  const notRun = report.targets.filter((x) => x.section !== 'transport');
  t.ok(notRun.length > 0 && notRun.every((x) => x.value === null && x.met === null), 'targets of sections not run stay unmeasured');
});

t.test('bench refuses an unknown section with exit 3', async (t) => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts/bench.mjs'), '--only', 'nope'], {
    cwd: repoRoot,
    env: benchEnv(),
    encoding: 'utf8',
  });
  t.equal(r.status, 3);
  t.match(r.stderr, /unknown section nope/);
});
