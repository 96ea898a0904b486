import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { CofferClient, DaemonNotification } from '@coffer/client';
import { startDaemon, tempDir, type DaemonProcess } from './helpers/daemon.js';
import { copyDatadir } from './helpers/specter-layout.js';

/**
 * No stale reads, no silent loss (issue 11 part 6), against a real cofferd: a read that starts
 * after a write from outside has completed returns the new content — after an atomic replace and
 * after an in-place rewrite of the same size (same inode, and within one tick of the file system's
 * clock, so inode, size and mtime alone cannot tell), in both layouts; a half-written file is not
 * served; and an outside replace of a file holding a write cofferd acknowledged is reported.
 */
t.setTimeout(240_000);

const ROUNDS = 100;

/** The n-th content, all of one size: an in-place rewrite then keeps size and (often) mtime. */
const padded = (n: number) => String(n).padStart(4, '0');

function replaceFile(file: string, text: string): void {
  const temp = `${path.dirname(file)}/.outside-${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
}

interface Case {
  write(file: string, text: string): void;
  label: string;
}

const CASES: Case[] = [
  { label: 'os.replace', write: replaceFile },
  { label: 'in-place rewrite', write: (file, text) => writeFileSync(file, text) },
];

t.test('specter layout: a GenericDataManager file read right after an outside write, 100 times each way, never stale; an overwrite of our write is reported', async (t) => {
  const dir = tempDir(t);
  copyDatadir(t, path.join(dir, 'data'));
  const daemon = await startDaemon(t, { dir });
  const client = await daemon.client();
  const file = path.join(daemon.dataDir, 'otp.json');
  const text = (n: number) => JSON.stringify({ new_user_otps: [{ otp: padded(n) }] }, null, 4);
  for (const { label, write } of CASES) {
    write(file, text(0));
    await client.call('docs.get', { name: 'otp.json' }); // cached from here on
    const stale: number[] = [];
    for (let n = 1; n <= ROUNDS; n++) {
      write(file, text(n));
      const { data } = await client.call('docs.get', { name: 'otp.json' });
      if (JSON.stringify(data) !== JSON.stringify({ new_user_otps: [{ otp: padded(n) }] })) stale.push(n);
    }
    t.same(stale, [], `${label}: every read saw the write before it`);
  }
  await overwriteIsReported(t, client, daemon);
});

t.test('coffer layout: a services file read right after an outside write, 100 times each way, never stale', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  await client.call('users.create', { username: 'carol' });
  await client.call('services.unencrypted.set', { username: 'carol', service: 'app', data: { n: padded(0) } });
  const file = path.join(daemon.dataDir, 'services', 'carol_unencrypted_services.json');
  const text = (n: number) => JSON.stringify({ format: 'coffer.unencrypted-services', version: 1, services: { app: { n: padded(n) } } });
  for (const { label, write } of CASES) {
    const stale: number[] = [];
    for (let n = 1; n <= ROUNDS; n++) {
      write(file, text(n));
      const { data } = await client.call('services.unencrypted.get', { username: 'carol', service: 'app' });
      if (data['n'] !== padded(n)) stale.push(n);
    }
    t.same(stale, [], `${label}: every read saw the write before it`);
  }

  // Caught half-way through an in-place rewrite: re-read until whole, never served half.
  writeFileSync(file, text(7).slice(0, 20));
  const reading = client.call('services.unencrypted.get', { username: 'carol', service: 'app' });
  await new Promise((resolve) => setTimeout(resolve, 5));
  writeFileSync(file, text(8));
  t.same((await reading).data, { n: padded(8) }, 'the read waited for the whole file');
});

/**
 * An outside replace of a file holding an acknowledged write: daemon.status, a log line naming the
 * file and watch.changed (external).
 */
async function overwriteIsReported(t: Test, client: CofferClient, daemon: DaemonProcess): Promise<void> {
  const heard: Array<Record<string, unknown>> = [];
  client.on('notification', (n: DaemonNotification) => {
    if (n.method === 'watch.changed') heard.push(n.params as Record<string, unknown>);
  });
  await client.call('watch.subscribe', { topics: [{ scope: 'docs' }] });
  const file = path.join(daemon.dataDir, 'otps.json');
  t.same((await client.call('daemon.status', {})).externalOverwrites, { count: 0, files: [] });

  await client.call('docs.set', { name: 'otps.json', data: { new_user_otps: [{ otp: 'ours' }] } });
  // Specter's own save: the file renamed to .bkp, then written in place.
  renameSync(file, `${file}.bkp`);
  writeFileSync(file, JSON.stringify({ new_user_otps: [{ otp: 'specter' }] }, null, 4));
  t.same((await client.call('docs.get', { name: 'otps.json' })).data, { new_user_otps: [{ otp: 'specter' }] });

  const status = await client.call('daemon.status', {});
  t.same(status.externalOverwrites, { count: 1, files: [file] }, 'counted, with the file');
  const line = daemon.logLines().find((l) => l['file'] === file && /acknowledged was replaced/.test(String(l['msg'])));
  t.ok(line, 'a log line names the file');
  t.equal(line?.['level'], 40, 'at warn');
  const deadline = Date.now() + 10_000;
  while (!heard.some((n) => n['source'] === 'external') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.match(heard.find((n) => n['source'] === 'external'), { scope: 'docs', name: 'otps.json', source: 'external' }, 'watch.changed, source external');

  // A second outside write replaces Specter's version, not ours: nothing more is lost.
  replaceFile(file, JSON.stringify({ new_user_otps: [] }, null, 4));
  t.same((await client.call('docs.get', { name: 'otps.json' })).data, { new_user_otps: [] });
  t.equal((await client.call('daemon.status', {})).externalOverwrites.count, 1, 'only writes we acknowledged count');
  t.equal(readFileSync(file, 'utf8'), JSON.stringify({ new_user_otps: [] }, null, 4), 'the outside version is left as it is');
}
