import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CofferClient, type ClientOptions } from '@coffer/client';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../..');

/** Minimal view of tap's Test that the helpers need (teardown registration). */
export interface TestLike {
  teardown(fn: () => unknown): void;
}

export interface DaemonOptions {
  /** Extra command-line flags. */
  args?: string[];
  /** false: without tap's coverage hooks (faster start), for tests that restart it many times. */
  coverage?: boolean;
  env?: Record<string, string>;
  /** Reuse a directory (e.g. to restart on the same data); default: a fresh temp dir. */
  dir?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Makes a short temp dir (Unix socket paths are limited to 107 bytes) removed at teardown. */
export function tempDir(t: TestLike, prefix = 'coffer-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * The command that runs cofferd in a child process: always the tsc output (`npm test` builds it
 * first; a stale build is refused). By default under tap's coverage hooks with source maps on, so
 * the daemon's coverage is reported against its TypeScript sources, and it starts in about 0.5 s
 * instead of the 2-4 s that running the sources through tap's TypeScript loader cost (measured on
 * daemon-lifecycle.test.ts: 94 s -> 33 s, the same lines covered). `coverage: false` also drops the
 * coverage hooks (they cost about 0.7 s per start, and a coverage file per process), for tests
 * that restart the daemon many times or start many of them.
 */
export function daemonCommand(args: string[], coverage = true): [string, string[]] {
  assertBuilt();
  // Never tap's TypeScript loader or its mocks, nor the condition that resolves our packages to their
  // sources: the daemon runs from dist/. Without coverage, neither the process tracking nor source maps.
  const drop = [/@tapjs\/(typescript|mock)/, /coffer:source/, /dist-loader/, ...(coverage ? [] : [/@tapjs\/processinfo/, /--enable-source-maps/])];
  const execArgv = process.execArgv.filter((a) => !drop.some((pattern) => pattern.test(a)));
  return [process.execPath, [...execArgv, path.join(repoRoot, 'daemon/dist/main.js'), ...args]];
}

let builtChecked = false;

/** Refuses to test stale compiled output: that would test code that is not in the tree. */
function assertBuilt(): void {
  if (builtChecked) return;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs),
    );
  for (const pkg of ['protocol', 'daemon']) {
    const info = path.join(repoRoot, pkg, 'dist', '.tsbuildinfo');
    if (!existsSync(info) || statSync(info).mtimeMs < newest(path.join(repoRoot, pkg, 'src'))) {
      throw new Error(`${pkg}/dist is older than ${pkg}/src: run \`npm run build\` (npm test does it for you)`);
    }
  }
  builtChecked = true;
}

/**
 * Environment for a daemon child: the test's own, plus `extra`. Without coverage, also without tap's
 * NODE_OPTIONS and `_TAPJS_*` variables, which would load the coverage hooks back in.
 */
export function childEnv(extra: Record<string, string> = {}, coverage = true): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!coverage) for (const key of Object.keys(env)) if (key === 'NODE_OPTIONS' || key.startsWith('_TAPJS_')) delete env[key];
  return { ...env, ...extra };
}

/** A real cofferd in a child process, with its whole log kept for assertions. */
export class DaemonProcess {
  readonly socketPath: string;
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private output = '';
  private exited: Promise<ExitInfo> | undefined;
  private readonly clients: CofferClient[] = [];

  constructor(
    readonly dir: string,
    private readonly options: DaemonOptions = {},
  ) {
    this.socketPath = path.join(dir, 'run', 'cofferd.sock');
    this.dataDir = path.join(dir, 'data');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Everything the daemon wrote to stdout and stderr, across restarts. */
  get logs(): string {
    return this.output;
  }

  /** Parsed JSON log lines. */
  logLines(): Array<Record<string, unknown>> {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  get args(): string[] {
    return ['--data-dir', this.dataDir, '--socket', this.socketPath, '--log-format', 'json', ...(this.options.args ?? [])];
  }

  /** Spawns the daemon and resolves once it logs "listening"; rejects with its output if it exits first. */
  async start(): Promise<void> {
    const [cmd, argv] = daemonCommand(this.args, this.options.coverage ?? true);
    const child = spawn(cmd, argv, {
      cwd: this.dir,
      env: childEnv(this.options.env, this.options.coverage ?? true),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const onData = (chunk: Buffer): void => {
        const text = chunk.toString('utf8');
        this.output += text;
        seen += text;
        if (/"msg":"listening"/.test(seen)) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
      void this.exited!.then((info) =>
        reject(new Error(`cofferd exited (${info.code ?? info.signal}) before listening:\n${this.output}`)),
      );
    });
  }

  /** A client on this daemon, closed automatically when the daemon handle is torn down. */
  async client(options: ClientOptions = {}): Promise<CofferClient> {
    const client = await CofferClient.connect({ socketPath: this.socketPath, timeoutMs: 20_000, ...options });
    this.clients.push(client);
    return client;
  }

  /** Sends a signal and waits for the process to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<ExitInfo> {
    if (!this.child || !this.exited) throw new Error('daemon not started');
    this.child.kill(signal);
    return this.exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Resolves with the exit status (for tests that expect the process to end on its own). */
  waitForExit(): Promise<ExitInfo> {
    if (!this.exited) throw new Error('daemon not started');
    return this.exited;
  }

  /** Stops gracefully (so the child writes its coverage), killing it if it hangs. */
  async dispose(): Promise<void> {
    for (const client of this.clients) client.close();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.stop('SIGTERM');
    clearTimeout(killer);
  }
}

/** Starts a daemon in a fresh temp dir, stopped and cleaned up at teardown. */
export async function startDaemon(t: TestLike, options: DaemonOptions = {}): Promise<DaemonProcess> {
  options = await onTestBackend(t, options);
  const dir = options.dir ?? tempDir(t);
  const daemon = new DaemonProcess(dir, options);
  t.teardown(() => daemon.dispose());
  await daemon.start();
  return daemon;
}

/**
 * COFFER_TEST_BACKEND=postgres runs a test file's coffer-layout daemons on a fresh PostgreSQL
 * database each (test/helpers/postgres.ts) instead of files: the store tests that do not look at
 * files run against both backends (npm run test:postgres, which .ci/run runs after npm test).
 */
async function onTestBackend(t: TestLike, options: DaemonOptions): Promise<DaemonOptions> {
  const args = options.args ?? [];
  if (process.env['COFFER_TEST_BACKEND'] !== 'postgres' || args.includes('--store') || args.includes('specter') || options.dir !== undefined) return options;
  const { freshDatabase } = await import('./postgres.js');
  return { ...options, args: [...args, '--store', await freshDatabase(t as Test)] };
}
