import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  annotationsFileName,
  defaultUserConfig,
  newUserSecret,
  fromJs,
  annotationsFileSplits,
  pyDumps,
  pyLoads,
  servicesFileName,
  specterAlias,
  specterUserId,
  USER_SECRET_ITERATIONS,
  verifyPasswordHash,
  walletsRootName,
  type EncryptedUserSecret,
} from '../daemon/src/specter/index.js';
import { UsersFile } from './helpers/specter-users-model.js';
import { rejectsWith } from './helpers/assert.js';
import { reasonOf, vectorBytes } from './helpers/specter.js';
import { decryptUserSecret, encryptUserSecret } from './helpers/specter-user-secret.js';
import { AnnotationsFile } from './helpers/specter-annotations-model.js';

const userKeys = (users: UsersFile, name: string): string[] => {
  const list = users.toValue() as Array<Map<string, unknown>>;
  return [...(list.find((u) => u.get('username') === name) as Map<string, unknown>).keys()];
};

t.test('the default file is Specter\'s: the admin, password "admin", no secret', async (t) => {
  const users = await UsersFile.createDefault();
  t.same(users.list(), [{ id: 'admin', username: 'admin', isAdmin: true, hasUserSecret: false }]);
  t.same(userKeys(users, 'admin'), ['id', 'username', 'password', 'is_admin', 'jwt_tokens', 'encrypted_user_secret', 'services']);
  t.ok(await verifyPasswordHash(users.passwordHash('admin'), 'admin'));
  t.equal(users.admin()?.id, 'admin');
  t.equal(users.userSecret('admin'), null);
});

t.test('register: id from the username, Specter\'s key order and defaults, a secret encrypted at once', async (t) => {
  const users = await UsersFile.createDefault();
  const { id, secret } = await users.register('Bob Smith', 'pw', {});
  t.equal(id, 'bob_smith');
  t.equal(secret.length, 32);
  t.same(userKeys(users, 'Bob Smith'), ['id', 'username', 'password', 'is_admin', 'jwt_tokens', 'encrypted_user_secret', 'services', 'config']);
  t.equal(pyDumps(users.field('Bob Smith', 'config')!), pyDumps(defaultUserConfig()));
  t.equal(pyDumps(users.field('Bob Smith', 'jwt_tokens')!), '{}');
  t.equal(pyDumps(users.field('Bob Smith', 'services')!), '[]');
  const record = users.userSecret('Bob Smith') as EncryptedUserSecret;
  t.equal(record.iterations, USER_SECRET_ITERATIONS);
  t.same(await decryptUserSecret(record, 'pw'), secret);
  t.ok(await verifyPasswordHash(users.passwordHash('Bob Smith'), 'pw'));
  t.equal((await users.register('bob-smith', 'pw2')).id, 'bob_smith2', 'a taken id gets 2, 3, …');
  t.equal((await users.register('BOB SMITH', 'pw3')).id, 'bob_smith3');
  t.equal(users.findById('bob_smith2')?.username, 'bob-smith');
  await rejectsWith(t, users.register('Bob Smith', 'x'), 'ALREADY_EXISTS');
  const race = await Promise.allSettled([users.register('eve', 'a'), users.register('eve', 'b')]);
  t.same(race.map((r) => r.status).sort(), ['fulfilled', 'rejected'], 'two concurrent registers of one name: one wins');
  t.equal(users.list().filter((u) => u.username === 'eve').length, 1);
  await rejectsWith(t, users.register('../evil', 'x'), 'INVALID_PARAMS');
  await rejectsWith(t, users.register('!!!', 'x'), 'INVALID_PARAMS');
  const reparsed = UsersFile.parse(users.encode());
  t.equal(reparsed.encode().toString(), users.encode().toString(), 'stable through a reload');
});

t.test('Specter\'s alias rule', async (t) => {
  const table: Array<[string, string]> = [
    ['Bob Smith', 'bob_smith'], ['  Bob  ', 'bob'], ['a - b', 'a_b'], ['a__b', 'a_b'], ['Ünïcode Näme', 'ünïcode_näme'],
    ['x!y', 'xy'], ['a_!_b', 'a__b'], ['日本 語', '日本_語'], ['Hot Wallet #2', 'hot_wallet_2'],
  ];
  for (const [name, alias] of table) t.equal(specterAlias(name), alias, name);
  t.equal(specterUserId('admin', (id) => ['admin', 'admin2'].includes(id)), 'admin3');
});

