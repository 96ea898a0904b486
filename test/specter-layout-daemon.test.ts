import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { pyDumpFile, pyLoads, type PyObject } from '../daemon/src/specter/index.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { checkServesVectors, havePython, pythonReadBack } from './helpers/specter-daemon.js';
import { copyDatadir, expected, passwordOf } from './helpers/specter-layout.js';
import { vectorPath } from './helpers/specter.js';
import { filesUnder } from './helpers/store.js';

/**
 * cofferd on a copy of the vectors' Specter folder: everything reads back as expected.json says,
 * the daemon's writes keep every file readable by Specter (checked with Python's cryptography and
 * json), `.bkp` always holds the previous version, and names are checked before any path is built.
 */
t.setTimeout(120_000);

t.test("a Specter folder served in place: read, written, and read back by Python as Specter would", async (t) => {
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  // users.json is written (first-unlock secrets, upgrades, users.*): the daemon owns it, as with no Specter running.
  const daemon = await startDaemon(t, { dir, args: ['--specter-users', 'manage'] });
  const client = await daemon.client();
  const sessions = await checkServesVectors(t, client, dataDir, expected);

  const svc = expected.services_file;
  const plain = expected.unencrypted_services_file;
  const ann = expected.annotations_file;
  const file = (rel: string) => path.join(dataDir, rel);
  /** Runs a write and checks that the file's .bkp is then exactly the version before it. */
  const keepsBkp = async (rel: string, write: () => Promise<unknown>): Promise<void> => {
    const before = existsSync(file(rel)) ? readFileSync(file(rel)) : undefined;
    await write();
    if (before) t.same(readFileSync(file(rel) + '.bkp'), before, `${rel}.bkp is the version before the write`);
    else t.notOk(existsSync(file(rel) + '.bkp'), `${rel}: a new file has no .bkp`);
  };

  // Writes through every verb, each file's .bkp checked.
  const session = sessions.get(svc.user)!;
  const tricky = { label: 'caf\u00e9 \u20bf \ud83d\ude80', small: 1e-5, big: 12345678901234, list: [1, 2.5, null, true], nested: { deep: { x: '"q" \\' } } };
  await keepsBkp(svc.path, () => client.call('services.encrypted.set', { session, service: 'tricky', data: tricky }));
  const [first] = Object.keys(svc.services);
  await keepsBkp(svc.path, () => client.call('services.encrypted.update', { session, service: first!, patch: { added: 'x' }, shallow: true }));
  await keepsBkp(`${plain.user}_unencrypted_services.json`, () =>
    client.call('services.unencrypted.set', { username: plain.user, service: 'spectrum', data: { host: 'h', port: 50002 } }),
  );
  await keepsBkp(ann.path, () =>
    client.call('annotations.set', { username: ann.user, wallet: ann.wallet_alias, service: ann.service_id, kind: 'addr', id: 'bc1qnewnewnewnewnewnew', data: { n: 1 } }),
  );
  await keepsBkp('users.json', () => client.call('users.create', { username: 'newbie', password: 'newbie pw' }));
  await client.call('users.changePassword', { username: 'newbie', oldPassword: 'newbie pw', newPassword: 'newbie pw 2 \u00e9' });
  t.same(readFileSync(file('users.json.bkp')), readFileSync(file('users.json')), 'after a password change the .bkp no longer holds the old password\'s record');
  const newbie = (await client.call('users.unlock', { username: 'newbie', password: 'newbie pw 2 \u00e9' })).session;
  await client.call('services.encrypted.set', { session: newbie, service: 'mine', data: { a: [1, { b: 'c' }] } });
  await client.call('annotations.set', { username: 'newbie', wallet: 'w\u00e4llet', service: 'mine', kind: 'tx', id: 'ab'.repeat(32), data: 'plain text' });
  t.ok(existsSync(file('wallets_newbie/w\u00e4llet_mine.json')), "a new user's annotations go to wallets_<id>/");

  // Names: hostile ones are -32602 before any path is built; the same rule as Specter's own names.
  const files = filesUnder(dataDir);
  for (const username of ['../evil', 'a/b', '.hidden', '__proto__']) {
    await rejectsWith(t, client.call('users.create', { username, password: 'pw' }), 'INVALID_PARAMS');
  }
  await rejectsWith(t, client.call('users.create', { username: 'nopass' }), 'PASSWORD_REQUIRED');
  // Specter leaves a deleted user's files behind: a new user of that name must not inherit them.
  writeFileSync(file('ghost_unencrypted_services.json.bkp'), pyDumpFile(pyLoads('{"secret": "{\\"of\\": \\"someone else\\"}"}')));
  await rejectsWith(t, client.call('users.create', { username: 'ghost', password: 'pw' }), 'ALREADY_EXISTS', /former user/);
  files.push('ghost_unencrypted_services.json.bkp');
  files.sort();
  await rejectsWith(t, client.call('services.unencrypted.set', { username: '..', service: 'x', data: { a: 1 } }), 'INVALID_PARAMS');
  await rejectsWith(t, client.call('annotations.set', { username: ann.user, wallet: 'Hot-Wallet', service: 'x', kind: 'tx', id: 'ab'.repeat(32), data: 1 }), 'INVALID_PARAMS');
  t.same(filesUnder(dataDir), files, 'refused calls created no file');

  const admin = (JSON.parse(readFileSync(file('users.json'), 'utf8')) as Array<{ username: string; is_admin: boolean }>).find((u) => u.is_admin)!;
  await rejectsWith(t, client.call('users.delete', { username: admin.username, password: 'not checked' }), 'INVALID_PARAMS', /admin/);

  if (havePython(t)) {
    const tokensOf = async (username: string) => {
      const s = sessions.get(username) ?? newbie;
      const ids = (await client.call('services.encrypted.list', { session: s })).services;
      return Object.fromEntries(await Promise.all(ids.map(async (service) => [service, (await client.call('services.encrypted.get', { session: s, service })).data])));
    };
    const problems = pythonReadBack({
      dir: dataDir,
      passwords: { ...Object.fromEntries(Object.entries(expected.users).map(([u, v]) => [u, v.password])), newbie: 'newbie pw 2 \u00e9' },
      encrypted: { [svc.user]: await tokensOf(svc.user), newbie: await tokensOf('newbie') },
      unencrypted: { [plain.user]: { ...plain.services, spectrum: { host: 'h', port: 50002 } } },
      annotations: { [ann.path]: JSON.parse(readFileSync(file(ann.path), 'utf8')), 'wallets_newbie/w\u00e4llet_mine.json': { addrs: {}, txs: { ['ab'.repeat(32)]: 'plain text' } } },
    });
    t.same(problems, [], 'Python reads every file as Specter would');
  }

  // A rotation: every token (and the .bkp) under the new secret, which users.json now holds.
  await client.call('users.rotateSecret', { session });
  if (havePython(t)) {
    const data = Object.fromEntries(
      await Promise.all(
        (await client.call('services.encrypted.list', { session })).services.map(async (service) => [service, (await client.call('services.encrypted.get', { session, service })).data]),
      ),
    );
    t.same(pythonReadBack({ dir: dataDir, passwords: { [svc.user]: passwordOf(svc.user) }, encrypted: { [svc.user]: data }, unencrypted: {}, annotations: {} }), []);
    writeFileSync(file(svc.path), readFileSync(file(svc.path + '.bkp')));
    t.same(pythonReadBack({ dir: dataDir, passwords: { [svc.user]: passwordOf(svc.user) }, encrypted: { [svc.user]: data }, unencrypted: {}, annotations: {} }), [], 'the .bkp too');
  }
});

