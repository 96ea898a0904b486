import t from 'tap';
import type { CofferError } from '@coffer/protocol';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';

t.setTimeout(120_000);

t.test('the client reconnects across a daemon restart', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client({ timeoutMs: 30_000 });
  const firstPid = (await client.call('daemon.status', {})).pid;

  const disconnected = new Promise((resolve) => client.once('disconnect', resolve));
  await daemon.stop('SIGTERM');
  await disconnected;
  t.notOk(client.connected);

  // A call made while the daemon is down waits for it to come back.
  const pending = client.call('daemon.status', {});
  await new Promise((resolve) => setTimeout(resolve, 300));
  await daemon.start();
  const status = await pending;
  t.equal(status.pid, daemon.pid);
  t.not(status.pid, firstPid, 'answered by the new process');
});

t.test('a call made while the daemon is down times out with TIMEOUT', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  await daemon.stop('SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await rejectsWith(t, client.call('daemon.status', {}, { timeoutMs: 300 }), 'TIMEOUT');
});

t.test('a call in flight when the daemon dies fails with CONNECTION_LOST, not a hang', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  // Many calls in flight while the process is killed: every one settles, with a result or CONNECTION_LOST.
  const calls = Array.from({ length: 200 }, () =>
    client.call('rpc.discover', {}).then(
      () => 'ok',
      (e: CofferError) => e.reason,
    ),
  );
  await daemon.stop('SIGKILL');
  const outcomes = await Promise.all(calls);
  t.ok(outcomes.every((o) => o === 'ok' || o === 'CONNECTION_LOST'), 'only answers or CONNECTION_LOST');
});

t.test('close() fails later calls with CLOSED', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  client.close();
  await rejectsWith(t, client.call('daemon.status', {}), 'CLOSED');
});
