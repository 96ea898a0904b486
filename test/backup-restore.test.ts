import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { CofferClient } from '@coffer/client';
import { coffer } from './helpers/cli.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { rejectsWith } from './helpers/assert.js';

/**
 * daemon.backup while writes go on (issue 17 §3): every write acknowledged before the backup was
 * asked for is in the copy, which `coffer restore` writes into a fresh data dir that a new daemon
 * serves; what the backup holds stays encrypted; what restore refuses.
 */
t.setTimeout(300_000);

const PASSWORD = 'correct horse';
const MARKER = 'PLAINTEXT-MARKER-4b1d';

interface Ack {
  n: number;
  at: number;
}

/** Writes n = 1, 2, ... to one place until `stop`, recording when each was acknowledged. */
async function writer(write: (n: number) => Promise<unknown>, stop: () => boolean): Promise<{ acks: Ack[]; sent: number }> {
  const acks: Ack[] = [];
  let n = 0;
  while (!stop()) {
    n++;
    await write(n);
    acks.push({ n, at: performance.now() });
  }
  return { acks, sent: n };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.join(e.parentPath, e.name));
}

t.test('a backup during a write storm holds every write acknowledged before it was asked for', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  await client.call('users.create', { username: 'bob' });
  const { session } = await client.call('users.unlock', { username: 'alice', password: PASSWORD });
  const writers: Array<(c: CofferClient, n: number) => Promise<unknown>> = [
    (c, n) => c.call('services.encrypted.set', { session, service: 'w0', data: { n, secret: MARKER } }),
    (c, n) => c.call('services.encrypted.set', { session, service: 'w1', data: { n } }),
    (c, n) => c.call('services.unencrypted.set', { username: 'bob', service: 'w2', data: { n } }),
    (c, n) => c.call('docs.set', { name: 'storm', data: { n, pin: MARKER }, encryptedFields: ['pin'], session }),
  ];
  let stopped = false;
  const clients = await Promise.all(writers.map(() => daemon.client()));
  const running = writers.map((write, i) => writer((n) => write(clients[i]!, n), () => stopped));
  await new Promise((resolve) => setTimeout(resolve, 300)); // the storm is on
  const dest = path.join(tempDir(t), 'backup');
  const sentAt = performance.now();
  const backup = await client.call('daemon.backup', { dest });
  await new Promise((resolve) => setTimeout(resolve, 100)); // writes go on after it
  stopped = true;
  const results = await Promise.all(running);
  t.comment(`writes held ${backup.heldMs} ms (${backup.delayedWrites} waited), drain ${backup.drainMs} ms, whole backup ${backup.tookMs} ms, ${backup.files} files`);
  t.ok(results.every((r) => r.acks.some((a) => a.at < sentAt)), 'every writer had writes acknowledged before the backup');
  t.ok(results.every((r) => r.acks.some((a) => a.at > sentAt)), 'and writes were acknowledged during or after it');
  t.equal(backup.layout, 'coffer');
  t.equal(backup.dest, dest);

  // The manifest names every copied file with its size and sha256; nothing is plaintext.
  const manifest = JSON.parse(readFileSync(path.join(dest, 'MANIFEST.json'), 'utf8')) as {
    format: string; version: number; layout: string; files: Array<{ path: string; size: number; sha256: string }>;
  };
  t.match(manifest, { format: 'coffer-backup', version: 1, layout: 'coffer' });
  t.same(manifest.files.map((f) => f.path).sort(), ['docs/storm.json', 'services/alice_services.json', 'services/bob_unencrypted_services.json', 'users.json']);
  t.equal(backup.files, manifest.files.length);
  for (const file of manifest.files) {
    const bytes = readFileSync(path.join(dest, file.path));
    t.equal(createHash('sha256').update(bytes).digest('hex'), file.sha256, `${file.path}: sha256`);
    t.equal(bytes.length, file.size);
    t.equal(statSync(path.join(dest, file.path)).mode & 0o777, 0o600, `${file.path}: 0600`);
  }
  t.equal(statSync(dest).mode & 0o777, 0o700);
  for (const file of filesUnder(dest)) t.notOk(readFileSync(file, 'utf8').includes(MARKER), `${path.relative(dest, file)} holds no plaintext secret`);

  // Restore into a fresh dir, serve it, read everything back.
  const restoredDir = tempDir(t);
  const restored = await coffer(['restore', dest, '--data-dir', path.join(restoredDir, 'data')]);
  t.equal(restored.code, 0, restored.stderr);
  t.match(restored.stdout, /^restored 4 files \(\d+ bytes, layout coffer\) into .*; start cofferd on it\n$/);
  const second = await startDaemon(t, { args: FAST_KDF_ARGS, coverage: false, dir: restoredDir });
  const reader = await second.client();
  const { session: again } = await reader.call('users.unlock', { username: 'alice', password: PASSWORD });
  const values: Array<{ n: number; secret?: string; pin?: string }> = [
    ((await reader.call('services.encrypted.get', { session: again, service: 'w0' })).data as { n: number; secret: string }),
    ((await reader.call('services.encrypted.get', { session: again, service: 'w1' })).data as { n: number }),
    ((await reader.call('services.unencrypted.get', { username: 'bob', service: 'w2' })).data as { n: number }),
    ((await reader.call('docs.get', { name: 'storm', session: again })).data as { n: number; pin: string }),
  ];
  t.equal(values[0]!.secret, MARKER, 'the encrypted value opens with the same password');
  t.equal(values[3]!.pin, MARKER, 'so does the sealed document field');
  results.forEach((r, i) => {
    const lastBefore = Math.max(...r.acks.filter((a) => a.at < sentAt).map((a) => a.n));
    const got = values[i]!.n;
    t.ok(got >= lastBefore && got <= r.sent, `writer ${i}: restored n=${got}, last acknowledged before the backup ${lastBefore}, last sent ${r.sent}`);
  });
});

