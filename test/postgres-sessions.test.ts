import t, { type Test } from 'tap';
import type { CofferClient } from '@coffer/client';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, type DaemonProcess } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { cofferKeys } from './helpers/coffer-keys.js';
import { freshDatabase, NOT_OUR_SERVER, ownServer, query, skipWithoutPostgres } from './helpers/postgres.js';

/**
 * Issue 16 §3: on one database, a session is served by every daemon and outlives any of them
 * (sessions are stored, sealed under their token), and its end — by sessions.end, users.lock, a
 * password change or expiry — is seen by every daemon at its next call. Three real daemons, a
 * real throwaway PostgreSQL.
 */

t.setTimeout(300_000);
const skip = skipWithoutPostgres();
const PASSWORD = 'correct horse battery';
const SECRET_VALUE = 'xprv-three-daemons-one-session-5b1e';

async function threeDaemons(t: Test, extra: string[] = []): Promise<{ url: string; daemons: DaemonProcess[]; clients: CofferClient[] }> {
  const url = await freshDatabase(t);
  const args = [...FAST_KDF_ARGS, '--store', url, ...extra];
  const daemons = [await startDaemon(t, { args }), await startDaemon(t, { args, coverage: false }), await startDaemon(t, { args, coverage: false })];
  const clients = await Promise.all(daemons.map((daemon) => daemon.client()));
  await clients[0]!.call('users.create', { username: 'alice', password: PASSWORD });
  return { url, daemons, clients };
}

