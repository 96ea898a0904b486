import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { KDF_INTERACTIVE } from '../daemon/src/crypto/argon2id.js';
import { CofferAccounts } from '../daemon/src/layout/coffer/accounts.js';
import type { FaultRule } from '../daemon/src/disk/faulty-fs.js';
import { FaultyFs } from '../daemon/src/disk/faulty-fs.js';
import { realFs } from '../daemon/src/disk/fs.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS, openKeyring, secretOf } from './helpers/keyring.js';

t.setTimeout(120_000);

t.test('a users.json write that fails is STORAGE_FAILED and leaves the previous file and state', async (t) => {
  const dir = tempDir(t);
  const rulesFile = path.join(dir, 'faults.json');
  const daemon = await startDaemon(t, { dir, args: [...FAST_KDF_ARGS, '--fault-rules-file', rulesFile] });
  const client = await daemon.client();
  const usersFile = path.join(daemon.dataDir, 'users.json');
  const failNext = (rule: Partial<FaultRule> = {}) =>
    writeFileSync(rulesFile, JSON.stringify([{ op: 'rename', fault: 'ENOSPC', pathIncludes: 'users.json', ...rule }]));

  failNext();
  await rejectsWith(t, client.call('users.create', { username: 'alice', password: 'pw' }), 'STORAGE_FAILED', /stored data is as before/);
  t.notOk(existsSync(usersFile), 'no file was made');
  t.same(await client.call('users.list', {}), { users: [] }, 'and no user');
  await client.call('users.create', { username: 'alice', password: 'pw' });
  const good = readFileSync(usersFile);

  const { session } = await client.call('users.unlock', { username: 'alice', password: 'pw' });
  failNext();
  await rejectsWith(t, client.call('users.changePassword', { username: 'alice', oldPassword: 'pw', newPassword: 'new' }), 'STORAGE_FAILED');
  t.same(readFileSync(usersFile), good, 'previous users.json, byte for byte');
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'new' }), 'BAD_PASSWORD');
  t.ok((await client.call('users.unlock', { username: 'alice', password: 'pw' })).session, 'the old password still opens');

  failNext({ fault: 'EIO', op: 'fsync' });
  await rejectsWith(t, client.call('users.rotateSecret', { session }), 'STORAGE_FAILED');
  t.same(readFileSync(usersFile), good);
  t.equal((await client.call('sessions.check', { session })).username, 'alice', 'the session is unharmed');

  failNext({ op: 'write', fault: 'short' });
  await rejectsWith(t, client.call('users.delete', { username: 'alice', password: 'pw' }), 'STORAGE_FAILED');
  t.same(readFileSync(usersFile), good);
  t.same((await client.call('users.list', {})).users.map((u) => u.username), ['alice'], 'the user is still there');

  // A failed directory fsync: the old file is put back and the keyring stops writing until restart.
  failNext({ op: 'fsyncDir', fault: 'EIO', pathIncludes: 'data' });
  await rejectsWith(t, client.call('users.create', { username: 'bob' }), 'STORAGE_FAILED');
  t.same(readFileSync(usersFile), good);
  await rejectsWith(t, client.call('users.create', { username: 'bob' }), 'STORAGE_FAILED', /restart cofferd/);
  t.same(readFileSync(usersFile), good);
  t.match(daemon.logs, /durable write failed/);
  // users.json is one of the store's files: daemon.status tells the truth about it.
  const status = await client.call('daemon.status', {});
  t.match(status.degraded, /a directory fsync failed while writing .*users\.json/, 'status: degraded, and why');
  t.equal(status.writes.failed, 5, 'status: every failed users.json write is counted');
  writeFileSync(rulesFile, '[]');
  await daemon.restart();
  const again = await daemon.client();
  await again.call('users.create', { username: 'bob' });
  t.same((await again.call('users.list', {})).users.map((u) => u.username), ['alice', 'bob'], 'after a restart, writes work');
});

t.test('a KDF upgrade that cannot be saved still unlocks, and keeps wrapping under the stored key', async (t) => {
  const dir = tempDir(t);
  const first = await openKeyring(t, { dir });
  await first.keyring.create('alice', 'pw');
  first.keyring.close();

  const fs = new FaultyFs(realFs);
  const stronger = new CofferAccounts({ opslimit: KDF_INTERACTIVE.opslimit + 1, memlimit: KDF_INTERACTIVE.memlimit });
  const { keyring, logText } = await openKeyring(t, { dir, fs, codec: stronger });
  const usersFile = path.join(dir, 'users.json');
  const before = readFileSync(usersFile);
  fs.setRules([{ op: 'rename', fault: 'ENOSPC', pathIncludes: 'users.json' }]);
  const { session } = await keyring.unlock('alice', 'pw');
  t.same(readFileSync(usersFile), before, 'the upgrade was not written');
  t.match(logText(), /KDF upgrade not saved/);
  // The rotation must wrap under the key that matches the salt on disk, not the unsaved one.
  await keyring.rotateSecret(session);
  const rotated = secretOf(keyring, 'alice');
  await keyring.lock('alice');
  await keyring.unlock('alice', 'pw');
  t.same(secretOf(keyring, 'alice'), rotated, 'the rotated secret opens with the password');
  t.equal(JSON.parse(readFileSync(usersFile, 'utf8')).users.alice.kdf.opslimit, KDF_INTERACTIVE.opslimit + 1, 'upgraded now');
});
