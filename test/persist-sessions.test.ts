import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sodium from 'sodium-native';
import t from 'tap';
import type { CofferClient } from '@coffer/client';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir, type DaemonProcess } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { cofferKeys } from './helpers/coffer-keys.js';
import { coffer } from './helpers/cli.js';
import { callsAs, NOT_ROOT, openSocketToAll } from './helpers/peer.js';
import { copyDatadir, passwordOf, usersWithSecret } from './helpers/specter-layout.js';

/**
 * Issue 16 §3 on one host: `--persist-sessions on` keeps each session, sealed under its token, in
 * the data dir's `sessions/`, so a daemon restart no longer sends every user back to the login
 * page; ending, locking, a password change and expiry remove it. Real daemon, real files.
 */

t.setTimeout(240_000);
const PASSWORD = 'correct horse battery';
const SECRET_VALUE = 'xprv-persisted-session-7d2e';
const WRITER = { uid: 4002, gid: 4002 };
const PERSIST = [...FAST_KDF_ARGS, '--persist-sessions', 'on'];

async function unlocked(client: CofferClient, username = 'alice'): Promise<string> {
  return (await client.call('users.unlock', { username, password: PASSWORD })).session;
}

/** A session's stored name, derived from its token as DESIGN-NOTES says (crypto_kdf, context "cofsessn", subkey 1). */
function storedIdOf(token: string): string {
  const id = Buffer.alloc(32);
  sodium.crypto_kdf_derive_from_key(id, 1, Buffer.from('cofsessn'), Buffer.from(token, 'base64url'));
  return id.toString('hex');
}

function sessionFiles(daemon: DaemonProcess): string[] {
  const dir = path.join(daemon.dataDir, 'sessions');
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
}

t.test('a session outlives a restart, and its stored copy holds neither the token nor any secret', async (t) => {
  const daemon = await startDaemon(t, { args: PERSIST });
  let client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  const session = await unlocked(client);
  await client.call('services.encrypted.set', { session, service: 'wallet', data: { xprv: SECRET_VALUE } });
  const before = await client.call('sessions.check', { session });
  t.equal((await client.call('daemon.status', {})).sessionsStored, true, 'daemon.status says sessions are stored');
  const status = await coffer(['status', '--socket', daemon.socketPath]);
  t.match(status.stdout, /1 sessions \(stored: they survive a restart\)/, 'and so does coffer status');

  const files = sessionFiles(daemon);
  t.equal(files.length, 1, 'one stored session');
  const file = path.join(daemon.dataDir, 'sessions', files[0]!);
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by the daemon user only');
  const bytes = readFileSync(file);
  t.notOk(bytes.includes(Buffer.from(session)), 'the token is not stored');
  t.notOk(bytes.includes(Buffer.from(PASSWORD)), 'nor the password');
  t.notOk(bytes.includes(Buffer.from(SECRET_VALUE)), 'nor a secret value');
  const { kek, secret } = cofferKeys(readFileSync(path.join(daemon.dataDir, 'users.json')), 'alice', PASSWORD);
  for (const [what, key] of [['the password-derived key', kek], ['the user secret', secret]] as const) {
    for (const encoding of ['binary', 'base64', 'base64url', 'hex'] as const) {
      t.notOk(bytes.includes(encoding === 'binary' ? key : Buffer.from(key.toString(encoding))), `${what} is not stored (${encoding})`);
    }
  }

  await daemon.restart();
  client = await daemon.client();
  t.same((await client.call('services.encrypted.get', { session, service: 'wallet' })).data, { xprv: SECRET_VALUE }, 'the same token reads the encrypted data after a restart');
  const after = await client.call('sessions.check', { session });
  t.equal(after.expiresAt, before.expiresAt, 'with the same absolute end');
  t.same((await client.call('users.list', {})).users, [{ username: 'alice', hasPassword: true, unlocked: true }]);
  t.match(daemon.logs, /stored session resumed/);

  await client.call('sessions.end', { session });
  t.same(sessionFiles(daemon), [], 'sessions.end removes the stored copy');
  await daemon.restart();
  client = await daemon.client();
  await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED');
  await rejectsWith(t, client.call('sessions.check', { session: 'A'.repeat(43) }), 'LOCKED', /log in again/);
});

