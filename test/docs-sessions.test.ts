import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { CofferClient } from '@coffer/client';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, type DaemonProcess } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { filesUnder } from './helpers/store.js';

t.setTimeout(120_000);

/**
 * Documents with encrypted fields end to end: real users, real sessions from users.unlock, real
 * files. docs-encrypted-fields.test.ts walks every rule in process; this proves them on the wire.
 */

const MARKER = 'MARKER-e2e-5b1f-sealed';
const PLAIN = 'MARKER-e2e-plain-visible';

async function withUsers(daemon: DaemonProcess, client: CofferClient) {
  for (const username of ['alice', 'bob']) await client.call('users.create', { username, password: `${username}-pw` });
  const alice = (await client.call('users.unlock', { username: 'alice', password: 'alice-pw' })).session;
  const bob = (await client.call('users.unlock', { username: 'bob', password: 'bob-pw' })).session;
  return { alice, bob, file: (name: string) => path.join(daemon.dataDir, 'docs', `${name}.json`) };
}

/** Every file of the data dir, as one text, to look for a marker. */
function everything(dataDir: string): string {
  return filesUnder(dataDir).map((f) => readFileSync(path.join(dataDir, f), 'latin1')).join('\n');
}

t.test('sealed fields: unreadable on disk, locked without the owner, LOCKED writes, across a restart', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  const { alice, bob, file } = await withUsers(daemon, client);

  const { revision } = await client.call('docs.set', {
    name: 'wallet-cfg',
    data: { label: PLAIN, seed: MARKER },
    encryptedFields: ['seed'],
    session: alice,
  });
  const disk = everything(daemon.dataDir);
  t.notOk(disk.includes(MARKER), 'the encrypted field is nowhere on disk in clear');
  t.ok(disk.includes(PLAIN), 'the plain field is');

  t.same(await client.call('docs.get', { name: 'wallet-cfg', session: alice }), {
    data: { label: PLAIN, seed: MARKER },
    encryptedFields: ['seed'],
    locked: [],
    revision,
  });
  const locked = { data: { label: PLAIN }, encryptedFields: ['seed'], locked: ['seed'], revision };
  t.same(await client.call('docs.get', { name: 'wallet-cfg' }), locked, 'no session');
  t.same(await client.call('docs.get', { name: 'wallet-cfg', session: bob }), locked, "bob's session");
  t.same(await client.call('docs.list', {}), { docs: [{ name: 'wallet-cfg', owner: 'alice', encryptedFields: ['seed'] }] });

  const before = readFileSync(file('wallet-cfg'));
  for (const attempt of [
    client.call('docs.update', { name: 'wallet-cfg', patch: { seed: 'x' }, session: bob }),
    client.call('docs.update', { name: 'wallet-cfg', patch: { seed: null } }),
    client.call('docs.set', { name: 'wallet-cfg', data: { label: 'x' }, session: bob }),
    client.call('docs.set', { name: 'wallet-cfg', data: { label: PLAIN, seed: MARKER }, encryptedFields: [], session: bob }),
    client.call('docs.delete', { name: 'wallet-cfg', session: bob }),
    client.call('docs.delete', { name: 'wallet-cfg' }),
  ]) {
    const error = await rejectsWith(t, attempt, 'LOCKED');
    if (/belong to/.test(error.message)) t.equal(error.data['owner'], 'alice');
  }
  t.same(readFileSync(file('wallet-cfg')), before, 'nothing was written');
  t.same((await client.call('docs.update', { name: 'wallet-cfg', patch: { note: 'by bob' }, session: bob })).data, {
    label: PLAIN,
    note: 'by bob',
  }, 'plain fields are open to any caller; the answer hides what bob may not see');

  await client.call('sessions.end', { session: alice });
  await rejectsWith(t, client.call('docs.get', { name: 'wallet-cfg', session: alice }), 'LOCKED', undefined);

  await daemon.restart();
  const again = await daemon.client();
  await rejectsWith(t, again.call('docs.get', { name: 'wallet-cfg', session: bob }), 'LOCKED', undefined);
  t.same((await again.call('docs.get', { name: 'wallet-cfg' })).locked, ['seed'], 'after a restart, sessionless reads still work');
  const fresh = (await again.call('users.unlock', { username: 'alice', password: 'alice-pw' })).session;
  t.same((await again.call('docs.get', { name: 'wallet-cfg', session: fresh })).data, { label: PLAIN, seed: MARKER, note: 'by bob' });
  t.same(await again.call('docs.delete', { name: 'wallet-cfg', session: fresh }), { revision: null }, 'the owner may delete');
});

