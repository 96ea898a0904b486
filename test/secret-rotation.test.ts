import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { UnlockedUser, UserDataHooks } from '../daemon/src/port/users.js';
import { FaultyFs } from '../daemon/src/disk/faulty-fs.js';
import { realFs } from '../daemon/src/disk/fs.js';
import { rejectsWith, throwsWith } from './helpers/assert.js';
import { openKeyring, secretOf } from './helpers/keyring.js';

interface Call {
  username: string;
  from: Buffer;
  to: Buffer;
  toHasPrevious: boolean;
}

/** A store stand-in that records what the keyring hands it: the two secrets, read as the store would. */
function recordingHooks(failTimes = 0): UserDataHooks & { calls: Call[]; deleted: string[] } {
  let failures = failTimes;
  const calls: Call[] = [];
  const deleted: string[] = [];
  return {
    calls,
    deleted,
    deleteUserFiles: async (username) => {
      deleted.push(username);
    },
    reencryptUserData: async (username: string, from: UnlockedUser, to: UnlockedUser) => {
      calls.push({
        username,
        from: from.withSecret((s) => Buffer.from(s)),
        to: to.withSecret((s) => Buffer.from(s)),
        toHasPrevious: to.previous !== undefined,
      });
      if (failures-- > 0) throw new Error('store failed mid-way (simulated crash of the re-encryption)');
    },
  };
}

function usersJson(dir: string): { users: Record<string, Record<string, unknown>> } {
  return JSON.parse(readFileSync(path.join(dir, 'users.json'), 'utf8'));
}

t.test('rotateSecret: new secret, store told from/to, old secret dropped from users.json', async (t) => {
  const hooks = recordingHooks();
  const { keyring, dir } = await openKeyring(t, { hooks });
  await keyring.create('alice', 'pw');
  const { session } = await keyring.unlock('alice', 'pw');
  const before = secretOf(keyring, 'alice');
  await keyring.rotateSecret(session);
  const after = secretOf(keyring, 'alice');
  t.notSame(after, before, 'a new secret');
  t.equal(hooks.calls.length, 1);
  t.same(hooks.calls[0]!.from, before, 'from = the old secret');
  t.same(hooks.calls[0]!.to, after, 'to = the new secret');
  t.ok(hooks.calls[0]!.toHasPrevious, 'during the rotation the store can still read with the previous secret');
  t.equal(keyring.unlockedUser('alice')!.previous, undefined, 'no previous once finished');
  t.notOk('pendingSecret' in usersJson(dir).users['alice']!, 'users.json holds only the new secret');
  t.equal(keyring.userForSession(session).username, 'alice', 'the session survives a rotation');
  // The password still opens it, and opens the new secret.
  await keyring.lock('alice');
  await keyring.unlock('alice', 'pw');
  t.same(secretOf(keyring, 'alice'), after);
});

t.test('a rotation interrupted after its first write is finished at the next unlock', async (t) => {
  const hooks = recordingHooks(1);
  const { keyring, dir } = await openKeyring(t, { hooks });
  await keyring.create('alice', 'pw');
  const { session } = await keyring.unlock('alice', 'pw');
  const old = secretOf(keyring, 'alice');
  await t.rejects(keyring.rotateSecret(session), /simulated crash/);
  const user = keyring.userForSession(session);
  const fresh = user.withSecret((s) => Buffer.from(s));
  t.notSame(fresh, old, 'the new secret is primary: new writes go under it');
  t.same(user.previous!.withSecret((s) => Buffer.from(s)), old, 'and the old one still reads');
  t.ok('pendingSecret' in usersJson(dir).users['alice']!, 'users.json records both: nothing is lost');

  // A daemon restart: a new keyring on the same files, the hook now succeeds.
  keyring.close();
  const second = await openKeyring(t, { dir, hooks });
  await second.keyring.unlock('alice', 'pw');
  t.equal(hooks.calls.length, 2, 'the store is asked again (its re-encryption is idempotent)');
  t.same(hooks.calls[1]!.from, old);
  t.same(hooks.calls[1]!.to, fresh);
  t.same(secretOf(second.keyring, 'alice'), fresh, 'the unlocked secret is the new one');
  t.notOk('pendingSecret' in usersJson(dir).users['alice']!, 'the old secret is gone from users.json');
});

