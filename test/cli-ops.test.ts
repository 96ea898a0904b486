import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { coffer } from './helpers/cli.js';
import { repoRoot, startDaemon, tempDir } from './helpers/daemon.js';

/**
 * What an operator meets first: versions (CLI, daemon, start-up log), the committed bin launchers,
 * `coffer status` failing when the daemon is degraded, and shell completion generated from the program.
 */
t.setTimeout(120_000);

const VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs a committed launcher as npm's bin link would, with a clean environment. */
function launcher(file: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [file, ...args], { env: { PATH: process.env['PATH'] }, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('versions: coffer --version, cofferd --version, through the bin launchers', async (t) => {
  const inProcess = await coffer(['--version']);
  t.same(inProcess, { code: 0, stdout: `${VERSION}\n`, stderr: '' });
  t.same(await coffer(['-V']), inProcess);
  for (const [bin, name] of [['client/bin/coffer.js', 'coffer'], ['daemon/bin/cofferd.js', 'cofferd']] as const) {
    const r = launcher(path.join(repoRoot, bin), ['--version']);
    t.equal(r.status, 0, `${name}: ${r.stderr}`);
    t.equal(r.stdout, `${VERSION}\n`, `${name} --version`);
  }
});

t.test('a launcher without a build says to build first (exit 3)', async (t) => {
  for (const [bin, name] of [['client/bin/coffer.js', 'coffer'], ['daemon/bin/cofferd.js', 'cofferd']] as const) {
    const unbuilt = path.join(tempDir(t), 'pkg');
    mkdirSync(path.join(unbuilt, 'bin'), { recursive: true });
    writeFileSync(path.join(unbuilt, 'package.json'), '{"type":"module"}');
    const copy = path.join(unbuilt, 'bin', path.basename(bin));
    copyFileSync(path.join(repoRoot, bin), copy);
    const r = launcher(copy, ['--help']);
    t.equal(r.status, 3, name);
    t.equal(r.stderr, `${name}: not built yet: run \`npm run build\` in the Coffer checkout, then try again\n`);
  }
});

t.test('the start-up log names the version and the Node it runs on', async (t) => {
  const daemon = await startDaemon(t, { coverage: false });
  const lines = daemon.logLines();
  const first = lines.find((line) => line['msg'] === 'cofferd starting');
  t.match(first, { version: VERSION, node: process.version });
  t.equal(lines.indexOf(first!), 0, 'it is the first line');
  t.match(lines.find((line) => line['msg'] === 'listening'), { version: VERSION });
});

t.test('coffer status exits 4 when the daemon is degraded, still printing the status', async (t) => {
  const dir = tempDir(t);
  const rules = path.join(dir, 'faults.json');
  const daemon = await startDaemon(t, { dir, coverage: false, args: ['--fault-rules-file', rules] });
  const env = { COFFER_SOCKET: daemon.socketPath };
  t.equal((await coffer(['status'], { env })).code, 0, 'healthy: 0');
  const client = await daemon.client();
  await client.call('users.create', { username: 'gus' });
  writeFileSync(rules, JSON.stringify([{ op: 'fsyncDir', fault: 'EIO', pathIncludes: 'services' }]));
  await t.rejects(client.call('services.unencrypted.set', { username: 'gus', service: 'app', data: { v: 1 } }));
  const human = await coffer(['status'], { env });
  t.equal(human.code, 4);
  t.match(human.stdout, /degraded +a directory fsync failed/);
  t.match(human.stderr, /^coffer: cofferd is degraded \(a directory fsync failed while writing .*\): it refuses writes until it is restarted\n$/);
  const json = await coffer(['status', '--json'], { env });
  t.equal(json.code, 4);
  t.match(JSON.parse(json.stdout).degraded, /directory fsync failed/);
  t.equal(JSON.parse(json.stderr).error.reason, 'DEGRADED');
  const help = await coffer(['--help']);
  t.match(help.stdout, /\n  4  status: cofferd runs but is degraded/);
});

/** What bash completes after `coffer <words…>`, with the script `coffer completion bash` printed. */
function bashCompletes(script: string, words: string[]): string[] {
  const body = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _coffer; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = spawnSync('bash', ['--norc', '-c', body], { encoding: 'utf8', timeout: 30_000 });
  return r.stdout.split('\n').filter(Boolean);
}

t.test('coffer completion bash: generated from the program, and bash completes with it', async (t) => {
  const r = await coffer(['completion', 'bash']);
  t.equal(r.code, 0);
  t.match(r.stdout, /\ncomplete -F _coffer coffer\n$/);
  t.same(bashCompletes(r.stdout, ['coffer', 'us']), ['users']);
  t.same(bashCompletes(r.stdout, ['coffer', 'users', '']).filter((w) => !w.startsWith('-')), ['create', 'list', 'delete', 'passwd', 'rotate-secret']);
  t.same(bashCompletes(r.stdout, ['coffer', '--json', 'services', 'set', 'swan', '--if-']), ['--if-revision', '--if-absent']);
  t.same(bashCompletes(r.stdout, ['coffer', 'completion', '']).filter((w) => !w.startsWith('-')), ['bash', 'zsh']);
  t.same(bashCompletes(r.stdout, ['coffer', 'st']), ['status'], 'nothing that is not a command');
});

t.test('coffer completion zsh: the same function through bashcompinit; other shells are usage errors', async (t) => {
  const zsh = await coffer(['completion', 'zsh']);
  t.equal(zsh.code, 0);
  t.match(zsh.stdout, /autoload -U \+X bashcompinit && bashcompinit\n/);
  const bash = (await coffer(['completion', 'bash'])).stdout;
  t.ok(zsh.stdout.endsWith(bash.slice(bash.indexOf('\n') + 1)), 'the bash function follows');
  const fish = await coffer(['completion', 'fish']);
  t.equal(fish.code, 3);
  t.match(fish.stderr, /Allowed choices are bash, zsh/);
});
