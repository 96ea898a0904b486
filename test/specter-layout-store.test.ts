import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import t from 'tap';
import { SpecterAccounts } from '../daemon/src/layout/specter/accounts.js';
import { walletsRootOf } from '../daemon/src/layout/specter/users-json.js';
import { SpecterLayout } from '../daemon/src/layout/specter/specter-layout.js';
import { decodeBase64Text, fernetDecrypt, pyDumps, pyLoads } from '../daemon/src/specter/index.js';
import { Annotations } from '../daemon/src/store/annotations.js';
import { DocOwners } from '../daemon/src/store/doc-owners.js';
import { Docs } from '../daemon/src/store/docs.js';
import { FaultyFs } from '../daemon/src/disk/faulty-fs.js';
import { realFs } from '../daemon/src/disk/fs.js';
import { ServiceData, type ServiceOwner } from '../daemon/src/store/services.js';
import { Store } from '../daemon/src/store/store.js';
import { UserDataLifecycle } from '../daemon/src/store/user-data.js';
import { rejectsWith, throwsWith } from './helpers/assert.js';
import { filesUnder, unlockedUser } from './helpers/store.js';
import { tempDir, vectorPath } from './helpers/specter.js';
import { copyDatadir, expected } from './helpers/specter-layout.js';
import { ANNOTATIONS_DATA_ARGS, DOCS_DATA_ARGS, plainApi, SERVICE_DATA_ARGS } from './helpers/plain.js';

/**
 * The store over the specter layout, in this process on real files: what each Specter file looks
 * like after the store's verbs, byte for byte where Specter's format says so, with `.bkp`.
 * (End to end through a daemon, with Python checking the files: specter-layout-*.test.ts.)
 */
t.setTimeout(60_000);

const svc = expected.services_file;
const plain = expected.unencrypted_services_file;
const ann = expected.annotations_file;
const secretOf = (username: string) => decodeBase64Text(expected.users[username]!.user_secret!, 'urlsafe')!;

async function fixture(dataDir: string) {
  const fs = new FaultyFs(realFs);
  const store = new Store(fs, pino({ level: 'silent' }), { groupCommit: true, maxDocBytes: 8 * 1024 * 1024 });
  const layout = new SpecterLayout(dataDir, fs);
  const codec = await SpecterAccounts.create();
  const usersPath = path.join(dataDir, 'users.json');
  layout.useAccounts((username) => walletsRootOf(username, codec.decode(existsSync(usersPath) ? readFileSync(usersPath) : null)));
  const model = new ServiceData(store, layout);
  const services = plainApi(model, SERVICE_DATA_ARGS);
  const annotations = plainApi(new Annotations(store, layout), ANNOTATIONS_DATA_ARGS);
  const rawDocs = new Docs(store, layout);
  return { fs, store, layout, services, serviceData: model, annotations, docs: plainApi(rawDocs, DOCS_DATA_ARGS), owners: new DocOwners(store, layout, rawDocs) };
}

const bytes = (dir: string, file: string) => readFileSync(path.join(dir, file));
const enc = (username: string): ServiceOwner => ({ encrypted: true, user: unlockedUser(username, secretOf(username)) });
const unenc = (username: string): ServiceOwner => ({ encrypted: false, username });