t.test('a pending rotation that keeps failing leaves the unlock working with both secrets', async (t) => {
  const hooks = recordingHooks(2);
  const { keyring, dir, logText } = await openKeyring(t, { hooks });
  await keyring.create('alice', 'pw');
  const first = await keyring.unlock('alice', 'pw');
  await t.rejects(keyring.rotateSecret(first.session));
  await keyring.lock('alice');
  const again = await keyring.unlock('alice', 'pw');
  t.ok(keyring.userForSession(again.session).previous, 'still pending: previous offered');
  t.match(logText(), /pending secret rotation not finished/);
  // The password can change meanwhile: both wraps move to the new password.
  await keyring.changePassword('alice', 'pw', 'pw2');
  t.ok('pendingSecret' in usersJson(dir).users['alice']!);
  // A new rotation first finishes the pending one, then makes another secret.
  const middle = secretOf(keyring, 'alice');
  await keyring.rotateSecret(again.session);
  t.equal(hooks.calls.length, 4, 'two failed tries, then the pending one finished, then the new rotation');
  t.same(hooks.calls[2]!.to, middle);
  t.notSame(secretOf(keyring, 'alice'), middle);
  await keyring.lock('alice');
  await rejectsWith(t, keyring.unlock('alice', 'pw'), 'BAD_PASSWORD');
  await keyring.unlock('alice', 'pw2');
  t.same(secretOf(keyring, 'alice'), hooks.calls[3]!.to);
});

t.test('if recording the new secret fails, nothing changes: STORAGE_FAILED, same secret, no pending', async (t) => {
  const fs = new FaultyFs(realFs);
  const hooks = recordingHooks();
  const { keyring, dir } = await openKeyring(t, { hooks, fs });
  await keyring.create('alice', 'pw');
  const { session } = await keyring.unlock('alice', 'pw');
  const before = secretOf(keyring, 'alice');
  const file = readFileSync(path.join(dir, 'users.json'));
  fs.setRules([{ op: 'rename', fault: 'ENOSPC', pathIncludes: 'users.json' }]);
  await rejectsWith(t, keyring.rotateSecret(session), 'STORAGE_FAILED');
  t.same(readFileSync(path.join(dir, 'users.json')), file, 'users.json is as before');
  t.same(secretOf(keyring, 'alice'), before, 'the secret in use is unchanged');
  t.equal(keyring.unlockedUser('alice')!.previous, undefined);
  t.equal(hooks.calls.length, 0, 'the store was never asked to re-encrypt');
  await keyring.rotateSecret(session);
  t.notSame(secretOf(keyring, 'alice'), before, 'the next try works');
});

t.test('a user locked while the store re-encrypts: LOCKED, and the next unlock finishes the rotation', async (t) => {
  let lockNow: (() => Promise<void>) | undefined;
  const calls: number[] = [];
  const hooks: UserDataHooks = {
    deleteUserFiles: async () => undefined,
    reencryptUserData: async (_username, from, to) => {
      calls.push(calls.length);
      if (lockNow) {
        await lockNow();
        lockNow = undefined;
        throwsWith(t, () => to.withSecret(() => 1), 'LOCKED', 'a view held across the lock answers LOCKED');
        to.withSecret(() => 1);
      }
      from.withSecret(() => 1);
    },
  };
  const { keyring } = await openKeyring(t, { hooks });
  await keyring.create('alice', 'pw');
  const { session } = await keyring.unlock('alice', 'pw');
  lockNow = () => keyring.lock('alice');
  await rejectsWith(t, keyring.rotateSecret(session), 'LOCKED');
  await rejectsWith(t, keyring.rotateSecret(session), 'LOCKED', /no valid session/);
  await keyring.unlock('alice', 'pw');
  t.equal(calls.length, 2, 'finished at unlock');
  t.equal(keyring.unlockedUser('alice')!.previous, undefined);
});

t.test('delete asks the store to remove the files before the account goes', async (t) => {
  const hooks = recordingHooks();
  const { keyring, dir } = await openKeyring(t, { hooks });
  await keyring.create('alice', 'pw');
  await keyring.unlock('alice', 'pw');
  await keyring.delete('alice', 'pw');
  t.same(hooks.deleted, ['alice']);
  t.same(usersJson(dir).users, {});
  t.equal(keyring.unlockedUser('alice'), undefined, 'locked and zeroed');
});
