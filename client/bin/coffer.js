#!/usr/bin/env node
// The `coffer` bin. npm links workspace bins during `npm ci`, before anything is built, and skips a
// bin whose file is missing; this committed launcher always exists, runs the compiled program, and
// says how to build it when dist/ is not there yet.
import { existsSync } from 'node:fs';

const program = new URL('../dist/cli.js', import.meta.url);
if (existsSync(program)) {
  await import(program.href);
} else {
  process.stderr.write('coffer: not built yet: run `npm run build` in the Coffer checkout, then try again\n');
  process.exitCode = 3;
}