t.test('a sealed field copied on disk into another document or field: CORRUPT, and not overwritten', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  const { alice, file } = await withUsers(daemon, client);
  await client.call('docs.set', { name: 'a', data: { pin: MARKER }, encryptedFields: ['pin', 'pin2'], session: alice });
  await client.call('docs.set', { name: 'b', data: { pin: 'b', n: 1 }, encryptedFields: ['pin'], session: alice });
  await daemon.stop();
  const a = JSON.parse(readFileSync(file('a'), 'utf8'));
  const b = JSON.parse(readFileSync(file('b'), 'utf8'));
  b.fields.pin = a.fields.pin;
  a.fields.pin2 = a.fields.pin;
  writeFileSync(file('a'), JSON.stringify(a));
  writeFileSync(file('b'), JSON.stringify(b));
  const bytes = { a: readFileSync(file('a')), b: readFileSync(file('b')) };
  await daemon.start();
  const again = await daemon.client();
  const session = (await again.call('users.unlock', { username: 'alice', password: 'alice-pw' })).session;
  for (const [name, field] of [['b', 'pin'], ['a', 'pin2']] as const) {
    const error = await rejectsWith(t, again.call('docs.get', { name, session }), 'CORRUPT');
    t.type(error.data['revision'], 'string');
    await rejectsWith(t, again.call('docs.set', { name, data: { [field]: 'new' }, session }), 'CORRUPT');
    await rejectsWith(t, again.call('docs.update', { name, patch: { [field]: 'new' }, session }), 'CORRUPT');
    t.same(readFileSync(file(name)), bytes[name], `${name}: left untouched`);
    t.same((await again.call('docs.get', { name })).locked.includes(field), true, 'without the key it is only locked');
  }
});

t.test('users.rotateSecret re-seals the documents the user owns', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  const { alice, bob, file } = await withUsers(daemon, client);
  await client.call('docs.set', { name: 'a', data: { pin: '1', x: 2 }, encryptedFields: ['pin'], session: alice });
  await client.call('docs.set', { name: 'b', data: { pin: '2' }, encryptedFields: ['pin'], session: bob });
  const tokenBefore = JSON.parse(readFileSync(file('a'), 'utf8')).fields.pin.sealed;
  const bobsBefore = readFileSync(file('b'));
  await client.call('users.rotateSecret', { session: alice });
  t.not(JSON.parse(readFileSync(file('a'), 'utf8')).fields.pin.sealed, tokenBefore, 're-sealed');
  t.same(readFileSync(file('b')), bobsBefore, "bob's document untouched");
  t.same((await client.call('docs.get', { name: 'a', session: alice })).data, { pin: '1', x: 2 });
  await daemon.restart();
  const again = await daemon.client();
  const session = (await again.call('users.unlock', { username: 'alice', password: 'alice-pw' })).session;
  t.same((await again.call('docs.get', { name: 'a', session })).data, { pin: '1', x: 2 }, 'opens under the new secret after a restart');
});

t.test("users.delete: the user's sealed fields go; their documents stay with the plain fields, unowned", async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  const { alice, bob } = await withUsers(daemon, client);
  await client.call('docs.set', { name: 'shared', data: { title: 'kept', pin: MARKER }, encryptedFields: ['pin'], session: alice });
  await client.call('docs.set', { name: 'bobs', data: { pin: '2' }, encryptedFields: ['pin'], session: bob });
  await client.call('users.delete', { username: 'alice', password: 'alice-pw' });
  t.same(await client.call('docs.list', {}), {
    docs: [
      { name: 'bobs', owner: 'bob', encryptedFields: ['pin'] },
      { name: 'shared', owner: null, encryptedFields: [] },
    ],
  });
  t.same((await client.call('docs.get', { name: 'shared' })).data, { title: 'kept' });
  t.notOk(readFileSync(path.join(daemon.dataDir, 'docs', 'shared.json'), 'utf8').includes('sealed'), 'no sealed field is left in it');
  t.same(await client.call('docs.delete', { name: 'shared' }), { revision: null }, 'and anyone may now delete it');
});