t.test('encrypted services: the vectors read back; unchanged tokens stay byte for byte; the version key keeps its place', async (t) => {
  const dir = copyDatadir(t);
  const { services } = await fixture(dir);
  const owner = enc(svc.user);
  for (const [sid, data] of Object.entries(svc.services)) t.same((await services.get(owner, sid)).data, data, `${sid} as expected.json says`);
  const before = bytes(dir, svc.path);

  // The same value again: same text, so the token (and the file) are left as they are.
  const [first] = Object.keys(svc.services);
  const same = await services.set(owner, first!, svc.services[first!]!, undefined);
  t.equal(same.revision, (await services.get(owner, first!)).revision);
  t.same(bytes(dir, svc.path), before, 'no write for an unchanged value');

  await services.set(owner, 'newsvc', { n: 1, f: 2.5e-7, s: 'caf\u00e9' }, undefined);
  const file = pyLoads(bytes(dir, svc.path).toString('utf8')) as Map<string, unknown>;
  const old = pyLoads(before.toString('utf8')) as Map<string, unknown>;
  for (const sid of Object.keys(svc.services)) t.equal(file.get(sid), old.get(sid), `${sid}: token byte for byte`);
  t.same([...file.keys()], [...old.keys(), 'newsvc'], 'loaded order kept, the new id appended');
  const token = file.get('newsvc') as string;
  t.equal(fernetDecrypt(secretOf(svc.user), token).toString('utf8'), '{"n": 1, "f": 2.5e-07, "s": "caf\\u00e9"}', "the inner text is Python's json.dumps");
  t.same(bytes(dir, svc.path + '.bkp'), before, '.bkp is the previous version');

  await services.update(owner, 'newsvc', { n: 2 }, true, undefined);
  await services.delete(owner, 'newsvc', undefined);
  t.same([...(pyLoads(bytes(dir, svc.path).toString('utf8')) as Map<string, unknown>).keys()], [...old.keys()]);
});

t.test("unencrypted services: double-encoded texts, Specter's version key, null and empty entries read as {} and kept", async (t) => {
  const dir = copyDatadir(t);
  const { services } = await fixture(dir);
  const owner = unenc(plain.user);
  for (const [sid, data] of Object.entries(plain.services)) t.same((await services.get(owner, sid)).data, data);
  t.same(await services.get(owner, 'absent'), { data: {}, revision: null });

  writeFileSync(path.join(dir, 'hollow_unencrypted_services.json'), '{\n    "a": null,\n    "b": "",\n    "encrypted_storage_version": 1,\n    "c": "{\\"x\\": 2.0}"\n}');
  const hollow = unenc('hollow');
  t.same(await services.list(hollow), ['c'], 'null and "" are no data (spec §9)');
  t.same(await services.get(hollow, 'a'), { data: {}, revision: null });
  t.same((await services.get(hollow, 'c')).data, { x: 2 }, 'numbers come back as JSON numbers (DESIGN §3.2)');
  await services.set(hollow, 'd', { y: [1, 2] }, undefined);
  await services.set(hollow, 'b', { z: true }, undefined);
  t.equal(
    bytes(dir, 'hollow_unencrypted_services.json').toString('utf8'),
    '{\n    "a": null,\n    "b": "{\\"z\\": true}",\n    "encrypted_storage_version": 1,\n    "c": "{\\"x\\": 2.0}",\n    "d": "{\\"y\\": [1, 2]}"\n}',
    'null kept in place, a set "" entry keeps its place, untouched texts byte for byte, the new one appended',
  );

  // A new file: the version key joins after the first service, as Specter's live map does.
  await services.set(unenc('fresh'), 's1', { a: 1 }, undefined);
  await services.set(unenc('fresh'), 's2', { b: 1 }, undefined);
  t.equal(
    bytes(dir, 'fresh_unencrypted_services.json').toString('utf8'),
    '{\n    "s1": "{\\"a\\": 1}",\n    "encrypted_storage_version": 1,\n    "s2": "{\\"b\\": 1}"\n}',
  );
});

t.test('files the daemon must not rewrite: another version, bad JSON with no .bkp', async (t) => {
  const dir = tempDir(t);
  const { services } = await fixture(dir);
  const cases: Array<[string, string]> = [
    ['v2_services.json', '{"a": "gAAAAA", "encrypted_storage_version": 2}'],
    ['nan_services.json', '{"a": NaN}'],
    ['bad_services.json', '{"a": '],
    ['arr_services.json', '["a"]'],
    ['num_services.json', '{"a": 5}'],
  ];
  for (const [name, text] of cases) {
    writeFileSync(path.join(dir, name), text);
    const user = name.slice(0, -'_services.json'.length);
    const mine: ServiceOwner = { encrypted: true, user: unlockedUser(user, secretOf(svc.user)) };
    await rejectsWith(t, services.set(mine, 's', { a: 1 }, undefined), 'CORRUPT');
    t.equal(readFileSync(path.join(dir, name), 'utf8'), text, `${name} left untouched`);
  }
});

