import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { copyDatadir, expected, passwordOf } from './helpers/specter-layout.js';

/**
 * Specter's names and the operations Specter runs on service data (issue 11 §1, §3), against a real
 * daemon on a copy of the vectors' Specter folder and on a coffer data dir: Python-identifier
 * service ids, "has encrypted data?" and the wipes without the user's secret, unencrypted data by
 * username alone (specter layout), Specter's `{}` rules for set and update, and annotations files
 * whose wallet alias and service id both hold `_`.
 */
t.setTimeout(180_000);

const svc = expected.services_file;
const plain = expected.unencrypted_services_file;

t.test('specter layout: ids and wipes without a session, by username alone, Specter\'s {} rules', async (t) => {
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  const file = (rel: string) => path.join(dataDir, rel);
  const daemon = await startDaemon(t, { dir });
  const client = await daemon.client();

  // Has encrypted data? Answered from the file's ids alone, with the user locked (no session).
  const ids = await client.call('services.encrypted.ids', { username: svc.user });
  t.same(ids.services, Object.keys(svc.services), 'the encrypted ids, in file order, without a session');
  t.same((await client.call('services.encrypted.ids', { username: plain.user })).services, [], 'no encrypted file: no ids');

  // Python-identifier service ids, encrypted and unencrypted.
  const session = (await client.call('users.unlock', { username: svc.user, password: passwordOf(svc.user) })).session;
  await client.call('services.encrypted.set', { session, service: 'test_service', data: { token: 't' } });
  t.same((await client.call('services.encrypted.get', { session, service: 'test_service' })).data, { token: 't' });
  await client.call('services.unencrypted.set', { username: svc.user, service: 'reckless_swan', data: { on: true } });
  t.same((await client.call('services.unencrypted.get', { username: svc.user, service: 'reckless_swan' })).data, { on: true });
  t.same((await client.call('services.encrypted.ids', { username: svc.user })).services, [...Object.keys(svc.services), 'test_service']);

  // Unencrypted data is keyed by the username alone, as Specter does: no users.json entry needed.
  const usersBefore = readFileSync(file('users.json'));
  await client.call('services.unencrypted.set', { username: 'ghost user', service: 'my_ext', data: { n: 1 } });
  t.same((await client.call('services.unencrypted.get', { username: 'ghost user', service: 'my_ext' })).data, { n: 1 });
  t.ok(existsSync(file('ghost user_unencrypted_services.json')), 'the file is named by the username');
  t.same(readFileSync(file('users.json')), usersBefore, 'users.json untouched');

  // set {} on an absent entry stores "{}" (Specter's set_service_data); on a present one removes it.
  const setEmpty = await client.call('services.unencrypted.set', { username: 'ghost user', service: 'empty_one', data: {} });
  t.type(setEmpty.revision, 'string', 'an absent entry set to {} is stored');
  t.equal(JSON.parse(readFileSync(file('ghost user_unencrypted_services.json'), 'utf8'))['empty_one'], '{}', 'stored as the string "{}"');
  t.same((await client.call('services.unencrypted.list', { username: 'ghost user' })).services, ['my_ext', 'empty_one']);
  t.equal((await client.call('services.unencrypted.set', { username: 'ghost user', service: 'empty_one', data: {} })).revision, null);
  t.same((await client.call('services.unencrypted.list', { username: 'ghost user' })).services, ['my_ext']);

  // update with {} is Specter's "nonsense no-op": nothing is written, shallow or not.
  const before = statSync(file('ghost user_unencrypted_services.json'), { bigint: true });
  for (const shallow of [true, false]) {
    const same = await client.call('services.unencrypted.update', { username: 'ghost user', service: 'my_ext', patch: {}, shallow });
    t.same(same.data, { n: 1 }, `empty patch (shallow ${shallow}) answers the current data`);
    const absent = await client.call('services.unencrypted.update', { username: 'ghost user', service: 'never', patch: {}, shallow });
    t.same(absent, { data: {}, revision: null }, 'and creates nothing');
  }
  const after = statSync(file('ghost user_unencrypted_services.json'), { bigint: true });
  t.equal(after.mtimeNs, before.mtimeNs, 'the file was not rewritten');
  t.equal(after.ino, before.ino);

  // The wipes: without a session, the file becomes Specter's {} and its .bkp goes with the data.
  await client.call('sessions.end', { session });
  const wiped = await client.call('services.encrypted.wipe', { username: svc.user });
  t.equal(wiped.removed, Object.keys(svc.services).length + 1);
  t.equal(readFileSync(file(svc.path), 'utf8'), '{}', 'written as Specter writes an empty storage');
  t.equal(readFileSync(file(`${svc.path}.bkp`), 'utf8'), '{}', 'the .bkp no longer holds the wiped ciphertexts');
  t.same((await client.call('services.encrypted.ids', { username: svc.user })).services, []);
  t.same((await client.call('services.unencrypted.get', { username: svc.user, service: 'reckless_swan' })).data, { on: true }, 'the unencrypted file is apart');
  t.equal((await client.call('services.unencrypted.wipe', { username: svc.user })).removed, 1);
  t.same((await client.call('services.unencrypted.list', { username: svc.user })).services, []);
  t.equal((await client.call('services.encrypted.wipe', { username: 'nobody_here' })).removed, 0, 'a wipe of nothing is not an error');

  // A GenericDataManager file is watched by its path, as docs.* name it in this layout.
  t.type((await client.call('watch.subscribe', { topics: [{ scope: 'docs', name: 'otp.json' }] })).subscription, 'string');

  // Names Specter cannot produce, or that would escape the folder: refused with the rule in words.
  for (const username of ['../evil', 'a/b', '.hidden', '__proto__', 'x'.repeat(65)]) {
    await rejectsWith(t, client.call('services.encrypted.ids', { username }), 'INVALID_PARAMS', /params\.username: expected username: 1 to 64 characters/);
  }
  for (const service of ['../x', 'a b', '-x', 'encrypted_storage_version', 'constructor']) {
    await rejectsWith(t, client.call('services.unencrypted.get', { username: 'bob', service }), 'INVALID_PARAMS', /params\.service: expected service id: an identifier/);
  }
});

