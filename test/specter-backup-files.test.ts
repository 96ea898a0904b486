import { existsSync, linkSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { DurableWriteError, isOwnTempFile, sweepTempFiles } from '../daemon/src/disk/durable-write.js';
import { FaultyFs, type FaultRule, type FsOp } from '../daemon/src/disk/faulty-fs.js';
import { realFs } from '../daemon/src/disk/fs.js';
import { pyDumps, readWithBackup, writeWithBackup, type PyValue } from '../daemon/src/specter/index.js';
import { rejectsWith } from './helpers/assert.js';
import { tempDir } from './helpers/specter.js';

function setup(t: Test, main?: string, bkp?: string): string {
  const target = path.join(tempDir(t), 'u_services.json');
  if (main !== undefined) writeFileSync(target, main);
  if (bkp !== undefined) writeFileSync(`${target}.bkp`, bkp);
  return target;
}

const dump = (v: PyValue | undefined): string => (v === undefined ? 'undefined' : pyDumps(v));
const files = (target: string): string[] => readdirSync(path.dirname(target)).sort();

t.test('read: a good file wins; a bad or missing one falls back to a good .bkp; neither exists → empty', async (t) => {
  const good = setup(t, '{"a": 1}', '{"old": 1}');
  t.match(await readWithBackup(realFs, good), { source: 'file' });
  t.equal(dump((await readWithBackup(realFs, good)).value), '{"a": 1}');
  for (const [label, main] of [['truncated', '{"a": '], ['empty', ''], ['BOM', '\ufeff{"a": 1}'], ['missing', undefined]] as const) {
    const target = setup(t, main, '{"old": 1}');
    const before = files(target).map((f) => readFileSync(path.join(path.dirname(target), f), 'hex'));
    const read = await readWithBackup(realFs, target);
    t.equal(read.source, 'bkp', label);
    t.equal(dump(read.value), '{"old": 1}');
    t.equal(read.bytes?.toString(), '{"old": 1}');
    t.same(files(target).map((f) => readFileSync(path.join(path.dirname(target), f), 'hex')), before, `${label}: nothing touched`);
  }
  t.same(await readWithBackup(realFs, setup(t)), { source: 'none', value: undefined, bytes: undefined });
});

t.test('read: CORRUPT when nothing good is left, and for JSON Specter reads but the daemon refuses', async (t) => {
  await rejectsWith(t, readWithBackup(realFs, setup(t, '{"a": ', '{"b": ')), 'CORRUPT', /does not parse/);
  await rejectsWith(t, readWithBackup(realFs, setup(t, '{"a": ')), 'CORRUPT', /no u_services.json.bkp/);
  await rejectsWith(t, readWithBackup(realFs, setup(t, undefined, 'junk')), 'CORRUPT', /is missing/);
  await rejectsWith(t, readWithBackup(realFs, setup(t, '{"a": NaN}', '{"b": 1}')), 'CORRUPT', /does not accept/);
  const deep = `${'['.repeat(70)}${']'.repeat(70)}`;
  await rejectsWith(t, readWithBackup(realFs, setup(t, deep, '[]')), 'CORRUPT', /nesting/);
  t.equal((await readWithBackup(realFs, setup(t, deep), { maxDepth: 80 })).source, 'file');
});

t.test('read: an I/O error is not answered with older data', async (t) => {
  const target = setup(t, '{"a": 1}', '{"old": 1}');
  const fs = new FaultyFs(realFs);
  fs.setRules([{ op: 'readFile', fault: 'EIO' }]);
  await t.rejects(readWithBackup(fs, target), { code: 'EIO' });
});

t.test('write: the previous good version becomes .bkp; a bad file is never rotated into it', async (t) => {
  const target = setup(t);
  await writeWithBackup(realFs, target, Buffer.from('{"v": 1}'));
  t.notOk(existsSync(`${target}.bkp`), 'first write: nothing to keep');
  await writeWithBackup(realFs, target, Buffer.from('{"v": 2}'));
  await writeWithBackup(realFs, target, Buffer.from('{"v": 3}'));
  t.equal(readFileSync(target, 'utf8'), '{"v": 3}');
  t.equal(readFileSync(`${target}.bkp`, 'utf8'), '{"v": 2}');
  writeFileSync(target, '{"v": ');
  await writeWithBackup(realFs, target, Buffer.from('{"v": 4}'));
  t.equal(readFileSync(`${target}.bkp`, 'utf8'), '{"v": 2}', 'the truncated file did not replace the good .bkp');
  writeFileSync(target, '{"v": NaN}');
  await writeWithBackup(realFs, target, Buffer.from('{"v": 5}'));
  t.equal(readFileSync(`${target}.bkp`, 'utf8'), '{"v": NaN}', 'a file Specter can read is a good previous version');
  t.same(files(target), ['u_services.json', 'u_services.json.bkp'], 'no temp file left');
});

t.test('write after a kill between the rotation and the replace: .bkp is a link to the file, no temp is left', async (t) => {
  const target = setup(t, '{"v": "old"}');
  linkSync(target, `${target}.bkp`); // what such a kill leaves: .bkp and the file are one inode
  await writeWithBackup(realFs, target, Buffer.from('{"v": "new"}'));
  t.equal(readFileSync(target, 'utf8'), '{"v": "new"}');
  t.equal(readFileSync(`${target}.bkp`, 'utf8'), '{"v": "old"}');
  t.same(files(target), ['u_services.json', 'u_services.json.bkp'], 'no temp file left');
});

/** Every Fs call writeWithBackup makes when replacing a file that has a .bkp, as [op, nth call]. */
async function callsOfOneWrite(t: Test): Promise<Array<[FsOp, number]>> {
  const target = setup(t, '{"v": "old"}', '{"v": "older"}');
  const fs = new FaultyFs(realFs);
  await writeWithBackup(fs, target, Buffer.from('{"v": "new"}'));
  return (Object.entries(fs.counts) as Array<[FsOp, number]>).flatMap(([op, n]) => Array.from({ length: n }, (_, i): [FsOp, number] => [op, i]));
}

t.test('fault injection at every step: old file and .bkp stay valid, no temp left', async (t) => {
  const steps = await callsOfOneWrite(t);
  t.ok(steps.length >= 10, `${steps.length} steps`);
  for (const [op, skip] of steps) {
    for (const fault of ['EIO', 'ENOSPC', ...(op === 'write' ? ['short'] : [])] as FaultRule['fault'][]) {
      const target = setup(t, '{"v": "old"}', '{"v": "older"}');
      const fs = new FaultyFs(realFs);
      fs.setRules([{ op, fault, skip }]);
      const label = `${op}#${skip} ${fault}`;
      const error = await writeWithBackup(fs, target, Buffer.from('{"v": "new"}')).catch((e: unknown) => e);
      const main = readFileSync(target, 'utf8');
      const bkp = readFileSync(`${target}.bkp`, 'utf8');
      if (error === undefined) {
        // Only a failed cleanup of something already done can be swallowed.
        t.equal(main, '{"v": "new"}', `${label}: succeeded`);
        t.equal(bkp, '{"v": "old"}');
      } else {
        t.ok(error instanceof DurableWriteError, `${label}: DurableWriteError`);
        t.equal(main, '{"v": "old"}', `${label}: old file kept`);
        t.ok(bkp === '{"v": "older"}' || bkp === '{"v": "old"}', `${label}: .bkp is a good version (${bkp})`);
      }
      const leftovers = readdirSync(path.dirname(target)).filter((f) => f !== 'u_services.json' && f !== 'u_services.json.bkp');
      if (error === undefined && leftovers.length > 0) {
        // The replace succeeded but durableReplace could not unlink its kept link to the old file:
        // a temp name the store's start-up sweep removes, never a .bkp temp of ours.
        t.ok(leftovers.every(isOwnTempFile) && !leftovers.some((f) => f.includes('.bkp.')), `${label}: sweepable leftover`);
        t.equal(await sweepTempFiles(realFs, path.dirname(target)), leftovers.length);
      } else {
        t.same(leftovers, [], `${label}: no temp left`);
      }
      t.equal((await readWithBackup(realFs, target)).source, 'file');
    }
  }
});

t.test('temp names match the store sweep, so a crash leftover is removed at start', async (t) => {
  const target = setup(t, '{"v": 1}');
  const fs = new FaultyFs(realFs);
  let tempName = '';
  const spy = { ...realFs, link: async (a: string, b: string) => ((tempName ||= path.basename(b)), fs.link(a, b)) };
  await writeWithBackup(spy, target, Buffer.from('{"v": 2}'));
  t.ok(isOwnTempFile(tempName), tempName);
  mkdirSync(path.join(path.dirname(target), 'sub'));
  writeFileSync(path.join(path.dirname(target), tempName), 'x');
  t.equal(await sweepTempFiles(realFs, path.dirname(target)), 1);
});

t.test('write errors other than a missing file propagate from the rotation', async (t) => {
  const target = setup(t, '{"v": 1}');
  const fs = new FaultyFs(realFs);
  fs.setRules([{ op: 'link', fault: 'EIO', pathIncludes: '.bkp.' }]);
  const error = await writeWithBackup(fs, target, Buffer.from('{"v": 2}')).catch((e: unknown) => e);
  t.ok(error instanceof DurableWriteError && error.step === 'link');
  t.equal(readFileSync(target, 'utf8'), '{"v": 1}');
});
