import { randomBytes } from 'node:crypto';
import t from 'tap';
import {
  fernetDecrypt,
  fernetEncrypt,
  fromJs,
  pyDumps,
  pyLoads,
  type PyObject,
} from '../daemon/src/specter/index.js';
import { reasonOf } from './helpers/specter.js';
import { EncryptedServicesFile, UnencryptedServicesFile } from './helpers/specter-services-model.js';

const obj = (v: unknown): PyObject => fromJs(v) as PyObject;
const text = (file: EncryptedServicesFile | UnencryptedServicesFile): string => file.encode().toString('ascii');
const keys = (file: EncryptedServicesFile | UnencryptedServicesFile): string[] => [...file.toValue().keys()];
t.test('§9 semantics on the unencrypted file: get, set, {} deletes, no-op rules, shallow update, remove', async (t) => {
  const f = UnencryptedServicesFile.empty();
  t.same(f.get('a').size, 0, 'absent reads {}');
  t.notOk(f.set('a', obj({})), 'set {} on an absent id is a no-op (Specter would store "{}")');
  t.same(keys(f), []);
  t.ok(f.set('a', obj({ x: 1, nested: { deep: 1 }, keep: true })));
  t.notOk(f.set('a', obj({ x: 1, nested: { deep: 1 }, keep: true })), 'same value: no change');
  t.notOk(f.update('a', obj({})), 'update {} is a no-op');
  t.ok(f.update('a', obj({ nested: { other: 2 }, x: null, added: [1] })));
  t.equal(f.text('a'), '{"x": null, "nested": {"other": 2}, "keep": true, "added": [1]}', 'shallow: nested replaced whole, null stored, order kept');
  t.notOk(f.update('a', obj({ keep: true })), 'an update that changes nothing is no change');
  t.ok(f.update('b', obj({ created: 1 })), 'update creates the entry');
  t.ok(f.set('a', obj({})), '{} deletes an existing entry');
  t.notOk(f.remove('a'), 'remove of an absent id is a no-op');
  t.ok(f.remove('b'));
  t.equal(text(f), '{}', 'never written with a service, so no version key');
});

t.test('unencrypted version key joins the live map at the first save with a service and keeps its place', async (t) => {
  const f = UnencryptedServicesFile.empty();
  t.equal(text(f), '{}', 'no service: no version key');
  f.set('a', obj({ v: 1 }));
  t.same(keys(f), ['a', 'encrypted_storage_version']);
  f.set('b', obj({ v: 2 }));
  t.same(keys(f), ['a', 'encrypted_storage_version', 'b'], 'later ids come after it');
  f.remove('a');
  t.same(keys(f), ['encrypted_storage_version', 'b'], 'after a delete it comes first');
  f.remove('b');
  t.equal(text(f), '{\n    "encrypted_storage_version": 1\n}', 'all removed: only the version key');
  const loaded = UnencryptedServicesFile.parse(Buffer.from('{"encrypted_storage_version": "odd", "a": null}'));
  t.same(loaded.get('a').size, 0, 'null reads {}');
  t.equal(loaded.text('a'), '');
  loaded.set('c', obj({ z: 1 }));
  t.equal(loaded.encode().toString(), '{\n    "encrypted_storage_version": 1,\n    "a": null,\n    "c": "{\\"z\\": 1}"\n}', 'unchecked value reset to 1 in place; null kept');
  t.same(UnencryptedServicesFile.parse(Buffer.from('{"a": ""}')).get('a').size, 0, '"" reads {}');
});

t.test('encrypted version key: appended to each written copy unless loaded, where it keeps its place', async (t) => {
  const key = randomBytes(32);
  const f = EncryptedServicesFile.empty();
  f.set('a', obj({ v: 1 }), key);
  t.same(keys(f), ['a', 'encrypted_storage_version']);
  f.set('b', obj({ v: 2 }), key);
  t.same(keys(f), ['a', 'b', 'encrypted_storage_version'], 'stays last in one process, as Specter writes it');
  const reloaded = EncryptedServicesFile.parse(f.encode());
  reloaded.set('c', obj({ v: 3 }), key);
  t.same(keys(reloaded), ['a', 'b', 'encrypted_storage_version', 'c'], 'after a reload it keeps its place');
  reloaded.remove('a');
  reloaded.remove('b');
  reloaded.remove('c');
  t.equal(text(reloaded), '{\n    "encrypted_storage_version": 1\n}');
  f.remove('a');
  f.remove('b');
  t.equal(text(f), '{}');
  t.ok(reloaded.wipe());
  t.equal(text(reloaded), '{}', 'wipe all writes {}');
  t.notOk(reloaded.wipe());
});

