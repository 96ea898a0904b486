import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { UserDataHooks } from '../daemon/src/port/users.js';
import {
  decodeBase64Text,
  defaultUserConfig,
  pyDumpFile,
  pyDumps,
  pyLoads,
  USER_KEY_ORDER,
  userSecretOf,
  verifyPasswordHash,
  passwordHashOf,
  type PyObject,
} from '../daemon/src/specter/index.js';
import { UsersFile } from './helpers/specter-users-model.js';
import { FaultyFs } from '../daemon/src/disk/faulty-fs.js';
import { realFs } from '../daemon/src/disk/fs.js';
import { rejectsWith } from './helpers/assert.js';
import { noHooks } from './helpers/keyring.js';
import { tempDir, vectorBytes, vectorPath } from './helpers/specter.js';
import {
  copyDatadir,
  expected,
  openSpecterKeyring,
  passwordOf,
  userEntry,
  usersJson,
  usersWithoutSecret,
  usersWithSecret,
} from './helpers/specter-layout.js';
import { decryptUserSecret } from './helpers/specter-user-secret.js';

/**
 * The specter layout's accounts (SpecterAccounts under the real keyring, in this process, on real
 * files): Specter's users.json read and written the way Specter does, PBKDF2 + Fernet at their real
 * cost. The same behaviours are exercised end to end through a daemon in specter-layout-*.test.ts.
 */
t.setTimeout(120_000);

const usersFile = (dir: string) => path.join(dir, 'users.json');
const secretOf = (keyring: { userForSession(s: string): { withSecret<T>(fn: (b: Buffer) => T): T } }, session: string) =>
  keyring.userForSession(session).withSecret((secret) => Buffer.from(secret));
const vectorSecret = (username: string) => decodeBase64Text(expected.users[username]!.user_secret!, 'urlsafe')!;

/** users.json as it would be with only `username`'s `key` replaced by `value` (the rest byte for byte). */
function withOnly(before: Buffer, username: string, key: string, after: PyObject[]): Buffer {
  const users = pyLoads(before.toString('utf8')) as PyObject[];
  const changed = after.find((u) => u.get('username') === username)!;
  users.find((u) => u.get('username') === username)!.set(key, changed.get(key)!);
  return pyDumpFile(users);
}

t.test('unlock opens the secrets of the vectors; every wrong password, the NFD spelling too, is BAD_PASSWORD', async (t) => {
  const dir = copyDatadir(t);
  const before = readFileSync(usersFile(dir));
  const { keyring } = await openSpecterKeyring(t, dir);
  for (const username of usersWithSecret()) {
    const { session } = await keyring.unlock(username, passwordOf(username));
    t.same(secretOf(keyring, session), vectorSecret(username), `${username}: the secret of the vectors`);
    for (const [kind, wrong] of Object.entries(expected.users[username]!.wrong_passwords ?? {})) {
      await rejectsWith(t, keyring.unlock(username, wrong), 'BAD_PASSWORD', undefined);
      t.pass(`${username}: ${kind} refused`);
    }
  }
  t.same(readFileSync(usersFile(dir)), before, 'unlocking users that have a secret at 390000 writes nothing');
});

t.test('a legacy iteration count unlocks; the upgrade to 390000 is saved, and only that value changes', async (t) => {
  const dir = copyDatadir(t);
  const legacy = expected.encrypted_user_secret_legacy_iterations;
  const users = usersJson(dir);
  users.find((u) => u.get('username') === legacy.user)!.set('encrypted_user_secret', pyLoads(vectorBytes(legacy.file).toString('utf8')));
  writeFileSync(usersFile(dir), pyDumpFile(users));
  const before = readFileSync(usersFile(dir));

  const { keyring } = await openSpecterKeyring(t, dir);
  const { session } = await keyring.unlock(legacy.user, passwordOf(legacy.user));
  t.same(secretOf(keyring, session), vectorSecret(legacy.user), `the same secret from ${legacy.iterations} iterations`);
  const after = readFileSync(usersFile(dir));
  const record = userSecretOf(userEntry(dir, legacy.user))!;
  t.equal(record.iterations, 390000, 'upgraded');
  t.same(after, withOnly(before, legacy.user, 'encrypted_user_secret', usersJson(dir)), 'every other byte as it was');
  t.same(await decryptUserSecret(record, passwordOf(legacy.user)), vectorSecret(legacy.user), 'the upgraded record opens to the same secret');
  t.same(readFileSync(usersFile(dir) + '.bkp'), before, 'users.json.bkp is the version before');
});

