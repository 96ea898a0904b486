import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { METHODS } from '@coffer/protocol';
import { scopeText } from '../client/src/cli/commands/status.js';
import { METHOD_RULES } from '../daemon/src/access/method-rules.js';
import { loadPolicy } from '../daemon/src/access/policy.js';
import { DaemonProcess, startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { rejectsWith } from './helpers/assert.js';
import { callsAs, NOT_ROOT, openSocketToAll, type Reply } from './helpers/peer.js';

t.setTimeout(600_000);

const ADDR = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const READER = { uid: 4001, gid: 4001 };
const WRITER = { uid: 4002, gid: 4002 };
const ADMIN = { uid: 4003, gid: 4003, groups: [4300] };
const SWAN_ADMIN = { uid: 4004, gid: 4004 };
const POLICY = {
  'uid:4001': { users: ['alice'], services: ['swan'], access: 'read' },
  'uid:4002': { users: ['alice'], services: '*', access: 'write', admin: false },
  'gid:4300': { users: '*', services: '*', access: 'write', admin: true },
  'uid:4004': { users: '*', services: ['swan'], access: 'write', admin: true },
};

type Expect = 'FORBIDDEN' | 'allowed';
type Case = [method: string, params: object, expect: Expect];

/** Every method is called at least once in the table below: the catalogue decides, not this list. */
const called = new Set<string>();

async function run(t: Test, socketPath: string, who: Parameters<typeof callsAs>[1], cases: Case[]): Promise<Reply[]> {
  const replies = await callsAs(socketPath, who, cases.map(([method, params]) => ({ method, params })));
  cases.forEach(([method, params, expect], i) => {
    called.add(method);
    const reason = replies[i]?.error?.data?.reason;
    const label = `uid ${who.uid}: ${method} ${JSON.stringify(params)} ${expect}`;
    if (expect === 'FORBIDDEN') {
      t.equal(reason, 'FORBIDDEN', label);
      t.notMatch(replies[i]?.error?.message ?? '', /alice-pw|"a":1|[A-Za-z0-9_-]{43}/, 'the message names the right, never the data');
    } else t.not(reason, 'FORBIDDEN', `${label} (${reason ?? 'ok'})`);
  });
  return replies;
}

t.test('every method of rpc.discover is classified once in the access table', async (t) => {
  const daemon = await startDaemon(t, { coverage: false });
  const discovered = (await (await daemon.client()).call('rpc.discover', {})).methods.map((m) => (m as { name: string }).name);
  t.same(Object.keys(METHOD_RULES).sort(), [...discovered].sort(), 'METHOD_RULES and rpc.discover name the same methods');
  t.same(Object.keys(METHODS).sort(), [...discovered].sort());
  for (const name of discovered) {
    const errors = (await (await daemon.client()).call('rpc.discover', {})).methods.find((m) => (m as { name: string }).name === name) as { errors: Array<{ data: { reason: string } }> };
    t.ok(errors.errors.some((e) => e.data.reason === 'FORBIDDEN'), `${name} documents FORBIDDEN`);
  }
});

t.test('each scope rule allows and refuses what it says, for every method, and a refused call changes nothing', { skip: NOT_ROOT }, async (t) => {
  const dir = tempDir(t);
  const policy = path.join(dir, 'policy.json');
  writeFileSync(policy, JSON.stringify(POLICY));
  const daemon = await startDaemon(t, { dir, args: [...FAST_KDF_ARGS, '--policy', policy] });
  openSocketToAll(daemon.dir, daemon.socketPath);
  const root = await daemon.client();
  await root.call('users.create', { username: 'alice', password: 'alice-pw' });
  await root.call('users.create', { username: 'bob', password: 'bob-pw' });
  await root.call('services.unencrypted.set', { username: 'alice', service: 'swan', data: { a: 1 } });
  await root.call('services.unencrypted.set', { username: 'alice', service: 'other', data: { b: 2 } });
  await root.call('services.unencrypted.set', { username: 'bob', service: 'swan', data: { c: 3 } });
  const rootSession = (await root.call('users.unlock', { username: 'alice', password: 'alice-pw' })).session;
  await root.call('services.encrypted.set', { session: rootSession, service: 'swan', data: { secret: 's1' } });
  await root.call('services.encrypted.set', { session: rootSession, service: 'other', data: { secret: 's2' } });

  // The reader: alice's swan, read-only, no admin.
  const [unlocked] = await run(t, daemon.socketPath, READER, [
    ['users.unlock', { username: 'alice', password: 'alice-pw' }, 'allowed'],
    ['users.unlock', { username: 'bob', password: 'bob-pw' }, 'FORBIDDEN'],
  ]);
  const R = unlocked!.result!['session'] as string;
  const reader = await run(t, daemon.socketPath, READER, [
    ['daemon.status', {}, 'allowed'],
    ['rpc.discover', {}, 'allowed'],
    ['users.list', {}, 'allowed'],
    ['users.create', { username: 'carol' }, 'FORBIDDEN'],
    ['users.delete', { username: 'alice', password: 'alice-pw' }, 'FORBIDDEN'],
    ['users.changePassword', { username: 'alice', oldPassword: 'alice-pw', newPassword: 'x-pw' }, 'FORBIDDEN'],
    ['users.rotateSecret', { session: R }, 'FORBIDDEN'],
    ['users.lock', { username: 'bob' }, 'FORBIDDEN'],
    ['users.lock', { username: 'alice' }, 'FORBIDDEN'],
    ['users.lock', { username: 'bob', session: R }, 'FORBIDDEN'],
    ['sessions.check', { session: R }, 'allowed'],
    ['services.encrypted.get', { session: R, service: 'swan' }, 'allowed'],
    ['services.encrypted.get', { session: R, service: 'other' }, 'FORBIDDEN'],
    ['services.encrypted.set', { session: R, service: 'swan', data: { secret: 'x' } }, 'FORBIDDEN'],
    ['services.encrypted.update', { session: R, service: 'swan', patch: { secret: 'x' } }, 'FORBIDDEN'],
    ['services.encrypted.delete', { session: R, service: 'swan' }, 'FORBIDDEN'],
    ['services.encrypted.list', { session: R }, 'allowed'],
    ['services.encrypted.ids', { username: 'alice' }, 'allowed'],
    ['services.encrypted.ids', { username: 'bob' }, 'FORBIDDEN'],
    ['services.encrypted.wipe', { username: 'alice' }, 'FORBIDDEN'],
    ['services.unencrypted.get', { username: 'alice', service: 'swan' }, 'allowed'],
    ['services.unencrypted.get', { username: 'alice', service: 'other' }, 'FORBIDDEN'],
    ['services.unencrypted.get', { username: 'bob', service: 'swan' }, 'FORBIDDEN'],
    ['services.unencrypted.set', { username: 'alice', service: 'swan', data: { a: 2 } }, 'FORBIDDEN'],
    ['services.unencrypted.update', { username: 'alice', service: 'swan', patch: { a: 2 } }, 'FORBIDDEN'],
    ['services.unencrypted.delete', { username: 'alice', service: 'swan' }, 'FORBIDDEN'],
    ['services.unencrypted.list', { username: 'alice' }, 'allowed'],
    ['services.unencrypted.wipe', { username: 'alice' }, 'FORBIDDEN'],
    ['watch.subscribe', { topics: [{ scope: 'services', username: 'alice', service: 'swan' }, { scope: 'users', username: 'alice' }] }, 'allowed'],
    ['watch.subscribe', { topics: [{ scope: 'services' }] }, 'FORBIDDEN'],
    ['watch.subscribe', { topics: [{ scope: 'annotations', username: 'alice' }] }, 'FORBIDDEN'],
    ['watch.subscribe', { topics: [{ scope: 'docs' }] }, 'FORBIDDEN'],
    ['watch.unsubscribe', { subscription: 'w0000000000000000' }, 'allowed'],
    ['docs.get', { name: 'wallets' }, 'FORBIDDEN'],
    ['docs.set', { name: 'wallets', data: { x: 1 } }, 'FORBIDDEN'],
    ['docs.update', { name: 'wallets', patch: { x: 1 } }, 'FORBIDDEN'],
    ['docs.delete', { name: 'wallets' }, 'FORBIDDEN'],
    ['docs.list', {}, 'FORBIDDEN'],
    ['annotations.get', { username: 'alice', wallet: 'w', service: 'swan' }, 'allowed'],
    ['annotations.get', { username: 'alice', wallet: 'w', service: 'other' }, 'FORBIDDEN'],
    ['annotations.list', { username: 'alice', service: 'swan' }, 'allowed'],
    ['annotations.list', { username: 'alice' }, 'FORBIDDEN'],
    ['annotations.set', { username: 'alice', wallet: 'w', service: 'swan', kind: 'addr', id: ADDR, data: 1 }, 'FORBIDDEN'],
    ['annotations.update', { username: 'alice', wallet: 'w', service: 'swan', kind: 'addr', id: ADDR, patch: {} }, 'FORBIDDEN'],
    ['annotations.delete', { username: 'alice', wallet: 'w', service: 'swan', kind: 'addr', id: ADDR }, 'FORBIDDEN'],
    ['files.write', { path: 'config.json', text: '{}' }, 'FORBIDDEN'],
    ['daemon.backup', { dest: '/nonexistent-coffer-dir/b' }, 'FORBIDDEN'],
    ['daemon.verify', {}, 'FORBIDDEN'],
    // The holder of alice's session may lock alice; then the session is gone.
    ['users.lock', { username: 'alice', session: R }, 'allowed'],
    ['sessions.end', { session: R }, 'allowed'],
  ]);
  const status = reader[0]!.result!['peer'];
  t.same(status, { uid: 4001, gid: 4001, pid: (status as { pid: number }).pid, scope: { users: ['alice'], services: ['swan'], access: 'read', admin: false }, grantedBy: 'uid:4001' });
  t.same((reader[2]!.result!['users'] as Array<{ username: string }>).map((u) => u.username), ['alice'], 'users.list: only the scope\'s users');
  t.same(reader[11]!.result!['data'], { secret: 's1' }, 'its encrypted read works');
  t.same(reader[16]!.result!['services'], ['swan'], 'services.encrypted.list: only the scope\'s services');
  t.same(reader[17]!.result!['services'], ['swan']);
  t.same(reader[26]!.result!['services'], ['swan']);
  t.match(reader[3]!.error!.message, /users\.create needs the admin right/);
  t.match(reader[13]!.error!.message, /needs write access; this peer may only read/);
  t.same(reader[3]!.error!.data, { missing: 'users.create needs the admin right', reason: 'FORBIDDEN' });

  // Nothing a refused call asked for happened (the reader's own lock of alice ended root's session too).
  t.same((await root.call('users.list', {})).users.map((u) => u.username), ['alice', 'bob']);
  t.same((await root.call('services.unencrypted.get', { username: 'alice', service: 'swan' })).data, { a: 1 });
  t.same((await root.call('services.unencrypted.list', { username: 'bob' })).services, ['swan']);
  await rejectsWith(t, root.call('sessions.check', { session: rootSession }), 'LOCKED');
  const again = (await root.call('users.unlock', { username: 'alice', password: 'alice-pw' })).session;
  t.same((await root.call('services.encrypted.get', { session: again, service: 'swan' })).data, { secret: 's1' });

  // The writer: all of alice's services, read-write, no admin.
  const [opened] = await run(t, daemon.socketPath, WRITER, [['users.unlock', { username: 'alice', password: 'alice-pw' }, 'allowed']]);
  const W = opened!.result!['session'] as string;
  const writer = await run(t, daemon.socketPath, WRITER, [
    ['services.encrypted.set', { session: W, service: 'other', data: { secret: 'w2' } }, 'allowed'],
    ['services.encrypted.update', { session: W, service: 'swan', patch: { more: 1 } }, 'allowed'],
    ['services.unencrypted.update', { username: 'alice', service: 'other', patch: { b: 3 } }, 'allowed'],
    ['services.unencrypted.set', { username: 'bob', service: 'swan', data: {} }, 'FORBIDDEN'],
    ['annotations.set', { username: 'alice', wallet: 'w', service: 'swan', kind: 'addr', id: ADDR, data: 'label' }, 'allowed'],
    ['users.create', { username: 'carol' }, 'FORBIDDEN'],
    ['users.lock', { username: 'bob' }, 'FORBIDDEN'],
    ['services.encrypted.wipe', { username: 'alice' }, 'FORBIDDEN'],
    ['users.rotateSecret', { session: W }, 'FORBIDDEN'],
    ['docs.set', { name: 'wallets', data: { x: 1 } }, 'FORBIDDEN'],
    // A session is good for the uid that unlocked it only: root's token, stolen, does nothing here.
    ['services.encrypted.get', { session: again, service: 'swan' }, 'FORBIDDEN'],
    ['services.encrypted.set', { session: again, service: 'swan', data: {} }, 'FORBIDDEN'],
    ['sessions.check', { session: again }, 'FORBIDDEN'],
    ['sessions.end', { session: again }, 'FORBIDDEN'],
    ['users.lock', { username: 'alice', session: again }, 'FORBIDDEN'],
    ['users.changePassword', { username: 'alice', oldPassword: 'alice-pw', newPassword: 'alice-pw2' }, 'allowed'],
  ]);
  t.notOk(writer[0]!.error, 'the writer writes');
  t.match(writer[10]!.error!.message, /this session was opened by another uid and works for that uid only/);
  t.same((await root.call('services.encrypted.get', { session: again, service: 'swan' })).data, { secret: 's1', more: 1 }, "root's session survived its theft");
  t.same((await root.call('services.encrypted.get', { session: again, service: 'other' })).data, { secret: 'w2' });
  t.same((await root.call('services.unencrypted.get', { username: 'bob', service: 'swan' })).data, { c: 3 });
  // ... and the writer's token is no good to root either: binding is by uid, root included.
  await rejectsWith(t, root.call('services.encrypted.get', { session: W, service: 'swan' }), 'FORBIDDEN');

  // The admin group: everything, also across users.
  const admin = await run(t, daemon.socketPath, ADMIN, [
    ['daemon.status', {}, 'allowed'],
    ['users.create', { username: 'carol' }, 'allowed'],
    ['users.lock', { username: 'alice' }, 'allowed'],
    ['services.unencrypted.wipe', { username: 'bob' }, 'allowed'],
    ['docs.set', { name: 'wallets', data: { x: 1 } }, 'allowed'],
    ['docs.list', {}, 'allowed'],
    ['files.write', { path: 'config.json', text: '{}' }, 'allowed'],
    ['users.delete', { username: 'carol' }, 'allowed'],
    ['daemon.verify', {}, 'allowed'],
    ['daemon.backup', { dest: '/nonexistent-coffer-dir/b' }, 'allowed'],
  ]);
  t.match(admin[0]!.result!['peer'], { uid: 4003, grantedBy: 'gid:4300', scope: { admin: true } });
  for (const i of [1, 2, 3, 4, 7]) t.notOk(admin[i]!.error, `admin call ${i} succeeded`);
  t.same((await root.call('services.unencrypted.list', { username: 'bob' })).services, [], 'the admin wiped bob');
  await rejectsWith(t, root.call('sessions.check', { session: again }), 'LOCKED');

  // An admin scoped to some services: a wipe touches every service, so it is not theirs to make.
  const swanAdmin = await run(t, daemon.socketPath, SWAN_ADMIN, [
    ['services.unencrypted.wipe', { username: 'alice' }, 'FORBIDDEN'],
    ['services.encrypted.wipe', { username: 'alice' }, 'FORBIDDEN'],
    ['services.unencrypted.set', { username: 'bob', service: 'swan', data: { d: 4 } }, 'allowed'],
    ['users.create', { username: 'dave' }, 'allowed'],
  ]);
  t.match(swanAdmin[0]!.error!.message, /touches every service of the user and needs a scope of every service/);
  t.same((await root.call('services.unencrypted.list', { username: 'alice' })).services, ['swan', 'other'], 'alice was not wiped');

  t.same([...called].sort(), Object.keys(METHODS).sort(), 'every method of the catalogue was called as a scoped peer');
});

t.test('a policy file that does not say exactly what it means stops start-up', async (t) => {
  const dir = tempDir(t);
  const bad: Array<[unknown, RegExp]> = [
    ['not json', /cannot read it as JSON/],
    [[], /expected a JSON object of "uid:NAME" \/ "gid:NAME" keys/],
    [{ 'user:1': {} }, /keys are "uid:<user name or number>" or "gid:<group name or number>"/],
    [{ 'uid:no-such-user-xyz': {} }, /no such user \(check with: getent passwd no-such-user-xyz\)/],
    [{ 'gid:no-such-group-xyz': {} }, /no such group \(check with: getent group no-such-group-xyz\)/],
    [{ 'uid:1': 'all' }, /expected a scope object like/],
    [{ 'uid:1': { users: '*', services: '*', access: 'write', admn: true } }, /unknown member admn/],
    [{ 'uid:1': { users: 'alice', services: '*', access: 'write' } }, /admin may be left out: false/],
    [{ 'gid:1': { users: '*', services: '*', access: 'all' } }, /admin may be left out/],
    [{ 'gid:1': { users: '*', services: [1], access: 'read' } }, /admin may be left out/],
    [{ 'uid:1': { users: '*', services: '*', access: 'read', admin: 'yes' } }, /admin may be left out/],
  ];
  const file = path.join(dir, 'policy.json');
  for (const [content, message] of bad) {
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    t.throws(() => loadPolicy(file), { name: 'StartupError', message }, JSON.stringify(content));
  }
  t.throws(() => loadPolicy(path.join(dir, 'absent.json')), { message: /cannot read it as JSON \(ENOENT/ });
  writeFileSync(file, JSON.stringify({ 'uid:root': { users: ['a'], services: '*', access: 'read' }, 'gid:0': { users: '*', services: ['s'], access: 'write', admin: true } }));
  t.same(loadPolicy(file), [
    { key: 'uid:0', kind: 'uid', id: 0, scope: { users: ['a'], services: '*', access: 'read', admin: false } },
    { key: 'gid:0', kind: 'gid', id: 0, scope: { users: '*', services: ['s'], access: 'write', admin: true } },
  ], 'names resolve to numbers; admin defaults to false');

  // End to end: the daemon stops before it listens (or touches its data dir), exit code 1.
  writeFileSync(file, '{"uid:1": {}}');
  const daemon = new DaemonProcess(tempDir(t), { coverage: false, args: ['--policy', file] });
  await t.rejects(daemon.start(), /exited \(1\)/);
  t.notOk(existsSync(daemon.dataDir), 'the data dir was not created');
});

t.test('coffer status says a scope in words', async (t) => {
  t.equal(scopeText({ users: '*', services: '*', access: 'write', admin: true }), 'every user, every service, write, admin');
  t.equal(scopeText({ users: ['alice', 'bob'], services: ['swan'], access: 'read', admin: false }), 'users alice, bob, services swan, read');
});
