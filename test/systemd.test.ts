import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CofferClient } from '@coffer/client';
import { startWatchdog, watchdogIntervalMs } from '../daemon/src/systemd.js';
import { childEnv, daemonCommand, repoRoot, startDaemon, tempDir } from './helpers/daemon.js';

t.setTimeout(120_000);

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

t.test('the unit files pass systemd-analyze verify', { skip: !has('systemd-analyze') && 'systemd-analyze is not installed' }, async (t) => {
  const dir = tempDir(t);
  const unit = readFileSync(path.join(repoRoot, 'scripts/systemd/cofferd.service'), 'utf8')
    .replaceAll('@NODE@', process.execPath)
    .replaceAll('@PREFIX@', repoRoot);
  t.notMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'V8 needs W+X memory');
  t.match(unit, /^Type=notify$/m);
  t.match(unit, /^LimitCORE=0$/m);
  t.match(unit, /^UMask=0077$/m);
  t.notMatch(unit, /^RuntimeDirectory=/m, 'the socket must not live in a RuntimeDirectory systemd deletes');
  writeFileSync(path.join(dir, 'cofferd.service'), unit);
  writeFileSync(path.join(dir, 'cofferd.socket'), readFileSync(path.join(repoRoot, 'scripts/systemd/cofferd.socket'), 'utf8').replaceAll('@PREFIX@', repoRoot));
  const verify = spawnSync('systemd-analyze', ['verify', path.join(dir, 'cofferd.socket'), path.join(dir, 'cofferd.service')], {
    encoding: 'utf8',
  });
  t.equal(verify.status, 0, verify.stderr);
});

/** A Unix datagram socket that records what is sent to it (Node has none; Python's stdlib does). */
function notifyListener(socketPath: string) {
  const script = [
    'import socket, sys, json',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("ready", flush=True)',
    'while True:',
    '    print(json.dumps(s.recv(4096).decode()), flush=True)',
  ].join('\n');
  const child = spawn('python3', ['-c', script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (line === 'ready') ready();
      else messages.push(JSON.parse(line) as string);
    }
  });
  return { started, messages, stop: () => child.kill() };
}

async function until(predicate: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test(
  'socket activation and sd_notify: serves on the inherited socket, READY=1 then STOPPING=1',
  { skip: !has('systemd-socket-activate') && 'systemd-socket-activate is not installed' },
  async (t) => {
    const dir = tempDir(t);
    const socketPath = path.join(dir, 'cofferd.sock');
    const notify = notifyListener(path.join(dir, 'notify.sock'));
    t.teardown(notify.stop);
    await notify.started;
    const [node, argv] = daemonCommand(['--data-dir', path.join(dir, 'data'), '--socket', socketPath, '--log-format', 'json']);
    // systemd-socket-activate clears the environment: pass ours (tap's loader and coverage) through.
    const env = { ...childEnv(), NOTIFY_SOCKET: path.join(dir, 'notify.sock') };
    const passEnv = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : ['-E', `${k}=${v}`]));
    const activator = spawn('systemd-socket-activate', ['-l', socketPath, ...passEnv, node, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    activator.stdout.on('data', (b: Buffer) => (log += b.toString()));
    activator.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => activator.once('exit', (code) => resolve(code)));
    t.teardown(() => activator.kill('SIGKILL'));
    await until(() => log.includes('Listening on'), 'systemd-socket-activate to listen');

    // The first connection makes it exec cofferd, which takes over the socket as fd 3.
    const client = await CofferClient.connect({ socketPath, timeoutMs: 30_000 });
    t.teardown(() => client.close());
    const status = await client.call('daemon.status', {});
    t.ok(status.pid > 0);
    await until(() => notify.messages.some((m) => m.includes('READY=1')), 'READY=1');
    const ready = notify.messages.find((m) => m.includes('READY=1'))!;
    t.match(ready, `MAINPID=${status.pid}`);
    t.match(ready, 'STATUS=serving on');
    t.notMatch(log, /"msg":"removed stale socket"/);

    process.kill(status.pid, 'SIGTERM');
    t.equal(await exited, 0, 'exits 0 on SIGTERM');
    t.ok(notify.messages.some((m) => m === 'STOPPING=1'), 'STOPPING=1 was sent');
    // The inherited socket belongs to systemd: cofferd must not delete it.
    t.ok(spawnSync('test', ['-S', socketPath]).status === 0, 'the socket file is still there');
  },
);

t.test('watchdog: WATCHDOG=1 every WatchdogSec/2 from the running daemon, only when asked of this process', async (t) => {
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42), 15_000, 'half of WatchdogSec=30');
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42), undefined, 'meant for another process');
  t.equal(watchdogIntervalMs({}, 42), undefined, 'no WatchdogSec=');
  t.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  t.equal(startWatchdog({}, 42), undefined, 'nothing to start');

  const dir = tempDir(t);
  const notify = notifyListener(path.join(dir, 'notify.sock'));
  t.teardown(notify.stop);
  await notify.started;
  await startDaemon(t, { env: { NOTIFY_SOCKET: path.join(dir, 'notify.sock'), WATCHDOG_USEC: '200000' } });
  await until(() => notify.messages.filter((m) => m === 'WATCHDOG=1').length >= 3, 'three WATCHDOG=1 pings');
  t.ok(notify.messages.some((m) => m.startsWith('READY=1')), 'READY=1 came first');
  t.ok(notify.messages.indexOf('WATCHDOG=1') > notify.messages.findIndex((m) => m.startsWith('READY=1')), 'pings start once it serves');
});