t.test('recovery: missing, empty and truncated files are served from their .bkp, and the next write keeps that data; a legacy record unlocks', async (t) => {
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  cpSync(vectorPath('datadir', 'users.json'), path.join(dataDir, 'users.json'));
  const svc = expected.services_file;
  // One user per case, each a copy of the vectors' user (same password, same secret).
  const users = pyLoads(readFileSync(path.join(dataDir, 'users.json'), 'utf8')) as PyObject[];
  const template = users.find((u) => u.get('username') === svc.user)!;
  const cases = ['missing', 'empty', 'truncated'];
  for (const kind of cases) {
    const copy: PyObject = new Map(template);
    copy.set('username', `r${kind}`);
    copy.set('id', `r${kind}`);
    users.push(copy);
    for (const name of [svc.path, `${svc.path}.bkp`]) {
      const from = vectorPath('recovery', kind, name);
      if (existsSync(from)) cpSync(from, path.join(dataDir, name.replace(`${svc.user}_`, `r${kind}_`)));
    }
  }
  // And one whose secret record is at a legacy iteration count.
  const legacy = expected.encrypted_user_secret_legacy_iterations;
  const old: PyObject = new Map(users.find((u) => u.get('username') === legacy.user)!);
  old.set('username', 'rlegacy');
  old.set('id', 'rlegacy');
  old.set('encrypted_user_secret', pyLoads(readFileSync(vectorPath(legacy.file), 'utf8')));
  users.push(old);
  writeFileSync(path.join(dataDir, 'users.json'), pyDumpFile(users));
  // Without coverage hooks: this one restarts, and the in-process store test covers the same code.
  const daemon = await startDaemon(t, { dir, coverage: false, args: ['--specter-users', 'manage'] });
  const client = await daemon.client();
  const backups = new Map<string, Buffer>();
  for (const kind of cases) {
    const { session } = await client.call('users.unlock', { username: `r${kind}`, password: passwordOf(svc.user) });
    backups.set(kind, readFileSync(path.join(dataDir, `r${kind}_services.json.bkp`)));
    for (const [service, data] of Object.entries(expected.recovery.older_services)) {
      t.same((await client.call('services.encrypted.get', { session, service })).data, data, `${kind}: ${service} from the .bkp`);
    }
    await client.call('services.encrypted.set', { session, service: 'later', data: { kind } });
  }
  await client.call('users.unlock', { username: 'rlegacy', password: passwordOf(legacy.user) });
  const record = (JSON.parse(readFileSync(path.join(dataDir, 'users.json'), 'utf8')) as Array<{ username: string; encrypted_user_secret: { iterations: number } }>).find(
    (u) => u.username === 'rlegacy',
  )!;
  t.equal(record.encrypted_user_secret.iterations, 390000, `a record at ${legacy.iterations} iterations unlocks, and is saved at 390000`);
  await daemon.restart();
  const after = await daemon.client();
  for (const kind of cases) {
    const { session } = await after.call('users.unlock', { username: `r${kind}`, password: passwordOf(svc.user) });
    const ids = (await after.call('services.encrypted.list', { session })).services;
    t.same(ids.sort(), [...Object.keys(expected.recovery.older_services), 'later'].sort(), `${kind}: the recovered data and the new write, after a restart`);
    t.same((await after.call('services.encrypted.get', { session, service: 'later' })).data, { kind });
    t.same(readFileSync(path.join(dataDir, `r${kind}_services.json.bkp`)), backups.get(kind), `${kind}: the good .bkp is kept, not replaced by the bad file`);
  }
});
