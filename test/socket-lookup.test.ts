import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CofferClient, DEVELOPMENT_SOCKET, resolveSocketPath, SYSTEM_SOCKET } from '@coffer/client';
import { coffer, cofferProcess } from './helpers/cli.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { rejectsWith } from './helpers/assert.js';

/**
 * Which socket the TypeScript client and the CLI talk to (--socket, $COFFER_SOCKET, the installed
 * daemon's /run/coffer/cofferd.sock, the checkout's ./.coffer/cofferd.sock), and what they say when
 * it cannot be reached: nothing there, permission denied (which group to join), anything else.
 */
t.setTimeout(120_000);

t.test('the lookup order: given, $COFFER_SOCKET, then the first well-known path that exists', async (t) => {
  t.same([SYSTEM_SOCKET, DEVELOPMENT_SOCKET], ['/run/coffer/cofferd.sock', './.coffer/cofferd.sock']);
  const dir = tempDir(t);
  const system = path.join(dir, 'run', 'cofferd.sock');
  const local = '.coffer/cofferd.sock';
  const lookup = { cwd: dir, env: {}, candidates: [system, local] };
  t.equal(resolveSocketPath(lookup), path.join(dir, local), 'none exists: the checkout path, for the error to name');
  mkdirSync(path.join(dir, '.coffer'));
  writeFileSync(path.join(dir, local), '');
  t.equal(resolveSocketPath(lookup), path.join(dir, local), 'only the checkout one exists');
  mkdirSync(path.dirname(system));
  writeFileSync(system, '');
  t.equal(resolveSocketPath(lookup), system, 'the installed one wins when both exist');
  const fromEnv = { ...lookup, env: { COFFER_SOCKET: 'elsewhere.sock' } };
  t.equal(resolveSocketPath(fromEnv), path.join(dir, 'elsewhere.sock'), '$COFFER_SOCKET beats both, even if absent, relative to cwd');
  t.equal(resolveSocketPath({ ...fromEnv, given: '/x/given.sock' }), '/x/given.sock', '--socket beats $COFFER_SOCKET');
  t.equal(resolveSocketPath({ ...lookup, env: { COFFER_SOCKET: '' } }), system, 'an empty $COFFER_SOCKET counts as unset');
  t.equal(resolveSocketPath({ cwd: dir, env: {}, candidates: [] }), path.join(dir, DEVELOPMENT_SOCKET), 'no candidates: the checkout path');
  const inherited = process.env['COFFER_SOCKET'];
  t.teardown(() => (inherited === undefined ? delete process.env['COFFER_SOCKET'] : (process.env['COFFER_SOCKET'] = inherited)));
  process.env['COFFER_SOCKET'] = 'from-process.sock';
  t.equal(resolveSocketPath({ cwd: dir, candidates: [system] }), path.join(dir, 'from-process.sock'), 'the process environment by default');
});

t.test('the CLI finds ./.coffer/cofferd.sock from the working directory without any setting', async (t) => {
  const dir = tempDir(t);
  const work = path.join(dir, 'work');
  mkdirSync(work);
  const local = await startDaemon(t, { coverage: false, dir, args: ['--socket', path.join(work, '.coffer', 'cofferd.sock')] });
  const status = await cofferProcess(['status', '--json'], { cwd: work });
  t.equal(status.code, 0, status.stderr);
  t.equal(JSON.parse(status.stdout).pid, local.pid);
});

t.test('nothing at the socket: ENOENT, start cofferd, and the order tried', async (t) => {
  const missing = path.join(tempDir(t), 'none.sock');
  const error = await rejectsWith(t, CofferClient.connect({ socketPath: missing }), 'UNAVAILABLE', /\(ENOENT\): nothing listens there/);
  t.match(error.message, 'start cofferd (`npx cofferd` in the checkout, or `sudo systemctl start cofferd.socket`)');
  t.match(error.message, `tried in order: --socket, $COFFER_SOCKET, ${SYSTEM_SOCKET}, ${DEVELOPMENT_SOCKET}`);
  t.same(error.data, { errno: 'ENOENT' });
});

t.test('something that is not a listening socket: the errno and the general advice', async (t) => {
  const notSocket = path.join(tempDir(t), 'file.sock');
  writeFileSync(notSocket, 'not a socket');
  const r = await coffer(['status', '--socket', notSocket]);
  t.equal(r.code, 2);
  t.match(r.stderr, /\(ECONNREFUSED\): start cofferd \(`npx cofferd`\), or point --socket \/ COFFER_SOCKET at the socket it listens on \[UNAVAILABLE\]/);
});

const NOBODY = 65534;

t.test('permission denied: the daemon runs, and the message names the group to join', { skip: process.getuid?.() !== 0 && 'needs root to run the client as another user' }, async (t) => {
  const daemon = await startDaemon(t, { coverage: false, args: ['--socket-group', '4242'] });
  const asNobody = () => cofferProcess(['status'], { env: { COFFER_SOCKET: daemon.socketPath }, uid: NOBODY, gid: NOBODY });
  const runDir = path.dirname(daemon.socketPath);

  // The temp dir is root's 0700: nobody cannot even see the socket's directory.
  let r = await asNobody();
  t.equal(r.code, 2);
  t.match(r.stderr, /\(EACCES\): permission denied: cofferd runs, but this user may not connect; join the group that owns it/);

  // The socket's directory (0710, the socket group's) is what stops them: name its group.
  chmodSync(daemon.dir, 0o755);
  const named = execFileSync('getent', ['group', '1'], { encoding: 'utf8' }).split(':')[0]!;
  chownSync(runDir, 0, 1);
  r = await asNobody();
  t.match(r.stderr, new RegExp(`join the group ${named} \\(sudo usermod -aG ${named} "\\$USER", then log in again\\)`));

  // The directory can be entered; the socket itself (0660) is the group's: a group without a name shows its number.
  chmodSync(runDir, 0o711);
  r = await asNobody();
  t.match(r.stderr, /join the group 4242 \(sudo usermod -aG 4242/);
  t.notMatch(r.stderr, /npm start/);
});
