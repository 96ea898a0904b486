import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { rejectsWith } from './helpers/assert.js';
import { DaemonProcess, startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { callsAs, NOT_ROOT, openSocketToAll } from './helpers/peer.js';

t.setTimeout(600_000);

const PASSWORD = 'hunter2-audit-pw';
const NEW_PASSWORD = 'correct-horse-audit';
const VALUE = 'v4lu3-s3cret-in-audit';
const PLAIN = 'pl41n-v4lu3-in-audit';

type Line = Record<string, unknown>;
const lines = (file: string): Line[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Line);

t.test('every unlock, lock, session end, user change, wipe and encrypted read/write leaves an intent and an outcome line, and no secret', async (t) => {
  const dir = tempDir(t);
  const audit = path.join(dir, 'audit.jsonl');
  const daemon = await startDaemon(t, { dir, args: [...FAST_KDF_ARGS, '--audit-log', audit] });
  const c = await daemon.client();
  await c.call('users.create', { username: 'alice', password: PASSWORD });
  await rejectsWith(t, c.call('users.unlock', { username: 'alice', password: 'wrong-one' }), 'BAD_PASSWORD');
  const { session } = await c.call('users.unlock', { username: 'alice', password: PASSWORD });
  await c.call('services.encrypted.set', { session, service: 'swan', data: { v: VALUE } });
  await c.call('services.encrypted.update', { session, service: 'swan', patch: { w: VALUE } });
  t.same((await c.call('services.encrypted.get', { session, service: 'swan' })).data, { v: VALUE, w: VALUE });
  await c.call('services.encrypted.list', { session });
  await c.call('services.encrypted.delete', { session, service: 'swan' });
  await c.call('services.unencrypted.set', { username: 'alice', service: 'swan', data: { p: PLAIN } });
  await c.call('docs.set', { name: 'notes', data: { n: VALUE }, encryptedFields: ['n'], session });
  await c.call('docs.get', { name: 'notes', session });
  await c.call('docs.get', { name: 'notes' });
  await c.call('users.rotateSecret', { session });
  await c.call('sessions.end', { session });
  await c.call('users.changePassword', { username: 'alice', oldPassword: PASSWORD, newPassword: NEW_PASSWORD });
  await c.call('users.unlock', { username: 'alice', password: NEW_PASSWORD });
  await c.call('users.lock', { username: 'alice' });
  await c.call('services.unencrypted.wipe', { username: 'alice' });
  await c.call('services.encrypted.wipe', { username: 'alice' });
  await c.call('users.delete', { username: 'alice', password: NEW_PASSWORD });

  const all = lines(audit);
  const pairs = all.map((l) => `${String(l['event'])} ${String(l['phase'])} ${String(l['result'] ?? '')}`.trim());
  t.same(pairs, [
    'users.create intent', 'users.create done ok',
    'users.unlock intent', 'users.unlock done BAD_PASSWORD',
    'users.unlock intent', 'users.unlock done ok',
    'services.encrypted.set intent', 'services.encrypted.set done ok',
    'services.encrypted.update intent', 'services.encrypted.update done ok',
    'services.encrypted.get intent', 'services.encrypted.get done ok',
    'services.encrypted.list intent', 'services.encrypted.list done ok',
    'services.encrypted.delete intent', 'services.encrypted.delete done ok',
    'docs.set intent', 'docs.set done ok',
    'docs.get intent', 'docs.get done ok',
    'users.rotateSecret intent', 'users.rotateSecret done ok',
    'sessions.end intent', 'sessions.end done ok',
    'users.changePassword intent', 'users.changePassword done ok',
    'users.unlock intent', 'users.unlock done ok',
    'users.lock intent', 'users.lock done ok',
    'services.unencrypted.wipe intent', 'services.unencrypted.wipe done ok',
    'services.encrypted.wipe intent', 'services.encrypted.wipe done ok',
    'users.delete intent', 'users.delete done ok',
  ], 'one intent and one outcome per audited call, in order; unencrypted reads/writes and plain docs are not audited');
  const me = { uid: process.getuid!(), gid: process.getgid!(), pid: process.pid };
  for (const line of all) {
    t.match(line, { peer: me, conn: Number, time: String }, `${String(line['event'])}: the peer's uid, gid and pid`);
    if (line['event'] !== 'docs.set' && line['event'] !== 'docs.get') t.equal(line['user'], 'alice');
  }
  t.match(all.find((l) => l['event'] === 'services.encrypted.set'), { user: 'alice', service: 'swan' }, 'the user behind the session, and the service');
  const text = readFileSync(audit, 'utf8');
  for (const secret of [PASSWORD, NEW_PASSWORD, 'wrong-one', session, VALUE, PLAIN]) t.notOk(text.includes(secret), 'no password, token or value');
  t.equal(statSync(audit).mode & 0o777, 0o600, 'the audit file is 0600');
});

t.test('an audit stream that cannot be written refuses the call and stores nothing (fail closed)', async (t) => {
  // /dev/full: every write fails with ENOSPC, as on a full file system.
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--audit-log', '/dev/full'] });
  const c = await daemon.client();
  const error = await rejectsWith(t, c.call('users.create', { username: 'bob', password: PASSWORD }), 'STORAGE_FAILED', /the audit log \(cofferd --audit-log\) cannot be written \(ENOSPC\)/);
  t.same(error.data, { audit: 'ENOSPC' });
  await rejectsWith(t, c.call('services.unencrypted.wipe', { username: 'bob' }), 'STORAGE_FAILED');
  t.same((await c.call('users.list', {})).users, [], 'no user was created');
  t.same(readdirSync(daemon.dataDir).filter((f) => f !== 'lost+found'), [], 'nothing was written to the data dir');
  t.ok((await c.call('daemon.status', {})).pid, 'calls that are not audited are served');
});

t.test('an audit path that cannot be opened stops start-up with the path and the errno', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'a-dir'));
  const bad = new DaemonProcess(tempDir(t), { coverage: false, args: ['--audit-log', path.join(dir, 'a-dir')] });
  await t.rejects(bad.start(), /--audit-log .*a-dir: cannot open it for appending \(EISDIR\)/);
});

