import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { isOwnTempFile } from '../daemon/src/disk/durable-write.js';
import { Annotations, type AnnotationsKey } from '../daemon/src/store/annotations.js';
import { rejectsWith } from './helpers/assert.js';
import { ANNOTATIONS_DATA_ARGS, plainApi } from './helpers/plain.js';
import { filesUnder, SAMPLE_WRITE_FAULTS, storeFixture } from './helpers/store.js';

const ADDR = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const ADDR2 = '1BoatSLRHtKNngkdXEeobR76b53LETtpyT';
const TXID = 'a'.repeat(64);
const here: AnnotationsKey = { username: 'alice', wallet: 'hot_wallet-1', service: 'swan' };

function setup(t: Test, options: { maxDocBytes?: number; dataDir?: string } = {}) {
  const fixture = storeFixture(t, options);
  const annotations = plainApi(new Annotations(fixture.store, fixture.layout), ANNOTATIONS_DATA_ARGS);
  const file = path.join(fixture.dataDir, 'wallets', 'alice', 'hot_wallet-1_swan.json');
  return { ...fixture, annotations, file };
}

t.test('set, get one, get all, update, delete: Specter semantics with one revision per file', async (t) => {
  const { annotations, file } = setup(t);
  t.same(await annotations.getAll(here), { addrs: {}, txs: {}, revision: null }, 'no file: empty, revision null');
  t.same(await annotations.get(here, 'addr', ADDR), { data: null, revision: null }, 'an absent address is null');

  const r1 = (await annotations.set(here, 'addr', ADDR, { label: 'cold', reserved: true }, undefined)).revision;
  t.type(r1, 'string');
  t.same(await annotations.get(here, 'addr', ADDR), { data: { label: 'cold', reserved: true }, revision: r1 });
  t.same(await annotations.get(here, 'tx', TXID), { data: null, revision: r1 }, 'absent tx: null, with the file revision');

  const r2 = (await annotations.set(here, 'tx', TXID, ['any', 'json', 1], undefined)).revision;
  t.not(r2, r1, 'another annotation of the file changes the file revision');
  t.same(await annotations.getAll(here), { addrs: { [ADDR]: { label: 'cold', reserved: true } }, txs: { [TXID]: ['any', 'json', 1] }, revision: r2 });

  const updated = await annotations.update(here, 'addr', ADDR, { reserved: null, note: { a: 1 } }, undefined);
  t.same(updated.data, { label: 'cold', note: { a: 1 } }, 'RFC 7396: null deletes, objects merge');
  t.same((await annotations.update(here, 'addr', ADDR2, { label: 'new' }, undefined)).data, { label: 'new' }, 'absent starts as {}');
  t.same((await annotations.update(here, 'tx', TXID, { x: 1 }, undefined)).data, { x: 1 }, 'a non-object is replaced as {}');

  const onDisk = JSON.parse(readFileSync(file, 'utf8'));
  t.same(onDisk, {
    format: 'coffer.annotations',
    version: 1,
    addrs: { [ADDR]: { label: 'cold', note: { a: 1 } }, [ADDR2]: { label: 'new' } },
    txs: { [TXID]: { x: 1 } },
  });

  const afterDelete = await annotations.delete(here, 'addr', ADDR, undefined);
  t.equal(afterDelete.revision, (await annotations.getAll(here)).revision, 'delete returns the file revision');
  t.same(await annotations.get(here, 'addr', ADDR), { data: null, revision: afterDelete.revision });
  await annotations.delete(here, 'addr', ADDR2, undefined);
  const last = await annotations.delete(here, 'tx', TXID, undefined);
  t.equal(last.revision, null, 'nothing left: revision null');
  t.notOk(existsSync(file), 'a file with nothing left is removed');
  t.same(await annotations.list('alice', {}), []);
});

t.test('null is a value like any other; set accepts any JSON', async (t) => {
  const { annotations } = setup(t);
  for (const value of [null, 0, 'text', [1, [2]], { deep: { er: true } }]) {
    await annotations.set(here, 'tx', TXID, value, undefined);
    t.same((await annotations.get(here, 'tx', TXID)).data, value);
  }
  t.same(await annotations.list('alice', {}), [{ wallet: 'hot_wallet-1', service: 'swan', kind: 'tx', id: TXID }]);
});

