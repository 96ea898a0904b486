import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { resolveId } from '../daemon/src/access/principals.js';
import { DaemonProcess, startDaemon, tempDir } from './helpers/daemon.js';
import { callsAs, NOT_ROOT, openSocketToAll } from './helpers/peer.js';

t.setTimeout(600_000);

const NOBODY = { uid: 65534, gid: 65534 };
const create = { method: 'users.create', params: { username: 'intruder' } };

t.test('the daemon\'s own uid connects as before, and daemon.status shows its credentials and full scope', async (t) => {
  const daemon = await startDaemon(t);
  const status = await (await daemon.client()).call('daemon.status', {});
  t.same(status.peer, {
    uid: process.getuid!(),
    gid: process.getgid!(),
    pid: process.pid,
    scope: { users: '*', services: '*', access: 'write', admin: true },
    grantedBy: 'default',
  });
  const allowed = daemon.logLines().find((l) => l['msg'] === 'peers allowed to connect (SO_PEERCRED)');
  t.same(allowed?.['uids'], [...new Set([process.getuid!(), 0])], 'default: the own uid and root');
});

t.test('a uid that is not allowed is closed before its first byte is read, and logged with uid, gid and pid', { skip: NOT_ROOT }, async (t) => {
  const dir = tempDir(t);
  const audit = path.join(dir, 'audit.jsonl');
  const daemon = await startDaemon(t, { dir, args: ['--audit-log', audit] });
  openSocketToAll(daemon.dir, daemon.socketPath);
  const [first, second] = await callsAs(daemon.socketPath, NOBODY, [create, { method: 'daemon.status' }]);
  t.equal(first, null, 'no answer: the connection was closed');
  t.equal(second, null);
  const root = await daemon.client();
  t.same((await root.call('users.list', {})).users, [], 'the request it sent was never read: no user was created');
  const refused = daemon.logLines().filter((l) => l['msg'] === 'connection refused: peer not allowed (--allow-uid, --allow-gid, --policy)');
  t.equal(refused.length, 1, 'one log line per refused connection');
  t.equal(refused[0]!['uid'], NOBODY.uid);
  t.equal(refused[0]!['gid'], NOBODY.gid);
  t.type(refused[0]!['pid'], 'number');
  t.notOk(daemon.logLines().some((l) => l['msg'] === 'connection open' && l['uid'] === NOBODY.uid), 'never served');
  t.notOk(daemon.logs.includes('intruder'), 'nothing it sent reached the log');
  const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(lines, [{ event: 'peer.refused', phase: 'refused', result: 'FORBIDDEN', peer: { uid: NOBODY.uid, gid: NOBODY.gid, pid: refused[0]!['pid'] } }]);
});

t.test('--allow-uid (a name or a number) lets that uid in with the full scope', { skip: NOT_ROOT }, async (t) => {
  for (const name of ['nobody', '65534']) {
    const daemon = await startDaemon(t, { coverage: false, args: ['--allow-uid', `4000,${name}`] });
    openSocketToAll(daemon.dir, daemon.socketPath);
    const [status] = await callsAs(daemon.socketPath, NOBODY, [{ method: 'daemon.status' }]);
    t.match(status?.result?.['peer'], { uid: NOBODY.uid, gid: NOBODY.gid, grantedBy: 'default', scope: { users: '*', admin: true } }, name);
    await daemon.dispose();
  }
});

t.test('--allow-gid matches the primary or a supplementary group; --socket-group implies it', { skip: NOT_ROOT }, async (t) => {
  const daemon = await startDaemon(t, { env: { COFFER_ALLOW_GID: '4242' } });
  openSocketToAll(daemon.dir, daemon.socketPath);
  t.same(await callsAs(daemon.socketPath, NOBODY, [{ method: 'daemon.status' }]), [null], 'not in 4242: refused');
  const [supplementary] = await callsAs(daemon.socketPath, { ...NOBODY, groups: [4242] }, [{ method: 'daemon.status' }]);
  t.equal(supplementary?.result?.['peer'] && (supplementary.result['peer'] as { uid: number }).uid, NOBODY.uid, 'supplementary 4242: served');
  const [primary] = await callsAs(daemon.socketPath, { uid: NOBODY.uid, gid: 4242 }, [{ method: 'daemon.status' }]);
  t.ok(primary?.result, 'primary 4242: served');

  // --socket-group: the socket is the group's (0660) and its members are allowed, no chmod needed.
  const grouped = await startDaemon(t, { args: ['--socket-group', '4243'] });
  chmodSync(grouped.dir, 0o755);
  const [member] = await callsAs(grouped.socketPath, { ...NOBODY, groups: [4243] }, [{ method: 'daemon.status' }]);
  t.ok(member?.result, 'a --socket-group member is served');
  const warning = '--socket-group members may connect with every right: narrow them with a --policy "gid:" entry';
  t.ok(grouped.logLines().some((l) => l['msg'] === warning), 'the start-up log says so');

  // A policy entry for the socket group narrows its members, and the warning goes.
  const policy = path.join(tempDir(t), 'policy.json');
  writeFileSync(policy, JSON.stringify({ 'gid:4244': { users: ['alice'], services: '*', access: 'read' } }));
  const narrowed = await startDaemon(t, { args: ['--socket-group', '4244', '--policy', policy] });
  chmodSync(narrowed.dir, 0o755);
  const [scoped] = await callsAs(narrowed.socketPath, { ...NOBODY, groups: [4244] }, [{ method: 'daemon.status' }]);
  t.match(scoped?.result?.['peer'], { grantedBy: 'gid:4244', scope: { users: ['alice'], access: 'read', admin: false } });
  t.notOk(narrowed.logLines().some((l) => l['msg'] === warning));
});

t.test('unknown names stop start-up with what to check', async (t) => {
  for (const [flag, kind, db] of [['--allow-uid', 'user', 'passwd'], ['--allow-gid', 'group', 'group']] as const) {
    const bad = new DaemonProcess(tempDir(t), { coverage: false, args: [flag, 'no-such-name-xyz'] });
    await t.rejects(bad.start(), new RegExp(`${flag} no-such-name-xyz: no such ${kind} \\(check with: getent ${db} no-such-name-xyz\\)`));
  }
  const empty = new DaemonProcess(tempDir(t), { args: ['--allow-uid', 'a,,b'] });
  await t.rejects(empty.start(), /expected names or numbers separated by commas/);
  // In process too, for the names that resolve.
  t.equal(resolveId('passwd', 'root', '--allow-uid'), 0);
  t.equal(resolveId('group', '4242', '--allow-gid'), 4242);
  t.throws(() => resolveId('group', 'no-such-name-xyz', '--socket-group'), { name: 'StartupError', message: '--socket-group no-such-name-xyz: no such group (check with: getent group no-such-name-xyz)' });
});
