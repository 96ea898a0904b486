import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';

t.setTimeout(120_000);

const SECRET_MARKER = 'MARKER-e1b7-only-in-ciphertext';
const PLAIN_MARKER = 'MARKER-5c2d-stored-in-clear';

function grepDir(dir: string, needle: string): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    if (readFileSync(file).includes(needle)) hits.push(file);
  }
  return hits;
}

t.test('encrypted service data is unreadable on disk and never logged; unencrypted data is plain', async (t) => {
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--log-level', 'trace'] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'alice pw' });
  const { session } = await client.call('users.unlock', { username: 'alice', password: 'alice pw' });
  await client.call('services.encrypted.set', { session, service: 'vault', data: { note: SECRET_MARKER } });
  await client.call('services.encrypted.update', { session, service: 'vault', patch: { more: SECRET_MARKER } });
  await client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { note: PLAIN_MARKER } });
  // Failing calls carrying the secret in their params, too.
  await rejectsWith(t, client.call('services.encrypted.set', { session, service: 'vault', data: { x: SECRET_MARKER }, ifRevision: 'stale' }), 'CONFLICT');
  await rejectsWith(t, client.call('services.encrypted.set', { session: 'A'.repeat(43), service: 'vault', data: { x: SECRET_MARKER } }), 'LOCKED');
  const readBack = await client.call('services.encrypted.get', { session, service: 'vault' });
  t.same(readBack.data, { note: SECRET_MARKER, more: SECRET_MARKER });

  t.same(grepDir(daemon.dataDir, SECRET_MARKER), [], 'no file in the data dir holds the encrypted value in clear');
  t.same(grepDir(daemon.dataDir, PLAIN_MARKER), [path.join(daemon.dataDir, 'services', 'alice_unencrypted_services.json')]);
  await daemon.stop();
  t.notOk(daemon.logs.includes(SECRET_MARKER), 'the log never holds decrypted data');
  t.notOk(daemon.logs.includes(PLAIN_MARKER), 'nor unencrypted data');
  t.notOk(daemon.logs.includes(session), 'nor the session token');
});

t.test('a ciphertext moved to another user or another service fails with CORRUPT and is not overwritten', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  for (const username of ['alice', 'bob']) await client.call('users.create', { username, password: `${username} pw` });
  let alice = (await client.call('users.unlock', { username: 'alice', password: 'alice pw' })).session;
  let bob = (await client.call('users.unlock', { username: 'bob', password: 'bob pw' })).session;
  await client.call('services.encrypted.set', { session: alice, service: 'vault', data: { who: 'alice' } });
  await client.call('services.encrypted.set', { session: bob, service: 'vault', data: { who: 'bob' } });
  await client.call('services.encrypted.set', { session: bob, service: 'other', data: { who: 'bob-other' } });
  const fileOf = (user: string) => path.join(daemon.dataDir, 'services', `${user}_services.json`);
  const aliceToken = JSON.parse(readFileSync(fileOf('alice'), 'utf8')).services.vault as string;
  const bobFile = JSON.parse(readFileSync(fileOf('bob'), 'utf8'));
  const bobOtherToken = bobFile.services.other as string;

  // Alice's ciphertext into Bob's file, and Bob's own "other" ciphertext into a slot of another name.
  bobFile.services.vault = aliceToken;
  bobFile.services.swapped = bobOtherToken;
  await daemon.stop();
  writeFileSync(fileOf('bob'), JSON.stringify(bobFile));
  await daemon.start();
  alice = (await client.call('users.unlock', { username: 'alice', password: 'alice pw' })).session;
  bob = (await client.call('users.unlock', { username: 'bob', password: 'bob pw' })).session;

  const moved = await rejectsWith(t, client.call('services.encrypted.get', { session: bob, service: 'vault' }), 'CORRUPT', /does not authenticate/);
  await rejectsWith(t, client.call('services.encrypted.get', { session: bob, service: 'swapped' }), 'CORRUPT');
  await rejectsWith(t, client.call('services.encrypted.set', { session: bob, service: 'vault', data: { who: 'overwrite' } }), 'CORRUPT');
  await rejectsWith(t, client.call('services.encrypted.update', { session: bob, service: 'vault', patch: { x: 1 } }), 'CORRUPT');
  await rejectsWith(t, client.call('services.encrypted.delete', { session: bob, service: 'vault' }), 'CORRUPT');
  t.same((await client.call('services.encrypted.get', { session: bob, service: 'other' })).data, { who: 'bob-other' }, 'the rest of the file still reads');
  // Writing another service rewrites the file, but keeps the bad token as it was.
  await client.call('services.encrypted.set', { session: bob, service: 'third', data: { n: 3 } });
  const after = JSON.parse(readFileSync(fileOf('bob'), 'utf8')).services;
  t.equal(after.vault, aliceToken, 'the moved ciphertext is left untouched');
  // Only a write that names the bad entry's revision may replace it.
  const revision = moved.data['revision'] as string;
  t.match(revision, /^[A-Za-z0-9_-]{22}$/);
  await client.call('services.encrypted.set', { session: bob, service: 'vault', data: { who: 'bob again' }, ifRevision: revision });
  t.same((await client.call('services.encrypted.get', { session: bob, service: 'vault' })).data, { who: 'bob again' });
  t.same((await client.call('services.encrypted.get', { session: alice, service: 'vault' })).data, { who: 'alice' }, "alice's own value is intact");
});
