import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { SpecterFiles } from '../daemon/src/store/specter-files.js';
import { rejectsWith } from './helpers/assert.js';
import { startDaemon, tempDir } from './helpers/daemon.js';
import { filesUnder, storeFixture, WRITE_STEP_FAULTS } from './helpers/store.js';

/**
 * files.write (Coffer issue 12 §3): Specter's own JSON files written durably, byte for byte, with
 * the previous good version as `.bkp`; anything that could write outside the data dir, write a file
 * the daemon serves another way, or store what Specter cannot read is refused before a byte is written.
 * The kill -9 storm through the Python integration is in client/python/tests/test_specter_durable.py.
 */
t.setTimeout(120_000);

/** What Specter's writer puts in a file: json.dump(obj, f, indent=4). */
const specterText = (value: object): string => JSON.stringify(value, null, 4);

t.test('over RPC on a Specter folder: exact bytes, .bkp kept, refusals leave the folder as it was', async (t) => {
  const dir = tempDir(t);
  const dataDir = path.join(dir, 'data');
  mkdirSync(path.join(dataDir, 'wallets/main'), { recursive: true });
  writeFileSync(path.join(dataDir, 'config.json'), specterText({ auth: { method: 'none' } }));
  const daemon = await startDaemon(t, { dir });
  const client = await daemon.client();
  t.equal((await client.call('daemon.status', {})).layout, 'specter');

  const first = specterText({ auth: { method: 'usernamepassword' }, big: 1 });
  const before = readFileSync(path.join(dataDir, 'config.json'));
  t.same(await client.call('files.write', { path: 'config.json', text: first }), { bytes: Buffer.byteLength(first) });
  t.equal(readFileSync(path.join(dataDir, 'config.json'), 'utf8'), first, 'the bytes written are exactly the text');
  t.same(readFileSync(path.join(dataDir, 'config.json.bkp')), before, '.bkp is the version before');

  // Python's number forms and \u escapes survive as bytes: nothing is re-encoded.
  const exact = '{\n    "n": 1152921504606846976,\n    "f": 1.0,\n    "s": "caf\\u00e9"\n}';
  await client.call('files.write', { path: 'wallets/main/my_wallet.json', text: exact });
  t.equal(readFileSync(path.join(dataDir, 'wallets/main/my_wallet.json'), 'utf8'), exact, "a wallet (Specter keeps them per chain)");
  t.notOk(existsSync(path.join(dataDir, 'wallets/main/my_wallet.json.bkp')), 'a new file has no .bkp');

  const files = filesUnder(dataDir);
  const refused: Array<[string, string, RegExp]> = [
    ['../outside.json', '{}', /relative to the data dir/],
    ['/etc/x.json', '{}', /relative to the data dir/],
    ['wallets//w.json', '{}', /relative to the data dir/],
    ['wallets/.hidden.json', '{}', /hidden/],
    ['config.txt', '{}', /\.json files only/],
    ['users.json', '[]', /served by cofferd/],
    ['bob_services.json', '{}', /served by cofferd/],
    ['bob_unencrypted_services.json', '{}', /served by cofferd/],
    ['wallets/w_swan.json', '{}', /served by cofferd/],
    ['wallets_bob/w_swan.json', '{}', /served by cofferd/],
    ['config.json', '{"a": ', /not JSON that Specter can read/],
    ['wallets', '{}', /\.json files only/],
  ];
  for (const [where, text, message] of refused) {
    await rejectsWith(t, client.call('files.write', { path: where, text }), 'INVALID_PARAMS', message);
  }
  await rejectsWith(t, client.call('files.write', { path: 'devices/d.json', text: '{}' }), 'NOT_FOUND', /create it first/);
  mkdirSync(path.join(dataDir, 'dir.json'));
  await rejectsWith(t, client.call('files.write', { path: 'dir.json', text: '{}' }), 'INVALID_PARAMS', /not a regular file/);
  symlinkSync(dir, path.join(dataDir, 'escape'));
  await rejectsWith(t, client.call('files.write', { path: 'escape/x.json', text: '{}' }), 'INVALID_PARAMS', /outside the data dir/);
  t.same(filesUnder(dataDir).filter((f) => !f.startsWith('dir.json') && !f.startsWith('escape')), files, 'refusals wrote nothing');
  t.equal(readFileSync(path.join(dataDir, 'config.json'), 'utf8'), first, 'config.json as it was');
});