t.test('ifRevision: a stale revision is CONFLICT with the current one; null means "only while the file has none"', async (t) => {
  const { annotations, file } = setup(t);
  const { revision: first } = await annotations.set(here, 'addr', ADDR, { v: 1 }, null);
  await rejectsWith(t, annotations.set(here, 'addr', ADDR2, { v: 1 }, null), 'CONFLICT');
  const { revision: second } = await annotations.set(here, 'addr', ADDR, { v: 2 }, first);
  const before = readFileSync(file);
  for (const attempt of [
    annotations.set(here, 'addr', ADDR, { v: 3 }, first),
    annotations.update(here, 'tx', TXID, { v: 3 }, first),
    annotations.delete(here, 'addr', ADDR, first),
  ]) {
    const error = await rejectsWith(t, attempt, 'CONFLICT');
    t.equal(error.data['revision'], second, 'data.revision is the current one');
  }
  t.same(readFileSync(file), before, 'nothing written');
  t.same((await annotations.update(here, 'addr', ADDR, { w: 1 }, second)).data, { v: 2, w: 1 });
});

t.test('no-op writes do not write and keep the revision', async (t) => {
  const { annotations, fs } = setup(t);
  const { revision } = await annotations.set(here, 'addr', ADDR, { v: 1 }, undefined);
  const renames = fs.counts.rename;
  t.equal((await annotations.set(here, 'addr', ADDR, { v: 1 }, undefined)).revision, revision);
  t.equal((await annotations.update(here, 'addr', ADDR, {}, undefined)).revision, revision);
  t.equal((await annotations.delete(here, 'tx', TXID, undefined)).revision, revision);
  t.equal(fs.counts.rename, renames, 'no write');
});

t.test('__proto__ and constructor inside data and patches are data', async (t) => {
  const { annotations, dataDir } = setup(t);
  const data = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
  await annotations.set(here, 'addr', ADDR, data, undefined);
  const patch = JSON.parse('{"__proto__":{"more":1},"toString":"x"}');
  const { data: merged } = await annotations.update(here, 'addr', ADDR, patch, undefined);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype was touched');
  t.equal(JSON.stringify(merged), '{"__proto__":{"polluted":true,"more":1},"constructor":{"prototype":{"x":1}},"toString":"x"}');
  const again = setup(t, { dataDir });
  t.equal(JSON.stringify((await again.annotations.get(here, 'addr', ADDR)).data), JSON.stringify(merged), 'and so they are after a restart');
});

t.test('revisions survive a restart (a fresh store over the same files)', async (t) => {
  const { annotations, dataDir } = setup(t);
  const { revision } = await annotations.set(here, 'addr', ADDR, { v: 1 }, undefined);
  const again = setup(t, { dataDir });
  t.equal((await again.annotations.getAll(here)).revision, revision);
  t.same((await again.annotations.set(here, 'addr', ADDR2, { v: 2 }, revision)).revision.length > 0, true, 'usable for CAS');
});

t.test('list: every annotation of a user, by wallet and service, in a stable order; filters', async (t) => {
  const { annotations, dataDir } = setup(t);
  const other: AnnotationsKey = { username: 'alice', wallet: 'cold', service: 'bitcoin-core' };
  await annotations.set(here, 'tx', TXID, 1, undefined);
  await annotations.set(here, 'addr', ADDR, 1, undefined);
  await annotations.set(other, 'addr', ADDR2, 1, undefined);
  await annotations.set({ ...here, username: 'bob' }, 'addr', ADDR, 1, undefined);
  // Files our names cannot address are not ours to serve (put there by hand).
  mkdirSync(path.join(dataDir, 'wallets', 'alice'), { recursive: true });
  writeFileSync(path.join(dataDir, 'wallets', 'alice', 'x_constructor.json'), '{}');
  writeFileSync(path.join(dataDir, 'wallets', 'alice', 'notes.txt'), '');
  t.same(await annotations.list('alice', {}), [
    { wallet: 'cold', service: 'bitcoin-core', kind: 'addr', id: ADDR2 },
    { wallet: 'hot_wallet-1', service: 'swan', kind: 'addr', id: ADDR },
    { wallet: 'hot_wallet-1', service: 'swan', kind: 'tx', id: TXID },
  ]);
  t.same((await annotations.list('alice', { wallet: 'cold' })).map((e) => e.id), [ADDR2]);
  t.same((await annotations.list('alice', { service: 'swan' })).map((e) => e.id), [ADDR, TXID]);
  t.same(await annotations.list('alice', { wallet: 'cold', service: 'swan' }), []);
  t.same(await annotations.list('carol', {}), [], 'a user with no wallets dir');
});