t.test('a refused peer and a FORBIDDEN call are audited; a refusal stands even when its line cannot be written', { skip: NOT_ROOT }, async (t) => {
  const dir = tempDir(t);
  const audit = path.join(dir, 'audit.jsonl');
  const policy = path.join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify({ 'uid:4001': { users: ['alice'], services: '*', access: 'read' } }));
  const daemon = await startDaemon(t, { dir, args: ['--audit-log', audit, '--policy', policy] });
  openSocketToAll(daemon.dir, daemon.socketPath);
  const [forbidden] = await callsAs(daemon.socketPath, { uid: 4001, gid: 4001 }, [{ method: 'users.create', params: { username: 'alice' } }]);
  t.equal(forbidden?.error?.data?.reason, 'FORBIDDEN');
  t.match(lines(audit), [{ event: 'users.create', phase: 'refused', result: 'FORBIDDEN', user: 'alice', why: 'users.create needs the admin right', peer: { uid: 4001, gid: 4001 } }]);

  const full = await startDaemon(t, { args: ['--audit-log', '/dev/full', '--policy', policy] });
  openSocketToAll(full.dir, full.socketPath);
  const [still] = await callsAs(full.socketPath, { uid: 4001, gid: 4001 }, [{ method: 'users.create', params: { username: 'alice' } }]);
  t.equal(still?.error?.data?.reason, 'FORBIDDEN', 'refused all the same');
  t.ok(full.logLines().some((l) => l['msg'] === 'audit line not written' && l['reason'] === 'ENOSPC'), 'and the daemon log says the line is missing');
});

t.test('a session that ends by expiry leaves a line naming the daemon, the user and no token', async (t) => {
  const dir = tempDir(t);
  const audit = path.join(dir, 'audit.jsonl');
  const daemon = await startDaemon(t, { dir, args: [...FAST_KDF_ARGS, '--audit-log', audit, '--session-idle', '1'] });
  const c = await daemon.client();
  await c.call('users.create', { username: 'alice', password: PASSWORD });
  const { session } = await c.call('users.unlock', { username: 'alice', password: PASSWORD });
  const expiredLines = () => lines(audit).filter((l) => l['event'] === 'sessions.expired');
  const deadline = Date.now() + 20_000;
  while (expiredLines().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  const [line] = expiredLines();
  t.match(line, { event: 'sessions.expired', phase: 'done', user: 'alice', result: 'ok', peer: { pid: daemon.pid } }, 'the sweep found it idle past --session-idle');
  await rejectsWith(t, c.call('sessions.check', { session }), 'LOCKED');
  t.notMatch(readFileSync(audit, 'utf8'), session, 'no token in the file');
});
