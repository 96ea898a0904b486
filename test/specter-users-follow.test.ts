import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { CofferClient } from '@coffer/client';
import { pyDumpFile, pyLoads } from '../daemon/src/specter/index.js';
import { rejectsWith } from './helpers/assert.js';
import { repoRoot, startDaemon, tempDir } from './helpers/daemon.js';
import { havePython } from './helpers/specter-daemon.js';
import { specterEdit } from './helpers/specter-edit.js';
import { copyDatadir, expected, openSpecterKeyring, passwordOf, usersJson } from './helpers/specter-layout.js';
import { runPython, vectorPath } from './helpers/specter.js';

/**
 * Follow mode, the specter layout's default (`--specter-users follow`): users.json is Specter's.
 * A real cofferd serves a copy of the vectors' folder while Python changes users.json exactly as
 * Specter does (helpers/specter-edit.ts); cofferd must see each change at the very next call and
 * never write the file itself.
 */
t.setTimeout(400_000);

const svc = expected.services_file;
const bob = svc.user;
const bobPw = passwordOf(bob);
const [service, serviceData] = Object.entries(svc.services)[0]!;

async function serve(t: Test, args: string[] = [], coverage = true): Promise<{ client: CofferClient; dataDir: string; socket: string }> {
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  const daemon = await startDaemon(t, { dir, args, coverage });
  return { client: await daemon.client(), dataDir, socket: daemon.socketPath };
}

const read = (client: CofferClient, session: string) => client.call('services.encrypted.get', { session, service });

t.test('every method that would write users.json answers READ_ONLY; a whole session of calls leaves it as it was', async (t) => {
  if (!havePython(t)) return;
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  // Bob's secret at a legacy iteration count: manage mode would upgrade (rewrite) it at unlock.
  const legacy = expected.encrypted_user_secret_legacy_iterations;
  const users = usersJson(dataDir);
  users.find((u) => u.get('username') === legacy.user)!.set('encrypted_user_secret', pyLoads(readFileSync(vectorPath(legacy.file), 'utf8')));
  const usersFile = path.join(dataDir, 'users.json');
  writeFileSync(usersFile, pyDumpFile(users));
  const before = readFileSync(usersFile);
  const { mtimeMs, ino } = statSync(usersFile);

  const daemon = await startDaemon(t, { dir });
  const client = await daemon.client();
  const { session } = await client.call('users.unlock', { username: bob, password: bobPw });
  t.same((await read(client, session)).data, serviceData, 'the legacy record unlocks, without an upgrade');
  await client.call('services.encrypted.set', { session, service: 'new', data: { a: 1 } });
  await client.call('services.unencrypted.set', { username: bob, service: 'plain', data: { b: 2 } });
  await rejectsWith(t, client.call('users.unlock', { username: bob, password: `${bobPw}x` }), 'BAD_PASSWORD');
  t.same((await client.call('users.list', {})).users.map((u) => u.username), Object.keys(expected.users));

  const where = /users\.json belongs to Specter.*do it in Specter, or start cofferd with --specter-users manage/;
  await rejectsWith(t, client.call('users.create', { username: 'eve', password: 'pw' }), 'READ_ONLY', where);
  await rejectsWith(t, client.call('users.changePassword', { username: bob, oldPassword: bobPw, newPassword: 'new' }), 'READ_ONLY', where);
  await rejectsWith(t, client.call('users.delete', { username: 'carol', password: passwordOf('carol') }), 'READ_ONLY', where);
  await rejectsWith(t, client.call('users.rotateSecret', { session }), 'READ_ONLY', where);
  for (const username of ['admin', 'carol']) {
    // No secret yet: Specter makes it at their first login there; cofferd would have to write it.
    await rejectsWith(t, client.call('users.unlock', { username, password: passwordOf(username) }), 'READ_ONLY', /log in through Specter once/);
  }
  await client.call('sessions.check', { session });
  await client.call('users.lock', { username: bob });
  await rejectsWith(t, read(client, session), 'LOCKED');

  t.same(readFileSync(usersFile), before, 'users.json: every byte as it was');
  t.same([statSync(usersFile).mtimeMs, statSync(usersFile).ino], [mtimeMs, ino], 'users.json: not even rewritten (same mtime and inode)');
  t.notOk(existsSync(`${usersFile}.bkp`), 'no users.json.bkp made');

  // The Python client raises READ_ONLY as its own class.
  const python = runPython<{ cls: string; reason: string }>(
    String.raw`
import json, sys
a = json.load(sys.stdin)
sys.path.insert(0, a["lib"])
import coffer_client as cc
c = cc.CofferClient(a["socket"], timeout=10)
try:
    c.create_user("eve", "pw")
except cc.CofferError as e:
    print(json.dumps({"cls": type(e).__name__, "reason": e.reason}))
`,
    { lib: path.join(repoRoot, 'client/python'), socket: daemon.socketPath },
  );
  t.same(python, { cls: 'ReadOnlyError', reason: 'READ_ONLY' });
});