t.test('a stored session opens only with its token, under its own name, as written', async (t) => {
  const daemon = await startDaemon(t, { args: PERSIST });
  let client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  const first = await unlocked(client);
  const second = await unlocked(client);
  t.equal(sessionFiles(daemon).length, 2);
  await daemon.stop();
  const dir = path.join(daemon.dataDir, 'sessions');
  const [a, b] = [first, second].map((token) => path.join(dir, `${storedIdOf(token)}.json`)) as [string, string];
  t.same(sessionFiles(daemon).sort(), [a, b].map((file) => path.basename(file)).sort(), 'each stored under the id its token derives');
  // The first's record under the second's name: the name is the token's, and it is sealed in.
  const bytesA = readFileSync(a);
  const bytesB = readFileSync(b);
  writeFileSync(a, bytesB);
  writeFileSync(b, bytesA);
  await daemon.start();
  client = await daemon.client();
  await rejectsWith(t, client.call('sessions.check', { session: first }), 'LOCKED');
  await rejectsWith(t, client.call('sessions.check', { session: second }), 'LOCKED');
  t.match(daemon.logs, /did not open with its token/);

  // Put back, but with a longer life written in: the limits are sealed in too.
  await daemon.stop();
  writeFileSync(a, bytesA);
  const record = JSON.parse(bytesB.toString()) as { expiresAt: number };
  writeFileSync(b, JSON.stringify({ ...record, expiresAt: record.expiresAt + 86_400_000 }));
  await daemon.start();
  client = await daemon.client();
  t.equal((await client.call('sessions.check', { session: first })).username, 'alice', 'the untouched one is served');
  await rejectsWith(t, client.call('sessions.check', { session: second }), 'LOCKED');

  // A record that is not a record is logged and not served; nothing crashes.
  await daemon.stop();
  writeFileSync(a, '{"v":1,');
  await daemon.start();
  client = await daemon.client();
  await rejectsWith(t, client.call('sessions.check', { session: first }), 'LOCKED');
  t.match(daemon.logs, /a stored session does not decode/);
});

t.test('users.lock, a password change and a rotation end the stored sessions they must', async (t) => {
  const daemon = await startDaemon(t, { args: PERSIST });
  let client = await daemon.client();
  for (const username of ['alice', 'bob']) await client.call('users.create', { username, password: PASSWORD });
  await unlocked(client);
  await unlocked(client);
  const bob = await unlocked(client, 'bob');
  t.equal(sessionFiles(daemon).length, 3);
  await client.call('users.lock', { username: 'alice' });
  t.equal(sessionFiles(daemon).length, 1, "alice's two stored sessions are gone, bob's stays");
  t.equal((await client.call('sessions.check', { session: bob })).username, 'bob');

  // A password change ends every session of the user: here and stored.
  const alice = await unlocked(client);
  await client.call('services.encrypted.set', { session: alice, service: 'wallet', data: { xprv: SECRET_VALUE } });
  await client.call('users.changePassword', { username: 'alice', oldPassword: PASSWORD, newPassword: `${PASSWORD}!` });
  await rejectsWith(t, client.call('sessions.check', { session: alice }), 'LOCKED');
  t.equal(sessionFiles(daemon).length, 1, 'only bob is stored');
  await client.call('users.changePassword', { username: 'alice', oldPassword: `${PASSWORD}!`, newPassword: PASSWORD });

  // A session resumed from the store has no password-derived key, which a rotation needs.
  const resumed = await unlocked(client);
  await daemon.restart();
  client = await daemon.client();
  await rejectsWith(t, client.call('users.rotateSecret', { session: resumed }), 'PASSWORD_REQUIRED', /unlock again with the password/);
  // With the password given again the same user can rotate; the caller's session is sealed anew
  // under the new secret, the user's other stored session ends.
  const fresh = await unlocked(client);
  await client.call('users.rotateSecret', { session: fresh });
  await rejectsWith(t, client.call('sessions.check', { session: resumed }), 'LOCKED');
  await daemon.restart();
  client = await daemon.client();
  t.same((await client.call('services.encrypted.get', { session: fresh, service: 'wallet' })).data, { xprv: SECRET_VALUE }, 'the rotating session reads the data after a restart');
  await rejectsWith(t, client.call('sessions.check', { session: resumed }), 'LOCKED');
  t.equal(sessionFiles(daemon).length, 2, "alice's rotating session and bob's");

  await client.call('users.delete', { username: 'alice', password: PASSWORD });
  t.equal(sessionFiles(daemon).length, 1, "a deleted user's stored sessions go with them");
});