t.test('the coffer layout answers a clear error', async (t) => {
  const daemon = await startDaemon(t);
  const client = await daemon.client();
  await rejectsWith(t, client.call('files.write', { path: 'config.json', text: '{}' }), 'INVALID_PARAMS', /Specter data folder only/);
});

t.test('in process: size limit, serialized writes, every failed step leaves the old file and .bkp', async (t) => {
  const { dataDir, fs, store, layout } = storeFixture(t, { maxDocBytes: 1000 });
  const files = new SpecterFiles(store, dataDir, 'specter');
  // A file the daemon has open (an annotations file here) is its own: a second writer would lose writes.
  const annotations = layout.annotationsFile('alice', 'w', 'swan');
  await store.unit(annotations).read();
  await rejectsWith(t, files.write(path.relative(dataDir, annotations.path), '{}'), 'INVALID_PARAMS', /served by cofferd/);
  await rejectsWith(t, files.write('big.json', `"${'x'.repeat(1000)}"`), 'TOO_LARGE');
  t.notOk(existsSync(path.join(dataDir, 'big.json')));

  // Many writes to one file at once: each lands whole, in order, and the last one wins.
  const writes = Array.from({ length: 20 }, (_, i) => files.write('c.json', specterText({ i })));
  await Promise.all(writes);
  t.same(JSON.parse(readFileSync(path.join(dataDir, 'c.json'), 'utf8')), { i: 19 }, 'the last write is the file');
  t.same(JSON.parse(readFileSync(path.join(dataDir, 'c.json.bkp'), 'utf8')), { i: 18 }, 'the one before is .bkp');
  t.equal(store.stats.committed, 20, 'every write counted');

  // Leftovers of a kill during an earlier run: this file's own temp files go, nothing else does.
  const mine = '.c2.json.coffer-tmp-0123456789abcdef';
  const mineBkp = '.c2.json.bkp.coffer-tmp-0123456789abcdef';
  const other = '.other.json.coffer-tmp-0123456789abcdef';
  for (const name of [mine, mineBkp, other]) writeFileSync(path.join(dataDir, name), 'partial');
  await files.write('c2.json', '{}');
  t.same(filesUnder(dataDir).filter((f) => f.includes('coffer-tmp')), [other], "the file's own leftovers swept at its first write");

  for (const rule of WRITE_STEP_FAULTS) {
    const file = readFileSync(path.join(dataDir, 'c.json'));
    const bkp = readFileSync(path.join(dataDir, 'c.json.bkp'));
    fs.setRules([{ ...rule, pathIncludes: 'c.json' }]);
    await rejectsWith(t, files.write('c.json', specterText({ failed: rule })), 'STORAGE_FAILED', /stored data is as before/);
    fs.setRules([]);
    t.same(readFileSync(path.join(dataDir, 'c.json')), file, `${rule.op} ${rule.fault}: the file as it was`);
    t.same(readFileSync(path.join(dataDir, 'c.json.bkp')), bkp, `${rule.op} ${rule.fault}: .bkp as it was`);
    t.same(filesUnder(dataDir).filter((f) => f.startsWith('c.json') || f.startsWith('.c.json')).sort(), ['c.json', 'c.json.bkp'], `${rule.op} ${rule.fault}: no temp file left`);
  }

  // A failed directory fsync: the store stops writing (DESIGN §5), files.write too.
  fs.setRules([{ op: 'fsyncDir', fault: 'EIO' }]);
  await rejectsWith(t, files.write('c.json', '{}'), 'STORAGE_FAILED');
  fs.setRules([]);
  await rejectsWith(t, files.write('c.json', '{}'), 'STORAGE_FAILED', /Writes are stopped/);
});
