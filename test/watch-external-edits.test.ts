import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { CofferClient, DaemonNotification } from '@coffer/client';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon } from './helpers/daemon.js';

t.setTimeout(120_000);

interface Changed {
  subscription: string;
  scope: string;
  username?: string;
  service?: string;
  change?: string;
  revision: string | null;
  source: string;
}

function collect(client: CofferClient): Changed[] {
  const seen: Changed[] = [];
  client.on('notification', (n: DaemonNotification) => {
    if (n.method === 'watch.changed') seen.push(n.params as Changed);
  });
  return seen;
}

async function until<T>(probe: () => T | undefined, what: string, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const unencryptedFile = (dataDir: string, user: string) => path.join(dataDir, 'services', `${user}_unencrypted_services.json`);

t.test('subscribers hear of our writes and of edits made outside cofferd; others hear nothing', async (t) => {
  const daemon = await startDaemon(t);
  const writer = await daemon.client();
  const watcher = await daemon.client();
  const bystander = await daemon.client();
  const heard = collect(watcher);
  const unheard = collect(bystander);
  await writer.call('users.create', { username: 'alice' });
  const { subscription } = await watcher.call('watch.subscribe', { topics: [{ scope: 'services', username: 'alice' }, { scope: 'users' }] });
  t.match(subscription, /^w[0-9a-f]{16}$/);

  const { revision } = await writer.call('services.unencrypted.set', { username: 'alice', service: 'swan', data: { v: 1 } });
  const viaRpc = await until(() => heard.find((n) => n.service === 'swan'), 'the rpc change');
  t.same({ ...viaRpc }, { subscription, scope: 'services', username: 'alice', encrypted: false, service: 'swan', revision, source: 'rpc' });

  // A hand edit (e.g. a restored backup): the daemon reloads it and says so.
  const file = unencryptedFile(daemon.dataDir, 'alice');
  writeFileSync(file, JSON.stringify({ format: 'coffer.unencrypted-services', version: 1, services: { swan: { v: 'restored' } } }));
  const external = await until(() => heard.find((n) => n.source === 'external'), 'the external change');
  t.equal(external.service, 'swan');
  const now = await writer.call('services.unencrypted.get', { username: 'alice', service: 'swan' });
  t.same(now.data, { v: 'restored' });
  t.equal(external.revision, now.revision, 'the notice carries the revision a get returns');

  await writer.call('users.create', { username: 'bob' });
  const created = await until(() => heard.find((n) => n.scope === 'users'), 'users.create');
  t.same([created.username, created.change], ['bob', 'created']);

  // Many writes of ours: never reported as external.
  for (let i = 0; i < 20; i++) await writer.call('services.unencrypted.update', { username: 'alice', service: 'swan', patch: { i } });
  await until(() => (heard.filter((n) => n.source === 'rpc' && n.service === 'swan').length >= 21 ? true : undefined), 'all rpc notices');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(heard.filter((n) => n.source === 'external').length, 1, 'our own renames are not external edits');
  t.same(unheard, [], 'a connection that did not subscribe gets no notification');

  await rejectsWith(t, bystander.call('watch.unsubscribe', { subscription }), 'NOT_FOUND');
  await watcher.call('watch.unsubscribe', { subscription });
  await rejectsWith(t, watcher.call('watch.unsubscribe', { subscription }), 'NOT_FOUND');
  const count = heard.length;
  await writer.call('services.unencrypted.set', { username: 'alice', service: 'swan', data: { after: true } });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(heard.length, count, 'nothing after unsubscribe');
});

t.test('each cached file is followed: deleted by hand, recreated by us, hand-edited again: every step heard', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  const heard = collect(client);
  await client.call('users.create', { username: 'dora' });
  await client.call('users.create', { username: 'eve' });
  await client.call('watch.subscribe', { topics: [{ scope: 'services', username: 'dora' }] });
  await client.call('services.unencrypted.set', { username: 'dora', service: 'app', data: { v: 1 } });
  // Another user's file that is not cached: nothing to watch, and nothing reported.
  await client.call('services.unencrypted.set', { username: 'eve', service: 'app', data: { v: 1 } });
  const file = unencryptedFile(daemon.dataDir, 'dora');

  rmSync(file);
  const removed = await until(() => heard.find((n) => n.source === 'external'), 'the removal');
  t.same([removed.service, removed.revision], ['app', null], 'a removed file reads as empty');
  t.same((await client.call('services.unencrypted.get', { username: 'dora', service: 'app' })).data, {});

  await client.call('services.unencrypted.set', { username: 'dora', service: 'app', data: { v: 2 } });
  writeFileSync(file, JSON.stringify({ format: 'coffer.unencrypted-services', version: 1, services: { app: { v: 'by hand' } } }));
  const edited = await until(() => heard.find((n) => n.source === 'external' && n.revision !== null), 'the edit of the recreated file');
  t.equal(edited.service, 'app');
  t.same((await client.call('services.unencrypted.get', { username: 'dora', service: 'app' })).data, { v: 'by hand' });
  t.equal(heard.filter((n) => n.source === 'external').length, 2, 'nothing else reported as external');

  // A file read as absent and then restored by hand: the next read finds it (and subscribers hear).
  await client.call('users.create', { username: 'finn' });
  await client.call('watch.subscribe', { topics: [{ scope: 'services', username: 'finn' }] });
  t.same((await client.call('services.unencrypted.get', { username: 'finn', service: 'app' })).data, {});
  writeFileSync(unencryptedFile(daemon.dataDir, 'finn'), JSON.stringify({ format: 'coffer.unencrypted-services', version: 1, services: { app: { restored: true } } }));
  t.same((await client.call('services.unencrypted.get', { username: 'finn', service: 'app' })).data, { restored: true }, 'read at once');
  const restored = await until(() => heard.find((n) => n.username === 'finn'), 'the restore notice');
  t.same([restored.source, restored.service], ['external', 'app']);
});

