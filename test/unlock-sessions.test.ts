import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { KDF_INTERACTIVE } from '../daemon/src/crypto/argon2id.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';

t.setTimeout(120_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('unlock, check, end, lock; a restart ends every session', async (t) => {
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--session-ttl', '3600', '--session-idle', '600'] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'pw' });
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'PW' }), 'BAD_PASSWORD');

  const first = await client.call('users.unlock', { username: 'alice', password: 'pw' });
  const checked = await client.call('sessions.check', { session: first.session });
  t.equal(checked.username, 'alice');
  t.equal(checked.expiresAt, first.expiresAt);
  const expires = Date.parse(first.expiresAt);
  t.ok(expires > Date.now() + 3500_000 && expires <= Date.now() + 3600_000, 'the configured ttl');
  t.ok(Date.parse(checked.idleExpiresAt) <= Date.now() + 600_000, 'the configured idle limit');

  const short = await client.call('users.unlock', { username: 'alice', password: 'pw', ttlS: 60, idleS: 30 });
  t.ok(Date.parse(short.expiresAt) <= Date.now() + 60_000, 'ttlS shortens');
  t.ok(Date.parse((await client.call('sessions.check', { session: short.session })).idleExpiresAt) <= Date.now() + 30_000);
  const long = await client.call('users.unlock', { username: 'alice', password: 'pw', ttlS: 999_999 });
  t.ok(Date.parse(long.expiresAt) <= Date.now() + 3600_000, 'ttlS never extends');
  t.not(first.session, short.session, 'every unlock makes its own session');
  t.same((await client.call('daemon.status', {})).users, { total: 1, unlocked: 1 });
  t.equal((await client.call('daemon.status', {})).sessions, 3);

  t.same(await client.call('sessions.end', { session: short.session }), {});
  await rejectsWith(t, client.call('sessions.check', { session: short.session }), 'LOCKED');
  await rejectsWith(t, client.call('sessions.end', { session: short.session }), 'LOCKED');
  t.equal((await client.call('sessions.check', { session: first.session })).username, 'alice', 'the others live on');

  // A token that was never issued, and a non-canonical spelling of a real one.
  await rejectsWith(t, client.call('sessions.check', { session: 'A'.repeat(43) }), 'LOCKED');
  const last = first.session.at(-1)!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1]!; // same 4 leading bits, other spare bits
  await rejectsWith(t, client.call('sessions.check', { session: first.session.slice(0, 42) + sibling }), 'LOCKED');

  t.same(await client.call('users.lock', { username: 'alice' }), {});
  await rejectsWith(t, client.call('sessions.check', { session: first.session }), 'LOCKED');
  await rejectsWith(t, client.call('sessions.check', { session: long.session }), 'LOCKED');
  await rejectsWith(t, client.call('users.rotateSecret', { session: long.session }), 'LOCKED');
  t.same((await client.call('daemon.status', {})).users, { total: 1, unlocked: 0 });
  t.same(await client.call('users.lock', { username: 'alice' }), {}, 'locking a locked user is fine');

  const beforeRestart = await client.call('users.unlock', { username: 'alice', password: 'pw' });
  t.same(await client.call('users.rotateSecret', { session: beforeRestart.session }), {});
  t.equal((await client.call('sessions.check', { session: beforeRestart.session })).username, 'alice');
  await daemon.restart();
  const after = await daemon.client();
  await rejectsWith(t, after.call('sessions.check', { session: beforeRestart.session }), 'LOCKED', /log in again/);
  await rejectsWith(t, after.call('users.rotateSecret', { session: beforeRestart.session }), 'LOCKED');
  t.equal((await after.call('daemon.status', {})).sessions, 0);
  t.ok((await after.call('users.unlock', { username: 'alice', password: 'pw' })).session, 'the password still opens the rotated secret');
});

t.test('an idle session expires and the user is locked', async (t) => {
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--session-idle', '1'] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'pw' });
  const { session } = await client.call('users.unlock', { username: 'alice', password: 'pw' });
  const busy = await client.call('users.unlock', { username: 'alice', password: 'pw' });
  // Keep one session busy across the idle limit; leave the other alone.
  for (let i = 0; i < 4; i++) {
    await sleep(400);
    await client.call('sessions.check', { session: busy.session });
  }
  await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED', /log in again/);
  t.equal((await client.call('sessions.check', { session: busy.session })).username, 'alice', 'use keeps a session alive');
  await sleep(1500);
  // No call touched it: the sweep locked the user on its own.
  const status = await client.call('daemon.status', {});
  t.same(status.users, { total: 1, unlocked: 0 });
  t.equal(status.sessions, 0);
  t.match(daemon.logs, /last session ended: secret zeroed/);
});

t.test('KDF parameters are upgraded at unlock when the configured ones are stronger', async (t) => {
  // Without coverage hooks: two starts, and the code paths are covered by the in-process tests.
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS, coverage: false });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'pw' });
  await daemon.stop();
  const stronger = await startDaemon(t, {
    dir: daemon.dir,
    coverage: false,
    args: ['--kdf-opslimit', String(KDF_INTERACTIVE.opslimit + 1), '--kdf-memlimit', String(KDF_INTERACTIVE.memlimit)],
  });
  const c2 = await stronger.client();
  const usersFile = path.join(daemon.dataDir, 'users.json');
  const kdfOf = () => JSON.parse(readFileSync(usersFile, 'utf8')).users.alice.kdf;
  const oldKdf = kdfOf();
  t.equal(oldKdf.opslimit, KDF_INTERACTIVE.opslimit);
  await rejectsWith(t, c2.call('users.unlock', { username: 'alice', password: 'nope' }), 'BAD_PASSWORD');
  t.same(kdfOf(), oldKdf, 'a failed unlock upgrades nothing');
  const { session } = await c2.call('users.unlock', { username: 'alice', password: 'pw' });
  const newKdf = kdfOf();
  t.equal(newKdf.opslimit, KDF_INTERACTIVE.opslimit + 1, 'upgraded');
  t.equal(newKdf.memlimit, KDF_INTERACTIVE.memlimit);
  t.not(newKdf.salt, oldKdf.salt, 'with a new salt');
  t.match(stronger.logs, /KDF parameters upgraded/);
  // The keys in memory follow the upgrade: a rotation now wraps under the new key.
  await c2.call('users.rotateSecret', { session });
  await c2.call('users.lock', { username: 'alice' });
  await c2.call('users.unlock', { username: 'alice', password: 'pw' });
  t.same(kdfOf(), { ...newKdf, salt: kdfOf().salt }, 'no further upgrade needed');
  t.equal(kdfOf().salt, newKdf.salt, 'and no re-wrap when nothing is stronger');
});