t.test("a user without a secret gets one at first unlock, as Specter does; only that value changes", async (t) => {
  const dir = copyDatadir(t);
  const { keyring } = await openSpecterKeyring(t, dir);
  for (const username of usersWithoutSecret()) {
    const before = readFileSync(usersFile(dir));
    const { session } = await keyring.unlock(username, passwordOf(username));
    const secret = secretOf(keyring, session);
    const record = userSecretOf(userEntry(dir, username));
    t.ok(record, `${username}: encrypted_user_secret is set`);
    t.equal(record!.iterations, 390000);
    t.same(await decryptUserSecret(record!, passwordOf(username)), secret, `${username}: it opens to the secret in memory`);
    t.same(readFileSync(usersFile(dir)), withOnly(before, username, 'encrypted_user_secret', usersJson(dir)), `${username}: every other byte as it was`);
    keyring.lock(username);
    const again = await keyring.unlock(username, passwordOf(username));
    t.same(secretOf(keyring, again.session), secret, `${username}: the next unlock opens the same secret, no new one`);
  }
});

t.test('a first-unlock secret that cannot be saved fails the unlock: nothing may be written under it', async (t) => {
  const dir = copyDatadir(t);
  const fs = new FaultyFs(realFs);
  const { keyring } = await openSpecterKeyring(t, dir, { fs });
  const [username] = usersWithoutSecret();
  const before = readFileSync(usersFile(dir));
  fs.setRules([{ op: 'open', fault: 'ENOSPC', pathIncludes: 'users.json' }]);
  await rejectsWith(t, keyring.unlock(username!, passwordOf(username!)), 'STORAGE_FAILED');
  t.same(readFileSync(usersFile(dir)), before, 'users.json as it was');
  t.same((await keyring.list()).find((u) => u.username === username)?.unlocked, false, 'not unlocked');
  const { session } = await keyring.unlock(username!, passwordOf(username!));
  t.same(await decryptUserSecret(userSecretOf(userEntry(dir, username!))!, passwordOf(username!)), secretOf(keyring, session), 'the next try records it');
});

t.test('users.create: Specter\'s names, PASSWORD_REQUIRED without a password, Specter\'s record and id', async (t) => {
  const dir = copyDatadir(t);
  const before = readFileSync(usersFile(dir));
  const { keyring } = await openSpecterKeyring(t, dir);
  await rejectsWith(t, keyring.create('newbie', undefined), 'PASSWORD_REQUIRED', /Specter/);
  for (const bad of ['../evil', 'a/b', '__proto__', '.hidden', 'x'.repeat(65)]) await rejectsWith(t, keyring.create(bad, 'pw'), 'INVALID_PARAMS');
  t.same(readFileSync(usersFile(dir)), before, 'nothing written by refused creates');

  await keyring.create('newbie', 'pw one');
  await keyring.create('NewBie', 'pw two');
  await keyring.create('new.bie', 'pw three');
  await keyring.create('a-b', 'pw four');
  // Specter's registration takes any name its form sends: spaces and Unicode too.
  await keyring.create('Bob Smith', 'pw five');
  await keyring.create('caf\u00e9', 'pw six');
  const ids = ['newbie', 'NewBie', 'new.bie', 'a-b', 'Bob Smith', 'caf\u00e9'].map((name) => userEntry(dir, name).get('id'));
  t.same(ids, ['newbie', 'newbie2', 'newbie3', 'a_b', 'bob_smith', 'caf\u00e9'], "Specter's id rule: alias, then 2, 3 while taken");

  const entry = userEntry(dir, 'newbie');
  t.same([...entry.keys()], USER_KEY_ORDER, "Specter's key order, config included for a non-admin");
  t.equal(entry.get('is_admin'), false);
  t.equal(pyDumps(entry.get('jwt_tokens')!), '{}');
  t.equal(pyDumps(entry.get('services')!), '[]');
  t.equal(pyDumps(entry.get('config')!), pyDumps(defaultUserConfig()));
  t.ok(await verifyPasswordHash(passwordHashOf(entry), 'pw one'), "Specter's login hash");
  const { session } = await keyring.unlock('newbie', 'pw one');
  t.same(await decryptUserSecret(userSecretOf(entry)!, 'pw one'), secretOf(keyring, session), 'the secret made at create is the one unlocked');
  t.same(usersJson(dir).slice(0, -6).map((u) => pyDumps(u)), (pyLoads(before.toString('utf8')) as PyObject[]).map((u) => pyDumps(u)), 'earlier users as they were');
});