t.test('change password: fresh hash and the same secret re-encrypted with a fresh salt at 390000', async (t) => {
  const users = await UsersFile.createDefault();
  const { secret } = await users.register('carol', 'old');
  const before = users.userSecret('carol') as EncryptedUserSecret;
  await users.changePassword('carol', 'new 𝄞', secret);
  const after = users.userSecret('carol') as EncryptedUserSecret;
  t.not(after.salt, before.salt);
  t.equal(after.iterations, USER_SECRET_ITERATIONS);
  t.same(await decryptUserSecret(after, 'new 𝄞'), secret, 'the same secret');
  await rejectsWith(t, decryptUserSecret(after, 'old'), 'BAD_PASSWORD');
  t.ok(await verifyPasswordHash(users.passwordHash('carol'), 'new 𝄞'));
  t.notOk(await verifyPasswordHash(users.passwordHash('carol'), 'old'));
  await rejectsWith(t, users.changePassword('carol', 'x', null), 'LOCKED', /Unlock/);
  await users.changePassword('admin', 'root', null);
  t.ok(await verifyPasswordHash(users.passwordHash('admin'), 'root'), 'a user with no secret needs none');
  t.equal(users.userSecret('admin'), null);
  await rejectsWith(t, users.changePassword('nobody', 'x', null), 'NOT_FOUND');
});

t.test('first unlock of a user with a null secret changes that value and no other byte', async (t) => {
  const original = vectorBytes('datadir', 'users.json');
  const users = UsersFile.parse(original);
  const target = users.list().find((u) => !u.hasUserSecret);
  if (!target) {
    t.fail('the vector users.json should hold a user without a secret (Specter\'s admin has none)');
    return;
  }
  const secret = newUserSecret();
  users.setUserSecret(target.username, await encryptUserSecret(secret, 'pw', { iterations: 100_000 }));
  const written = UsersFile.parse(users.encode());
  t.ok(written.find(target.username)?.hasUserSecret);
  t.same(await decryptUserSecret(written.userSecret(target.username) as EncryptedUserSecret, 'pw'), secret);
  written.setUserSecret(target.username, null); // put the null back: the rest must be the original file exactly
  t.equal(written.encode().toString('latin1'), original.toString('latin1'));
});

t.test('unknown keys and loaded order are kept; missing known keys go to Specter\'s place', async (t) => {
  const text = '[{"username": "u", "id": "u", "extra": {"x": [1.0]}, "is_admin": false, "password": {"salt": "s", "pwdhash": "h"}, "config": {}}]';
  const users = UsersFile.parse(Buffer.from(text));
  t.same(users.list(), [{ id: 'u', username: 'u', isAdmin: false, hasUserSecret: false }]);
  t.equal(users.userSecret('u'), null, 'absent record reads as null');
  users.setField('u', 'services', fromJs(['swan']));
  users.setField('u', 'jwt_tokens', fromJs({}));
  users.setField('u', 'brand_new', fromJs(1));
  users.setUserSecret('u', null);
  t.same(userKeys(users, 'u'), ['username', 'id', 'extra', 'is_admin', 'password', 'jwt_tokens', 'encrypted_user_secret', 'services', 'config', 'brand_new']);
  t.equal(pyDumps(users.field('u', 'extra')!), '{"x": [1.0]}');
  for (const key of ['id', 'username', 'password', 'is_admin', 'encrypted_user_secret']) {
    t.equal(reasonOf(() => users.setField('u', key, null)), 'INVALID_PARAMS', key);
  }
  t.equal(reasonOf(() => users.field('nobody', 'x')), 'NOT_FOUND');
  t.equal(users.find('nobody'), undefined);
  t.equal(users.findById('nobody'), undefined);
  t.equal(users.admin(), undefined);
});

t.test('delete removes a user; the admin stays; clone is independent', async (t) => {
  const users = await UsersFile.createDefault();
  await users.register('dave', 'pw');
  const copy = users.clone();
  t.same(users.delete('dave'), { id: 'dave', username: 'dave', isAdmin: false, hasUserSecret: true });
  t.same(users.list().map((u) => u.username), ['admin']);
  t.same(copy.list().map((u) => u.username), ['admin', 'dave']);
  t.equal(reasonOf(() => users.delete('admin')), 'INVALID_PARAMS');
  t.equal(reasonOf(() => users.delete('dave')), 'NOT_FOUND');
});

