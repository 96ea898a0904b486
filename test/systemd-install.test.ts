import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CofferClient } from '@coffer/client';
import { repoRoot, tempDir } from './helpers/daemon.js';

/**
 * scripts/install-systemd.sh into a staging root (DESTDIR): what it copies (the built daemon and its
 * production node_modules, self-contained), the units it writes (verified, hardening exposure not
 * worse than 1.0), the node binaries it refuses, --add-user, and --uninstall keeping the data.
 */
t.setTimeout(300_000);

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const installer = path.join(repoRoot, 'scripts/install-systemd.sh');

/**
 * The node running the tests, where the unit's sandbox would hide it (CI's second run takes Node
 * from the npm registry into the clone, which may sit under /tmp, /home or /root): the installer
 * refuses it unless told --copy-node, as it tells users to. The refusal itself is tested below.
 */
const nodeHidden = /^\/(tmp|home|root)(\/|$)/.test(process.execPath);

function install(destdir: string, args: string[]): { status: number | null; out: string } {
  const env = { PATH: `${path.dirname(process.execPath)}:${process.env['PATH'] ?? ''}`, HOME: process.env['HOME'] ?? '/', DESTDIR: destdir };
  const r = spawnSync('bash', [installer, ...args], { env, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('a staged install: the copied daemon runs on its own, the units verify, data survives --uninstall', async (t) => {
  const dir = tempDir(t);
  const destdir = path.join(dir, 'root');
  const r = install(destdir, ['--add-user', 'nobody', ...(nodeHidden ? ['--copy-node'] : [])]);
  t.equal(r.status, 0, r.out);
  const prefix = path.join(destdir, 'opt/coffer');
  t.ok(existsSync(path.join(prefix, 'daemon/dist/main.js')), 'the built daemon is copied');
  t.ok(existsSync(path.join(prefix, 'node_modules/sodium-native/package.json')), 'with its production dependencies');
  t.notOk(existsSync(path.join(prefix, 'node_modules/typescript')), 'and no development ones');
  t.notOk(lstatSync(path.join(prefix, 'node_modules/@coffer/protocol')).isSymbolicLink(), 'the workspace link became a copy');
  t.match(r.out, /would run: usermod -aG coffer nobody/, '--add-user: staged, so only printed');

  const units = path.join(destdir, 'etc/systemd/system');
  const service = readFileSync(path.join(units, 'cofferd.service'), 'utf8');
  const socket = readFileSync(path.join(units, 'cofferd.socket'), 'utf8');
  const node = spawnSync('readlink', ['-f', process.execPath], { encoding: 'utf8' }).stdout.trim();
  const unitNode = nodeHidden ? '/opt/coffer/bin/node' : node;
  t.match(service, new RegExp(`^ExecStart=${unitNode} /opt/coffer/daemon/dist/main.js `, 'm'), 'runs the copy, not the checkout');
  t.match(service, /^WatchdogSec=30$/m);
  t.notMatch(`${service}${socket}`, /@(NODE|PREFIX)@/, 'every placeholder is filled');
  t.match(socket, /^DirectoryMode=0755$/m, 'the clients\' group can reach /run/coffer');
  t.match(socket, /^SocketMode=0660$/m);

  await t.test('the copy alone serves: no checkout, an empty environment, from /', async (t) => {
    const run = path.join(dir, 'run');
    mkdirSync(run);
    const socketPath = path.join(run, 'cofferd.sock');
    const child = spawn(node, [path.join(prefix, 'daemon/dist/main.js'), '--data-dir', path.join(dir, 'data'), '--socket', socketPath, '--log-format', 'json'], {
      cwd: '/',
      env: {},
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.teardown(() => child.kill('SIGKILL'));
    const client = await CofferClient.connect({ socketPath, connectWaitMs: 60_000 });
    const status = await client.call('daemon.status', {});
    client.close();
    t.equal(status.pid, child.pid);
    child.kill('SIGTERM');
    t.equal(await exited, 0);
  });

  await t.test('systemd-analyze verify and security on the installed units', { skip: !has('systemd-analyze') && 'systemd-analyze is not installed' }, async (t) => {
    // A copied node is at its place under the staging root, not yet at /opt/coffer/bin: verify looks for it there.
    let verified = units;
    if (nodeHidden) {
      verified = path.join(dir, 'verify-units');
      mkdirSync(verified);
      writeFileSync(path.join(verified, 'cofferd.socket'), socket);
      writeFileSync(path.join(verified, 'cofferd.service'), service.replace(`ExecStart=${unitNode} `, `ExecStart=${path.join(prefix, 'bin/node')} `));
    }
    const verify = spawnSync('systemd-analyze', ['verify', path.join(verified, 'cofferd.socket'), path.join(verified, 'cofferd.service')], { encoding: 'utf8' });
    t.equal(verify.status, 0, verify.stderr);
    const security = spawnSync('systemd-analyze', ['security', '--offline=true', path.join(units, 'cofferd.service')], { encoding: 'utf8' });
    const exposure = /Overall exposure level for cofferd\.service: (\d+\.\d+)/.exec(security.stdout);
    t.ok(exposure, security.stdout.slice(-500) + security.stderr);
    t.ok(Number(exposure?.[1]) <= 1.0, `exposure ${exposure?.[1]} is 1.0 or better`);
  });

  const data = path.join(destdir, 'var/lib/coffer');
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(data, 'users.json'), '[]');
  const removed = install(destdir, ['--uninstall']);
  t.equal(removed.status, 0, removed.out);
  t.notOk(existsSync(prefix), 'the prefix is gone');
  t.notOk(existsSync(path.join(units, 'cofferd.service')), 'the units are gone');
  t.notOk(existsSync(path.join(units, 'cofferd.socket')));
  t.equal(readFileSync(path.join(data, 'users.json'), 'utf8'), '[]', 'the data is untouched');
  t.match(removed.out, /the data in \/var\/lib\/coffer and the coffer user are kept/);
});

t.test('a node the service cannot see is refused, or copied with --copy-node', async (t) => {
  const dir = tempDir(t);
  // A node under /tmp, as nvm-style installs in a home directory or a temp dir are.
  const hidden = path.join(dir, 'nvm', 'node');
  mkdirSync(path.dirname(hidden));
  writeFileSync(hidden, `#!/bin/sh\nexec ${process.execPath} "$@"\n`);
  chmodSync(hidden, 0o755);
  const destdir = path.join(dir, 'root');
  const refused = install(destdir, ['--node', hidden]);
  t.equal(refused.status, 3);
  t.match(refused.out, /is hidden from the service \(ProtectHome=yes, PrivateTmp=yes\): install Node system-wide and pass --node, or add --copy-node/);
  t.notOk(existsSync(path.join(destdir, 'opt/coffer')), 'nothing was installed');

  const copied = install(destdir, ['--node', hidden, '--copy-node', '--prefix', '/srv/coffer']);
  t.equal(copied.status, 0, copied.out);
  t.ok(existsSync(path.join(destdir, 'srv/coffer/bin/node')));
  t.match(readFileSync(path.join(destdir, 'etc/systemd/system/cofferd.service'), 'utf8'), /^ExecStart=\/srv\/coffer\/bin\/node \/srv\/coffer\/daemon\/dist\/main.js /m);
});

t.test('bad arguments are usage errors (exit 3) that say what to pass', async (t) => {
  const destdir = path.join(tempDir(t), 'root');
  for (const [args, message] of [
    [['--bogus'], /unknown argument: --bogus/],
    [['--prefix', 'relative'], /--prefix must be an absolute path other than \//],
    [['--prefix', '/'], /--prefix must be an absolute path other than \//],
    [['--add-user', 'no-such-user-here'], /--add-user no-such-user-here: no such user/],
    [['--add-user'], /--add-user needs a user name/],
  ] as const) {
    const r = install(destdir, [...args]);
    t.equal(r.status, 3, args.join(' '));
    t.match(r.out, message);
  }
  const help = install(destdir, ['--help']);
  t.equal(help.status, 0);
  t.match(help.out, /^usage: install-systemd.sh/);
});