t.test('specter layout: annotations of a wallet and a service that both hold _', async (t) => {
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  const ann = expected.annotations_file;
  // A wallet `my_wallet` (its file in a per-chain folder, as Specter keeps it) and one named `my`.
  const root = path.join(dataDir, path.dirname(ann.path));
  mkdirSync(path.join(root, 'regtest'), { recursive: true });
  writeFileSync(path.join(root, 'regtest', 'my_wallet.json'), '{}');
  writeFileSync(path.join(root, 'regtest', 'my.json'), '{}');
  const daemon = await startDaemon(t, { dir });
  const client = await daemon.client();
  const address = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
  await client.call('annotations.set', { username: ann.user, wallet: 'my_wallet', service: 'test_service', kind: 'addr', id: address, data: { r: 1 } });
  t.ok(existsSync(path.join(root, 'my_wallet_test_service.json')), "Specter's own file name");
  const listed = await client.call('annotations.list', { username: ann.user, wallet: 'my_wallet' });
  t.same(listed.entries.map((a) => [a.wallet, a.service, a.id]), [['my_wallet', 'test_service', address]], 'split after the longest existing wallet');
  const all = await client.call('annotations.list', { username: ann.user });
  t.same([...new Set(all.entries.map((a) => `${a.wallet}/${a.service}`))].sort(), [`${ann.wallet_alias}/${ann.service_id}`, 'my_wallet/test_service']);
});

t.test('coffer layout: the same names and operations, users required', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  await client.call('users.create', { username: 'Bob Smith', password: 'pw for bob' });
  const session = (await client.call('users.unlock', { username: 'Bob Smith', password: 'pw for bob' })).session;
  await client.call('services.encrypted.set', { session, service: 'reckless_swan', data: { k: 'v' } });
  t.same((await client.call('services.encrypted.ids', { username: 'Bob Smith' })).services, ['reckless_swan']);
  await rejectsWith(t, client.call('services.encrypted.ids', { username: 'ghost' }), 'NOT_FOUND');
  await rejectsWith(t, client.call('services.unencrypted.set', { username: 'ghost', service: 'my_ext', data: { a: 1 } }), 'NOT_FOUND');
  await rejectsWith(t, client.call('services.unencrypted.wipe', { username: 'ghost' }), 'NOT_FOUND');

  // Annotations: `_` in both names; the service's `_` is escaped in the file name so it splits back.
  const address = 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4';
  await client.call('annotations.set', { username: 'Bob Smith', wallet: 'hot_wallet', service: 'test_service', kind: 'addr', id: address, data: 'x' });
  await client.call('annotations.set', { username: 'Bob Smith', wallet: 'hot', service: 'wallet_test_service', kind: 'addr', id: address, data: 'y' });
  const listed = await client.call('annotations.list', { username: 'Bob Smith' });
  t.same(
    listed.entries.map((a) => `${a.wallet}/${a.service}`).sort(),
    ['hot/wallet_test_service', 'hot_wallet/test_service'],
    'two files that would share a name without the escape',
  );
  const one = await client.call('annotations.get', { username: 'Bob Smith', wallet: 'hot_wallet', service: 'test_service', kind: 'addr', id: address });
  t.equal('data' in one ? one.data : undefined, 'x');

  t.equal((await client.call('services.encrypted.wipe', { username: 'Bob Smith' })).removed, 1);
  t.same((await client.call('services.encrypted.list', { session })).services, []);
  t.same((await client.call('services.encrypted.get', { session, service: 'reckless_swan' })).data, {});
});

t.test('rpc.discover states every name rule as a JSON Schema pattern, not a custom format', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  const doc = JSON.stringify(await client.call('rpc.discover', {}));
  for (const format of ['"format":"username"', '"format":"service-id"', '"format":"wallet-alias"']) t.notOk(doc.includes(format), format);
  const discover = (await client.call('rpc.discover', {})) as { methods: Array<{ name: string; params: Array<{ name: string; schema: { pattern?: string } }> }> };
  const ids = discover.methods.find((m) => m.name === 'services.encrypted.ids');
  t.ok(ids?.params.find((p) => p.name === 'username')?.schema.pattern, 'services.encrypted.ids documents the username rule');
  const set = discover.methods.find((m) => m.name === 'annotations.set');
  for (const name of ['username', 'wallet', 'service']) {
    const pattern = set?.params.find((p) => p.name === name)?.schema.pattern;
    t.type(pattern, 'string', `annotations.set ${name} has a pattern`);
    t.doesNotThrow(() => new RegExp(pattern!), 'a plain ECMA-262 pattern');
  }
});