t.test('changePassword keeps the secret under a fresh salt at 390000; users.json.bkp no longer opens with the old one', async (t) => {
  const dir = copyDatadir(t);
  const [username] = usersWithSecret();
  const { keyring } = await openSpecterKeyring(t, dir);
  const oldRecord = userSecretOf(userEntry(dir, username!))!;
  await keyring.changePassword(username!, passwordOf(username!), 'a new password \u2603');
  const entry = userEntry(dir, username!);
  const record = userSecretOf(entry)!;
  t.not(record.salt, oldRecord.salt, 'fresh salt');
  t.equal(record.iterations, 390000);
  t.same(await decryptUserSecret(record, 'a new password \u2603'), vectorSecret(username!), 'the same secret');
  t.ok(await verifyPasswordHash(passwordHashOf(entry), 'a new password \u2603'), 'new login hash');
  await rejectsWith(t, keyring.unlock(username!, passwordOf(username!)), 'BAD_PASSWORD');
  t.same(readFileSync(usersFile(dir) + '.bkp'), readFileSync(usersFile(dir)), 'the .bkp is the new version: the old password opens nothing here');
  const { session } = await keyring.unlock(username!, 'a new password \u2603');
  t.same(secretOf(keyring, session), vectorSecret(username!));
});

t.test("users.delete: Specter's admin is refused before any password check; others go", async (t) => {
  const dir = copyDatadir(t);
  const { keyring } = await openSpecterKeyring(t, dir);
  const admin = usersJson(dir).find((u) => u.get('is_admin') === true)!.get('username') as string;
  await rejectsWith(t, keyring.delete(admin, 'not even checked'), 'INVALID_PARAMS', /admin cannot be deleted/);
  const [other] = usersWithSecret();
  await rejectsWith(t, keyring.delete(other!, 'wrong'), 'BAD_PASSWORD');
  await keyring.delete(other!, passwordOf(other!));
  t.notOk(usersJson(dir).some((u) => u.get('username') === other), 'gone from users.json');
  t.ok(usersJson(dir).some((u) => u.get('username') === admin), 'the admin stays');
});

t.test('rotateSecret: the new secret is recorded beside the old; a crash before the end is finished by the next unlock', async (t) => {
  const dir = copyDatadir(t);
  const [username] = usersWithSecret();
  const password = passwordOf(username!);
  let failOnce = true;
  const hooks: UserDataHooks = {
    ...noHooks,
    reencryptUserData: async () => {
      if (failOnce) {
        failOnce = false;
        throw new Error('crash while re-encrypting');
      }
    },
  };
  const first = await openSpecterKeyring(t, dir, { hooks });
  const { session } = await first.keyring.unlock(username!, password);
  await t.rejects(first.keyring.rotateSecret(session), /crash while re-encrypting/);
  const mid = userEntry(dir, username!);
  t.ok(mid.has('coffer_pending_user_secret'), 'the pending secret is on disk');
  t.same(await decryptUserSecret(userSecretOf(mid)!, password), vectorSecret(username!), "Specter still reads the old secret meanwhile");
  first.keyring.close();

  const second = await openSpecterKeyring(t, dir);
  const again = await second.keyring.unlock(username!, password);
  const rotated = secretOf(second.keyring, again.session);
  t.notSame(rotated, vectorSecret(username!), 'a new secret');
  const done = userEntry(dir, username!);
  t.notOk(done.has('coffer_pending_user_secret'), 'the unlock finished the rotation');
  t.same(await decryptUserSecret(userSecretOf(done)!, password), rotated, 'users.json holds the new secret');

  // A full rotation in one go, and again after a password change: the kek in memory matches the file.
  await second.keyring.changePassword(username!, password, 'pw 2');
  await second.keyring.rotateSecret(again.session);
  const last = secretOf(second.keyring, again.session);
  t.notSame(last, rotated);
  t.same(await decryptUserSecret(userSecretOf(userEntry(dir, username!))!, 'pw 2'), last);
  t.same(readFileSync(usersFile(dir) + '.bkp'), readFileSync(usersFile(dir)), 'no users.json.bkp names the old secret');
});

