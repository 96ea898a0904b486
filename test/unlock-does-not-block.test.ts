import t from 'tap';
import { KDF_INTERACTIVE } from '../daemon/src/crypto/argon2id.js';
import { startDaemon } from './helpers/daemon.js';

t.setTimeout(120_000);

t.test('daemon.status keeps answering while unlocks hash passwords', async (t) => {
  // A costlier KDF than the other tests, so each unlock is long enough to see around it.
  const daemon = await startDaemon(t, {
    args: ['--kdf-opslimit', '4', '--kdf-memlimit', String(KDF_INTERACTIVE.memlimit), '--unlock-concurrency', '2'],
  });
  const admin = await daemon.client();
  const watcher = await daemon.client();
  await admin.call('users.create', { username: 'alice', password: 'pw-a' });
  await admin.call('users.create', { username: 'bob', password: 'pw-b' });

  const UNLOCKS = 4;
  let pending = UNLOCKS;
  const unlocks = Array.from({ length: UNLOCKS }, (_, i) =>
    admin.call('users.unlock', i % 2 ? { username: 'bob', password: 'pw-b' } : { username: 'alice', password: 'pw-a' }).finally(() => pending--),
  );
  // One status call at a time: each needs its own turn of the daemon's event loop. A daemon that
  // hashed on its event loop could answer at most about one between two hashes.
  let answeredMeanwhile = 0;
  let wrong = 0;
  while (pending > 0) {
    const status = await watcher.call('daemon.status', {});
    if (status.pid !== daemon.pid) wrong++;
    if (pending > 0) answeredMeanwhile++;
  }
  t.equal(wrong, 0, 'every status answer was right');
  const sessions = await Promise.all(unlocks);
  t.equal(new Set(sessions.map((s) => s.session)).size, UNLOCKS, 'every unlock succeeded');
  t.ok(answeredMeanwhile > UNLOCKS * 5, `status answered ${answeredMeanwhile} times while ${UNLOCKS} unlocks ran`);
  const status = await watcher.call('daemon.status', {});
  t.same(status.users, { total: 2, unlocked: 2 });
  t.equal(status.sessions, UNLOCKS);
});
