import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { Docs } from '../daemon/src/store/docs.js';
import { isOwnTempFile } from '../daemon/src/disk/durable-write.js';
import { rejectsWith } from './helpers/assert.js';
import { DOCS_DATA_ARGS, plainApi } from './helpers/plain.js';
import { filesUnder, SAMPLE_WRITE_FAULTS, storeFixture } from './helpers/store.js';

function setup(t: Test, options: { maxDocBytes?: number; dataDir?: string } = {}) {
  const fixture = storeFixture(t, options);
  const docs = plainApi(new Docs(fixture.store, fixture.layout), DOCS_DATA_ARGS);
  const fileOf = (name: string) => path.join(fixture.dataDir, 'docs', `${name}.json`);
  return { ...fixture, docs, fileOf };
}

t.test('plain documents: set, get, update, delete, list; no session needed', async (t) => {
  const { docs, fileOf } = setup(t);
  await rejectsWith(t, docs.get('config', undefined), 'NOT_FOUND', /No document config/);
  const { revision } = await docs.set('config', { theme: 'dark', n: 1 }, undefined, undefined, undefined);
  t.type(revision, 'string');
  t.same(await docs.get('config', undefined), { data: { theme: 'dark', n: 1 }, encryptedFields: [], locked: [], revision });
  const updated = await docs.update('config', { n: null, nested: { a: 1 } }, undefined, undefined);
  t.same(updated.data, { theme: 'dark', nested: { a: 1 } }, 'RFC 7396 at the top level too');
  t.not(updated.revision, revision);
  t.same((await docs.update('fresh', { a: { b: 1 } }, undefined, undefined)).data, { a: { b: 1 } }, 'absent starts as {}');
  t.same(await docs.list(), [
    { name: 'config', owner: null, encryptedFields: [] },
    { name: 'fresh', owner: null, encryptedFields: [] },
  ]);
  t.same(JSON.parse(readFileSync(fileOf('config'), 'utf8')), {
    format: 'coffer.doc',
    version: 1,
    owner: null,
    encryptedFields: [],
    fields: { theme: { plain: 'dark' }, nested: { plain: { a: 1 } } },
  });
  t.same(await docs.delete('config', undefined, undefined), { revision: null });
  t.notOk(existsSync(fileOf('config')), 'the file is gone');
  await rejectsWith(t, docs.get('config', undefined), 'NOT_FOUND');
  t.same(await docs.delete('config', undefined, undefined), { revision: null }, 'deleting an absent document is not an error');
  t.same((await docs.update('fresh', { a: null }, undefined, undefined)).revision, null, 'a patch that empties it removes it');
  t.same(await docs.set('x', {}, undefined, undefined, undefined), { revision: null }, 'set {} with nothing declared: absent');
  t.same(await docs.list(), []);
});

t.test('ifRevision: stale is CONFLICT with the current revision, null is create-only, nothing written', async (t) => {
  const { docs, fileOf } = setup(t);
  const { revision: first } = await docs.set('d', { v: 1 }, undefined, undefined, null);
  const conflict = await rejectsWith(t, docs.set('d', { v: 9 }, undefined, undefined, null), 'CONFLICT');
  t.equal(conflict.data['revision'], first);
  const { revision: second } = await docs.set('d', { v: 2 }, undefined, undefined, first);
  const before = readFileSync(fileOf('d'));
  for (const attempt of [
    docs.set('d', { v: 3 }, undefined, undefined, first),
    docs.update('d', { v: 3 }, undefined, first),
    docs.delete('d', undefined, first),
  ]) {
    t.equal((await rejectsWith(t, attempt, 'CONFLICT')).data['revision'], second);
  }
  await rejectsWith(t, docs.update('absent', { v: 1 }, undefined, first), 'CONFLICT');
  t.same(readFileSync(fileOf('d')), before);
  t.notOk(existsSync(fileOf('absent')));
  t.same((await docs.update('d', { w: 1 }, undefined, second)).data, { v: 2, w: 1 });
});

t.test('no-op writes do not write and keep the revision', async (t) => {
  const { docs, fs } = setup(t);
  const { revision } = await docs.set('d', { v: 1, o: { a: [1] } }, undefined, undefined, undefined);
  const renames = fs.counts.rename;
  t.equal((await docs.set('d', { v: 1, o: { a: [1] } }, undefined, undefined, undefined)).revision, revision);
  t.equal((await docs.set('d', { v: 1, o: { a: [1] } }, [], undefined, undefined)).revision, revision);
  t.equal((await docs.update('d', { v: 1 }, undefined, undefined)).revision, revision);
  await docs.delete('nothing', undefined, undefined);
  t.equal(fs.counts.rename, renames);
});