t.test("a folder without users.json is Specter's first start: the admin, password admin, written at the first change", async (t) => {
  const dir = tempDir(t);
  const { keyring } = await openSpecterKeyring(t, dir);
  t.same(await keyring.list(), [{ username: 'admin', hasPassword: true, unlocked: false }]);
  await rejectsWith(t, keyring.unlock('admin', 'not admin'), 'BAD_PASSWORD');
  const { session } = await keyring.unlock('admin', 'admin');
  const admin = userEntry(dir, 'admin');
  t.same([...admin.keys()], USER_KEY_ORDER.slice(0, -1), 'no config for the admin, as Specter writes it');
  t.same(await decryptUserSecret(userSecretOf(admin)!, 'admin'), secretOf(keyring, session));
});

t.test('odd users.json: damaged secret, duplicate names, lenient and hostile existing names', async (t) => {
  const [username] = usersWithSecret();
  const password = passwordOf(username!);

  // Unlock is the unwrap of the secret, not the login hash (rpcpasswordaspin users have a hash of
  // another password): a token that does not open is all we know, so it reads as a wrong password.
  await t.test('password right, token damaged: BAD_PASSWORD (the unwrap is the check), never replaced', async (t) => {
    const dir = copyDatadir(t);
    const users = usersJson(dir);
    const record = users.find((u) => u.get('username') === username)!.get('encrypted_user_secret') as PyObject;
    const token = record.get('token') as string;
    record.set('token', token.slice(0, 60) + (token[60] === 'A' ? 'B' : 'A') + token.slice(61));
    writeFileSync(usersFile(dir), pyDumpFile(users));
    const before = readFileSync(usersFile(dir));
    const { keyring } = await openSpecterKeyring(t, dir);
    await rejectsWith(t, keyring.unlock(username!, password), 'BAD_PASSWORD');
    await rejectsWith(t, keyring.unlock(username!, password + 'x'), 'BAD_PASSWORD');
    t.same(readFileSync(usersFile(dir)), before, 'left untouched');
  });

  await t.test('two users of one name, or not an array: CORRUPT, never rewritten', async (t) => {
    for (const text of [`[${pyDumps(usersJson(vectorPath('datadir'))[0]!)}, ${pyDumps(usersJson(vectorPath('datadir'))[0]!)}]`, '{"a": 1}', '[1]']) {
      const dir = tempDir(t);
      writeFileSync(usersFile(dir), text);
      const { keyring } = await openSpecterKeyring(t, dir);
      await rejectsWith(t, keyring.list(), 'CORRUPT');
      await rejectsWith(t, keyring.create('someone', 'pw'), 'CORRUPT');
      t.equal(readFileSync(usersFile(dir), 'utf8'), text);
    }
  });

  await t.test('an existing name with spaces and Unicode works; a hostile one is kept in the file but never used', async (t) => {
    const dir = copyDatadir(t);
    const file = UsersFile.parse(readFileSync(usersFile(dir)));
    await file.register('Zo\u00eb Smith', 'zo\u00eb pw');
    const users = file.toValue() as PyObject[];
    const hostile = new Map(users[users.length - 1]!);
    hostile.set('username', '../evil');
    hostile.set('id', 'evil');
    users.push(hostile);
    writeFileSync(usersFile(dir), pyDumpFile(users));
    const { keyring } = await openSpecterKeyring(t, dir);
    const { session } = await keyring.unlock('Zo\u00eb Smith', 'zo\u00eb pw');
    t.ok(session, 'the lenient rule admits an existing Specter name');
    await rejectsWith(t, keyring.unlock('../evil', 'zo\u00eb pw'), 'INVALID_PARAMS');
    t.ok((await keyring.list()).some((u) => u.username === '../evil'), 'listed as it is');
    await keyring.create('later', 'pw');
    t.ok(usersJson(dir).some((u) => u.get('username') === '../evil'), 'and kept when the file is rewritten');
  });
});
