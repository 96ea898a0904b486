import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { isOwnTempFile } from '../daemon/src/disk/durable-write.js';
import { ServiceData, type ServiceOwner } from '../daemon/src/store/services.js';
import { rejectsWith } from './helpers/assert.js';
import { plainApi, SERVICE_DATA_ARGS } from './helpers/plain.js';
import { storeFixture, WRITE_STEP_FAULTS } from './helpers/store.js';

const alice: ServiceOwner = { encrypted: false, username: 'alice' };

function setup(t: Test, options: { groupCommit?: boolean; maxDocBytes?: number } = {}) {
  const { dataDir, fs, store, layout } = storeFixture(t, options);
  const data = plainApi(new ServiceData(store, layout), SERVICE_DATA_ARGS);
  const file = path.join(dataDir, 'services', 'alice_unencrypted_services.json');
  const onDisk = () => JSON.parse(readFileSync(file, 'utf8')) as { services: Record<string, Record<string, number>> };
  const temps = () => readdirSync(path.dirname(file)).filter(isOwnTempFile);
  return { dataDir, fs, store, data, file, onDisk, temps };
}

t.test('concurrent updates to one file are grouped: far fewer renames than updates, none lost', async (t) => {
  const { fs, store, data, onDisk } = setup(t);
  await data.set(alice, 'counter', { seed: 1 }, undefined);
  const renamesBefore = fs.counts.rename;
  const results = await Promise.all(
    Array.from({ length: 100 }, (_, i) => data.update(alice, 'counter', { [`k${i}`]: i }, false, undefined)),
  );
  const renames = fs.counts.rename - renamesBefore;
  t.ok(renames < 20, `100 updates took ${renames} renames`);
  t.equal(store.stats.committed, 1 + renames);
  t.equal(results.length, 100);
  const value = onDisk().services['counter']!;
  for (let i = 0; i < 100; i++) t.equal(value[`k${i}`], i);
  t.equal((await data.get(alice, 'counter')).data['k99'], 99);
});

t.test('with group commit off, every mutation is its own durable write', async (t) => {
  const { fs, data } = setup(t, { groupCommit: false });
  await Promise.all(Array.from({ length: 20 }, (_, i) => data.update(alice, 's', { [`k${i}`]: i }, false, undefined)));
  t.equal(fs.counts.rename, 20);
  t.equal(fs.counts.fsyncDir >= 20, true);
});

t.test('a conflicting mutation is skipped alone; the rest of its group commits', async (t) => {
  const { data } = setup(t);
  const { revision } = await data.set(alice, 's', { v: 0 }, undefined);
  const outcomes = await Promise.allSettled([
    data.set(alice, 's', { v: 1 }, revision),
    data.set(alice, 's', { v: 2 }, revision), // same expected revision: loses the race
    data.set(alice, 'other', { x: 1 }, null),
  ]);
  t.equal(outcomes[0].status, 'fulfilled');
  t.equal(outcomes[1].status, 'rejected');
  t.equal((outcomes[1] as PromiseRejectedResult).reason.reason, 'CONFLICT');
  t.equal(outcomes[2].status, 'fulfilled');
  t.same((await data.get(alice, 's')).data, { v: 1 });
  t.same((await data.get(alice, 'other')).data, { x: 1 });
});

for (const rule of WRITE_STEP_FAULTS) {
  t.test(`a failed write (${rule.op} ${rule.fault}): STORAGE_FAILED for the whole group, old state kept`, async (t) => {
    const { fs, data, onDisk, temps, file } = setup(t);
    await data.set(alice, 's', { v: 'old' }, undefined);
    const before = readFileSync(file);
    fs.setRules([{ ...rule, pathIncludes: 'alice_unencrypted' }]);
    const group = await Promise.allSettled([data.set(alice, 's', { v: 'new' }, undefined), data.update(alice, 't', { a: 1 }, false, undefined)]);
    for (const outcome of group) {
      t.equal(outcome.status, 'rejected');
      t.equal((outcome as PromiseRejectedResult).reason.reason, 'STORAGE_FAILED');
      t.match((outcome as PromiseRejectedResult).reason.message, /did not happen/);
    }
    t.same((await data.get(alice, 's')).data, { v: 'old' }, 'memory is at the last durable state');
    t.same((await data.get(alice, 't')).data, {});
    t.same(readFileSync(file), before, 'the file is byte-identical');
    t.same(onDisk().services['s'], { v: 'old' });
    t.same(temps(), []);
    fs.setRules([]);
    t.same((await data.update(alice, 's', { w: 1 }, false, undefined)).data, { v: 'old', w: 1 }, 'later writes work');
  });
}

