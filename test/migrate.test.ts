import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { parseLossless, stringifyLossless } from '@coffer/protocol';
import type { CofferClient } from '@coffer/client';
import { docNameIn } from '../client/src/migrate.js';
import { coffer } from './helpers/cli.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { copyDatadir, passwordOf } from './helpers/specter-layout.js';

/**
 * `coffer migrate` (issue 17 §3): the Specter vectors go specter -> coffer -> specter, and all three
 * data dirs read the same through the daemon (users, passwords, every service value, annotations,
 * documents); what is byte-identical and what cannot be; what migrate refuses.
 */
t.setTimeout(300_000);

const KDF_ENV = { COFFER_KDF_OPSLIMIT: FAST_KDF_ARGS[1]!, COFFER_KDF_MEMLIMIT: FAST_KDF_ARGS[3]! };

/** Everything a data dir holds, as read through the API with every password user unlocked. */
async function readAll(client: CofferClient): Promise<string> {
  const out: Record<string, unknown> = {};
  const sessions: string[] = [];
  for (const user of (await client.call('users.list', {})).users) {
    const u: Record<string, unknown> = { hasPassword: user.hasPassword };
    u['unencrypted'] = await Promise.all(
      (await client.call('services.unencrypted.list', { username: user.username })).services.sort().map(async (service) => [service, (await client.callExact('services.unencrypted.get', { username: user.username, service })).data]),
    );
    if (user.hasPassword) {
      const { session } = await client.call('users.unlock', { username: user.username, password: passwordOf(user.username) });
      sessions.push(session);
      u['encrypted'] = await Promise.all(
        (await client.call('services.encrypted.list', { session })).services.sort().map(async (service) => [service, (await client.callExact('services.encrypted.get', { session, service })).data]),
      );
    }
    const { entries } = await client.call('annotations.list', { username: user.username });
    u['annotations'] = await Promise.all(entries.map(async (e) => [e, await client.callExact('annotations.get', { username: user.username, ...e })]));
    out[user.username] = u;
  }
  const docs: unknown[] = [];
  for (const doc of (await client.call('docs.list', {})).docs) {
    const reads = await Promise.all([undefined, ...sessions].map((session) => client.callExact('docs.get', { name: doc.name, ...(session ? { session } : {}) })));
    const best = reads.find((r) => r.locked.length === 0) ?? reads[0]!;
    docs.push([doc.name, best.data, best.encryptedFields]);
  }
  out['docs'] = docs;
  return stringifyLossless(out as never, { indent: 1 });
}

/** Strips revisions (they hash the stored form, which differs between layouts). */
function withoutRevisions(text: string): string {
  return text.replace(/"revision": ?"[^"]*"/g, '"revision": "-"');
}

