import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { RawConnection } from './helpers/raw-socket.js';

t.setTimeout(120_000);

t.test('create, list, change password, delete: the whole life of users over the socket', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  const usersFile = path.join(daemon.dataDir, 'users.json');

  t.same(await client.call('users.list', {}), { users: [] }, 'no users, no file needed');
  t.same(await client.call('users.create', { username: 'alice', password: 'alice pw' }), { username: 'alice', hasPassword: true });
  t.same(await client.call('users.create', { username: 'admin' }), { username: 'admin', hasPassword: false });
  await rejectsWith(t, client.call('users.create', { username: 'alice' }), 'ALREADY_EXISTS');
  t.same(await client.call('users.list', {}), {
    users: [
      { username: 'alice', hasPassword: true, unlocked: false },
      { username: 'admin', hasPassword: false, unlocked: false },
    ],
  });

  const file = JSON.parse(readFileSync(usersFile, 'utf8'));
  t.equal(file.format, 'coffer.users');
  t.equal(file.version, 1);
  t.same(Object.keys(file.users), ['alice', 'admin']);
  t.same(file.users.admin, { kdf: null, secret: null }, 'no password, no secret');
  t.match(file.users.alice, { kdf: { alg: 'argon2id13', opslimit: 2, memlimit: 67108864 }, secret: { alg: 'xchacha20poly1305-ietf' } });
  t.notMatch(readFileSync(usersFile, 'utf8'), 'alice pw', 'the password is nowhere in the file');
  t.equal(statSync(usersFile).mode & 0o777, 0o600);

  // Passwordless: nothing to unlock, no secret for encrypted storage.
  await rejectsWith(t, client.call('users.unlock', { username: 'admin', password: 'anything' }), 'PASSWORD_REQUIRED');

  // Password change: the new password opens, the old one no longer does.
  await rejectsWith(t, client.call('users.changePassword', { username: 'alice', oldPassword: 'wrong', newPassword: 'x' }), 'BAD_PASSWORD');
  await rejectsWith(t, client.call('users.changePassword', { username: 'alice', newPassword: 'x' }), 'BAD_PASSWORD', /oldPassword/);
  await client.call('users.changePassword', { username: 'alice', oldPassword: 'alice pw', newPassword: 'new pw' });
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'alice pw' }), 'BAD_PASSWORD');
  const unlocked = await client.call('users.unlock', { username: 'alice', password: 'new pw' });
  t.equal(unlocked.username, 'alice');
  t.match(unlocked.session, /^[A-Za-z0-9_-]{43}$/);
  t.match(unlocked.expiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  // A first password for the passwordless user: from then on they can unlock.
  await client.call('users.changePassword', { username: 'admin', newPassword: 'admin pw' });
  await client.call('users.unlock', { username: 'admin', password: 'admin pw' });
  const status = await client.call('daemon.status', {});
  t.same(status.users, { total: 2, unlocked: 2 });
  t.equal(status.sessions, 2);

  // Delete: the password is required, and deleting locks the user.
  await rejectsWith(t, client.call('users.delete', { username: 'alice' }), 'BAD_PASSWORD', /give it/);
  await rejectsWith(t, client.call('users.delete', { username: 'alice', password: 'alice pw' }), 'BAD_PASSWORD');
  t.equal((await client.call('users.list', {})).users.length, 2, 'a refused delete deletes nothing');
  await client.call('users.delete', { username: 'alice', password: 'new pw' });
  await rejectsWith(t, client.call('sessions.check', { session: unlocked.session }), 'LOCKED');
  t.same((await client.call('users.list', {})).users.map((u) => u.username), ['admin']);
  await rejectsWith(t, client.call('users.delete', { username: 'alice', password: 'new pw' }), 'NOT_FOUND');
  // An unknown name answers users.unlock like a wrong password (issue 13: no username probing).
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'new pw' }), 'BAD_PASSWORD');
  await rejectsWith(t, client.call('users.lock', { username: 'alice' }), 'NOT_FOUND');
  await rejectsWith(t, client.call('users.changePassword', { username: 'ghost', oldPassword: 'a', newPassword: 'b' }), 'NOT_FOUND');
  // A user without a password is deleted without one.
  await client.call('users.create', { username: 'guest' });
  await client.call('users.delete', { username: 'guest' });
  t.same((await client.call('daemon.status', {})).users, { total: 1, unlocked: 1 });

  // Users survive a restart (sessions do not).
  await daemon.restart();
  const again = await daemon.client();
  t.same(await again.call('users.list', {}), { users: [{ username: 'admin', hasPassword: true, unlocked: false }] });
  await again.call('users.unlock', { username: 'admin', password: 'admin pw' });
  t.match(daemon.logs, /"hardening":\{"coreDumpsOff":true,"notDumpable":true\}/, 'core dumps disabled at start');
  const limits = readFileSync(`/proc/${daemon.pid}/limits`, 'utf8');
  t.match(limits, /Max core file size\s+0\s+0\s/, 'RLIMIT_CORE is 0, soft and hard');
});

