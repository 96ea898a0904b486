import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../client/src/cli/program.js';
import type { CliInput, CliIo } from '../../client/src/cli/io.js';
import { repoRoot } from './daemon.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Text on stdin (not a TTY); default: an empty stdin. */
  stdin?: string | CliInput;
  env?: Record<string, string | undefined>;
}

/** Runs the CLI in this process (its real code path, with coverage) and collects what it printed. */
export async function coffer(argv: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const stdin = typeof options.stdin === 'object' ? options.stdin : Readable.from(options.stdin === undefined ? [] : [options.stdin]);
  const io: CliIo = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: stdin as CliInput,
    env: { ...options.env },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

/** A fake terminal on stdin: raw mode is recorded, keys are typed with `type`. */
export class FakeTty extends PassThrough {
  readonly isTTY = true;
  readonly rawModes: boolean[] = [];

  setRawMode(raw: boolean): this {
    this.rawModes.push(raw);
    return this;
  }

  /** Types `keys` once the CLI listens (a prompt waits for input after it is shown). */
  typeSoon(...keys: string[]): void {
    let i = 0;
    const next = (): void => {
      if (i >= keys.length) return;
      if (this.listenerCount('data') === 0) return void setTimeout(next, 5);
      this.write(keys[i++]!);
      setTimeout(next, 5);
    };
    setTimeout(next, 5);
  }
}

const cliMain = path.join(repoRoot, 'client/dist/cli.js');

/** Runs the compiled `coffer` bin as its own process, as a user or script would. */
export function cofferProcess(
  argv: readonly string[],
  options: { stdin?: string; env?: Record<string, string>; keepStdinOpen?: boolean; cwd?: string; uid?: number; gid?: number } = {},
): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], ...options.env };
  const { cwd, uid, gid } = options;
  const child = spawn(process.execPath, [cliMain, ...argv], { env, cwd, uid, gid, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  if (options.stdin !== undefined) child.stdin.write(options.stdin);
  if (!options.keepStdinOpen) child.stdin.end();
  return new Promise((resolve) =>
    child.once('close', (code) => {
      child.stdin.destroy();
      resolve({ code: code ?? -1, stdout, stderr });
    }),
  );
}
