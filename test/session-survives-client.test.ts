import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { repoRoot, startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';

t.setTimeout(120_000);

const run = promisify(execFile);
const script = path.join(repoRoot, 'test/fixtures/session-client.mjs');

interface Outcome {
  pid: number;
  result?: Record<string, unknown>;
  error?: string;
}

/** One call from its own short-lived node process (the compiled client, as a web worker would use). */
async function callFromNewProcess(socket: string, method: string, params: object): Promise<Outcome> {
  const { stdout } = await run(process.execPath, [script, socket, method, JSON.stringify(params)], { cwd: repoRoot });
  return JSON.parse(stdout) as Outcome;
}

t.test('a session made by one client process works from another after the first has exited', async (t) => {
  // Without coverage hooks, as the client processes run: the product as shipped.
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS, coverage: false });
  const admin = await daemon.client();
  await admin.call('users.create', { username: 'alice', password: 'pw' });

  const login = await callFromNewProcess(daemon.socketPath, 'users.unlock', { username: 'alice', password: 'pw' });
  const session = login.result!['session'] as string;
  t.match(session, /^[A-Za-z0-9_-]{43}$/, 'process 1 unlocked and exited');
  t.not(login.pid, process.pid);

  const check = await callFromNewProcess(daemon.socketPath, 'sessions.check', { session });
  t.not(check.pid, login.pid, 'a different process');
  t.equal(check.result!['username'], 'alice', 'process 2 is served by the session of process 1');
  t.same((await admin.call('daemon.status', {})).users, { total: 1, unlocked: 1 }, 'the secret stayed unlocked in the daemon');

  const rotate = await callFromNewProcess(daemon.socketPath, 'users.rotateSecret', { session });
  t.same(rotate.result, {}, 'process 3 can use the secret (rotate it)');
  const logout = await callFromNewProcess(daemon.socketPath, 'sessions.end', { session });
  t.same(logout.result, {});
  const late = await callFromNewProcess(daemon.socketPath, 'sessions.check', { session });
  t.equal(late.error, 'LOCKED', 'after logout, from yet another process: LOCKED');
  t.same((await admin.call('daemon.status', {})).users, { total: 1, unlocked: 0 });
});