t.test('a token that does not open is CORRUPT; Fernet has no place binding, so a token moved between services opens', async (t) => {
  const dir = copyDatadir(t);
  const { services } = await fixture(dir);
  const owner = enc(svc.user);
  const [a, b] = Object.keys(svc.services);
  const file = pyLoads(bytes(dir, svc.path).toString('utf8')) as Map<string, unknown>;
  file.set(a!, file.get(b!));
  file.set('broken', 'gAAAAAnot-a-token==');
  writeFileSync(path.join(dir, svc.path), pyDumps(file as never, { indent: 4 }));
  t.same((await services.get(owner, a!)).data, svc.services[b!], 'inherent to Specter\'s format (documented)');
  await rejectsWith(t, services.get(owner, 'broken'), 'CORRUPT');
  const stranger: ServiceOwner = { encrypted: true, user: unlockedUser(svc.user, Buffer.alloc(32, 7)) };
  await rejectsWith(t, services.get(stranger, a!), 'CORRUPT', /does not decrypt/);
});

t.test('annotations: Specter\'s file read and written back with every untouched value as it was', async (t) => {
  const dir = copyDatadir(t);
  const { annotations, layout } = await fixture(dir);
  const file = { username: ann.user, wallet: ann.wallet_alias, service: ann.service_id };
  const original = bytes(dir, ann.path);
  const all = await annotations.getAll(file);
  const parsed = JSON.parse(original.toString('utf8')) as { addrs: object; txs: object };
  t.same({ addrs: all.addrs, txs: all.txs }, parsed);
  t.same(await annotations.list(ann.user, {}), [
    ...Object.keys(parsed.addrs).map((id) => ({ wallet: ann.wallet_alias, service: ann.service_id, kind: 'addr', id })),
    ...Object.keys(parsed.txs).map((id) => ({ wallet: ann.wallet_alias, service: ann.service_id, kind: 'tx', id })),
  ]);

  const odd = path.join(dir, path.dirname(ann.path), `odd_${ann.service_id}.json`);
  writeFileSync(odd, '{"note": "kept", "addrs": {"bc1qoddoddoddoddodd": {"v": 2.0, "big": 18446744073709551615}}}');
  const oddFile = { ...file, wallet: 'odd' };
  await annotations.set(oddFile, 'tx', 'a'.repeat(64), { label: 'new' }, undefined);
  t.equal(
    readFileSync(odd, 'utf8'),
    pyDumps(pyLoads(`{"note": "kept", "addrs": {"bc1qoddoddoddoddodd": {"v": 2.0, "big": 18446744073709551615}}, "txs": {"${'a'.repeat(64)}": {"label": "new"}}}`), { indent: 4 }),
    'other members and untouched values (2.0, ints past 2^53) byte for byte; txs added after addrs',
  );
  await annotations.delete(oddFile, 'addr', 'bc1qoddoddoddoddodd', undefined);
  await annotations.delete(oddFile, 'tx', 'a'.repeat(64), undefined);
  t.equal(readFileSync(odd, 'utf8'), '{\n    "note": "kept",\n    "addrs": {},\n    "txs": {}\n}', 'emptied, the file stays as Specter leaves it');

  // The admin's wallets root is wallets/; an unknown user has none.
  const admin = Object.keys(expected.users).find((u) => expected.users[u]!.user_id === 'admin') ?? 'admin';
  t.equal(layout.annotationsFile(admin, 'w', 'svc').path, path.join(dir, 'wallets', 'w_svc.json'));
  throwsWith(t, () => layout.annotationsFile('nobody-here', 'w', 'svc'), 'NOT_FOUND');
  throwsWith(t, () => layout.annotationsFile(ann.user, 'Hot', 'svc'), 'INVALID_PARAMS', "Specter's alias rule: lowercase");
  throwsWith(t, () => layout.annotationsFile(ann.user, 'hot-wallet', 'svc'), 'INVALID_PARAMS', 'no dash in a Specter alias');
  throwsWith(t, () => layout.servicesFile('../x', true), 'INVALID_PARAMS');
  t.equal(layout.annotationsFile(ann.user, 'k\u00fcche_2', 'svc').path, path.join(dir, path.dirname(ann.path), 'k\u00fcche_2_svc.json'));
});