t.test('a users.json Specter could not start with is CORRUPT', async (t) => {
  const good = { id: 'a', username: 'a', password: { salt: 's', pwdhash: 'h' }, is_admin: true };
  for (const bad of [{}, [1], [{ ...good, id: 1 }], [{ ...good, username: null }], [{ ...good, is_admin: 'yes' }],
    [{ ...good, password: 'x' }], [{ ...good, is_admin: false }]]) {
    t.equal(reasonOf(() => UsersFile.fromValue(fromJs(bad))), 'CORRUPT', JSON.stringify(bad));
  }
  const users = UsersFile.fromValue(fromJs([{ ...good, password: {}, encrypted_user_secret: { token: 't', salt: 's', iterations: 1.5 } }]));
  t.equal(reasonOf(() => users.passwordHash('a')), 'CORRUPT', 'malformed hash: refused when used');
  t.equal(reasonOf(() => users.userSecret('a')), 'CORRUPT', 'float iterations');
  const other = UsersFile.fromValue(pyLoads('[{"id": "a", "username": "a", "password": {}, "is_admin": true, "encrypted_user_secret": {"token": "t"}}]'));
  t.equal(reasonOf(() => other.userSecret('a')), 'CORRUPT');
  t.ok(other.find('a')?.hasUserSecret);
  await rejectsWith(t, other.changePassword('a', 'pw', null), 'CORRUPT', /malformed/);
  const secret = randomBytes(32);
  await other.changePassword('a', 'pw', secret, { secretSalt: Buffer.alloc(16), fernet: { timestamp: 1 } });
  t.same(await decryptUserSecret(other.userSecret('a') as EncryptedUserSecret, 'pw'), secret, 'an unlocked secret replaces a malformed record');
});

t.test('annotations: null when absent, addrs then txs added on write, unknown keys kept', async (t) => {
  const empty = AnnotationsFile.empty();
  t.equal(empty.encode().toString(), '{\n    "addrs": {},\n    "txs": {}\n}');
  const f = AnnotationsFile.parse(Buffer.from('{"note": "mine", "txs": {"t1": {"a": 1}}}'));
  t.equal(f.getAddress('bc1q'), null);
  t.equal(f.getTx('nope'), null);
  t.equal(pyDumps(f.getTx('t1')), '{"a": 1}');
  f.setAddress('bc1q', fromJs({ reserved_by: 'swan' }));
  t.equal(pyDumps(f.getAddress('bc1q')), '{"reserved_by": "swan"}');
  t.ok(f.removeAddress('bc1q'));
  t.notOk(f.removeAddress('bc1q'), 'absent: nothing removed (a Specter-like caller still saves)');
  f.setTx('t2', null);
  t.equal(f.encode().toString(), '{\n    "note": "mine",\n    "txs": {\n        "t1": {\n            "a": 1\n        },\n        "t2": null\n    },\n    "addrs": {}\n}');
  t.equal(pyDumps(f.addresses()), '{}');
  t.equal(pyDumps(f.txs()), '{"t1": {"a": 1}, "t2": null}');
  const copy = f.clone();
  copy.setTx('t3', 1 as never);
  t.equal(f.getTx('t3'), null);
  for (const bad of ['[]', '{"addrs": []}', '{"txs": "x"}']) t.equal(reasonOf(() => AnnotationsFile.parse(Buffer.from(bad))), 'CORRUPT', bad);
});

t.test('file names are built only from safe names', async (t) => {
  t.equal(servicesFileName('Bob Smith', 'encrypted'), 'Bob Smith_services.json');
  t.equal(servicesFileName('bob', 'unencrypted'), 'bob_unencrypted_services.json');
  t.equal(walletsRootName('admin', true), 'wallets');
  t.equal(walletsRootName('bob_smith', false), 'wallets_bob_smith');
  t.equal(annotationsFileName('hot_wallet_2', 'exfund'), 'hot_wallet_2_exfund.json');
  // Service ids are Python identifiers: `my_wallet_test_service.json` has three readings.
  t.equal(annotationsFileName('my_wallet', 'test_service'), 'my_wallet_test_service.json');
  t.same(annotationsFileSplits('my_wallet_test_service.json'), [
    { walletAlias: 'my', serviceId: 'wallet_test_service' },
    { walletAlias: 'my_wallet', serviceId: 'test_service' },
    { walletAlias: 'my_wallet_test', serviceId: 'service' },
  ]);
  t.same(annotationsFileSplits('noseparator.json'), []);
  t.same(annotationsFileSplits('_lead.json'), []);
  t.same(annotationsFileSplits('a_b.txt'), []);
  for (const fn of [() => servicesFileName('../x', 'encrypted'), () => servicesFileName('a/b', 'encrypted'), () => servicesFileName('a\0', 'unencrypted'),
    () => walletsRootName('..', false), () => annotationsFileName('../w', 'swan'), () => servicesFileName('__proto__', 'encrypted')]) {
    t.equal(reasonOf(fn), 'INVALID_PARAMS');
  }
});
