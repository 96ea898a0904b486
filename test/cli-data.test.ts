import t from 'tap';
import { coffer } from './helpers/cli.js';
import { startDaemon } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';

/** `coffer services|annotations|docs` against a real daemon: human and --json output, exit codes. */
t.setTimeout(120_000);

const ADDRESS = 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq';
const TXID = 'ab'.repeat(32);

t.test('data commands', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS, coverage: false });
  const admin = await daemon.client();
  await admin.call('users.create', { username: 'alice', password: 'pw' });
  const { session } = await admin.call('users.unlock', { username: 'alice', password: 'pw' });
  const env = { COFFER_SOCKET: daemon.socketPath, COFFER_SESSION: session };
  const run = (argv: string[], stdin?: string, extra: Record<string, string | undefined> = {}) =>
    coffer(argv, { stdin, env: { ...env, ...extra } });
  const json = async (argv: string[], stdin?: string): Promise<Record<string, unknown>> => {
    const r = await run([...argv, '--json'], stdin);
    t.equal(r.code, 0, `${argv.join(' ')} --json`, { stderr: r.stderr });
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  await t.test('services: encrypted through the session in the environment', async (t) => {
    const set = await run(['services', 'set', 'swan', '{"token":"s3cr3t","nested":{"a":1}}', '--encrypted']);
    t.match(set, { code: 0, stdout: /^saved swan \(revision \S+\)\n$/ });
    t.equal((await run(['services', 'get', 'swan', '--encrypted'])).stdout, 'KEY     VALUE\ntoken   s3cr3t\nnested  {"a":1}\nrevision: ' +
      (await json(['services', 'get', 'swan', '--encrypted'])).revision + '\n');
    const merged = await json(['services', 'update', 'swan', '{"nested":{"b":2}}', '--encrypted']);
    t.same(merged.data, { token: 's3cr3t', nested: { a: 1, b: 2 } }, 'RFC 7396 by default');
    const shallow = await json(['services', 'update', 'swan', '--encrypted', '--shallow'], '{"nested":{"c":3},"gone":null}');
    t.same(shallow.data, { token: 's3cr3t', nested: { c: 3 }, gone: null }, "--shallow: Specter's update, patch from stdin");
    t.same(await json(['services', 'list', '--encrypted']), { services: ['swan'] });
    t.equal((await run(['services', 'list', '--encrypted'])).stdout, 'swan\n');
    t.same(await json(['services', 'get', 'swan', '--user', 'alice']), { data: {}, revision: null }, 'separate from unencrypted');
    t.equal((await run(['services', 'get', 'swan', '--user', 'alice'])).stdout, '(no data)\nrevision: (none)\n');
    t.equal((await run(['services', 'delete', 'swan', '--encrypted'])).stdout, 'removed swan\n');
    t.equal((await run(['services', 'list', '--encrypted', '--session', session])).stdout, '(no services)\n');
  });

  await t.test('services ids and wipe: no session needed, a wipe needs --yes', async (t) => {
    await run(['services', 'set', 'test_service', '{"k":1}', '--encrypted']);
    t.equal((await run(['services', 'ids', 'alice'])).stdout, 'test_service\n');
    t.same(await json(['services', 'ids', 'alice']), { services: ['test_service'] });
    t.match(await run(['services', 'wipe', 'alice', '--encrypted']), { code: 3, stderr: /add --yes/ });
    t.match(await run(['services', 'wipe', 'alice', '--yes']), { code: 3, stderr: /--encrypted or --unencrypted/ });
    t.match(await run(['services', 'wipe', 'alice', '--encrypted', '--unencrypted', '--yes']), { code: 3 });
    t.equal((await run(['services', 'wipe', 'alice', '--encrypted', '--yes'])).stdout, 'wiped 1 service of alice\n');
    t.equal((await run(['services', 'ids', 'alice'])).stdout, '(no encrypted data)\n');
    t.equal((await run(['services', 'wipe', 'alice', '--unencrypted', '--yes'])).stdout, 'wiped 0 services of alice\n');
  });

  await t.test('services: unencrypted by --user, compare-and-set, mistakes', async (t) => {
    t.equal((await run(['services', 'set', 'notes', '{"a":1}', '--user', 'alice', '--if-absent'])).code, 0);
    const conflict = await run(['services', 'set', 'notes', '{"a":2}', '--user', 'alice', '--if-absent']);
    t.equal(conflict.code, 1);
    t.match(conflict.stderr, /\[CONFLICT\]\n  next: re-read the current value and retry with its revision/);
    const { revision } = await json(['services', 'get', 'notes', '--user', 'alice']);
    t.equal((await run(['services', 'update', 'notes', '{"b":1}', '--user', 'alice', '--if-revision', String(revision)])).code, 0);
    t.equal((await run(['services', 'delete', 'notes', '--user', 'alice', '--if-revision', String(revision)])).code, 1, 'stale revision');
    t.equal((await run(['services', 'set', 'notes', '{}', '--user', 'alice'])).stdout, 'removed notes\n', '{} removes');
    t.equal((await run(['services', 'get', 'notes', '--user', 'nobody'])).code, 1, 'NOT_FOUND');

    const usage: Array<[string[], string | undefined, RegExp]> = [
      [['services', 'get', 'notes'], undefined, /say whose data/],
      [['services', 'get', 'notes', '--encrypted', '--user', 'alice'], undefined, /--user is for unencrypted data/],
      [['services', 'get', 'notes', '--user', 'alice', '--session', session], undefined, /--session goes with --encrypted/],
      [['services', 'set', 'notes', '{oops', '--user', 'alice'], undefined, /not valid JSON/],
      [['services', 'set', 'notes', '[1,2]', '--user', 'alice'], undefined, /must be a JSON object/],
      [['services', 'set', 'notes', '-', '--user', 'alice'], '', /not valid JSON/],
      [['services', 'set', 'notes', '{}', '--user', 'alice', '--if-absent', '--if-revision', 'x'], undefined, /not both/],
      [['services', 'get', 'Bad Id', '--user', 'alice'], undefined, /expected service id: an identifier.*INVALID_PARAMS/],
    ];
    for (const [argv, stdin, message] of usage) {
      const r = await run(argv, stdin);
      t.equal(r.code, 3, argv.join(' '));
      t.match(r.stderr, message);
    }
    const noSession = await run(['services', 'get', 'notes', '--encrypted'], undefined, { COFFER_SESSION: undefined });
    t.equal(noSession.code, 3);
    t.match(noSession.stderr, /needs a session/);
    const locked = await run(['services', 'get', 'notes', '--encrypted'], undefined, { COFFER_SESSION: 'A'.repeat(43) });
    t.equal(locked.code, 1, 'a locked session: daemon error');
    t.match(locked.stderr, /\[LOCKED\]/);
  });

  await t.test('annotations by address and txid', async (t) => {
    const where = ['alice', 'w1', 'swan'];
    t.match((await run(['annotations', 'set', ...where, '--addr', ADDRESS, '{"label":"cold"}'])).stdout, /^saved the annotation of bc1q\S+ \(revision \S+\)\n$/);
    t.equal((await run(['annotations', 'set', ...where, '--tx', TXID], '"rent"')).code, 0, 'any JSON, from stdin');
    const all = await run(['annotations', 'get', ...where]);
    t.match(all.stdout, new RegExp(`^KIND +ID +DATA\naddr +${ADDRESS} +\\{"label":"cold"\\}\ntx +${TXID} +rent\nrevision: \\S+\n$`));
    t.same((await json(['annotations', 'get', ...where, '--addr', ADDRESS])).data, { label: 'cold' });
    t.match((await run(['annotations', 'get', ...where, '--tx', TXID])).stdout, /^"rent"\nrevision: /);
    t.same((await json(['annotations', 'update', ...where, '--addr', ADDRESS, '{"n":1}'])).data, { label: 'cold', n: 1 });
    t.match((await run(['annotations', 'update', ...where, '--addr', ADDRESS, '{"n":null}'])).stdout, /^\{\n  "label": "cold"\n\}\nrevision: /);
    t.equal((await run(['annotations', 'list', 'alice'])).stdout.split('\n')[0], 'WALLET  SERVICE  KIND  ID');
    t.equal(((await json(['annotations', 'list', 'alice', '--wallet', 'w1', '--service', 'swan'])).entries as unknown[]).length, 2);
    t.equal((await run(['annotations', 'delete', ...where, '--tx', TXID])).stdout, `removed the annotation of ${TXID}\n`);
    t.equal((await run(['annotations', 'delete', ...where, '--addr', ADDRESS])).code, 0);
    t.equal((await run(['annotations', 'list', 'alice'])).stdout, '(no annotations)\n');
    t.equal((await run(['annotations', 'get', ...where])).stdout, '(no annotations)\nrevision: (none)\n');
    t.equal((await run(['annotations', 'get', ...where, '--tx', TXID])).stdout, '(no annotation)\nrevision: (none)\n');
    t.equal((await run(['annotations', 'set', ...where, '{}'])).code, 3, 'which annotation?');
    t.equal((await run(['annotations', 'set', ...where, '--addr', ADDRESS, '--tx', TXID, '{}'])).code, 3);
    t.equal((await run(['annotations', 'get', 'nobody', 'w1', 'swan'])).code, 1, 'NOT_FOUND');
  });

  await t.test('docs with encrypted fields', async (t) => {
    const set = await run(['docs', 'set', 'meta', '{"name":"w","xpub":"xp"}', '--encrypted-fields', 'xpub']);
    t.match(set.stdout, /^saved meta \(revision \S+\)\n$/);
    const anonymous = await run(['docs', 'get', 'meta'], undefined, { COFFER_SESSION: undefined });
    t.match(anonymous.stdout, /^KEY +VALUE\nname +w\nrevision: \S+\nlocked: xpub \(encrypted; need the owner's session\)\n$/);
    t.same((await json(['docs', 'get', 'meta'])).data, { name: 'w', xpub: 'xp' }, 'with the session');
    t.equal((await run(['docs', 'list'])).stdout, 'NAME  OWNER  ENCRYPTED\nmeta  alice  xpub\n');
    t.same((await json(['docs', 'update', 'meta', '{"name":"v"}'])).data, { name: 'v', xpub: 'xp' });
    const lockedWrite = await run(['docs', 'update', 'meta', '{"xpub":"other"}'], undefined, { COFFER_SESSION: undefined });
    t.equal(lockedWrite.code, 1);
    t.match(lockedWrite.stderr, /\[LOCKED\]/);
    t.equal((await run(['docs', 'set', 'plain', '{"a":1}', '--if-absent'])).code, 0);
    t.match((await run(['docs', 'update', 'plain', '{"b":2}'])).stdout, /^KEY +VALUE\na +1\nb +2\nrevision: /);
    t.equal((await run(['docs', 'set', 'plain', '{}'])).stdout, 'removed plain\n');
    t.equal((await run(['docs', 'delete', 'meta'])).stdout, 'removed meta\n');
    t.equal((await run(['docs', 'list'])).stdout, '(no documents)\n');
    t.equal((await run(['docs', 'get', 'meta'])).code, 1, 'NOT_FOUND');
  });
});
