#!/usr/bin/env node
// The `coffer` command: everything is in cli/program.ts; this file binds it to the process.
import { runCli } from './cli/program.js';

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
// Exit once stdout is flushed: stdin may be a pipe nobody closes, which would keep the process alive.
process.stdout.write('', () => process.exit(code));
