import t, { type Test } from 'tap';
import { startDaemon } from './helpers/daemon.js';

t.setTimeout(120_000);

/** 100 concurrent updates of distinct keys over 10 connections; how many durable writes they took. */
async function hundredUpdates(t: Test, args: string[]): Promise<number> {
  const daemon = await startDaemon(t, { args, coverage: false });
  const admin = await daemon.client();
  await admin.call('users.create', { username: 'hana' });
  const clients = await Promise.all(Array.from({ length: 10 }, () => daemon.client()));
  const before = (await admin.call('daemon.status', {})).writes.committed;
  await Promise.all(
    Array.from({ length: 100 }, (_, i) =>
      clients[i % 10]!.call('services.unencrypted.update', { username: 'hana', service: 'app', patch: { [`k${i}`]: i } }),
    ),
  );
  const commits = (await admin.call('daemon.status', {})).writes.committed - before;
  await daemon.restart();
  const { data } = await admin.call('services.unencrypted.get', { username: 'hana', service: 'app' });
  const present = Array.from({ length: 100 }, (_, i) => data[`k${i}`] === i).filter(Boolean).length;
  t.equal(present, 100, 'every acknowledged update is on disk after a restart');
  return commits;
}

t.test('group commit is real: far fewer durable writes than updates, and none lost', async (t) => {
  const grouped = await hundredUpdates(t, []);
  t.ok(grouped < 50, `grouped: 100 updates took ${grouped} durable writes`);
});

t.test('with --no-group-commit every update is its own durable write', async (t) => {
  t.equal(await hundredUpdates(t, ['--no-group-commit']), 100);
});