t.test('documents are GenericDataManager files in place: plain fields as they are, encrypted ones Fernet tokens of the string', async (t) => {
  const dir = tempDir(t);
  const { docs } = await fixture(dir);
  const owner = unlockedUser(svc.user, secretOf(svc.user));
  const other = unlockedUser(plain.user, Buffer.alloc(32, 3));
  await docs.set('plugins/prefs.json', { theme: 'dark', key: 's\u00e9cret', opt: null, n: { k: [1, 1e-5] } }, ['key', 'opt'], owner, undefined);
  const text = readFileSync(path.join(dir, 'plugins', 'prefs.json'), 'utf8');
  const file = pyLoads(text) as Map<string, unknown>;
  t.same([...file.keys()], ['theme', 'key', 'opt', 'n', 'encrypted_storage_version'], 'the version key after the data, as Specter adds it');
  t.equal(file.get('theme'), 'dark');
  t.equal(file.get('opt'), null, 'a declared null stays a plain null, as Specter leaves it');
  t.equal(fernetDecrypt(secretOf(svc.user), file.get('key') as string).toString('utf8'), 's\u00e9cret', 'the string itself, not its JSON text');
  t.equal(text, pyDumps(pyLoads(text), { indent: 4 }), "json.dump(indent=4) bytes");
  const again = await fixture(dir);
  const read = await again.docs.get('plugins/prefs.json', owner);
  t.same(read.data, { theme: 'dark', key: 's\u00e9cret', opt: null, n: { k: [1, 1e-5] } }, 'read back after a "restart"');
  t.same(read.encryptedFields, ['key'], 'the declaration read back is the fields that hold tokens');
  t.same((await again.docs.get('plugins/prefs.json', undefined)).locked, ['key']);
  t.same((await again.docs.get('plugins/prefs.json', other)).locked, ['key'], 'another user\'s secret does not open it');
  t.same(await again.docs.list(), [{ name: 'plugins/prefs.json', owner: null, encryptedFields: ['key'] }]);
  await rejectsWith(t, again.docs.set('plugins/prefs.json', { theme: 'x' }, [], other, undefined), 'LOCKED');
  await rejectsWith(t, again.docs.delete('plugins/prefs.json', other, undefined), 'LOCKED');
  await rejectsWith(t, again.docs.update('plugins/prefs.json', { key: 'x' }, undefined, undefined), 'LOCKED');
  await rejectsWith(t, again.docs.update('plugins/prefs.json', { key: 5 }, owner, undefined), 'INVALID_PARAMS');
  await rejectsWith(t, again.docs.set('plugins/prefs.json', { encrypted_storage_version: 1 }, [], owner, undefined), 'INVALID_PARAMS');
  t.same((await again.docs.update('plugins/prefs.json', { theme: 'light' }, other, undefined)).data, { theme: 'light', opt: null, n: { k: [1, 1e-5] } }, 'plain fields are open to any caller');
  t.same((await again.docs.update('plugins/prefs.json', { key: 'new' }, owner, undefined)).data.key, 'new');
  // A rotation re-seals what opens under the old secret; another user's rotation leaves it alone.
  const rotated = unlockedUser(svc.user, Buffer.alloc(32, 7));
  t.same(await again.owners.reencryptOwned(plain.user, other, unlockedUser(plain.user, Buffer.alloc(32, 9))), { resealed: 0, unreadable: 0 });
  t.same(await again.owners.reencryptOwned(svc.user, owner, rotated), { resealed: 1, unreadable: 0 });
  t.same((await again.docs.get('plugins/prefs.json', rotated)).data.key, 'new');
  t.equal(await again.owners.releaseOwned(svc.user), 0, 'whose fields are whose is not known without the secret: left as Specter leaves them');
  await again.docs.delete('plugins/prefs.json', rotated, undefined);
  t.notOk(existsSync(path.join(dir, 'plugins', 'prefs.json')));

  // docs.list walks the folder: 6 levels deep, no hidden entries, nothing other methods serve.
  for (const rel of ['a/b/c/d/e/six.json', 'a/b/c/d/e/f/seven.json', '.hidden/x.json', 'a/notes.txt', 'wallets/w_svc.json']) {
    mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), '{"x": 1}');
  }
  symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling.json'));
  t.same((await again.docs.list()).map((doc) => doc.name), ['a/b/c/d/e/six.json'], 'only documents within reach');

  for (const bad of ['{"a": 1, "encrypted_storage_version": 2}', '[]', '{"a": 1']) {
    writeFileSync(path.join(dir, 'bad.json'), bad);
    const fresh = await fixture(dir);
    await rejectsWith(t, fresh.docs.get('bad.json', undefined), 'CORRUPT');
    await rejectsWith(t, fresh.docs.set('bad.json', { a: 1 }, undefined, undefined, undefined), 'CORRUPT');
    t.equal(readFileSync(path.join(dir, 'bad.json'), 'utf8'), bad, 'never rewritten');
  }
  for (const name of ['users.json', 'bob_services.json', 'bob_unencrypted_services.json', 'wallets/w_svc.json', 'wallets_bob/w_svc.json', '../x.json', '/x.json', '.x.json', 'a/.b.json', 'x.txt', 'a\\b.json', 'a\u0001.json', `${'a'.repeat(300)}.json`]) {
    await rejectsWith(t, docs.get(name, undefined), 'INVALID_PARAMS');
  }
});

