import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import t from 'tap';
import { PROTOCOL_VERSION, METHODS } from '@coffer/protocol';
import { childEnv, daemonCommand, DaemonProcess, startDaemon, tempDir } from './helpers/daemon.js';

t.setTimeout(120_000);

t.test('status and discover answer on the socket', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  const status = await client.call('daemon.status', {});
  t.equal(status.protocolVersion, PROTOCOL_VERSION);
  t.equal(status.pid, daemon.pid);
  t.equal(status.socket, daemon.socketPath);
  t.equal(status.dataDir, daemon.dataDir);
  t.equal(status.layout, 'coffer');
  t.equal(status.connections, 1);
  t.match(status.version, /^\d+\.\d+\.\d+/);

  const doc = await client.call('rpc.discover', {});
  t.equal(doc.openrpc, '1.2.6');
  const names = (doc.methods as Array<{ name: string }>).map((m) => m.name).sort();
  t.same(names, Object.keys(METHODS).sort(), 'the catalogue lists exactly the served methods');
  const status2 = (doc.methods as Array<any>).find((m) => m.name === 'daemon.status');
  t.equal(status2['x-params-schema'].additionalProperties, false);
  t.ok(status2.result.schema.properties.pid, 'result schema is plain JSON Schema');
  t.ok((doc.components.errors as any).LOCKED.code === 1010);
});

t.test('socket is 0600 in a 0700 directory, and is removed on SIGTERM with exit 0', async (t) => {
  const daemon = await startDaemon(t);
  t.equal(statSync(daemon.socketPath).mode & 0o777, 0o600);
  t.equal(statSync(path.dirname(daemon.socketPath)).mode & 0o777, 0o700);
  const exit = await daemon.stop('SIGTERM');
  t.same(exit, { code: 0, signal: null });
  t.notOk(existsSync(daemon.socketPath), 'socket file removed');
  t.match(daemon.logs, /"msg":"stopped"/);
});

t.test('--socket-group makes the socket 0660 for that group, its new parent dir 0710', async (t) => {
  const daemon = await startDaemon(t, { args: ['--socket-group', 'daemon'] });
  const { gid } = statSync(daemon.socketPath);
  t.equal(statSync(daemon.socketPath).mode & 0o777, 0o660);
  t.equal(gid, Number(spawnSync('getent', ['group', 'daemon'], { encoding: 'utf8' }).stdout.split(':')[2]));
  t.equal(statSync(path.dirname(daemon.socketPath)).mode & 0o777, 0o710);
  const bad = new DaemonProcess(tempDir(t), { args: ['--socket-group', 'no-such-group-xyz'] });
  t.teardown(() => bad.dispose());
  await t.rejects(bad.start(), /exited \(1\)/);
  t.match(bad.logs, /no such group/);
});

t.test('a second daemon on the same socket refuses to start with exit code 1', async (t) => {
  const first = await startDaemon(t);
  const second = new DaemonProcess(first.dir);
  t.teardown(() => second.dispose());
  await t.rejects(second.start(), /exited \(1\) before listening/);
  t.match(second.logs, /another cofferd is already listening on/);
  // The first one is untouched and still serving.
  const client = await first.client();
  t.equal((await client.call('daemon.status', {})).pid, first.pid);
});

t.test('a stale socket left by a crash is removed and the daemon starts', async (t) => {
  const daemon = await startDaemon(t);
  await daemon.stop('SIGKILL');
  t.ok(existsSync(daemon.socketPath), 'SIGKILL leaves the socket file behind');
  await daemon.start();
  const client = await daemon.client();
  t.equal((await client.call('daemon.status', {})).pid, daemon.pid);
});

t.test('a path that is not a socket is never deleted', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'run'));
  writeFileSync(path.join(dir, 'run', 'cofferd.sock'), 'precious');
  const daemon = new DaemonProcess(dir);
  t.teardown(() => daemon.dispose());
  await t.rejects(daemon.start(), /exited \(1\)/);
  t.match(daemon.logs, /exists and is not a socket/);
  t.ok(statSync(daemon.socketPath).isFile());
});

t.test('--help lists every flag with its COFFER_* twin and default', async (t) => {
  const [cmd, argv] = daemonCommand(['--help']);
  const out = spawnSync(cmd, argv, { encoding: 'utf8' });
  t.equal(out.status, 0);
  for (const flag of ['--data-dir', '--socket', '--socket-group', '--max-frame-bytes', '--max-connections', '--log-level', '--max-queued-bytes', '--max-queued-bytes-hard', '--max-total-queued-bytes', '--max-answer-bytes', '--max-batch', '--idle-timeout']) {
    t.match(out.stdout, flag);
  }
  t.match(out.stdout, /default: "\.\/\.coffer\/data", env:\s+COFFER_DATA_DIR/);
  t.match(out.stdout, /env:\s+COFFER_SOCKET\)/);
  t.match(out.stdout, /default: 300, env:\s+COFFER_IDLE_TIMEOUT/);
  const bad = spawnSync(cmd, [...argv.slice(0, -1), '--max-connections', 'lots'], { encoding: 'utf8' });
  t.equal(bad.status, 3, 'usage errors exit 3');
  t.match(bad.stderr, /expected an integer/);
});

t.test('env twins configure the daemon; with no flags it uses ./.coffer under its working directory', async (t) => {
  const dir = tempDir(t);
  const [cmd, argv] = daemonCommand(['--log-format', 'json']);
  const { spawn } = await import('node:child_process');
  const child = spawn(cmd, argv, { cwd: dir, env: childEnv({ COFFER_MAX_CONNECTIONS: '7' }), stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve) => child.stdout.on('data', () => /listening/.test(out) && resolve()));
  const socketPath = path.join(dir, '.coffer', 'cofferd.sock');
  t.ok(statSync(socketPath).isSocket(), 'default socket under ./.coffer');
  const { CofferClient } = await import('@coffer/client');
  const client = await CofferClient.connect({ socketPath });
  t.teardown(() => client.close());
  const status = await client.call('daemon.status', {});
  t.equal(status.dataDir, path.join(dir, '.coffer', 'data'));
  // the cap of 7 from the environment is in force: with 7 open, the 8th takes the place of the
  // longest-idle one (it used to be refused BUSY; flow-control.test.ts has when BUSY still happens)
  const extra = await Promise.all(Array.from({ length: 6 }, () => connectRaw(socketPath)));
  const eighth = await connectRaw(socketPath);
  eighth.write(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'daemon.status' }) + '\n');
  t.equal(JSON.parse(await firstLine(eighth)).result.connections, 7, 'served, and still 7 open');
  t.match(out, /at --max-connections: closing the longest-idle connection/);
  for (const s of [...extra, eighth]) s.destroy();
});

function connectRaw(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection(socketPath, () => resolve(s));
    s.once('error', reject);
  });
}

function firstLine(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
  });
}
