import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { durableReplace, DurableWriteError, isOwnTempFile, sweepTempFiles } from '../daemon/src/disk/durable-write.js';
import { FaultyFs, type FaultRule } from '../daemon/src/disk/faulty-fs.js';
import { realFs } from '../daemon/src/disk/fs.js';

function dir(t: Test): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'coffer-dw-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

t.test('writes the whole content, mode 0600, and leaves no temp file', async (t) => {
  const d = dir(t);
  const target = path.join(d, 'a.json');
  const fs = new FaultyFs(realFs);
  await durableReplace(fs, target, Buffer.from('first'));
  await durableReplace(fs, target, Buffer.from('second'));
  t.equal(readFileSync(target, 'utf8'), 'second');
  t.equal(statSync(target).mode & 0o777, 0o600);
  t.same(readdirSync(d), ['a.json']);
  t.equal(fs.counts.rename, 2);
  t.equal(fs.counts.fsyncDir, 2, 'the directory is fsynced on every replace');
  t.equal(fs.counts.fsync, 2);
});

t.test('short writes are looped over until every byte is written', async (t) => {
  const d = dir(t);
  const target = path.join(d, 'a.json');
  let calls = 0;
  const trickle = { ...realFs, write: (fd: number, b: Buffer, o: number, l: number) => (calls++, realFs.write(fd, b, o, Math.min(l, 3))) };
  await durableReplace(trickle, target, Buffer.from('0123456789'));
  t.equal(readFileSync(target, 'utf8'), '0123456789');
  t.equal(calls, 4);
});

const faults: Array<[string, FaultRule]> = [
  ['open ENOSPC', { op: 'open', fault: 'ENOSPC' }],
  ['write EIO', { op: 'write', fault: 'EIO' }],
  ['write short then ENOSPC', { op: 'write', fault: 'short' }],
  ['write ENOSPC', { op: 'write', fault: 'ENOSPC' }],
  ['fstat EIO', { op: 'fstat', fault: 'EIO' }],
  ['fsync EIO', { op: 'fsync', fault: 'EIO' }],
  ['close EIO', { op: 'close', fault: 'EIO' }],
  ['link ENOSPC', { op: 'link', fault: 'ENOSPC' }],
  ['rename EIO', { op: 'rename', fault: 'EIO' }],
  ['dir fsync EIO', { op: 'fsyncDir', fault: 'EIO' }],
];

for (const existed of [true, false]) {
  for (const [name, rule] of faults) {
    if (rule.op === 'link' && !existed) continue; // nothing to link when the target is new
    t.test(`${name} (${existed ? 'replacing a file' : 'new file'}): old state kept, no temp left`, async (t) => {
      const d = dir(t);
      const target = path.join(d, 'a.json');
      if (existed) writeFileSync(target, 'old content');
      const fs = new FaultyFs(realFs);
      fs.setRules([rule]);
      const error = await durableReplace(fs, target, Buffer.from('new content that is longer')).catch((e: unknown) => e);
      t.ok(error instanceof DurableWriteError, 'fails with DurableWriteError');
      const e = error as DurableWriteError;
      t.equal(e.durabilityUnknown, rule.op === 'fsyncDir');
      t.match(e.message, /failed at/);
      if (existed) t.equal(readFileSync(target, 'utf8'), 'old content');
      else t.notOk(existsSync(target), 'no half-made target');
      t.same(readdirSync(d).filter(isOwnTempFile), [], 'temp files removed');
    });
  }
}

t.test('beforeReplace runs after the temp file is durable, before the rename', async (t) => {
  const d = dir(t);
  const target = path.join(d, 'a.json');
  writeFileSync(target, 'old');
  const fs = new FaultyFs(realFs);
  let seen = '';
  await durableReplace(fs, target, Buffer.from('new'), {
    beforeReplace: async () => {
      seen = `${readFileSync(target, 'utf8')} fsync=${fs.counts.fsync} rename=${fs.counts.rename}`;
    },
  });
  t.equal(seen, 'old fsync=1 rename=0');
  const failing = durableReplace(fs, target, Buffer.from('newer'), { beforeReplace: async () => Promise.reject(new Error('nope')) });
  await t.rejects(failing, DurableWriteError);
  t.equal(readFileSync(target, 'utf8'), 'new');
  t.same(readdirSync(d).filter(isOwnTempFile), []);
});

t.test('rules skip, fire a set number of times, and count calls', async (t) => {
  const fs = new FaultyFs(realFs);
  fs.setRules([{ op: 'stat', fault: 'EIO', skip: 1, times: 2 }]);
  const d = dir(t);
  t.equal(await fs.stat(path.join(d, 'x')), null, 'first call skipped');
  await t.rejects(fs.stat(d), { code: 'EIO' });
  await t.rejects(fs.stat(d), { code: 'EIO' });
  t.ok(await fs.stat(d), 'fires only `times` times');
  t.equal(fs.counts.stat, 4);
});

t.test('rules from a file are re-read when it changes', async (t) => {
  const d = dir(t);
  const rules = path.join(d, 'rules.json');
  const fs = new FaultyFs(realFs, rules);
  t.same(await fs.readdir(d), []);
  writeFileSync(rules, JSON.stringify([{ op: 'readdir', fault: 'ENOSPC', times: 0 }]));
  await t.rejects(fs.readdir(d), { code: 'ENOSPC' });
  await t.rejects(fs.readdir(d), { code: 'ENOSPC' });
  rmSync(rules);
  t.same(await fs.readdir(d), []);
});

t.test('the start-up sweep removes only our own temp files', async (t) => {
  const d = dir(t);
  const ours = '.a.json.coffer-tmp-0123456789abcdef';
  for (const name of [ours, 'a.json', '.a.json.tmp', 'a.json.coffer-tmp-0123456789abcdef', '.x.coffer-tmp-short']) {
    writeFileSync(path.join(d, name), 'x');
  }
  t.equal(await sweepTempFiles(realFs, d), 1);
  t.same(readdirSync(d).sort(), ['.a.json.tmp', '.x.coffer-tmp-short', 'a.json', 'a.json.coffer-tmp-0123456789abcdef']);
  t.equal(await sweepTempFiles(realFs, path.join(d, 'missing')), 0);
});