t.test('recovery: a missing, empty or truncated file is served from its .bkp, and the next write keeps that data', async (t) => {
  const older = expected.recovery.older_services;
  for (const kind of ['missing', 'empty', 'truncated']) {
    const dir = tempDir(t);
    cpSync(vectorPath('recovery', kind), dir, { recursive: true });
    const bkp = bytes(dir, svc.path + '.bkp');
    const { services } = await fixture(dir);
    const owner = enc(svc.user);
    for (const [sid, data] of Object.entries(older)) t.same((await services.get(owner, sid)).data, data, `${kind}: ${sid} from the .bkp`);
    await services.set(owner, 'added', { after: kind }, undefined);
    const fresh = await fixture(dir);
    for (const [sid, data] of Object.entries(older)) t.same((await fresh.services.get(owner, sid)).data, data, `${kind}: ${sid} still there after a write`);
    t.same((await fresh.services.get(owner, 'added')).data, { after: kind });
    t.same(bytes(dir, svc.path + '.bkp'), bkp, `${kind}: a bad or missing file is never rotated into the .bkp`);
  }
});

t.test('deleting a user removes their files and .bkp; a rotation leaves no .bkp under the old secret; sweep covers wallet roots', async (t) => {
  const dir = copyDatadir(t);
  const { store, layout, services, serviceData } = await fixture(dir);
  const from = unlockedUser(svc.user, secretOf(svc.user));
  await services.set({ encrypted: true, user: from }, 'another', { a: 1 }, undefined);
  t.ok(existsSync(path.join(dir, svc.path + '.bkp')));

  await services.reencrypt(svc.user, from, unlockedUser(svc.user, Buffer.alloc(32, 9)));
  for (const file of [svc.path, svc.path + '.bkp']) {
    const tokens = [...(pyLoads(bytes(dir, file).toString('utf8')) as Map<string, unknown>)].filter(([k]) => k !== 'encrypted_storage_version');
    t.ok(tokens.every(([, token]) => fernetDecrypt(Buffer.alloc(32, 9), token as string).length > 0), `${file}: under the new secret`);
  }

  const temp = path.join(dir, path.dirname(ann.path), `.${path.basename(ann.path)}.bkp.coffer-tmp-0123456789abcdef`);
  writeFileSync(temp, 'left by a crash');
  t.equal(await store.sweep(await layout.sweepDirs()), 1, 'the leftover in a wallets root is swept');

  writeFileSync(path.join(dir, svc.path.replace('_services', '_unencrypted_services')), '{}');
  writeFileSync(path.join(dir, svc.path.replace('_services', '_unencrypted_services') + '.bkp'), '{}');
  const lifecycle = new UserDataLifecycle(store, layout, serviceData, pino({ level: 'silent' }));
  await lifecycle.deleteUserFiles(svc.user);
  const left = filesUnder(dir).filter((f) => f.includes(`${svc.user}_`) || f.startsWith(`wallets_${expected.users[svc.user]!.user_id}/`));
  t.same(left, [], 'services files, their .bkp and the annotations are gone');
});