t.test('what daemon.backup refuses, and a failed copy leaves dest empty', async (t) => {
  const dir = tempDir(t);
  const rules = path.join(dir, 'rules.json');
  writeFileSync(rules, '[]');
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--fault-rules-file', rules] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'bob' });
  await rejectsWith(t, client.call('daemon.backup', { dest: 'relative/dir' }), 'INVALID_PARAMS', /absolute path/);
  await rejectsWith(t, client.call('daemon.backup', { dest: path.join(daemon.dataDir, 'inside') }), 'INVALID_PARAMS', /inside the data dir/);
  await rejectsWith(t, client.call('daemon.backup', { dest: daemon.dataDir }), 'INVALID_PARAMS', /inside the data dir/);
  await rejectsWith(t, client.call('daemon.backup', { dest: path.join(dir, 'no', 'such') }), 'NOT_FOUND', /does not exist: create it first/);
  mkdirSync(path.join(dir, 'full'));
  writeFileSync(path.join(dir, 'full', 'x'), 'x');
  await rejectsWith(t, client.call('daemon.backup', { dest: path.join(dir, 'full') }), 'ALREADY_EXISTS', /not an empty directory/);
  await rejectsWith(t, client.call('daemon.backup', { dest: path.join(dir, 'full', 'x') }), 'ALREADY_EXISTS', /not an empty directory/);
  await rejectsWith(t, client.call('daemon.backup', { dest: path.join(dir, 'full', 'x', 'sub') }), 'STORAGE_FAILED', /Cannot create .* \(ENOTDIR\): check its parent's permissions/);
  mkdirSync(path.join(dir, 'empty'));
  const r = await coffer(['backup', path.join(dir, 'empty'), '--socket', daemon.socketPath]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^backup +.*empty \(layout coffer\)\nfiles +1 \(\d+ bytes\), encrypted as at rest\nwrites held +[\d.]+ ms \(0 waited\), after [\d.]+ ms for writes in flight\ntook +[\d.]+ ms\n$/);
  t.same(readdirSync(path.join(dir, 'empty')).sort(), ['MANIFEST.json', 'users.json']);

  // Two at once: the second waits for the first's hold.
  const [one, two] = await Promise.all([path.join(dir, 'one'), path.join(dir, 'two')].map((dest) => client.call('daemon.backup', { dest })));
  t.equal(one!.files + two!.files, 2);

  // A data file that cannot be read: the backup fails, the daemon does not.
  writeFileSync(rules, JSON.stringify([{ op: 'readFile', fault: 'EIO', pathIncludes: 'users.json' }]));
  await rejectsWith(t, client.call('daemon.backup', { dest: path.join(dir, 'eio') }), 'STORAGE_FAILED', /failed \(EIO\)/);
  writeFileSync(rules, '[]');

  // The disk of dest fills up while the copies are written: an error that says so, dest left empty.
  writeFileSync(rules, JSON.stringify([{ op: 'write', fault: 'ENOSPC', pathIncludes: 'full-disk', skip: 1 }]));
  mkdirSync(path.join(dir, 'full-disk'));
  await rejectsWith(t, client.call('daemon.backup', { dest: path.join(dir, 'full-disk') }), 'STORAGE_FAILED', /failed \(ENOSPC\): check the destination's disk and permissions; the data dir is unchanged/);
  t.same(readdirSync(path.join(dir, 'full-disk')), [], 'no half backup (the copy written before the manifest failed is gone)');
  t.equal(daemon.logLines().filter((l) => l['msg'] === 'backup failed').length, 2, 'logged (this one and the EIO above)');
  writeFileSync(rules, '[]');
  t.equal((await client.call('users.list', {})).users.length, 1, 'the daemon serves on');
});

t.test('coffer restore checks the backup before writing anything, and refuses a served or non-empty data dir', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS, coverage: false });
  const client = await daemon.client();
  await client.call('users.create', { username: 'bob' });
  await client.call('services.unencrypted.set', { username: 'bob', service: 'app', data: { v: 1 } });
  const dir = tempDir(t);
  const backup = path.join(dir, 'backup');
  await client.call('daemon.backup', { dest: backup });
  const target = path.join(dir, 'target');
  const restore = (...extra: string[]) => coffer(['restore', backup, '--data-dir', target, ...extra], { env: { COFFER_SOCKET: path.join(dir, 'none.sock') } });

  // A damaged file: nothing is written.
  const victim = path.join(backup, 'services', 'bob_unencrypted_services.json');
  const good = readFileSync(victim);
  const bad = Buffer.from(good);
  bad[5] = bad[5]! ^ 1;
  writeFileSync(victim, bad);
  let r = await restore();
  t.equal(r.code, 1);
  t.match(r.stderr, /services\/bob_unencrypted_services.json does not match the manifest \(size or sha256\): the backup is damaged; restore another one; nothing was written/);
  t.throws(() => readdirSync(target), { code: 'ENOENT' }, 'the target was not even made');
  writeFileSync(victim, good);

  // Into the data dir a running daemon serves: refused, even with --force.
  r = await coffer(['restore', backup, '--data-dir', daemon.dataDir, '--force', '--socket', daemon.socketPath]);
  t.equal(r.code, 1);
  t.match(r.stderr, /serves .*: stop it first/);
  r = await coffer(['restore', backup, '--data-dir', daemon.dataDir, '--socket', daemon.socketPath, '--json']);
  t.equal(JSON.parse(r.stderr).error.reason, 'DAEMON_RUNNING');

  // A non-empty data dir needs --force; the backup's files are replaced, the others kept.
  mkdirSync(target);
  writeFileSync(path.join(target, 'keep.txt'), 'mine');
  r = await restore();
  t.match(r, { code: 1, stderr: /is not empty: restore into a new directory, or pass --force/ });
  r = await restore('--force', '--json');
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { dataDir: target, layout: 'coffer', files: 2 });
  t.equal(readFileSync(path.join(target, 'keep.txt'), 'utf8'), 'mine');
  t.same(readFileSync(path.join(target, 'services', 'bob_unencrypted_services.json')), good);

  // Another daemon that serves another dir does not stop a restore.
  r = await coffer(['restore', backup, '--data-dir', path.join(dir, 'fresh'), '--socket', daemon.socketPath]);
  t.equal(r.code, 0, r.stderr);

  // A data dir path that is a file.
  r = await coffer(['restore', backup, '--data-dir', path.join(target, 'keep.txt')]);
  t.match(r, { code: 1, stderr: /ENOTDIR/ });

  // Not a backup, or a manifest that is not one.
  r = await coffer(['restore', dir, '--data-dir', path.join(dir, 'x')]);
  t.match(r, { code: 1, stderr: /has no readable MANIFEST.json \(ENOENT\): it is not a finished coffer backup/ });
  const manifestPath = path.join(backup, 'MANIFEST.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { files: Array<{ path: string }>; version: number };
  writeFileSync(manifestPath, '{');
  t.match(await restore(), { code: 1, stderr: /MANIFEST.json in .* is not JSON/ });
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, version: 2 }));
  t.match(await restore(), { code: 1, stderr: /is not one this version reads \(\/version: / });
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, files: [{ ...manifest.files[0], path: '../escape.json' }] }));
  t.match(await restore(), { code: 1, stderr: /names a file outside the data dir \("\.\.\/escape\.json"\)/ });
  writeFileSync(manifestPath, JSON.stringify({ ...manifest, files: [...manifest.files, { path: 'gone.json', size: 1, sha256: '0'.repeat(64) }] }));
  t.match(await restore(), { code: 1, stderr: /gone.json is listed in the manifest but cannot be read \(ENOENT\)/ });
});