t.test('encrypted: unchanged tokens stay byte-identical; changed ones decrypt to the new inner text', async (t) => {
  const key = randomBytes(32);
  const f = EncryptedServicesFile.empty();
  f.set('a', obj({ v: 1 }), key);
  f.set('b', obj({ v: [1.5, 'é'] }), key);
  const first = EncryptedServicesFile.parse(f.encode());
  const tokenA = first.toValue().get('a');
  t.notOk(first.set('a', obj({ v: 1 }), key), 'same value');
  t.notOk(first.update('a', obj({ v: 1 }), key));
  t.ok(first.update('b', obj({ w: 2 }), key));
  t.equal(first.toValue().get('a'), tokenA, 'token kept');
  t.equal(first.text('b', key), '{"v": [1.5, "\\u00e9"], "w": 2}');
  t.equal(fernetDecrypt(key, first.toValue().get('b') as string).toString(), '{"v": [1.5, "\\u00e9"], "w": 2}');
  const iv = Buffer.alloc(16, 7);
  first.set('c', obj({ x: 1 }), key, { iv, timestamp: 5 });
  t.equal(first.toValue().get('c'), fernetEncrypt(key, Buffer.from('{"x": 1}'), { iv, timestamp: 5 }), 'fernet seam');
  first.reencryptAll(key);
  t.not(first.toValue().get('a'), tokenA, 'reencryptAll draws new IVs, as Specter does on every save');
  t.equal(first.text('a', key), '{"v": 1}');
  first.verify(key);
  t.equal(reasonOf(() => first.verify(randomBytes(32))), 'CORRUPT');
});

t.test('encrypted: rekey moves every token to the new key and is idempotent', async (t) => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const f = EncryptedServicesFile.parse(Buffer.from('{"n": null}'));
  f.set('a', obj({ v: 1 }), oldKey);
  f.set('b', obj({ v: 2 }), oldKey);
  t.ok(f.rekey(oldKey, newKey));
  t.equal(f.text('a', newKey), '{"v": 1}');
  t.equal(f.text('b', newKey), '{"v": 2}');
  t.same(f.get('n', newKey).size, 0);
  const before = f.encode().toString();
  t.notOk(f.rekey(oldKey, newKey), 'a second run after a crash changes nothing');
  t.equal(f.encode().toString(), before);
});

t.test('the reserved id is refused everywhere', async (t) => {
  const key = randomBytes(32);
  const e = EncryptedServicesFile.empty();
  const u = UnencryptedServicesFile.empty();
  const sid = 'encrypted_storage_version';
  for (const fn of [() => e.get(sid, key), () => e.set(sid, obj({ a: 1 }), key), () => e.update(sid, obj({ a: 1 }), key), () => e.remove(sid),
    () => u.get(sid), () => u.set(sid, obj({ a: 1 })), () => u.update(sid, obj({ a: 1 })), () => u.remove(sid)]) {
    t.equal(reasonOf(fn), 'INVALID_PARAMS');
  }
});

t.test('files that Specter would refuse or crash on are CORRUPT, never rewritten', async (t) => {
  const key = randomBytes(32);
  for (const bad of ['[]', '"x"', '{"a": 1}', '{"a": {"x": 1}}', '{"encrypted_storage_version": 2}', '{"encrypted_storage_version": "1"}',
    '{"encrypted_storage_version": true}']) {
    t.equal(reasonOf(() => EncryptedServicesFile.parse(Buffer.from(bad))), 'CORRUPT');
  }
  t.same(EncryptedServicesFile.parse(Buffer.from('{"encrypted_storage_version": 1.0}')).serviceIds(), [], '1.0 == 1 in Python');
  for (const bad of ['[]', '{"a": 1}', '{"a": [1]}']) t.equal(reasonOf(() => UnencryptedServicesFile.parse(Buffer.from(bad))), 'CORRUPT');
  const f = EncryptedServicesFile.parse(Buffer.from(`{"a": "${fernetEncrypt(randomBytes(32), Buffer.from('{}'))}", "b": "junk"}`));
  t.equal(reasonOf(() => f.get('a', key)), 'CORRUPT');
  t.equal(reasonOf(() => f.get('b', key)), 'CORRUPT');
  t.equal(reasonOf(() => f.set('a', obj({ x: 1 }), key)), 'CORRUPT');
  t.ok(f.remove('a'), 'an undecryptable entry can still be removed');
  const notUtf8 = EncryptedServicesFile.parse(Buffer.from(`{"a": "${fernetEncrypt(key, Buffer.from([0xff, 0xfe]))}"}`));
  t.equal(reasonOf(() => notUtf8.get('a', key)), 'CORRUPT');
  for (const inner of ['{"a": ', '[1, 2]', '{"a": NaN}']) {
    const u = UnencryptedServicesFile.fromValue(pyLoads(JSON.stringify({ s: inner })));
    t.equal(reasonOf(() => u.get('s')), 'CORRUPT');
  }
});

t.test('lossless: values Python wrote keep their exact text through get and set', async (t) => {
  const inner = '{"2": 2.0, "10": -0.0, "big": 123456789012345678901234567890, "f": 1e+16}';
  const u = UnencryptedServicesFile.fromValue(pyLoads(JSON.stringify({ s: inner })));
  t.equal(pyDumps(u.get('s')), inner);
  t.notOk(u.set('s', u.get('s')), 'unchanged');
  t.ok(u.update('s', obj({ n: 1 })));
  t.equal(u.text('s'), inner.replace(/}$/, ', "n": 1}'), 'untouched keys keep their lexemes and order');
  const copy = u.clone();
  copy.remove('s');
  t.same(u.serviceIds(), ['s'], 'clone is independent');
  const e = EncryptedServicesFile.empty();
  const ec = e.clone();
  ec.set('x', obj({ a: 1 }), randomBytes(32));
  t.same(e.serviceIds(), []);
});
