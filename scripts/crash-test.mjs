#!/usr/bin/env node
// The long crash test: `npm run crash-test -- --cycles 1000`. Builds, then runs
// test/crash-recovery.test.ts with that many kill -9 cycles (npm test runs 12); with --specter,
// test/specter-crash-recovery.test.ts on a Specter folder instead (npm test runs 12).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { cycles: { type: 'string', default: '1000' }, specter: { type: 'boolean', default: false } } });
const cycles = Number(values.cycles);
if (!Number.isInteger(cycles) || cycles < 1) {
  console.error(`--cycles must be a positive integer, got ${values.cycles}`);
  process.exit(3);
}
const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(path.join(root, 'node_modules/.bin/tsc'), ['-b']);
const file = values.specter ? 'test/specter-crash-recovery.test.ts' : 'test/crash-recovery.test.ts';
console.log(`crash test: ${cycles} kill -9 cycles (${file})`);
run(path.join(root, 'node_modules/.bin/tap'), ['-R', 'tap', '--disable-coverage', '-t', '0', file], {
  [values.specter ? 'COFFER_SPECTER_CRASH_CYCLES' : 'COFFER_CRASH_CYCLES']: String(cycles),
});