t.test('a file that does not parse is CORRUPT for every verb and never rewritten', async (t) => {
  const { annotations, file } = setup(t);
  mkdirSync(path.dirname(file), { recursive: true });
  for (const bad of ['{"format":"coffer.annotations","version":2,"addrs":{},"txs":{}}', '{nope', '{"format":"coffer.annotations","version":1,"addrs":[]}']) {
    writeFileSync(file, bad);
    await rejectsWith(t, annotations.getAll(here), 'CORRUPT');
    await rejectsWith(t, annotations.get(here, 'addr', ADDR), 'CORRUPT');
    await rejectsWith(t, annotations.set(here, 'addr', ADDR, 1, undefined), 'CORRUPT');
    await rejectsWith(t, annotations.update(here, 'addr', ADDR, {}, undefined), 'CORRUPT');
    await rejectsWith(t, annotations.delete(here, 'addr', ADDR, undefined), 'CORRUPT');
    await rejectsWith(t, annotations.list('alice', {}), 'CORRUPT');
    t.equal(readFileSync(file, 'utf8'), bad, 'byte-identical');
  }
});

t.test('over --max-doc-bytes: TOO_LARGE, nothing of it written, the rest of the group commits', async (t) => {
  const { annotations, file } = setup(t, { maxDocBytes: 1000 });
  await annotations.set(here, 'addr', ADDR, { v: 'old' }, undefined);
  const outcomes = await Promise.allSettled([
    annotations.set(here, 'addr', ADDR, { pad: 'x'.repeat(2000) }, undefined),
    annotations.update(here, 'addr', ADDR2, { pad: 'y'.repeat(2000) }, undefined),
    annotations.set(here, 'tx', TXID, { small: true }, undefined),
  ]);
  t.same(outcomes.map((o) => o.status), ['rejected', 'rejected', 'fulfilled']);
  for (const o of outcomes.slice(0, 2)) t.equal((o as PromiseRejectedResult).reason.reason, 'TOO_LARGE');
  const onDisk = JSON.parse(readFileSync(file, 'utf8'));
  t.same(onDisk.addrs, { [ADDR]: { v: 'old' } });
  t.same(onDisk.txs, { [TXID]: { small: true } });
});

for (const rule of SAMPLE_WRITE_FAULTS) {
  t.test(`a failed write (${rule.op} ${rule.fault}): STORAGE_FAILED, previous value kept in memory and on disk`, async (t) => {
    const { annotations, fs, file, dataDir } = setup(t);
    await annotations.set(here, 'addr', ADDR, { v: 'old' }, undefined);
    const before = readFileSync(file);
    const revision = (await annotations.getAll(here)).revision;
    fs.setRules([{ ...rule, pathIncludes: 'hot_wallet-1_swan' }]);
    // unlink only happens when the file is removed: delete its only annotation.
    const attempt = rule.op === 'unlink' ? annotations.delete(here, 'addr', ADDR, undefined) : annotations.set(here, 'addr', ADDR, { v: 'new' }, undefined);
    await rejectsWith(t, attempt, 'STORAGE_FAILED');
    fs.setRules([]);
    t.same(await annotations.get(here, 'addr', ADDR), { data: { v: 'old' }, revision }, 'the previous value reads back');
    t.same(readFileSync(file), before, 'the file is byte-identical');
    t.same(filesUnder(dataDir).filter((f) => isOwnTempFile(path.basename(f))), [], 'no temp file left');
  });
}
