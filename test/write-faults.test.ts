import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { isOwnTempFile } from '../daemon/src/disk/durable-write.js';
import { rejectsWith } from './helpers/assert.js';
import { DaemonProcess, startDaemon, tempDir } from './helpers/daemon.js';
import { WRITE_STEP_FAULTS } from './helpers/store.js';

t.setTimeout(180_000);

t.test('a fault at every step of the durable write: STORAGE_FAILED, previous value kept on disk and in memory', async (t) => {
  const dir = tempDir(t);
  const rules = path.join(dir, 'faults.json');
  const daemon = await startDaemon(t, { dir, args: ['--fault-rules-file', rules] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'erin' });
  const file = path.join(daemon.dataDir, 'services', 'erin_unencrypted_services.json');
  let value = 0;
  await client.call('services.unencrypted.set', { username: 'erin', service: 'app', data: { value } });
  for (const rule of WRITE_STEP_FAULTS) {
    const before = readFileSync(file);
    writeFileSync(rules, JSON.stringify([{ ...rule, pathIncludes: 'erin_unencrypted' }]));
    const error = await rejectsWith(
      t,
      client.call('services.unencrypted.set', { username: 'erin', service: 'app', data: { value: value + 1 } }),
      'STORAGE_FAILED',
      /did not happen/,
    );
    t.equal(error.data['errno'], rule.fault === 'short' ? 'ENOSPC' : rule.fault, `${rule.op}: the errno is reported`);
    writeFileSync(rules, '[]');
    t.same((await client.call('services.unencrypted.get', { username: 'erin', service: 'app' })).data, { value }, `${rule.op}: previous value read`);
    t.same(readFileSync(file), before, `${rule.op}: the file on disk is the previous one`);
    t.doesNotThrow(() => JSON.parse(before.toString()), `${rule.op}: and it parses`);
    t.same(readdirSync(path.dirname(file)).filter(isOwnTempFile), [], `${rule.op}: no temp file left`);
    value++;
    await client.call('services.unencrypted.set', { username: 'erin', service: 'app', data: { value } });
  }
  const { writes } = await client.call('daemon.status', {});
  t.equal(writes.failed, WRITE_STEP_FAULTS.length);
});

t.test('a failed directory fsync: old file restored, writes refused until restart, then all is well', async (t) => {
  const dir = tempDir(t);
  const rules = path.join(dir, 'faults.json');
  const daemon = await startDaemon(t, { dir, args: ['--fault-rules-file', rules] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'finn' });
  await client.call('services.unencrypted.set', { username: 'finn', service: 'app', data: { v: 'old' } });
  const file = path.join(daemon.dataDir, 'services', 'finn_unencrypted_services.json');
  const before = readFileSync(file);
  writeFileSync(rules, JSON.stringify([{ op: 'fsyncDir', fault: 'EIO', pathIncludes: 'services' }]));
  await rejectsWith(t, client.call('services.unencrypted.set', { username: 'finn', service: 'app', data: { v: 'new' } }), 'STORAGE_FAILED');
  writeFileSync(rules, '[]');
  t.same(readFileSync(file), before, 'the previous file was put back');
  const status = await client.call('daemon.status', {});
  t.match(status.degraded, /directory fsync failed/);
  await rejectsWith(t, client.call('services.unencrypted.set', { username: 'finn', service: 'other', data: { x: 1 } }), 'STORAGE_FAILED', /restart cofferd/);
  t.same((await client.call('services.unencrypted.get', { username: 'finn', service: 'app' })).data, { v: 'old' });
  await daemon.restart();
  t.equal((await client.call('daemon.status', {})).degraded, null);
  await client.call('services.unencrypted.set', { username: 'finn', service: 'app', data: { v: 'after restart' } });
  t.same((await client.call('services.unencrypted.get', { username: 'finn', service: 'app' })).data, { v: 'after restart' });
});

/** A real full disk: a tiny tmpfs (needs mount rights, as root in CI). */
function mountTinyTmpfs(dir: string): boolean {
  return spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0700', 'tmpfs', dir]).status === 0;
}

function canMount(): boolean {
  const probe = mkdtempSync(path.join(os.tmpdir(), 'coffer-mount-'));
  const ok = mountTinyTmpfs(probe);
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}

const noMount = !canMount() && 'cannot mount a tmpfs here (needs root); the fault-seam tests above cover the same paths';

t.test('a real full disk (tmpfs): STORAGE_FAILED, nothing stored is lost', { skip: noMount }, async (t) => {
  const dir = tempDir(t);
  const mnt = path.join(dir, 'mnt');
  mkdirSync(mnt);
  t.ok(mountTinyTmpfs(mnt), 'mounted a 512 KiB tmpfs');
  t.teardown(() => spawnSync('umount', ['-l', mnt]));
  const daemon = new DaemonProcess(mnt, { coverage: false });
  t.teardown(() => daemon.dispose());
  await daemon.start();
  const client = await daemon.client();
  await client.call('users.create', { username: 'gus' });
  const big = 'x'.repeat(100 * 1024);
  await client.call('services.unencrypted.set', { username: 'gus', service: 'app', data: { big, n: 0 } });
  // Fill the rest of the disk.
  let filler = 0;
  try {
    for (;;) writeFileSync(path.join(mnt, `filler-${filler++}`), Buffer.alloc(64 * 1024));
  } catch {
    // ENOSPC: full
  }
  await rejectsWith(t, client.call('services.unencrypted.set', { username: 'gus', service: 'app', data: { big: big + big, n: 1 } }), 'STORAGE_FAILED', /ENOSPC/);
  t.same((await client.call('services.unencrypted.get', { username: 'gus', service: 'app' })).data['n'], 0);
  const onDisk = JSON.parse(readFileSync(path.join(daemon.dataDir, 'services', 'gus_unencrypted_services.json'), 'utf8'));
  t.equal(onDisk.services.app.n, 0, 'the file on disk is whole and previous');
  t.same(readdirSync(path.join(daemon.dataDir, 'services')).filter(isOwnTempFile), []);
});