t.test("users.json rewritten by Specter while the daemon serves: each change counts at the next call", async (t) => {
  if (!havePython(t)) return;
  const { client, dataDir } = await serve(t);
  const first = (await client.call('users.unlock', { username: bob, password: bobPw })).session;
  t.same((await read(client, first)).data, serviceData);

  await t.test('a new user unlocks at once', async (t) => {
    specterEdit(dataDir, { op: 'add', username: 'dave', password: 'dave pw' });
    const { session } = await client.call('users.unlock', { username: 'dave', password: 'dave pw' });
    await client.call('services.encrypted.set', { session, service: 'mine', data: { d: 1 } });
    t.same((await client.call('services.encrypted.get', { session, service: 'mine' })).data, { d: 1 });
  });

  await t.test("a password change: the new password unlocks the same secret, the old one no longer; the re-wrap ends the user's sessions", async (t) => {
    specterEdit(dataDir, { op: 'passwd', username: bob, old: bobPw, new: 'bob new' });
    await rejectsWith(t, read(client, first), 'LOCKED');
    await rejectsWith(t, client.call('users.unlock', { username: bob, password: bobPw }), 'BAD_PASSWORD');
    const { session } = await client.call('users.unlock', { username: bob, password: 'bob new' });
    t.same((await read(client, session)).data, serviceData, 'the same secret: the data still opens');
  });

  await t.test('a secret set to null: LOCKED, and unlock says to log in through Specter', async (t) => {
    const { session } = await client.call('users.unlock', { username: 'dave', password: 'dave pw' });
    specterEdit(dataDir, { op: 'drop-secret', username: 'dave' });
    await rejectsWith(t, client.call('services.encrypted.get', { session, service: 'mine' }), 'LOCKED');
    await rejectsWith(t, client.call('users.unlock', { username: 'dave', password: 'dave pw' }), 'READ_ONLY', /log in through Specter once/);
  });

  await t.test('a secret replaced by another under the same password: LOCKED; the next unlock opens the new one', async (t) => {
    const { session } = await client.call('users.unlock', { username: bob, password: 'bob new' });
    specterEdit(dataDir, { op: 'replace-secret', username: bob, password: 'bob new' });
    await rejectsWith(t, read(client, session), 'LOCKED');
    await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED');
    const again = (await client.call('users.unlock', { username: bob, password: 'bob new' })).session;
    await rejectsWith(t, read(client, again), 'CORRUPT', undefined);
    t.pass('the old data does not open under the new secret: it really is another one');
  });

  await t.test('a deleted user: sessions LOCKED, unlock BAD_PASSWORD (an unknown name answers as a wrong password)', async (t) => {
    const { session } = await client.call('users.unlock', { username: bob, password: 'bob new' });
    specterEdit(dataDir, { op: 'delete', username: bob });
    await rejectsWith(t, read(client, session), 'LOCKED');
    await rejectsWith(t, client.call('users.unlock', { username: bob, password: 'bob new' }), 'BAD_PASSWORD');
  });

  await t.test('the watcher: a change locks the user with no call at all (the secret zeroed at once)', async (t) => {
    specterEdit(dataDir, { op: 'add', username: 'dave2', password: 'pw2' });
    await client.call('users.unlock', { username: 'dave2', password: 'pw2' });
    const unlocked = async () => (await client.call('daemon.status', {})).users.unlocked;
    const count = await unlocked();
    specterEdit(dataDir, { op: 'delete', username: 'dave2' });
    const deadline = Date.now() + 10_000;
    while ((await unlocked()) === count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.equal(await unlocked(), count - 1, 'daemon.status (which reads no users.json) counts one unlocked user less');
  });
});

t.test("an rpcpasswordaspin record (secret wrapped under the RPC password, hash of another) unlocks with the wrapping password", async (t) => {
  if (!havePython(t)) return;
  for (const mode of ['follow', 'manage']) {
    // Without coverage hooks (faster start): the unlock path is the one the tests above cover.
    const { client, dataDir } = await serve(t, ['--specter-users', mode], false);
    const [secret] = specterEdit(dataDir, { op: 'aspin', username: 'pi', wrap: 'rpc-password', hash: 'old pin' });
    const before = readFileSync(path.join(dataDir, 'users.json'));
    const { session } = await client.call('users.unlock', { username: 'pi', password: 'rpc-password' });
    await client.call('services.encrypted.set', { session, service: 'x', data: { v: 1 } });
    await rejectsWith(t, client.call('users.unlock', { username: 'pi', password: 'old pin' }), 'BAD_PASSWORD');
    t.same(readFileSync(path.join(dataDir, 'users.json')), before, `${mode}: unlocking wrote nothing`);
    // The secret is the one Specter made: Python opens what cofferd wrote with it.
    const opened = runPython<{ v: number }>(
      String.raw`
import json, sys
from cryptography.fernet import Fernet
a = json.load(sys.stdin)
f = json.load(open(a["file"]))
print(Fernet(a["secret"].encode()).decrypt(f["x"].encode()).decode())
`,
      { file: path.join(dataDir, 'pi_services.json'), secret },
    );
    t.same(opened, { v: 1 }, `${mode}: data under the secret Specter made`);
  }
});

t.test('in process: a change between the read of the record and the end of the KDF is not unlocked; a broken users.json keeps sessions', async (t) => {
  const dataDir = copyDatadir(t);
  const usersFile = path.join(dataDir, 'users.json');
  const { keyring } = await openSpecterKeyring(t, dataDir, { follow: { watch: false }, unlockConcurrency: 1 });
  const unlocking = keyring.unlock(bob, bobPw);
  // list() queues behind the unlock's read of users.json: once it answers, the unlock holds its
  // record and is in its PBKDF2 (390000 iterations, far longer than this write).
  await keyring.list();
  const legacy = expected.encrypted_user_secret_legacy_iterations;
  const users = usersJson(dataDir);
  users.find((u) => u.get('username') === bob)!.set('encrypted_user_secret', pyLoads(readFileSync(vectorPath(legacy.file), 'utf8')));
  writeFileSync(usersFile, pyDumpFile(users));
  await rejectsWith(t, unlocking, 'CONFLICT', /changed on disk during the call; retry/);
  t.equal(keyring.status().unlocked, 0, 'nothing installed');

  const { session } = await keyring.unlock(bob, bobPw);
  // A rotation cofferd started in manage mode and did not finish: finishing it would write users.json.
  const pending = usersJson(dataDir);
  const rotating = pending.find((u) => u.get('username') === bob)!;
  rotating.set('username', 'rotating');
  rotating.set('id', 'rotating');
  rotating.set('coffer_pending_user_secret', rotating.get('encrypted_user_secret')!);
  writeFileSync(usersFile, pyDumpFile([...usersJson(dataDir), rotating]));
  const before = readFileSync(usersFile);
  await rejectsWith(t, keyring.unlock('rotating', bobPw), 'READ_ONLY', /secret rotation cofferd did not finish.*--specter-users manage/);
  t.same(readFileSync(usersFile), before, 'not finished here: nothing written');

  writeFileSync(usersFile, '[{"broken');
  writeFileSync(`${usersFile}.bkp`, '');
  await keyring.followAccounts();
  t.equal(keyring.userForSession(session).username, bob, 'an unreadable users.json says nothing about the session: it stays');
  await rejectsWith(t, keyring.list(), 'CORRUPT');
});