t.test('bad usernames are -32602 before anything is built from them; nothing is written', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'keep', password: 'pw' });
  const before = readFileSync(path.join(daemon.dataDir, 'users.json'));
  // What could escape the data dir, hide a file or reach a prototype (Specter's own names — spaces,
  // Unicode, "a..b" — are accepted: see the end of this test).
  const bad = ['../x', '__proto__', 'constructor', 'prototype', 'a'.repeat(65), '.hidden', '..', 'x/y', 'x\\y', 'tab\there', ''];
  for (const username of bad) {
    for (const call of [
      () => client.call('users.create', { username, password: 'pw' }),
      () => client.call('users.unlock', { username, password: 'pw' }),
      () => client.call('users.delete', { username, password: 'pw' }),
      () => client.call('users.lock', { username }),
      () => client.call('users.changePassword', { username, oldPassword: 'pw', newPassword: 'pw2' }),
    ]) {
      const error = await rejectsWith(t, call(), 'INVALID_PARAMS');
      t.equal(error.code, -32602);
      t.notMatch(error.message, username === '' ? /\0/ : username, 'the name is not echoed');
    }
  }
  t.equal('a'.repeat(64).length, 64);
  await client.call('users.create', { username: 'a'.repeat(64) });
  await client.call('users.create', { username: 'Mixed.Case_1@x-y' });
  await client.call('users.delete', { username: 'a'.repeat(64) });
  for (const specterName of ['a b', 'é', 'a..b']) {
    await client.call('users.create', { username: specterName });
    await client.call('users.delete', { username: specterName });
  }
  t.same(
    readFileSync(path.join(daemon.dataDir, 'users.json'), 'utf8').replace(/,\n\s+"Mixed.Case_1@x-y": \{[^}]*\}/, ''),
    before.toString('utf8'),
    'the bad names left no trace',
  );
  // Params the schema refuses: passwords past 1024 chars, unknown members, bad ttl, bad tokens.
  await rejectsWith(t, client.call('users.create', { username: 'z', password: 'p'.repeat(1025) }), 'INVALID_PARAMS');
  await rejectsWith(t, client.call('users.create', { username: 'z', password: '' }), 'INVALID_PARAMS');
  await rejectsWith(t, client.call('users.unlock', { username: 'keep', password: 'pw', ttlS: 0 }), 'INVALID_PARAMS');
  await rejectsWith(t, client.call('users.create', { username: 'z', extra: 1 } as never), 'INVALID_PARAMS');
  await rejectsWith(t, client.call('sessions.check', { session: 'short' }), 'INVALID_PARAMS');
  // Over the raw socket, a __proto__ member in params is a plain unknown member.
  const raw = await RawConnection.open(daemon.socketPath);
  t.teardown(() => raw.close());
  await raw.write('{"jsonrpc":"2.0","id":1,"method":"users.create","params":{"username":"q","__proto__":{"password":"x"}}}\n');
  t.equal((await raw.next()).error.code, -32602);
  t.same((await client.call('users.list', {})).users.map((u) => u.username), ['keep', 'Mixed.Case_1@x-y']);
});
