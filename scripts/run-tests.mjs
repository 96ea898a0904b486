#!/usr/bin/env node
// `npm test`: type-check and build every package, then run the tap suite and print one
// `N passed, N failed` line (what CI reads) from tap's own summary, keeping tap's exit code.
// Extra arguments go to tap (e.g. `npm test -- test/frame-limits.test.ts`).
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function step(label, cmd, args) {
  process.stdout.write(`> ${label}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stdout.write(`${label} failed (exit ${r.status ?? r.signal})\n0 passed, 1 failed\n`);
    process.exit(r.status ?? 1);
  }
}

step('build (tsc -b)', bin('tsc'), ['-b']);
step('type-check tests (tsc -p tsconfig.tap.json)', bin('tsc'), ['-p', 'tsconfig.tap.json']);

const args = process.argv.slice(2);
const tap = spawn(bin('tap'), ['-R', 'tap', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
let summary;
let carry = '';
// Every `not ok` line, under the test file it belongs to, printed again after tap's own output: CI
// keeps only the end of a log, where the coverage table would otherwise hide which test failed.
const MAX_FAILURES_LISTED = 40;
const failures = [];
let failuresLeftOff = 0;
let currentFile = '';
tap.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (carry + chunk.toString('utf8')).split('\n');
  carry = lines.pop() ?? '';
  for (const line of lines) {
    // A test file's own subtest is the only one at column 0.
    const file = /^# Subtest: (.+)$/.exec(line);
    if (file) currentFile = file[1];
    const notOk = /^(\s*)not ok \d+ - (.*?)(?: # time=[\d.]+ms)?$/.exec(line);
    if (notOk) {
      if (failures.length < MAX_FAILURES_LISTED) failures.push(notOk[1] ? `${currentFile} > ${notOk[2]}` : `${notOk[2]}`);
      else failuresLeftOff++;
    }
    // tap's top-level closing line: `# { total: 5, pass: 4, fail: 1 }` (also skip/todo keys)
    const m = /^# \{ total: (\d+)(.*)\}$/.exec(line);
    if (m) summary = Object.fromEntries([...m[2].matchAll(/(\w+): (\d+)/g)].map(([, k, v]) => [k, Number(v)]));
  }
});
tap.on('close', (code, signal) => {
  const pass = summary?.pass ?? 0;
  let fail = summary?.fail ?? 0;
  if (code !== 0 && fail === 0) {
    // Every test passed but tap still failed: coverage under the thresholds in package.json, or a crash.
    process.stdout.write(`tap exited ${code ?? signal} with no failing test: see the coverage report above\n`);
    fail = 1;
  }
  if (failures.length > 0) {
    process.stdout.write(`\nnot ok (the failing tests, each under its file):\n${failures.map((f) => `  ${f}\n`).join('')}`);
    if (failuresLeftOff > 0) process.stdout.write(`  … and ${failuresLeftOff} more\n`);
  }
  process.stdout.write(`\n${pass} passed, ${fail} failed\n`);
  process.exit(code ?? (signal ? 1 : 0));
});
