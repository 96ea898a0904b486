import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { coffer, cofferProcess, FakeTty } from './helpers/cli.js';
import { repoRoot, startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';

/**
 * The `coffer` CLI against a real daemon: status, users, unlock/lock, sessions, exit codes,
 * passwords (never from argv, never echoed or printed). Services, annotations and docs are in
 * cli-data.test.ts.
 */
t.setTimeout(120_000);

const PASSWORD = 'correct horse battery';
const SESSION_LINE = /^export COFFER_SESSION=([A-Za-z0-9_-]{43})\n$/;

t.test('the CLI against a daemon', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS, coverage: false });
  const env = { COFFER_SOCKET: daemon.socketPath };
  const outputs: string[] = [];
  const run = async (argv: string[], stdin?: string, extraEnv: Record<string, string> = {}) => {
    const r = await coffer(argv, { stdin, env: { ...env, ...extraEnv } });
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  await t.test('status, human and --json', async (t) => {
    const human = await run(['status']);
    t.equal(human.code, 0);
    t.match(human.stdout, /^cofferd +\d+\.\d+\.\d+ \(protocol 1\), pid \d+/);
    t.match(human.stdout, new RegExp(`socket +${daemon.socketPath}`));
    t.match(human.stdout, /degraded +no/);
    t.match(human.stdout, new RegExp(`you +uid ${process.getuid!()}, gid ${process.getgid!()}, pid \\d+: every user, every service, write, admin \\(default\\)`));
    const json = await run(['status', '--json', '--socket', daemon.socketPath]);
    t.equal(JSON.parse(json.stdout).pid, daemon.pid);
  });

  await t.test('users create, list, passwd, delete; passwords from stdin only', async (t) => {
    const created = await run(['users', 'create', 'alice'], `${PASSWORD}\n`);
    t.same(created, { code: 0, stdout: 'created user alice (with a password)\n', stderr: '' });
    t.equal((await run(['users', 'create', 'nopw', '--no-password', '--json'])).stdout, '{\n  "username": "nopw",\n  "hasPassword": false\n}\n');
    const exists = await run(['users', 'create', 'alice'], 'x\n');
    t.equal(exists.code, 1, 'ALREADY_EXISTS is a daemon error');
    t.match(exists.stderr, /\[ALREADY_EXISTS\]/);

    const list = await run(['users', 'list']);
    t.equal(list.stdout, 'USERNAME  PASSWORD  UNLOCKED\nalice     yes       no\nnopw      no        no\n');
    t.same(JSON.parse((await run(['users', 'list', '--json'])).stdout).users[1], { username: 'nopw', hasPassword: false, unlocked: false });

    const wrongOld = await run(['users', 'passwd', 'alice'], 'nope\nnew\n');
    t.equal(wrongOld.code, 1);
    t.match(wrongOld.stderr, /Wrong password \[BAD_PASSWORD\]\n  next: check the password/);
    t.equal((await run(['users', 'passwd', 'alice'], `${PASSWORD}\nnew-pw\n`)).code, 0);
    t.equal((await run(['users', 'passwd', 'alice'], `new-pw\n${PASSWORD}\n`)).stdout, 'changed the password of alice\n');
    t.equal((await run(['users', 'passwd', 'nopw', '--first'], 'first-pw\n')).code, 0, 'a first password: only the new one');

    const missing = await run(['users', 'passwd', 'alice'], `${PASSWORD}\n`);
    t.equal(missing.code, 3, 'stdin ended before the new password: usage');
    t.match(missing.stderr, /expected the new password on standard input/);
    t.equal((await run(['users', 'create', 'empty'], '\n')).code, 3, 'an empty password is refused');

    await run(['users', 'create', 'gone'], 'pw\n');
    t.equal((await run(['users', 'delete', 'gone'], 'bad\n')).code, 1);
    t.same(await run(['users', 'delete', 'gone'], 'pw\n'), { code: 0, stdout: 'deleted user gone and their data\n', stderr: '' });
    await run(['users', 'create', 'gone2', '--no-password']);
    t.equal((await run(['users', 'delete', 'gone2', '--no-password'])).code, 0);
    t.equal((await run(['users', 'delete', 'gone2', '--no-password'])).code, 1, 'NOT_FOUND');
  });

  await t.test('unlock prints an export line; session check, end; lock; wrong password is exit 1', async (t) => {
    const unlocked = await run(['unlock', 'alice'], `${PASSWORD}\n`);
    t.equal(unlocked.code, 0);
    const session = SESSION_LINE.exec(unlocked.stdout)?.[1];
    t.ok(session, 'stdout is one line a shell can eval');
    t.match(unlocked.stderr, /^# alice unlocked until \d{4}-\S+ at the latest; it ends at \d{4}-\S+ if unused until then \(each use moves that on\)\n$/);
    const viaJson = JSON.parse((await run(['unlock', 'alice', '--json', '--ttl', '600', '--idle', '60'], `${PASSWORD}\n`)).stdout);
    t.same(Object.keys(viaJson).sort(), ['expiresAt', 'idleExpiresAt', 'session', 'username']);

    const check = await run(['session', 'check'], undefined, { COFFER_SESSION: session! });
    t.match(check.stdout, /^session of alice, expires \S+ \(idle: \S+\)\n$/);
    t.equal((await run(['session', 'check', '--session', viaJson.session, '--json'])).code, 0);
    t.same(await run(['session', 'end'], undefined, { COFFER_SESSION: session! }), { code: 0, stdout: 'session ended (unset COFFER_SESSION)\n', stderr: '' });
    const ended = await run(['session', 'check'], undefined, { COFFER_SESSION: session! });
    t.equal(ended.code, 1, 'a locked session is a daemon error');
    t.match(ended.stderr, /\[LOCKED\]\n  next: log in again: eval "\$\(coffer unlock <user>\)"/);
    const noSession = await run(['session', 'check']);
    t.equal(noSession.code, 3, 'no session at all is a usage error');
    t.match(noSession.stderr, /needs a session/);

    t.same(await run(['lock', 'alice']), { code: 0, stdout: 'locked alice: every session of theirs ended\n', stderr: '' });
    const locked = await run(['session', 'check', '--json'], undefined, { COFFER_SESSION: viaJson.session });
    t.equal(locked.code, 1);
    t.same(JSON.parse(locked.stderr).error.reason, 'LOCKED', '--json errors are JSON on stderr');
    t.equal(locked.stdout, '');

    const wrong = await run(['unlock', 'alice'], 'wrong\n');
    t.equal(wrong.code, 1, 'BAD_PASSWORD -> 1');
    t.equal(wrong.stdout, '');
    await run(['users', 'create', 'nopw2', '--no-password']);
    const required = await run(['unlock', 'nopw2'], 'x\n');
    t.equal(required.code, 1, 'PASSWORD_REQUIRED -> 1');
    t.match(required.stderr, /\[PASSWORD_REQUIRED\]\n  next: give the user a password first: coffer users passwd <user> --first/);
    t.equal((await run(['unlock', 'alice'])).code, 3, 'no password on stdin: usage');
  });

  await t.test('the password is never taken from argv', async (t) => {
    for (const argv of [['unlock', 'alice', '--password', PASSWORD], ['unlock', 'alice', PASSWORD], ['users', 'create', 'x', '-p', 'y']]) {
      const r = await run(argv, `${PASSWORD}\n`);
      t.equal(r.code, 3, argv.join(' '));
      t.equal(r.stdout, '');
    }
  });

  await t.test('rate limiting and rotate-secret', async (t) => {
    await run(['users', 'create', 'rl'], 'pw\n');
    let last = await run(['unlock', 'rl'], 'bad\n');
    for (let i = 0; i < 6 && !last.stderr.includes('RATE_LIMITED'); i++) last = await run(['unlock', 'rl'], 'bad\n');
    t.equal(last.code, 1);
    t.match(last.stderr, /\[RATE_LIMITED\]\n  next: wait \d+ s before the next attempt/);
    const session = SESSION_LINE.exec((await run(['unlock', 'alice'], `${PASSWORD}\n`)).stdout)![1]!;
    t.equal((await run(['users', 'rotate-secret', '--session', session])).code, 0);
  });

  await t.test('usage errors are exit 3; help is exit 0', async (t) => {
    t.equal((await run([])).code, 3);
    t.equal((await run(['bogus'])).code, 3);
    t.equal((await run(['unlock'])).code, 3, 'missing argument');
    t.equal((await run(['unlock', 'alice', '--ttl', '0'], 'x\n')).code, 3);
    t.equal((await run(['status', '--timeout', 'soon'])).code, 3);
    const badName = await run(['lock', 'no/slash']);
    t.equal(badName.code, 3, 'INVALID_PARAMS from the daemon is a usage error');
    const help = await run(['--help']);
    t.equal(help.code, 0);
    t.match(help.stdout, /Exit codes:\n  0  ok\n  1 .*\n  2  cannot connect/);
  });

  await t.test('cannot connect is exit 2, with what to do', async (t) => {
    const missing = path.join(tempDir(t), 'none.sock');
    const r = await coffer(['status'], { env: { COFFER_SOCKET: missing } });
    t.equal(r.code, 2);
    t.match(r.stderr, /Cannot reach cofferd at .*none\.sock \(ENOENT\): nothing listens there: start cofferd \(`npx cofferd`.*\[UNAVAILABLE\]\n$/);
    const json = await coffer(['status', '--json', '--socket', missing]);
    t.equal(JSON.parse(json.stderr).error.reason, 'UNAVAILABLE');
  });

  await t.test('on a terminal the password is read without echo', async (t) => {
    const tty = new FakeTty();
    tty.typeSoon('pa', 'sx\u007fs', '\r');
    await run(['users', 'create', 'ttyuser', '--no-password']);
    await run(['users', 'passwd', 'ttyuser', '--first'], 'pass\n');
    const r = await coffer(['unlock', 'ttyuser'], { stdin: tty, env });
    t.equal(r.code, 0, 'typed "pas", "sx", backspace, "s", Enter: "pass"');
    t.equal(r.stderr.split('\n')[0], 'Password for ttyuser: ', 'the prompt, then nothing typed is echoed');
    t.notMatch(r.stderr, /pass|\*/);
    t.same(tty.rawModes, [true, false], 'raw mode on while typing, restored after');

    const twice = new FakeTty();
    twice.typeSoon('one\r', 'two\r');
    const mismatch = await coffer(['users', 'create', 'ttyuser2'], { stdin: twice, env });
    t.equal(mismatch.code, 3);
    t.match(mismatch.stderr, /Password for ttyuser2: \nRepeat it: \n.*differ/);

    const interrupted = new FakeTty();
    interrupted.typeSoon('pa', '\u0003');
    t.equal((await coffer(['unlock', 'ttyuser'], { stdin: interrupted, env })).code, 130, 'Ctrl-C');
    const eof = new FakeTty();
    eof.typeSoon('\u0004');
    t.equal((await coffer(['unlock', 'ttyuser'], { stdin: eof, env })).code, 3, 'Ctrl-D: no password');
    const piped = new FakeTty();
    t.equal((await coffer(['services', 'set', 'x', '--user', 'ttyuser'], { stdin: piped, env })).code, 3, 'no JSON from a terminal');
  });

  await t.test('the compiled bin: shebang, stdin, exit codes', async (t) => {
    t.match(readFileSync(path.join(repoRoot, 'client/dist/cli.js'), 'utf8'), /^#!\/usr\/bin\/env node\n/);
    const ok = await cofferProcess(['unlock', 'alice'], { stdin: `${PASSWORD}\n`, env });
    t.equal(ok.code, 0);
    t.match(ok.stdout, SESSION_LINE);
    t.equal((await cofferProcess(['unlock', 'alice'], { stdin: 'wrong\n', env })).code, 1);
    t.equal((await cofferProcess(['status'], { env: { COFFER_SOCKET: '/nonexistent/coffer.sock' } })).code, 2);
    t.equal((await cofferProcess(['bogus'], { env })).code, 3);
    const open = await cofferProcess(['status', '--json'], { env, keepStdinOpen: true });
    t.equal(open.code, 0, 'exits even when stdin is a pipe nobody closes');
  });

  t.test('nothing secret was printed', async (t) => {
    const all = outputs.join('');
    t.notOk(all.includes(PASSWORD), 'no password in any output');
    t.notOk(/new-pw|first-pw/.test(all));
  });
});