t.test('__proto__ and constructor as field names, keys in data and patches stay data', async (t) => {
  const { docs, dataDir } = setup(t);
  const data = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
  await docs.set('d', data, undefined, undefined, undefined);
  const { data: merged } = await docs.update('d', JSON.parse('{"__proto__":{"more":1},"hasOwnProperty":1}'), undefined, undefined);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  const expected = '{"__proto__":{"polluted":true,"more":1},"constructor":{"prototype":{"x":1}},"hasOwnProperty":1}';
  t.equal(JSON.stringify(merged), expected);
  const again = setup(t, { dataDir });
  t.equal(JSON.stringify((await again.docs.get('d', undefined)).data), expected, 'read back from the file');
});

t.test('list skips files our names cannot address and absent documents', async (t) => {
  const { docs, dataDir } = setup(t);
  await docs.set('b', { v: 1 }, undefined, undefined, undefined);
  await docs.set('a', { v: 1 }, undefined, undefined, undefined);
  mkdirSync(path.join(dataDir, 'docs'), { recursive: true });
  writeFileSync(path.join(dataDir, 'docs', 'Bad Name.json'), '{}');
  writeFileSync(path.join(dataDir, 'docs', 'constructor.json'), '{}');
  writeFileSync(path.join(dataDir, 'docs', 'notes.txt'), '');
  writeFileSync(path.join(dataDir, 'docs', 'empty.json'), '{"format":"coffer.doc","version":1,"owner":null,"encryptedFields":[],"fields":{}}');
  t.same((await docs.list()).map((d) => d.name), ['a', 'b']);
});

t.test('a file that does not parse is CORRUPT for every verb and never rewritten', async (t) => {
  const { docs, fileOf } = setup(t);
  mkdirSync(path.dirname(fileOf('d')), { recursive: true });
  for (const bad of ['{"format":"coffer.doc","version":9,"owner":null,"encryptedFields":[],"fields":{}}', 'not json', '{"format":"coffer.doc","version":1,"owner":null,"encryptedFields":[],"fields":{"a":1}}']) {
    writeFileSync(fileOf('d'), bad);
    await rejectsWith(t, docs.get('d', undefined), 'CORRUPT');
    await rejectsWith(t, docs.set('d', { a: 1 }, undefined, undefined, undefined), 'CORRUPT');
    await rejectsWith(t, docs.update('d', { a: 1 }, undefined, undefined), 'CORRUPT');
    await rejectsWith(t, docs.delete('d', undefined, undefined), 'CORRUPT');
    await rejectsWith(t, docs.list(), 'CORRUPT');
    t.equal(readFileSync(fileOf('d'), 'utf8'), bad);
  }
});

t.test('over --max-doc-bytes: TOO_LARGE and nothing of it written', async (t) => {
  const { docs, fileOf } = setup(t, { maxDocBytes: 1000 });
  await docs.set('d', { v: 'old' }, undefined, undefined, undefined);
  const before = readFileSync(fileOf('d'));
  await rejectsWith(t, docs.set('d', { pad: 'x'.repeat(2000) }, undefined, undefined, undefined), 'TOO_LARGE');
  await rejectsWith(t, docs.update('d', { pad: 'x'.repeat(2000) }, undefined, undefined), 'TOO_LARGE');
  await rejectsWith(t, docs.set('new', { pad: 'x'.repeat(2000) }, undefined, undefined, undefined), 'TOO_LARGE');
  t.same(readFileSync(fileOf('d')), before);
  t.notOk(existsSync(fileOf('new')));
  t.same((await docs.get('d', undefined)).data, { v: 'old' });
});

for (const rule of SAMPLE_WRITE_FAULTS) {
  t.test(`a failed write (${rule.op} ${rule.fault}): STORAGE_FAILED, previous document kept in memory and on disk`, async (t) => {
    const { docs, fs, fileOf, dataDir } = setup(t);
    const { revision } = await docs.set('d', { v: 'old' }, undefined, undefined, undefined);
    const before = readFileSync(fileOf('d'));
    fs.setRules([{ ...rule, pathIncludes: 'docs' }]);
    const attempt = rule.op === 'unlink' ? docs.delete('d', undefined, undefined) : docs.update('d', { v: 'new' }, undefined, undefined);
    await rejectsWith(t, attempt, 'STORAGE_FAILED');
    fs.setRules([]);
    t.same(await docs.get('d', undefined), { data: { v: 'old' }, encryptedFields: [], locked: [], revision });
    t.same(readFileSync(fileOf('d')), before);
    t.same(filesUnder(dataDir).filter((f) => isOwnTempFile(path.basename(f))), []);
  });
}