t.test('a session opened on A is served by B and C, and by A after A restarts', { skip }, async (t) => {
  const { url, daemons, clients } = await threeDaemons(t);
  const [a, b, c] = clients as [CofferClient, CofferClient, CofferClient];
  const session = (await a.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  await a.call('services.encrypted.set', { session, service: 'wallet', data: { xprv: SECRET_VALUE } });
  t.same((await b.call('services.encrypted.get', { session, service: 'wallet' })).data, { xprv: SECRET_VALUE }, 'B serves the session A opened');
  await c.call('services.encrypted.update', { session, service: 'wallet', patch: { by: 'C' } });
  t.same((await b.call('services.encrypted.get', { session, service: 'wallet' })).data, { xprv: SECRET_VALUE, by: 'C' }, "and reads C's write under it");

  await daemons[0]!.restart();
  const again = await daemons[0]!.client();
  t.same((await again.call('services.encrypted.get', { session, service: 'wallet' })).data, { xprv: SECRET_VALUE, by: 'C' }, 'A serves it after its restart');
  t.equal((await again.call('sessions.check', { session })).username, 'alice');

  // What the database holds of it: a sealed record under a derived name; no token, no secret.
  const rows = await query<{ key: string; bytes: Buffer }>(url, "SELECT key, bytes FROM coffer_units WHERE key LIKE 'sessions/%'");
  t.equal(rows.length, 1, 'one stored session');
  t.notOk(rows[0]!.key.includes(session) || rows[0]!.bytes.includes(Buffer.from(session)), 'the token is neither its name nor in it');
  const usersJson = (await query<{ bytes: Buffer }>(url, "SELECT bytes FROM coffer_units WHERE key = 'users.json'"))[0]!.bytes;
  const { kek, secret } = cofferKeys(usersJson, 'alice', PASSWORD);
  for (const encoding of ['binary', 'base64', 'hex'] as const) {
    t.notOk(rows[0]!.bytes.includes(encoding === 'binary' ? secret : Buffer.from(secret.toString(encoding))), `the user secret is not in it (${encoding})`);
    t.notOk(rows[0]!.bytes.includes(encoding === 'binary' ? kek : Buffer.from(kek.toString(encoding))), `nor the password-derived key (${encoding})`);
  }
});

t.test('sessions.end on one daemon, users.lock on another: every daemon answers LOCKED at once', { skip }, async (t) => {
  const { clients } = await threeDaemons(t);
  const [a, b, c] = clients as [CofferClient, CofferClient, CofferClient];
  const one = (await a.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  const two = (await b.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  for (const client of clients) {
    for (const session of [one, two]) t.equal((await client.call('sessions.check', { session })).username, 'alice');
  }
  await c.call('sessions.end', { session: one });
  for (const [name, client] of [['A', a], ['B', b], ['C', c]] as const) {
    await rejectsWith(t, client.call('sessions.check', { session: one }), 'LOCKED');
    t.equal((await client.call('sessions.check', { session: two })).username, 'alice', `${name}: the other session lives on`);
  }
  await a.call('users.lock', { username: 'alice' });
  for (const client of clients) await rejectsWith(t, client.call('services.encrypted.get', { session: two, service: 'wallet' }), 'LOCKED');
  t.same(
    (await Promise.all(clients.map(async (client) => (await client.call('users.list', {})).users[0]!.unlocked))),
    [false, false, false],
    'alice is locked on all three (B and C dropped her keys at their call)',
  );

  // A password change on one daemon ends every session on all.
  const three = (await b.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  t.equal((await c.call('sessions.check', { session: three })).username, 'alice');
  await a.call('users.changePassword', { username: 'alice', oldPassword: PASSWORD, newPassword: `${PASSWORD}!` });
  for (const client of clients) await rejectsWith(t, client.call('sessions.check', { session: three }), 'LOCKED');
});

t.test('expiry is seen by every daemon, whichever last served the session', { skip }, async (t) => {
  const { daemons, clients } = await threeDaemons(t, ['--session-idle', '3']);
  const [a, b, c] = clients as [CofferClient, CofferClient, CofferClient];
  const session = (await a.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  // Used on B and C only for longer than the idle limit: their uses are recorded for A to see.
  // Uses are recorded at most every second: the idle limit leaves room for a slow machine.
  for (let i = 0; i < 8; i++) {
    await (i % 2 === 0 ? b : c).call('sessions.check', { session });
    await new Promise((resolve) => setTimeout(resolve, 600));
  }
  t.equal((await a.call('sessions.check', { session })).username, 'alice', 'A still serves it: B and C kept it in use');
  t.match(daemons[0]!.logs, /stored session resumed/, 'A had let go of it (idle here), and took it up again from its record');
  await new Promise((resolve) => setTimeout(resolve, 3_300));
  for (const client of [b, c, a]) await rejectsWith(t, client.call('sessions.check', { session }), 'LOCKED');
});

t.test('a rotation on one daemon: its session is sealed again and served everywhere, the others end', { skip }, async (t) => {
  const { clients } = await threeDaemons(t);
  const [a, b, c] = clients as [CofferClient, CofferClient, CofferClient];
  const rotating = (await a.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  const other = (await c.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  await b.call('services.encrypted.set', { session: rotating, service: 'wallet', data: { xprv: SECRET_VALUE } });
  await a.call('users.rotateSecret', { session: rotating });
  t.same((await b.call('services.encrypted.get', { session: rotating, service: 'wallet' })).data, { xprv: SECRET_VALUE }, 'B reads the data re-encrypted by A, with the new secret');
  await b.call('services.encrypted.update', { session: rotating, service: 'wallet', patch: { after: true } });
  t.same((await a.call('services.encrypted.get', { session: rotating, service: 'wallet' })).data, { xprv: SECRET_VALUE, after: true }, "and A reads what B wrote since: B did not write under the old secret");
  await rejectsWith(t, c.call('sessions.check', { session: other }), 'LOCKED');
  // A session resumed on another daemon has no password-derived key: rotating there asks for the password.
  await rejectsWith(t, c.call('users.rotateSecret', { session: rotating }), 'PASSWORD_REQUIRED');
});

t.test('the database stopped and started again under load: only STORAGE_FAILED meanwhile, nothing acknowledged lost, the session lives on', { skip: skip || NOT_OUR_SERVER }, async (t) => {
  const { daemons, clients } = await threeDaemons(t);
  const server = ownServer();
  if (!server) throw new Error('the throwaway cluster is not running');
  const [a, b] = clients as [CofferClient, CofferClient];
  const session = (await a.call('users.unlock', { username: 'alice', password: PASSWORD })).session;
  const acked: string[] = [];
  const failures = new Map<string, number>();
  let stop = false;
  // Four writers on each of two daemons, encrypted, all under the one stored session.
  const writers = daemons.slice(0, 2).flatMap((daemon, d) =>
    Array.from({ length: 4 }, async (_, w) => {
      const client = await daemon.client({ timeoutMs: 10_000 });
      for (let i = 0; !stop; i++) {
        const key = `d${d}w${w}i${i}`;
        try {
          await client.call('services.encrypted.update', { session, service: 'log', patch: { [key]: i } });
          acked.push(key);
        } catch (error) {
          const reason = (error as { reason?: string }).reason ?? String(error);
          failures.set(reason, (failures.get(reason) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }),
  );
  while (acked.length < 100) await new Promise((resolve) => setTimeout(resolve, 10));
  server.kill();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  server.start();
  const resumeAt = acked.length;
  for (let i = 0; i < 1000 && acked.length < resumeAt + 100; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  stop = true;
  await Promise.all(writers);
  t.ok(acked.length >= resumeAt + 100, `writes went on after the database came back (${acked.length - resumeAt} more)`);
  t.same([...failures.keys()], ['STORAGE_FAILED'], `every failure meanwhile was STORAGE_FAILED (${failures.get('STORAGE_FAILED') ?? 0} of them)`);
  const data = (await b.call('services.encrypted.get', { session, service: 'log' })).data as Record<string, number>;
  t.same(acked.filter((key) => !(key in data)), [], `none of ${acked.length} acknowledged writes lost`);
  for (const daemon of daemons) t.equal((await (await daemon.client()).call('sessions.check', { session })).username, 'alice', 'the session is served by every daemon still');
});
