import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { CofferClient } from '@coffer/client';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir, DaemonProcess } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { cofferKeys } from './helpers/coffer-keys.js';
import { freshDatabase, query, skipWithoutPostgres } from './helpers/postgres.js';

/**
 * Issue 16 §1-2: --store postgres keeps the coffer layout's data in a real PostgreSQL (a throwaway
 * cluster, test/helpers/postgres.ts), and several cofferd on one database behave as one store.
 */

t.setTimeout(300_000);
const skip = skipWithoutPostgres();
const PASSWORD = 'correct horse battery';
const SECRET_VALUE = 'xprv-postgres-never-in-a-row-3f9c';

function onDatabase(url: string, extra: string[] = []): string[] {
  return [...FAST_KDF_ARGS, '--store', url, ...extra];
}

async function unlocked(client: CofferClient, username: string): Promise<string> {
  return (await client.call('users.unlock', { username, password: PASSWORD })).session;
}

t.test('every kind of data lives in the database, survives a restart, and only ciphertext reaches a row', { skip }, async (t) => {
  const url = await freshDatabase(t);
  const daemon = await startDaemon(t, { args: onDatabase(url) });
  let client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  let session = await unlocked(client, 'alice');
  await client.call('services.encrypted.set', { session, service: 'wallet', data: { xprv: SECRET_VALUE, n: 2 ** 60 } });
  await client.call('services.unencrypted.set', { username: 'alice', service: 'prefs', data: { theme: 'dark', rate: 1.0 } });
  await client.call('annotations.set', { username: 'alice', wallet: 'hot', service: 'swan', kind: 'addr', id: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', data: { label: 'rent' } });
  await client.call('docs.set', { session, name: 'otp', data: { code: 'plain', seed: SECRET_VALUE }, encryptedFields: ['seed'] });

  const keys = (await query<{ key: string }>(url, 'SELECT key FROM coffer_units ORDER BY key')).map((row) => row.key.replace(/^sessions\/[0-9a-f]{64}\.json$/, 'sessions/<id>.json'));
  t.same(keys, ['docs/otp.json', 'services/alice_services.json', 'services/alice_unencrypted_services.json', 'sessions/<id>.json', 'users.json', 'wallets/alice/hot_swan.json'], 'the session is stored too (sealed: --persist-sessions is on with a database)');
  t.same(readdirSync(daemon.dataDir), [], 'nothing written to the data dir');
  const rows = await query<{ key: string; bytes: Buffer }>(url, 'SELECT key, bytes FROM coffer_units');
  for (const row of rows) t.notOk(row.bytes.includes(Buffer.from(SECRET_VALUE)), `${row.key}: the secret value is not in plaintext`);
  t.notOk(rows.some((row) => row.bytes.includes(Buffer.from(PASSWORD))), 'nor the password');
  t.notOk(rows.some((row) => row.bytes.includes(Buffer.from(session))), 'nor the session token');
  const { kek, secret: userSecret } = cofferKeys(rows.find((row) => row.key === 'users.json')!.bytes, 'alice', PASSWORD);
  for (const [what, key] of [['the password-derived key', kek], ['the user secret', userSecret]] as const) {
    for (const encoding of ['binary', 'base64', 'base64url', 'hex'] as const) {
      const needle = encoding === 'binary' ? key : Buffer.from(key.toString(encoding));
      t.notOk(rows.some((row) => row.bytes.includes(needle)), `${what} is in no row (${encoding})`);
    }
  }

  await daemon.restart();
  client = await daemon.client();
  session = await unlocked(client, 'alice');
  const secret = await client.call('services.encrypted.get', { session, service: 'wallet' });
  t.same(secret.data, { xprv: SECRET_VALUE, n: 2 ** 60 }, 'encrypted data after a restart');
  t.same((await client.call('services.unencrypted.get', { username: 'alice', service: 'prefs' })).data, { theme: 'dark', rate: 1 });
  t.same((await client.call('docs.get', { session, name: 'otp' })).data, { code: 'plain', seed: SECRET_VALUE });
  t.same((await client.call('docs.list', {})).docs.map((doc) => doc.name), ['otp'], 'documents are listed from the database');
  const annotations = await client.call('annotations.get', { username: 'alice', wallet: 'hot', service: 'swan', kind: 'addr', id: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq' });
  t.same('data' in annotations && annotations.data, { label: 'rent' });
  t.same((await client.call('annotations.list', { username: 'alice' })).entries, [{ wallet: 'hot', service: 'swan', kind: 'addr', id: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq' }], 'annotations are listed from the database');

  await client.call('users.delete', { username: 'alice', password: PASSWORD });
  const left = (await query<{ key: string }>(url, 'SELECT key FROM coffer_units ORDER BY key')).map((row) => row.key);
  t.same(left, ['docs/otp.json', 'users.json'], "a deleted user's rows go with them (documents are not a user's)");
  await rejectsWith(t, client.call('daemon.backup', { dest: tempDir(t) }), 'INVALID_PARAMS');
});

t.test('a row moved to another user answers CORRUPT, as a file moved on disk does', { skip }, async (t) => {
  const url = await freshDatabase(t);
  const daemon = await startDaemon(t, { args: onDatabase(url) });
  const client = await daemon.client();
  for (const username of ['alice', 'bob']) await client.call('users.create', { username, password: PASSWORD });
  const alice = await unlocked(client, 'alice');
  const bob = await unlocked(client, 'bob');
  await client.call('services.encrypted.set', { session: alice, service: 'wallet', data: { xprv: SECRET_VALUE } });
  await client.call('services.encrypted.set', { session: bob, service: 'wallet', data: { xprv: 'bob' } });
  await query(url, "UPDATE coffer_units SET bytes = (SELECT bytes FROM coffer_units WHERE key = 'services/alice_services.json'), rev = nextval('coffer_rev') WHERE key = 'services/bob_services.json'");
  await rejectsWith(t, client.call('services.encrypted.get', { session: bob, service: 'wallet' }), 'CORRUPT');
  t.same((await client.call('services.encrypted.get', { session: alice, service: 'wallet' })).data, { xprv: SECRET_VALUE }, "alice's own row still opens");
});

t.test('two and three daemons on one database: each sees the others at its next read, and no update is lost', { skip }, async (t) => {
  const url = await freshDatabase(t);
  const one = await startDaemon(t, { args: onDatabase(url) });
  const two = await startDaemon(t, { args: onDatabase(url), coverage: false });
  const a = await one.client();
  const b = await two.client();
  await a.call('users.create', { username: 'alice', password: PASSWORD });
  const sessionA = await unlocked(a, 'alice');
  const sessionB = await unlocked(b, 'alice');
  await a.call('services.encrypted.set', { session: sessionA, service: 'wallet', data: { v: 1 } });
  t.same((await b.call('services.encrypted.get', { session: sessionB, service: 'wallet' })).data, { v: 1 }, "B reads A's write at once");
  await b.call('services.encrypted.set', { session: sessionB, service: 'wallet', data: { v: 2 } });
  t.same((await a.call('services.encrypted.get', { session: sessionA, service: 'wallet' })).data, { v: 2 }, "and A reads B's");

  // Each client merges its own key, many at once on three daemons: a lost update would drop keys.
  const three = await startDaemon(t, { args: onDatabase(url), coverage: false });
  const daemons = [one, two, three];
  const CLIENTS = 9;
  const ROUNDS = 12;
  const clients = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => daemons[i % 3]!.client()));
  await Promise.all(
    clients.map(async (client, i) => {
      // The third daemon serves A's session from its stored record.
      const session = i % 3 === 1 ? sessionB : sessionA;
      for (let round = 1; round <= ROUNDS; round++) {
        await client.call('services.encrypted.update', { session, service: 'shared', patch: { [`c${i}`]: round } });
      }
    }),
  );
  const expected = Object.fromEntries(Array.from({ length: CLIENTS }, (_, i) => [`c${i}`, ROUNDS]));
  t.same((await a.call('services.encrypted.get', { session: sessionA, service: 'shared' })).data, expected, 'every merge of the three daemons is there (via A)');
  t.same((await b.call('services.encrypted.get', { session: sessionB, service: 'shared' })).data, expected, '(via B)');
  const statuses = await Promise.all(clients.slice(0, 3).map((client) => client.call('daemon.status', {})));
  const reapplied = statuses.reduce((sum, status) => sum + status.writes.reapplied, 0);
  t.ok(reapplied > 0, `the daemons did collide, and re-applied their groups (${reapplied} times)`);
  t.same(statuses.map((status) => status.externalOverwrites.count), [0, 0, 0], 'building on another daemon is not an overwrite');

  // Subscribers on one daemon hear what the other writes (PostgreSQL's notifications).
  const heard: Array<{ service?: string; source?: string; revision?: string | null }> = [];
  b.on('notification', (notice) => {
    if (notice.method === 'watch.changed') heard.push(notice.params as (typeof heard)[number]);
  });
  await b.call('watch.subscribe', { topics: [{ scope: 'services', username: 'alice' }] });
  const written = await a.call('services.encrypted.update', { session: sessionA, service: 'heard', patch: { x: 1 } });
  for (let i = 0; i < 250 && !heard.some((n) => n.service === 'heard'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(
    heard.filter((n) => n.service === 'heard'),
    [{ ...heard.find((n) => n.service === 'heard'), service: 'heard', source: 'external', revision: written.revision }],
    "B's subscriber heard A's write, once, as external, with its revision",
  );

  // Compare-and-set across daemons: the same revision wins on one daemon only.
  const current = await a.call('services.encrypted.get', { session: sessionA, service: 'wallet' });
  await b.call('services.encrypted.update', { session: sessionB, service: 'wallet', patch: { by: 'B' }, ifRevision: current.revision });
  await rejectsWith(t, a.call('services.encrypted.update', { session: sessionA, service: 'wallet', patch: { by: 'A' }, ifRevision: current.revision }), 'CONFLICT');
  t.same((await a.call('services.encrypted.get', { session: sessionA, service: 'wallet' })).data, { v: 2, by: 'B' });
});

t.test('--migrate-from copies a coffer data dir into an empty database, byte for byte, once', { skip }, async (t) => {
  const files = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--store', 'files'], coverage: false });
  let client = await files.client();
  await client.call('users.create', { username: 'alice', password: PASSWORD });
  await client.call('users.create', { username: 'bob' });
  let session = await unlocked(client, 'alice');
  await client.call('services.encrypted.set', { session, service: 'wallet', data: { xprv: SECRET_VALUE } });
  await client.call('services.unencrypted.set', { username: 'bob', service: 'prefs', data: { n: 1.5e300 } });
  await client.call('annotations.set', { username: 'alice', wallet: 'hot', service: 'swan', kind: 'addr', id: 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq', data: 'rent' });
  await client.call('docs.set', { session, name: 'otp', data: { seed: SECRET_VALUE }, encryptedFields: ['seed'] });
  await files.stop();

  const url = await freshDatabase(t);
  const daemon = await startDaemon(t, { args: onDatabase(url, ['--migrate-from', files.dataDir]) });
  t.match(daemon.logs, /"units":5,.*"msg":"data dir copied into PostgreSQL; the folder is left as it was"/);
  const rows = await query<{ key: string; bytes: Buffer }>(url, 'SELECT key, bytes FROM coffer_units ORDER BY key');
  t.same(
    rows.map((row) => row.key),
    ['docs/otp.json', 'services/alice_services.json', 'services/bob_unencrypted_services.json', 'users.json', 'wallets/alice/hot_swan.json'],
  );
  for (const row of rows) t.same(row.bytes, readFileSync(path.join(files.dataDir, ...row.key.split('/'))), `${row.key}: the file's bytes`);
  client = await daemon.client();
  session = await unlocked(client, 'alice');
  t.same((await client.call('services.encrypted.get', { session, service: 'wallet' })).data, { xprv: SECRET_VALUE }, 'the encrypted data opens with the same password');
  t.same((await client.call('services.unencrypted.get', { username: 'bob', service: 'prefs' })).data, { n: 1.5e300 });
  t.same((await client.call('docs.get', { session, name: 'otp' })).data, { seed: SECRET_VALUE });
  await daemon.stop();

  const again = new DaemonProcess(tempDir(t), { args: onDatabase(url, ['--migrate-from', files.dataDir]), coverage: false });
  await t.rejects(again.start(), /--migrate-from .*: the database already holds users \(users\.json\): --migrate-from copies into an empty one only/);
  const alone = new DaemonProcess(tempDir(t), { args: [...FAST_KDF_ARGS, '--migrate-from', files.dataDir], coverage: false });
  await t.rejects(alone.start(), /--migrate-from copies a data dir into a database: give --store postgres/);

  // Only a coffer data dir moves in, and nothing is copied from anything else.
  const empty = await freshDatabase(t);
  const specterFolder = tempDir(t);
  writeFileSync(path.join(specterFolder, 'users.json'), '[]');
  const fromSpecter = new DaemonProcess(tempDir(t), { args: onDatabase(empty, ['--migrate-from', specterFolder]), coverage: false });
  await t.rejects(fromSpecter.start(), /--migrate-from: .* is a Specter data folder; only a coffer data dir can move into PostgreSQL/);
  const notData = tempDir(t);
  const fromNothing = new DaemonProcess(tempDir(t), { args: onDatabase(empty, ['--migrate-from', notData]), coverage: false });
  await t.rejects(fromNothing.start(), /has no users\.json: not a coffer data dir/);
  t.same(await query(empty, 'SELECT key FROM coffer_units'), [], 'the database is left empty');
});

t.test('kill -9 of one daemon while both write: every acknowledged write is in the database', { skip }, async (t) => {
  const url = await freshDatabase(t);
  const one = await startDaemon(t, { args: onDatabase(url), coverage: false });
  const two = await startDaemon(t, { args: onDatabase(url), coverage: false });
  await (await one.client()).call('users.create', { username: 'alice' });
  const acked: string[] = [];
  const writers = [one, two].flatMap((daemon, d) =>
    Array.from({ length: 4 }, async (_, w) => {
      const client = await daemon.client({ timeoutMs: 5000 });
      for (let i = 0; ; i++) {
        const key = `d${d}w${w}i${i}`;
        try {
          await client.call('services.unencrypted.update', { username: 'alice', service: 'log', patch: { [key]: i } });
        } catch {
          return; // the daemon is gone: what it did not acknowledge may or may not be there
        }
        acked.push(key);
        if (d === 1 && acked.length > 400) return;
      }
    }),
  );
  while (acked.length < 150) await new Promise((resolve) => setTimeout(resolve, 10));
  await one.stop('SIGKILL');
  await Promise.all(writers);
  const survivor = await two.client();
  const data = (await survivor.call('services.unencrypted.get', { username: 'alice', service: 'log' })).data;
  const lost = acked.filter((key) => !(key in data));
  t.same(lost, [], `none of ${acked.length} acknowledged writes lost (${acked.filter((k) => k.startsWith('d0')).length} by the killed daemon)`);
});
