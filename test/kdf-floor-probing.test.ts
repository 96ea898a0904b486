import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CofferError } from '@coffer/protocol';
import type { CofferClient } from '@coffer/client';
import { KDF_INTERACTIVE } from '../daemon/src/crypto/argon2id.js';
import { CofferAccounts } from '../daemon/src/layout/coffer/accounts.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { copyDatadir } from './helpers/specter-layout.js';

/**
 * Issue 13 §4 and §6 against a real daemon. The KDF floor: a users.json record below it is refused
 * as CORRUPT and no KDF ran for it (daemon.status.kdfRuns, counted where every password KDF runs).
 * Username probing: users.unlock of an unknown name answers exactly like a wrong password, after
 * one KDF run like it (the decoy), so only the count of runs is compared, never a wall clock.
 */
t.setTimeout(180_000);

const kdfRuns = async (client: CofferClient): Promise<number> => (await client.call('daemon.status', {})).kdfRuns;

async function failure(call: Promise<unknown>): Promise<{ reason: string; message: string }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof CofferError) return { reason: error.reason, message: error.message };
    throw error;
  }
  throw new Error('the call succeeded');
}

t.test('the decoder refuses Argon2id parameters below INTERACTIVE as CORRUPT', async (t) => {
  const codec = new CofferAccounts(KDF_INTERACTIVE);
  const record = (opslimit: number, memlimit: number) =>
    Buffer.from(JSON.stringify({ format: 'coffer.users', version: 1, users: { alice: {
      kdf: { alg: 'argon2id13', opslimit, memlimit, salt: Buffer.alloc(16, 1).toString('base64') },
      secret: { alg: 'xchacha20poly1305-ietf', nonce: Buffer.alloc(24).toString('base64'), ciphertext: Buffer.alloc(48).toString('base64') },
    } } }));
  t.ok(codec.decode(record(KDF_INTERACTIVE.opslimit, KDF_INTERACTIVE.memlimit)).has('alice'), 'INTERACTIVE itself is allowed');
  for (const [what, ops, mem] of [
    ['opslimit 1', 1, KDF_INTERACTIVE.memlimit],
    ['memlimit 8 KiB', KDF_INTERACTIVE.opslimit, 8192],
    ['memlimit one byte short', KDF_INTERACTIVE.opslimit, KDF_INTERACTIVE.memlimit - 1],
  ] as const) {
    t.throws(() => codec.decode(record(ops, mem)), { reason: 'CORRUPT', message: /out-of-range opslimit\/memlimit/ }, what);
  }
});

t.test('coffer layout: a record tampered below the floor is CORRUPT before any KDF runs', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  let client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'pw' });
  const usersFile = path.join(daemon.dataDir, 'users.json');
  const file = JSON.parse(readFileSync(usersFile, 'utf8')) as { users: { alice: { kdf: { opslimit: number; memlimit: number } } } };
  file.users.alice.kdf.opslimit = 1;
  file.users.alice.kdf.memlimit = 8192;
  writeFileSync(usersFile, JSON.stringify(file));
  await daemon.restart();
  client = await daemon.client();
  t.equal(await kdfRuns(client), 0, 'a fresh daemon has run no KDF');
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'pw' }), 'CORRUPT', /out-of-range opslimit/);
  await rejectsWith(t, client.call('users.unlock', { username: 'alice', password: 'wrong' }), 'CORRUPT');
  t.equal(await kdfRuns(client), 0, 'refused without a KDF run');
  t.same(JSON.parse(readFileSync(usersFile, 'utf8')), file, 'the file is left as it was');
});

t.test('specter layout: a secret record below 100 000 PBKDF2 iterations is CORRUPT before any KDF runs', async (t) => {
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  const usersFile = path.join(dataDir, 'users.json');
  const users = JSON.parse(readFileSync(usersFile, 'utf8')) as Array<{ username: string; encrypted_user_secret: { iterations: number } | null }>;
  const bob = users.find((u) => u.username === 'bob')!;
  bob.encrypted_user_secret!.iterations = 1000;
  writeFileSync(usersFile, JSON.stringify(users));
  const daemon = await startDaemon(t, { dir, args: ['--specter-users', 'manage'] });
  const client = await daemon.client();
  const before = await kdfRuns(client);
  await rejectsWith(t, client.call('users.unlock', { username: 'bob', password: 'tr0ub4dor&3 \u00fcn\u00efcode' }), 'CORRUPT', /1000 iterations, below the floor of 100000/);
  t.equal(await kdfRuns(client), before, 'refused without a KDF run');
  // An unknown name in this layout: Specter's unlock cost (PBKDF2), then a wrong password's answer.
  await rejectsWith(t, client.call('users.unlock', { username: 'mallory', password: 'x' }), 'BAD_PASSWORD', /^Wrong password$/);
  t.equal(await kdfRuns(client), before + 1, 'one decoy KDF run');
});

t.test('users.unlock: an unknown name answers exactly as a wrong password, after one KDF run as well', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'right' });
  const runs0 = await kdfRuns(client);
  const wrongPassword = await failure(client.call('users.unlock', { username: 'alice', password: 'wrong' }));
  const runs1 = await kdfRuns(client);
  const unknownName = await failure(client.call('users.unlock', { username: 'mallory', password: 'wrong' }));
  const runs2 = await kdfRuns(client);
  t.same(unknownName, wrongPassword, 'same reason and message');
  t.equal(wrongPassword.reason, 'BAD_PASSWORD');
  t.equal(runs1 - runs0, 1, 'a wrong password costs one KDF run');
  t.equal(runs2 - runs1, 1, 'an unknown name costs one KDF run too');
  // The backoff treats both alike: after the free failures both names are blocked.
  for (let i = 0; i < 3; i++) await failure(client.call('users.unlock', { username: 'mallory', password: 'wrong' }));
  await rejectsWith(t, client.call('users.unlock', { username: 'mallory', password: 'wrong' }), 'RATE_LIMITED');
  t.notMatch(daemon.logs, /mallory/, 'the unknown name is not logged (it may be a mistyped password)');
});