t.test('expiry: a stored session past its idle limit is not served after a restart, and is removed', async (t) => {
  const daemon = await startDaemon(t, { args: [...PERSIST, '--session-idle', '2'] });
  let client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  const session = await unlocked(client);
  await daemon.stop();
  await new Promise((resolve) => setTimeout(resolve, 2_300));
  await daemon.start();
  client = await daemon.client();
  for (let i = 0; i < 100 && sessionFiles(daemon).length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(sessionFiles(daemon), [], 'the start-up sweep removed it');
  await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED');
});

t.test('without --persist-sessions nothing is stored and a restart ends every session, as before', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  let client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  const session = await unlocked(client);
  t.notOk(existsSync(path.join(daemon.dataDir, 'sessions')));
  t.equal((await client.call('daemon.status', {})).sessionsStored, false);
  t.notMatch((await coffer(['status', '--socket', daemon.socketPath])).stdout, /stored/);
  await daemon.restart();
  client = await daemon.client();
  await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED');
});

t.test('a disk that cannot take the stored session fails the unlock: no session is given out that a restart would lose', async (t) => {
  const rules = path.join(tempDir(t), 'faults.json');
  const daemon = await startDaemon(t, { args: [...PERSIST, '--fault-rules-file', rules] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  writeFileSync(rules, JSON.stringify([{ op: 'write', fault: 'ENOSPC', pathIncludes: `${path.sep}sessions${path.sep}`, times: 0 }]));
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: PASSWORD }), 'STORAGE_FAILED');
  t.same((await client.call('users.list', {})).users, [{ username: 'alice', hasPassword: true, unlocked: false }], 'nothing unlocked, no key kept');
  t.same(sessionFiles(daemon), [], 'and nothing half-stored');
  writeFileSync(rules, '[]');
  const session = await unlocked(client);
  t.equal((await client.call('sessions.check', { session })).username, 'alice', 'with room again, unlock works');
  t.equal(sessionFiles(daemon).length, 1);
});

t.test("in a Specter folder, stored sessions go to coffer-sessions/ and Specter's users.json is never written", async (t) => {
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  const usersBefore = readFileSync(path.join(dataDir, 'users.json'));
  const daemon = await startDaemon(t, { dir, args: ['--persist-sessions', 'on'] });
  let client = await daemon.client();
  const bob = usersWithSecret().find((name) => name !== 'admin')!;
  const { session } = await client.call('users.unlock', { username: bob, password: passwordOf(bob) });
  await client.call('services.encrypted.set', { session, service: 'swan', data: { token: SECRET_VALUE } });
  t.equal(readdirSync(path.join(dataDir, 'coffer-sessions')).length, 1);
  t.notOk(existsSync(path.join(dataDir, 'sessions')));
  await daemon.restart();
  client = await daemon.client();
  t.same((await client.call('services.encrypted.get', { session, service: 'swan' })).data, { token: SECRET_VALUE }, 'served after a restart');
  t.same(readFileSync(path.join(dataDir, 'users.json')), usersBefore, "users.json is Specter's still, byte for byte");
});

