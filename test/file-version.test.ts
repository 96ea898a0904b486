import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { digestOf } from '../daemon/src/base/digest.js';
import { isRacy, sameIdentity } from '../daemon/src/files/version.js';
import { ServiceData, type ServiceOwner } from '../daemon/src/store/services.js';
import type { FileChange } from '../daemon/src/store/store.js';
import { rejectsWith } from './helpers/assert.js';
import { plainApi, SERVICE_DATA_ARGS } from './helpers/plain.js';
import { storeFixture } from './helpers/store.js';

/**
 * How a cached document knows which version of its file it holds (store/file-version.ts), in
 * process on real files: racy versions, content checks, half-written files re-read, touches
 * that change nothing. The end-to-end "never stale" runs are in stale-reads.test.ts.
 */
t.setTimeout(60_000);

const carol: ServiceOwner = { encrypted: false, username: 'carol' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function fixture(t: Parameters<typeof storeFixture>[0]) {
  const { dataDir, fs, store, layout } = storeFixture(t);
  const services = plainApi(new ServiceData(store, layout), SERVICE_DATA_ARGS);
  const file = path.join(dataDir, 'services', 'carol_unencrypted_services.json');
  const text = (n: number) => JSON.stringify({ format: 'coffer.unencrypted-services', version: 1, services: { app: { n } } });
  const external: FileChange[] = [];
  store.subscribeChanges((change) => {
    if (change.source === 'external') external.push(change);
  });
  return { dataDir, fs, store, layout, services, file, text, external };
}

t.test('racy: an mtime too close to when it was seen; a whole-second mtime gets a wider window', async (t) => {
  const at = (mtimeNs: bigint) => ({ ino: 1, size: 1, mtimeNs });
  t.ok(isRacy(at(1_000_000_001n), 1_010_000_000n), 'fine clock, 10 ms later');
  t.notOk(isRacy(at(1_000_000_001n), 1_100_000_000n), 'fine clock, 100 ms later');
  t.ok(isRacy(at(1_000_000_000n), 2_500_000_000n), 'whole seconds, 1.5 s later');
  t.notOk(isRacy(at(1_000_000_000n), 3_500_000_000n), 'whole seconds, 2.5 s later');
  t.notOk(isRacy(null, 0n), 'no file: nothing to race');
  t.ok(sameIdentity(null, null));
  t.notOk(sameIdentity(at(1n), null));
  t.notOk(sameIdentity(at(1n), at(2n)));
  t.equal(digestOf(null), '');
  t.equal(digestOf(Buffer.from('a')), digestOf(Buffer.from('a')));
  t.not(digestOf(Buffer.from('a')), digestOf(Buffer.from('b')));
});

t.test('an in-place rewrite of the same size, right after our write, is seen by content', async (t) => {
  const { services, file, text, external } = fixture(t);
  await services.set(carol, 'app', { n: 1 }, undefined);
  writeFileSync(file, text(2));
  t.same((await services.get(carol, 'app')).data, { n: 2 });
  t.equal(external.length, 1, 'reported as a change from outside');
  // Long enough after the mtime, the version is no longer racy: reads check the identity alone.
  await sleep(80);
  t.same((await services.get(carol, 'app')).data, { n: 2 });
  t.same((await services.get(carol, 'app')).data, { n: 2 });
  writeFileSync(file, text(3));
  t.same((await services.get(carol, 'app')).data, { n: 3 });
});

t.test('a touch that changes no byte is not a change; a failed stat is looked at again', async (t) => {
  const { services, fs, file, external, store } = fixture(t);
  await services.set(carol, 'app', { n: 1 }, undefined);
  const later = new Date(Date.now() + 5_000);
  utimesSync(file, later, later);
  t.same((await services.get(carol, 'app')).data, { n: 1 });
  t.same(external, [], 'same bytes: nothing to report');
  t.same(store.externalOverwrites, { count: 0, files: [] });
  fs.setRules([{ op: 'stat', fault: 'EIO', pathIncludes: 'carol_unencrypted', times: 1 }]);
  t.same((await services.get(carol, 'app')).data, { n: 1 }, 'a stat that fails: checked through the queue');
});

t.test('a stat that fails right after our write: the next look knows our bytes, nothing is reported', async (t) => {
  const { services, fs, store, external } = fixture(t);
  await services.set(carol, 'app', { n: 1 }, undefined);
  fs.setRules([{ op: 'stat', fault: 'EIO', pathIncludes: 'carol_unencrypted', skip: 1 }]);
  await services.set(carol, 'app', { n: 2 }, undefined);
  fs.setRules([]);
  t.same((await services.get(carol, 'app')).data, { n: 2 });
  t.same(external, [], 'our own write is not a change from outside');
  t.equal(store.externalOverwrites.count, 0);
});

t.test('a file caught half-written is read again until whole; one that stays broken is never cached', async (t) => {
  const { services, file, text, store, dataDir } = fixture(t);
  await services.set(carol, 'app', { n: 1 }, undefined);
  writeFileSync(file, text(2).slice(0, 15));
  const reading = services.get(carol, 'app');
  setTimeout(() => writeFileSync(file, text(2)), 20);
  t.same((await reading).data, { n: 2 }, 'the whole file, after the re-reads');
  t.equal(store.externalOverwrites.count, 1, 'our acknowledged write was replaced from outside');
  t.same(store.externalOverwrites.files, [file]);

  const broken = text(3).slice(0, 15);
  writeFileSync(file, broken);
  t.same((await services.get(carol, 'app')).data, { n: 2 }, 'cached: the last good state, as before');
  t.same(store.problems, [file]);
  const restarted = storeFixture(t, { dataDir });
  const cold = new ServiceData(restarted.store, restarted.layout);
  await rejectsWith(t, cold.get(carol, 'app'), 'CORRUPT');
  const started = Date.now();
  await rejectsWith(t, cold.get(carol, 'app'), 'CORRUPT');
  t.ok(Date.now() - started < 150, 'a version already found broken is not waited for again');
  t.equal(readFileSync(file, 'utf8'), broken, 'never rewritten');
});
