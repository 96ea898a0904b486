import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { repoRoot, tempDir } from './helpers/daemon.js';

/**
 * The README's quick start as a newcomer runs it: a fresh clone (nothing built, no node_modules), the
 * quick start's first command, then `npx coffer --version` and `npx cofferd --help`. It needs the npm
 * registry (npm ci), as the quick start itself does; npm's cache makes repeats quicker.
 */
const LIMIT_MS = 15 * 60_000;
t.setTimeout(LIMIT_MS + 60_000);

/** The first line of the first sh block under "## Quick start", without its comment. */
function quickStartFirstCommand(readme: string): string {
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([^\n]*)\n/.exec(section);
  if (!block?.[1]) throw new Error('README.md has no sh block under "## Quick start"');
  return block[1].replace(/\s+#.*$/, '').trim();
}

/**
 * Same Node as this test first on PATH (so CI's second Node run checks it too), and none of the
 * test runner's or the outer npm's variables: tap's loaders or npm_config_* would change what runs.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}` };
  for (const key of ['HOME', 'TMPDIR', 'LANG', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

function sh(command: string, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', command], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    // Bounded: a hung install is killed with its whole process group.
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), LIMIT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** A long-running shell command in its own process group: resolves `listening` when cofferd says so. */
function startInBackground(command: string, cwd: string): { listening: Promise<boolean>; output(): string; stop(): void } {
  const child = spawn('sh', ['-c', command], { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  let settle: (ok: boolean) => void = () => undefined;
  const listening = new Promise<boolean>((resolve) => (settle = resolve));
  const timer = setTimeout(() => settle(false), LIMIT_MS);
  const onData = (c: Buffer): void => {
    output += c.toString('utf8');
    if (output.includes('listening')) settle(true);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  child.once('close', () => settle(false));
  return {
    listening: listening.finally(() => clearTimeout(timer)),
    output: () => output,
    stop: () => {
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

t.test('the README quick start in a fresh clone: npx coffer and npx cofferd work after its first command', async (t) => {
  const command = quickStartFirstCommand(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
  t.match(command, /^npm ci && npm start$/, 'the quick start installs and starts the daemon');
  const clone = path.join(tempDir(t, 'coffer-clone-'), 'coffer');
  const cloned = await sh(`git clone --quiet --no-hardlinks "${repoRoot}" "${clone}"`, repoRoot);
  t.equal(cloned.code, 0, cloned.output);

  // The first command installs, builds and starts the daemon on its embedded default: it runs until
  // stopped, so it is started, awaited until it listens, used, then stopped.
  const daemon = startInBackground(command, clone);
  t.teardown(() => daemon.stop());
  const listening = await daemon.listening;
  t.ok(listening, `${command} starts cofferd:\n${daemon.output().slice(-4000)}`);
  if (!listening) return;

  const status = await sh('npx --no-install coffer status --json', clone);
  t.equal(status.code, 0, status.output);
  t.match(status.output, /"dataDir": ".*\.coffer\/data"/, 'on the embedded default: ./.coffer/data');

  const version = await sh('npx --no-install coffer --version', clone);
  t.equal(version.code, 0, version.output);
  const pkg = JSON.parse(readFileSync(path.join(clone, 'package.json'), 'utf8')) as { version: string };
  t.equal(version.output, `${pkg.version}\n`);

  const help = await sh('npx --no-install cofferd --help', clone);
  t.equal(help.code, 0, help.output);
  t.match(help.output, /^Usage: cofferd \[options\]/);
  t.match(help.output, /--socket <path>/);
});