t.test('a resumed session still works for the uid that unlocked it only', { skip: NOT_ROOT }, async (t) => {
  const dir = tempDir(t);
  const policy = path.join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ 'uid:4002': { users: ['alice'], services: '*', access: 'write', admin: false } }));
  const daemon = await startDaemon(t, { dir, args: [...PERSIST, '--policy', policy] });
  openSocketToAll(daemon.dir, daemon.socketPath);
  let root = await daemon.client();
  await root.call('users.create', { username: 'alice', password: PASSWORD });
  const rootSession = await unlocked(root);
  const [opened] = await callsAs(daemon.socketPath, WRITER, [{ method: 'users.unlock', params: { username: 'alice', password: PASSWORD } }]);
  const writerSession = opened!.result!['session'] as string;
  await daemon.restart();
  openSocketToAll(daemon.dir, daemon.socketPath);
  root = await daemon.client();
  // Each side first presents the other's token, so the first call to resume a session is the thief's.
  const stolen = await callsAs(daemon.socketPath, WRITER, [
    { method: 'sessions.check', params: { session: rootSession } },
    { method: 'sessions.check', params: { session: writerSession } },
  ]);
  t.equal(stolen[0]?.error?.data?.reason, 'FORBIDDEN', "root's resumed session refuses uid 4002");
  t.match(stolen[0]?.error?.message ?? '', /opened by another uid/);
  t.equal(stolen[1]?.result?.['username'], 'alice', "uid 4002's own resumed session works for it");
  await rejectsWith(t, root.call('sessions.check', { session: writerSession }), 'FORBIDDEN');
  t.equal((await root.call('sessions.check', { session: rootSession })).username, 'alice');
});

t.test('a stored session that expires is in the audit trail once: found at a call, or by the sweep at start', async (t) => {
  const dir = tempDir(t);
  const audit = path.join(dir, 'audit.jsonl');
  const daemon = await startDaemon(t, { dir, args: [...PERSIST, '--audit-log', audit, '--session-idle', '1'] });
  let client = await daemon.client();
  for (const username of ['alice', 'bob']) await client.call('users.create', { username, password: PASSWORD });
  const alice = await unlocked(client, 'alice');
  await unlocked(client, 'bob');
  const expiredLines = (): Array<Record<string, unknown>> =>
    readFileSync(audit, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line['event'] === 'sessions.expired');
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  // Here the daemon only let go of both (another daemon on the same store might have used them).
  t.same(expiredLines(), [], 'letting go of an idle stored session is not an expiry');
  await rejectsWith(t, client.call('sessions.check', { session: alice }), 'LOCKED');
  t.same(expiredLines().map((line) => line['user']), ['alice'], "alice's, found expired at a call");
  await daemon.restart();
  client = await daemon.client();
  for (let i = 0; i < 100 && expiredLines().length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(expiredLines().map((line) => line['user']), ['alice', 'bob'], "bob's, by the sweep at start");
  t.same(sessionFiles(daemon), []);
});

t.test('a stored session whose user changed password while sessions were not stored is not served', async (t) => {
  const dir = tempDir(t);
  const daemon = await startDaemon(t, { dir, args: PERSIST });
  let client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  const session = await unlocked(client);
  await daemon.stop();
  // The same data dir without --persist-sessions: a password change there cannot reach the records.
  const plain = await startDaemon(t, { dir, args: FAST_KDF_ARGS });
  await (await plain.client()).call('users.changePassword', { username: 'alice', oldPassword: PASSWORD, newPassword: `${PASSWORD}!` });
  await plain.stop();
  await daemon.start();
  client = await daemon.client();
  await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED');
  t.match(daemon.logs, /stored session does not match its user now: not served/);
  t.equal(sessionFiles(daemon).length, 1, 'the record stays (a rotating daemon could be about to seal it again); it goes at its expiry or a lock');
  await client.call('users.lock', { username: 'alice' });
  t.same(sessionFiles(daemon), []);
});
