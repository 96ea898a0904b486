import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { coffer } from './helpers/cli.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS } from './helpers/keyring.js';
import { copyDatadir, passwordOf } from './helpers/specter-layout.js';

/**
 * daemon.verify / `coffer verify` (issue 17 §3): every file parsed, every encrypted value of an
 * unlocked user authenticated, the others counted as not checked; a planted bad byte in a
 * ciphertext and a truncated JSON file are found, named, and make the exit code non-zero.
 */
t.setTimeout(180_000);

/** Changes one character in the middle of the longest string anywhere in a JSON file: a ciphertext. */
function flipCiphertext(file: string): void {
  const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  let longest: { holder: Record<string, unknown>; key: string; text: string } | undefined;
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (typeof inner === 'string' && inner.length > (longest?.text.length ?? 0)) longest = { holder: value as Record<string, unknown>, key, text: inner };
      else visit(inner);
    }
  };
  visit(json);
  const { holder, key, text } = longest!;
  const i = Math.floor(text.length / 2);
  holder[key] = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
  writeFileSync(file, JSON.stringify(json));
}

t.test('verify: ok, locked, then a flipped ciphertext byte and a truncated file', async (t) => {
  const daemon = await startDaemon(t, { args: FAST_KDF_ARGS });
  const client = await daemon.client();
  await client.call('users.create', { username: 'alice', password: 'pw' });
  await client.call('users.create', { username: 'carol', password: 'pw' });
  await client.call('users.create', { username: 'bob' });
  const alice = (await client.call('users.unlock', { username: 'alice', password: 'pw' })).session;
  const carol = (await client.call('users.unlock', { username: 'carol', password: 'pw' })).session;
  await client.call('services.encrypted.set', { session: alice, service: 'one', data: { k: 1 } });
  await client.call('services.encrypted.set', { session: alice, service: 'two', data: { k: 2 } });
  await client.call('services.encrypted.set', { session: carol, service: 'three', data: { k: 3 } });
  await client.call('services.unencrypted.set', { username: 'bob', service: 'app', data: { v: 1 } });
  await client.call('docs.set', { name: 'sealed', data: { label: 'x', pin: '1234' }, encryptedFields: ['pin'], session: alice });
  await client.call('docs.set', { name: 'carols', data: { pin: '9' }, encryptedFields: ['pin'], session: carol });
  await client.call('docs.set', { name: 'plain', data: { a: 1 } });
  const run = (...extra: string[]) => coffer(['verify', '--socket', daemon.socketPath, ...extra]);
  t.equal((await run('--quiet')).stdout, '7 of 7 files ok\n', 'everyone unlocked: everything checked');
  await client.call('users.lock', { username: 'carol' });

  let r = await run();
  t.equal(r.code, 0, r.stderr);
  t.equal(
    r.stdout,
    [
      'ok       docs/carols.json (0 encrypted values checked, 1 not checked: locked)',
      'ok       docs/plain.json (0 encrypted values checked)',
      'ok       docs/sealed.json (1 encrypted values checked)',
      'ok       services/alice_services.json (2 encrypted values checked)',
      'ok       services/bob_unencrypted_services.json (0 encrypted values checked)',
      'ok       services/carol_services.json (0 encrypted values checked, 1 not checked: locked)',
      'ok       users.json (0 encrypted values checked)',
      '7 of 7 files ok; 2 encrypted values not checked (their users are locked: unlock them and verify again)',
      '',
    ].join('\n'),
  );
  t.equal(r.stderr, 'verified 7/7 files\n', 'progress after each page');
  r = await run('--page', '3', '--quiet');
  t.equal(r.stderr, 'verified 3/7 files\nverified 6/7 files\nverified 7/7 files\n', 'a progress line per page');
  t.match(r.stdout, /^7 of 7 files ok/, '--quiet: only the summary');

  // Paging: one file per call, in name order, `next` until null.
  const first = await client.call('daemon.verify', { limit: 3 });
  t.same([first.total, first.files.map((f) => f.path), first.next], [7, ['docs/carols.json', 'docs/plain.json', 'docs/sealed.json'], 'docs/sealed.json']);
  const last = await client.call('daemon.verify', { after: 'services/carol_services.json' });
  t.same([last.files.map((f) => f.path), last.next], [['users.json'], null]);

  flipCiphertext(path.join(daemon.dataDir, 'services', 'alice_services.json'));
  const doc = path.join(daemon.dataDir, 'docs', 'plain.json');
  writeFileSync(doc, readFileSync(doc).subarray(0, 5));
  r = await run('--quiet');
  t.equal(r.code, 5, 'exit 5: something is corrupt');
  t.match(r.stdout, /^CORRUPT +docs\/plain.json: .+\nCORRUPT +services\/alice_services.json: 1 encrypted value\(s\) do not authenticate under their owner's secret\n5 of 7 files ok; 2 encrypted values/);
  t.match(r.stderr, /coffer: 2 file\(s\) are corrupt or missing: restore them from a backup \(coffer restore\)\n$/);
  r = await run('--json');
  t.equal(r.code, 5);
  const report = JSON.parse(r.stdout) as { files: number; ok: number; notOk: number; lockedValues: number; results: Array<{ path: string; status: string; sealed: unknown }> };
  t.match(report, { files: 7, ok: 5, notOk: 2, lockedValues: 2 });
  t.same(report.results.find((f) => f.path === 'services/alice_services.json'), {
    path: 'services/alice_services.json', kind: 'services', status: 'corrupt',
    problem: "1 encrypted value(s) do not authenticate under their owner's secret", sealed: { checked: 1, corrupt: 1, locked: 0 },
  });
  t.equal(JSON.parse(r.stderr).error.reason, 'CORRUPT');

  // A sealed document field that does not open under its recorded owner's secret.
  flipCiphertext(path.join(daemon.dataDir, 'docs', 'sealed.json'));
  const sealed = (await client.call('daemon.verify', {})).files.find((f) => f.path === 'docs/sealed.json');
  t.match(sealed, { status: 'corrupt', sealed: { checked: 0, corrupt: 1 } });

  // users.json itself broken: reported, and the other files still listed as far as they can be.
  writeFileSync(path.join(daemon.dataDir, 'users.json'), '{"users": [');
  const broken = await client.call('daemon.verify', {});
  t.match(broken.files.find((f) => f.path === 'users.json'), { kind: 'users', status: 'corrupt' });
  t.same(broken.files.map((f) => f.path), ['docs/carols.json', 'docs/plain.json', 'docs/sealed.json', 'users.json'], 'no users: their files are not listed');
});

t.test('verify and backup in a Specter folder: .bkp copies, sealed fields without an owner, a missing file', async (t) => {
  const dir = copyDatadir(t);
  const daemon = await startDaemon(t, { args: [...FAST_KDF_ARGS, '--data-dir', dir, '--specter-users', 'manage'] });
  const client = await daemon.client();
  const { session } = await client.call('users.unlock', { username: 'bob', password: passwordOf('bob') });
  await client.call('docs.set', { name: 'plugins/x.json', data: { pin: '1', label: 'l' }, encryptedFields: ['pin'], session });
  const byPath = async () => new Map((await client.call('daemon.verify', {})).files.map((f) => [f.path, f]));
  let files = await byPath();
  t.match(files.get('bob_services.json'), { status: 'ok', sealed: { checked: 2, locked: 0 } });
  t.match(files.get('plugins/x.json'), { status: 'ok', sealed: { checked: 1 } });
  t.match(files.get('wallets_bob/hot_wallet_2_exfund.json'), { kind: 'annotations', status: 'ok' });

  // The backup takes Specter's .bkp copies along.
  const dest = path.join(tempDir(t), 'b');
  const backup = await client.call('daemon.backup', { dest });
  t.equal(backup.layout, 'specter');
  const names = (JSON.parse(readFileSync(path.join(dest, 'MANIFEST.json'), 'utf8')) as { files: Array<{ path: string }> }).files.map((f) => f.path);
  t.ok(names.includes('carol_unencrypted_services.json.bkp') && names.includes('users.json') && names.includes('plugins/x.json'), names.join(' '));

  // A sealed field nobody unlocked opens is locked, not corrupt: the file does not say whose it is.
  flipCiphertext(path.join(dir, 'plugins', 'x.json'));
  files = await byPath();
  t.match(files.get('plugins/x.json'), { status: 'ok', sealed: { checked: 0, locked: 1 } });
  await client.call('users.lock', { username: 'bob' });
  files = await byPath();
  t.match(files.get('bob_services.json'), { status: 'ok', sealed: { checked: 0, locked: 2 } });
  t.match(files.get('plugins/x.json'), { sealed: { locked: 1 } }, 'nobody unlocked: locked');

  // Only the .bkp is left of a file: missing.
  unlinkSync(path.join(dir, 'carol_unencrypted_services.json'));
  files = await byPath();
  t.match(files.get('carol_unencrypted_services.json'), { status: 'missing', problem: 'only its older copy (.bkp) is there' });
});