t.test('a failed directory fsync puts the old file back and stops all writes until restart', async (t) => {
  const { fs, store, data, file, temps } = setup(t);
  await data.set(alice, 's', { v: 'old' }, undefined);
  const before = readFileSync(file);
  fs.setRules([{ op: 'fsyncDir', fault: 'EIO' }]);
  await rejectsWith(t, data.set(alice, 's', { v: 'new' }, undefined), 'STORAGE_FAILED');
  t.same(readFileSync(file), before);
  t.same(temps(), []);
  t.match(store.degraded, /directory fsync failed/);
  fs.setRules([]);
  await rejectsWith(t, data.set(alice, 's', { v: 'newer' }, undefined), 'STORAGE_FAILED', /restart cofferd/);
  t.same((await data.get(alice, 's')).data, { v: 'old' }, 'reads still work');
});

t.test('a file over --max-doc-bytes: TOO_LARGE for the mutation that causes it, nothing of it written', async (t) => {
  const { data, onDisk } = setup(t, { maxDocBytes: 2000 });
  const outcomes = await Promise.allSettled([
    data.set(alice, 'a', { v: 1 }, undefined),
    data.set(alice, 'big', { pad: 'x'.repeat(3000) }, undefined),
    data.set(alice, 'b', { v: 2 }, undefined),
  ]);
  t.same(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
  t.equal((outcomes[1] as PromiseRejectedResult).reason.reason, 'TOO_LARGE');
  t.same(Object.keys(onDisk().services), ['a', 'b']);
});

t.test('a file that does not parse: CORRUPT for reads and writes, never rewritten; fixed by hand, it loads', async (t) => {
  const { data, file } = setup(t);
  mkdirSync(path.dirname(file), { recursive: true });
  for (const bad of ['{"format":"coffer.unencrypted-services","version":2,"services":{}}', '{not json', '{"format":"coffer.unencrypted-services","version":1,"services":{"s":[1]}}']) {
    writeFileSync(file, bad);
    await rejectsWith(t, data.get(alice, 's'), 'CORRUPT', /left untouched/);
    await rejectsWith(t, data.set(alice, 's', { v: 1 }, undefined), 'CORRUPT');
    t.equal(readFileSync(file, 'utf8'), bad, 'byte-identical');
  }
  writeFileSync(file, '{"format":"coffer.unencrypted-services","version":1,"services":{"s":{"v":7}}}');
  t.same((await data.get(alice, 's')).data, { v: 7 });
});

t.test('no-op mutations do not write', async (t) => {
  const { fs, data } = setup(t);
  await data.set(alice, 's', { v: 1 }, undefined);
  const renames = fs.counts.rename;
  const { revision } = await data.get(alice, 's');
  t.equal((await data.set(alice, 's', { v: 1 }, undefined)).revision, revision, 'same value, same revision');
  await data.update(alice, 's', {}, false, undefined);
  await data.update(alice, 'absent', {}, true, undefined);
  await data.delete(alice, 'absent', undefined);
  t.equal(fs.counts.rename, renames);
  // Specter's set_service_data stores "{}" for an absent entry: that one is a write.
  await data.set(alice, 'absent', {}, undefined);
  t.equal(fs.counts.rename, renames + 1, 'set {} on an absent entry stores it');
});

t.test('merge keys are data: __proto__ never reaches a prototype', async (t) => {
  const { data } = setup(t);
  const patch = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
  const { data: merged } = await data.update(alice, 's', patch, false, undefined);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  t.same(Object.keys(merged), ['__proto__', 'constructor']);
  const again = await data.get(alice, 's');
  t.same(JSON.stringify(again.data), '{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
  const shallow = await data.update(alice, 's', JSON.parse('{"__proto__":null}'), true, undefined);
  t.same(JSON.stringify(shallow.data), '{"__proto__":null,"constructor":{"prototype":{"x":1}}}');
});