t.test('a bad edit from outside: last good state served, reported, never overwritten; fixed, it loads', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  await client.call('users.create', { username: 'carol' });
  await client.call('services.unencrypted.set', { username: 'carol', service: 'app', data: { good: 1 } });
  const file = unencryptedFile(daemon.dataDir, 'carol');
  writeFileSync(file, '{"format":"coffer.unencrypted-services","version":1,"services":{"app":');
  await rejectsWith(t, client.call('services.unencrypted.set', { username: 'carol', service: 'app', data: { new: 1 } }), 'CORRUPT', /changed outside cofferd/);
  t.equal(readFileSync(file, 'utf8'), '{"format":"coffer.unencrypted-services","version":1,"services":{"app":', 'never overwritten');
  t.same((await client.call('services.unencrypted.get', { username: 'carol', service: 'app' })).data, { good: 1 }, 'reads serve the last good state');
  t.same((await client.call('daemon.status', {})).corruptFiles, [file]);

  writeFileSync(file, JSON.stringify({ format: 'coffer.unencrypted-services', version: 1, services: { app: { fixed: true } } }));
  await client.call('services.unencrypted.update', { username: 'carol', service: 'app', patch: { more: 1 } });
  t.same((await client.call('services.unencrypted.get', { username: 'carol', service: 'app' })).data, { fixed: true, more: 1 }, 'the write applied onto the fixed file');
  t.same((await client.call('daemon.status', {})).corruptFiles, []);
});

t.test('without the watcher, an outside edit is still read before the next write, never overwritten', async (t) => {
  const daemon = await startDaemon(t, { args: ['--no-watch'] });
  const client = await daemon.client();
  await client.call('users.create', { username: 'dan' });
  await client.call('services.unencrypted.set', { username: 'dan', service: 'app', data: { a: 1 } });
  writeFileSync(unencryptedFile(daemon.dataDir, 'dan'), JSON.stringify({ format: 'coffer.unencrypted-services', version: 1, services: { app: { a: 1 }, other: { kept: true } } }));
  await client.call('services.unencrypted.update', { username: 'dan', service: 'app', patch: { b: 2 } });
  t.same((await client.call('services.unencrypted.get', { username: 'dan', service: 'other' })).data, { kept: true }, 'the edit survived our write');
  t.same((await client.call('services.unencrypted.get', { username: 'dan', service: 'app' })).data, { a: 1, b: 2 });
});
