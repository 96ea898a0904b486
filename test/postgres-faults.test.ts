import t from 'tap';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir, DaemonProcess } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { freshDatabase, NOT_OUR_SERVER, ownServer, query, skipWithoutPostgres } from './helpers/postgres.js';

/**
 * Issue 16 §4: the PostgreSQL backend when the database fails — unreachable at start, gone and
 * back, out of disk, a row whose every compare-and-set misses — each through a real fault of a
 * real throwaway cluster (test/helpers/postgres.ts). Split from postgres-store.test.ts to keep each
 * file well inside tap's per-file limit.
 */

t.setTimeout(300_000);
const skip = skipWithoutPostgres();

function onDatabase(url: string, extra: string[] = []): string[] {
  return [...FAST_KDF_ARGS, '--store', url, ...extra];
}

t.test('a database that cannot be reached stops start-up with the reason, never the URL password', { skip }, async (t) => {
  const url = new URL(await freshDatabase(t));
  url.pathname = '/no_such_database';
  url.password = 'pw-in-the-url-7d1e';
  const daemon = new DaemonProcess(tempDir(t), { args: onDatabase(url.toString()), coverage: false });
  await t.rejects(daemon.start(), /could not open the PostgreSQL store \(--store, COFFER_STORE\): .*no_such_database/);
  t.equal((await daemon.waitForExit()).code, 1);
  t.notMatch(daemon.logs, /pw-in-the-url/, 'the password in the URL is never printed');

  const specter = new DaemonProcess(tempDir(t), { args: onDatabase(url.toString(), ['--layout', 'specter']), coverage: false });
  await t.rejects(specter.start(), /--store postgres keeps the coffer layout only/);

  const bad = new DaemonProcess(tempDir(t), { args: [...FAST_KDF_ARGS, '--store', 'mysql://db/coffer'], coverage: false });
  await t.rejects(bad.start(), /expected files or a PostgreSQL URL \(postgres:\/\/user@host\/database\)/);
  t.equal((await bad.waitForExit()).code, 3, 'a bad --store is a usage error');
});


t.test('the database gone and back: STORAGE_FAILED meanwhile, the daemon carries on', { skip: skip || NOT_OUR_SERVER }, async (t) => {
  const url = await freshDatabase(t);
  const server = ownServer();
  if (!server) throw new Error('the throwaway cluster is not running');
  const daemon = await startDaemon(t, { args: onDatabase(url) });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice' });
  await client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { v: 1 } });
  t.same((await client.call('daemon.status', {})).store, { kind: 'postgres', reachable: true, changeFeed: 'up', error: null }, 'status: the backend and its health');
  server.kill();
  try {
    const refused = client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { v: 2 } });
    await t.rejects(refused, { reason: 'STORAGE_FAILED', message: /check that PostgreSQL runs and that cofferd can reach it \(--store\), then retry/i }, 'what to check, not the disk');
    await rejectsWith(t, client.call('users.create', { username: 'bob' }), 'STORAGE_FAILED');
    const status = await client.call('daemon.status', {});
    t.equal(status.writes.pending, 0, 'nothing left hanging');
    t.match(status.store, { kind: 'postgres', reachable: false, error: String }, 'status says the database is unreachable, and why');
  } finally {
    server.start();
  }
  await client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { v: 3 } });
  t.same((await client.call('services.unencrypted.get', { username: 'alice', service: 'prefs' })).data, { v: 3 }, 'writes work again once it is back');
  for (let i = 0; i < 250 && !daemon.logs.includes('change feed is back'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.match(daemon.logs, /change feed broke[\s\S]*change feed is back/, 'the change feed said it broke, and came back by itself');
  await client.call('users.create', { username: 'bob' });
  const rows = await query<{ key: string }>(url, "SELECT key FROM coffer_units WHERE key = 'users.json'");
  t.equal(rows.length, 1);
  t.equal(daemon.pid !== undefined && (await client.call('daemon.status', {})).users.total, 2, 'the same daemon, both users');
});

t.test('a database out of disk (SQLSTATE 53100): STORAGE_FAILED, what was stored stays, and later writes work', { skip }, async (t) => {
  const url = await freshDatabase(t);
  const daemon = await startDaemon(t, { args: onDatabase(url) });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice' });
  await client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { v: 1 } });
  // The fault goes in through PostgreSQL itself: every write to a unit fails as a full disk would.
  await query(url, `CREATE FUNCTION coffer_test_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$`);
  await query(url, 'CREATE TRIGGER coffer_test_full BEFORE INSERT OR UPDATE OR DELETE ON coffer_units FOR EACH ROW EXECUTE FUNCTION coffer_test_full()');
  const refused = client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { v: 2 } });
  await t.rejects(refused, { reason: 'STORAGE_FAILED', data: { errno: '53100' }, message: /did not happen \(53100\); stored data is as before\. Check that PostgreSQL runs/ });
  await rejectsWith(t, client.call('users.create', { username: 'bob' }), 'STORAGE_FAILED');
  t.same((await client.call('services.unencrypted.get', { username: 'alice', service: 'prefs' })).data, { v: 1 }, 'the stored value is served');
  t.equal((await client.call('daemon.status', {})).writes.failed, 2, 'counted as failed writes');
  await query(url, 'DROP TRIGGER coffer_test_full ON coffer_units');
  await client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { v: 3 } });
  t.same((await client.call('services.unencrypted.get', { username: 'alice', service: 'prefs' })).data, { v: 3 });
  t.same((await client.call('daemon.status', {})).degraded, null, 'a database error does not degrade the store as a failed fsync does');
});

t.test('a unit whose every compare-and-set misses is answered BUSY after 100 tries, and nothing is written', { skip }, async (t) => {
  const url = await freshDatabase(t);
  const daemon = await startDaemon(t, { args: onDatabase(url) });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice' });
  await client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { v: 1 } });
  // Through PostgreSQL itself: a trigger that skips every update of this row makes each
  // compare-and-set match no row, as if another daemon always wrote first.
  await query(url, `CREATE FUNCTION coffer_test_skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF OLD.key = 'services/alice_unencrypted_services.json' THEN RETURN NULL; END IF; RETURN NEW; END $$`);
  await query(url, 'CREATE TRIGGER coffer_test_skip BEFORE UPDATE ON coffer_units FOR EACH ROW EXECUTE FUNCTION coffer_test_skip()');
  const before = (await client.call('daemon.status', {})).writes;
  await t.rejects(client.call('services.unencrypted.update', { username: 'alice', service: 'prefs', patch: { v: 2 } }), {
    reason: 'BUSY',
    message: /kept changing under the other daemons sharing its database \(100 tries\); nothing was written\. Retry/,
  });
  const after = (await client.call('daemon.status', {})).writes;
  t.equal(after.reapplied - before.reapplied, 99, 'applied again 99 times, then given up');
  t.equal(after.pending, 0, 'nothing left hanging');
  t.same((await client.call('services.unencrypted.get', { username: 'alice', service: 'prefs' })).data, { v: 1 }, 'the stored value is as it was');
  await query(url, 'DROP TRIGGER coffer_test_skip ON coffer_units');
  await client.call('services.unencrypted.update', { username: 'alice', service: 'prefs', patch: { v: 3 } });
  t.same((await client.call('services.unencrypted.get', { username: 'alice', service: 'prefs' })).data, { v: 3 }, 'and updates work once the row can be written');
});