t.test('the Specter vectors round-trip specter -> coffer -> specter', async (t) => {
  const root = tempDir(t);
  const a = copyDatadir(t, path.join(root, 'a'));
  // A document too, with a sealed field, to carry across both layouts.
  const seed = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--data-dir', a, '--specter-users', 'manage'], coverage: false });
  const seedClient = await seed.client();
  const { session } = await seedClient.call('users.unlock', { username: 'bob', password: passwordOf('bob') });
  const exact = parseLossless('{"label": "café", "big": 12345678901234567890, "pin": "p1n", "n": 1.50}') as never;
  await seedClient.callExact('docs.set', { name: 'swan.json', data: exact, encryptedFields: ['pin'], session });
  await seedClient.callExact('docs.set', { name: 'plain.json', data: parseLossless('{"n": 1.50}') as never });
  await seed.stop();
  const before = await (async () => {
    const d = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--data-dir', a, '--specter-users', 'manage'], coverage: false });
    const text = await readAll(await d.client());
    await d.stop();
    return text;
  })();

  const users = (await (async () => {
    const d = await startDaemon(t, { args: ['--data-dir', a], coverage: false });
    const list = (await (await d.client()).call('users.list', {})).users;
    await d.stop();
    return list;
  })());
  const stdin = users.filter((u) => u.hasPassword).map((u) => `${passwordOf(u.username)}\n`).join('');
  const b = path.join(root, 'b');
  const usersBefore = readFileSync(path.join(a, 'users.json'));
  let r = await coffer(['migrate', '--to', 'coffer', '--from-data-dir', a, '--to-data-dir', b], { stdin, env: KDF_ENV });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^migrated +${a} \\(specter\\) -> ${b} \\(coffer\\)\\nusers +${users.length}\\nservices +\\d+ encrypted, \\d+ unencrypted\\nannotations +\\d+\\ndocuments +2\\n$`));
  t.match(r.stderr, /copied user bob\n/);
  t.same(readFileSync(path.join(a, 'users.json')), usersBefore, 'the source is not written (its daemon served a copy)');
  const c = path.join(root, 'c');
  r = await coffer(['migrate', '--to', 'specter', '--from-data-dir', b, '--to-data-dir', c, '--json'], { stdin, env: KDF_ENV });
  t.equal(r.code, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { fromLayout: 'coffer', toLayout: 'specter', users: users.length, docs: 2 });

  for (const [name, dir, layout] of [['coffer', b, 'coffer'], ['specter again', c, 'specter']] as const) {
    const d = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--data-dir', dir, '--specter-users', 'manage'], coverage: false });
    const client = await d.client();
    t.equal((await client.call('daemon.status', {})).layout, layout);
    const got = await readAll(client);
    // Documents are named by the layout: Specter's root `swan.json` is coffer's `swan`.
    const expected = layout === 'coffer' ? before.replace(/"(plain|swan)\.json"/g, '"$1"') : before;
    t.equal(withoutRevisions(got), withoutRevisions(expected), `${name}: the same data through the daemon`);
    await d.stop();
  }
  // Byte-identical where the files hold no ciphertext and Specter's encoding is deterministic.
  // Specter stores 1.50 as Python does (1.5); past 2^64 the integer's digits are kept whole.
  t.match(before, /"big": 12345678901234567890,/, 'exact number text is what is compared');
  for (const file of ['plain.json', 'wallets_bob/hot_wallet_2_exfund.json']) {
    t.same(readFileSync(path.join(c, file)), readFileSync(path.join(a, file)), `${file}: byte-identical after the round trip`);
  }
  // Specter wrote its "encrypted_storage_version" key first in this file; a file cofferd creates
  // gets it last (the API carries values, not where that bookkeeping sat): same JSON, other order.
  const services = (dir: string) => readFileSync(path.join(dir, 'carol_unencrypted_services.json'), 'utf8');
  t.same(JSON.parse(services(c)), JSON.parse(services(a)), 'carol_unencrypted_services.json: the same JSON');
  t.not(services(c), services(a), '(not the same bytes: the version key moved)');
  t.not(readFileSync(path.join(c, 'bob_services.json'), 'utf8'), readFileSync(path.join(a, 'bob_services.json'), 'utf8'), 'ciphertext is new (new secret, new IVs)');
});

t.test('what migrate refuses', async (t) => {
  const root = tempDir(t);
  const a = copyDatadir(t, path.join(root, 'a'));
  const run = (...args: string[]) => coffer(['migrate', ...args], { stdin: 'wrong\n', env: { ...KDF_ENV, COFFER_SOCKET: path.join(root, 'none.sock') } });
  t.match(await run('--to', 'coffer', '--from-data-dir', a, '--to-data-dir', path.join(a, 'inside')), { code: 3, stderr: /never works in place/ });
  t.match(await run('--to', 'coffer', '--from-data-dir', a, '--to-data-dir', a), { code: 3, stderr: /never works in place/ });
  mkdirSync(path.join(root, 'full'));
  writeFileSync(path.join(root, 'full', 'x'), '');
  t.match(await run('--to', 'coffer', '--from-data-dir', a, '--to-data-dir', path.join(root, 'full')), { code: 3, stderr: /is not empty: migrate writes into a new or empty directory only/ });
  t.match(await run('--to', 'coffer', '--from-data-dir', a, '--to-data-dir', path.join(root, 'full', 'x')), { code: 3, stderr: /cannot read .* \(ENOTDIR\)/ });
  t.match(await run('--to', 'specter', '--from-data-dir', a, '--to-data-dir', path.join(root, 'same')), { code: 3, stderr: /is already in the specter layout: copy it with coffer backup and coffer restore/ });
  t.match(await run('--to', 'elsewhere', '--from-data-dir', a, '--to-data-dir', path.join(root, 'x')), { code: 3, stderr: /Allowed choices are coffer, specter/ });
  // A wrong password: refused by the source before the user exists on the target.
  const wrong = await run('--to', 'coffer', '--from-data-dir', a, '--to-data-dir', path.join(root, 'b'));
  t.match(wrong, { code: 1, stderr: /\[BAD_PASSWORD\]/ });
  // A coffer user without a password has no Specter equivalent (Specter users log in).
  const coffer0 = tempDir(t);
  const plain = await startDaemon(t, { args: [...FAST_KDF_ARGS], coverage: false, dir: coffer0 });
  const plainClient = await plain.client();
  await plainClient.call('users.create', { username: 'admin' });
  await plainClient.call('users.create', { username: 'nopw' });
  await plain.stop();
  const np = await run('--to', 'specter', '--from-data-dir', plain.dataDir, '--to-data-dir', path.join(root, 'np'));
  // (admin, without a password here, stays Specter's default admin there: Specter's admin has one.)
  t.match(np, { code: 1, stderr: /copied user admin\n.*\[PASSWORD_REQUIRED\]/s });
  // A daemon serving the source: stop it first.
  const served = await startDaemon(t, { args: ['--data-dir', a], coverage: false });
  const r = await coffer(['migrate', '--to', 'coffer', '--from-data-dir', a, '--to-data-dir', path.join(root, 'c'), '--socket', served.socketPath]);
  t.match(r, { code: 1, stderr: /serves .*: stop it first/ });
});

t.test('document names between the layouts', async (t) => {
  t.equal(docNameIn('otp.json', 'coffer'), 'otp');
  t.equal(docNameIn('otp', 'coffer'), 'otp', 'already a coffer name');
  t.equal(docNameIn('plugins/x.json', 'coffer'), undefined, 'in a folder: no coffer name');
  t.equal(docNameIn('notes.txt', 'coffer'), undefined);
  t.equal(docNameIn('otp', 'specter'), 'otp.json');
  t.equal(docNameIn('plugins/x.json', 'specter'), 'plugins/x.json', 'already a specter name');
  t.equal(docNameIn('bob_services', 'specter'), undefined, "bob_services.json is Specter's services file, not a document");
});

t.test('names the target cannot hold are refused before anything is written', async (t) => {
  const root = tempDir(t);
  const seeded = async (name: string, seed: (client: CofferClient) => Promise<unknown>): Promise<string> => {
    const dir = copyDatadir(t, path.join(root, name));
    const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--data-dir', dir, '--specter-users', 'manage'], coverage: false });
    await seed(await daemon.client());
    await daemon.stop();
    return dir;
  };
  const withDoc = await seeded('doc', (c) => c.call('docs.set', { name: 'plugins/x.json', data: { a: 1 } }));
  const stdin = ['admin', 'bob', 'carol'].map((u) => `${passwordOf(u)}\n`).join('');
  const run = (from: string, ...extra: string[]) => coffer(['migrate', '--to', 'coffer', '--from-data-dir', from, '--to-data-dir', path.join(root, 'b'), ...extra], { stdin, env: KDF_ENV });
  let r = await run(withDoc);
  t.match(r, { code: 3, stderr: /Documents "plugins\/x.json" have no name in the coffer layout .*pass --without-docs; nothing was written/ });
  t.throws(() => readFileSync(path.join(root, 'b', 'users.json')), { code: 'ENOENT' }, 'nothing written');
  r = await run(withDoc, '--without-docs');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /documents +0\n/);
});
