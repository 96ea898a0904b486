import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { detectLayout, type LayoutChoice } from '../daemon/src/layout/detect.js';
import { realFs } from '../daemon/src/disk/fs.js';
import { DaemonProcess, startDaemon, tempDir } from './helpers/daemon.js';
import { copyDatadir } from './helpers/specter-layout.js';
import { filesUnder } from './helpers/store.js';

/**
 * Which layout a data dir has (DESIGN §3): a users.json that is a JSON array is Specter's; a coffer
 * users file is ours; --layout forces one, and a contradiction stops start-up with nothing touched.
 */
t.setTimeout(60_000);

const COFFER_USERS = '{"format":"coffer.users","version":1,"users":{}}\n';

async function detect(setup: (dir: string) => void, choice: LayoutChoice): Promise<string> {
  const dir = tempDir(t);
  setup(dir);
  try {
    return await detectLayout(realFs, dir, choice);
  } catch (error) {
    return `error: ${(error as Error).message}`;
  }
}

t.test('detection from what the folder holds', async (t) => {
  const put = (name: string, text: string) => (dir: string) => writeFileSync(path.join(dir, name), text);
  t.equal(await detect(() => undefined, 'auto'), 'coffer', 'an empty folder is coffer');
  t.equal(await detect(() => undefined, 'specter'), 'specter', 'unless forced');
  t.equal(await detect(put('users.json', '\ufeff\n  [{"id": "admin"}]'), 'auto'), 'specter', 'a JSON array (BOM, whitespace) is Specter');
  t.equal(await detect(put('users.json', '[{"id": "adm'), 'auto'), 'specter', 'even truncated');
  t.equal(await detect(put('users.json', COFFER_USERS), 'auto'), 'coffer');
  t.equal(await detect(put('users.json.bkp', '[]'), 'auto'), 'specter', 'users.json missing, its .bkp a JSON array');
  t.equal(await detect((d) => (writeFileSync(path.join(d, 'users.json'), ''), writeFileSync(path.join(d, 'users.json.bkp'), '[]')), 'auto'), 'specter', 'empty file: the .bkp decides');
  t.equal(await detect(put('bob_services.json', '{}'), 'auto'), 'specter', 'no users.json, but a Specter services file');
  t.equal(await detect(put('config.json', '{}'), 'auto'), 'specter');
  t.equal(await detect((d) => mkdirSync(path.join(d, 'services')), 'auto'), 'coffer', 'a coffer services folder');
  t.match(await detect(put('users.json', 'garbage'), 'auto'), /^error: .*neither a coffer users file nor Specter's/);
  t.equal(await detect(put('users.json', 'garbage'), 'specter'), 'specter', 'forced: the keyring then reports the file as corrupt');
  t.match(await detect(put('users.json', '[]'), 'coffer'), /^error: --layout coffer, but .* is a specter data dir: its users.json is a JSON array/);
  t.match(await detect(put('users.json', COFFER_USERS), 'specter'), /^error: --layout specter, but .* is a coffer data dir/);
  t.equal(await detect(put('users.json', '[]'), 'specter'), 'specter');
});

function digest(dir: string): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(dir)) hash.update(file).update(readFileSync(path.join(dir, file)));
  return hash.digest('hex');
}

t.test('a daemon forced to the wrong layout exits 1 at start and leaves the folder as it was', async (t) => {
  for (const [layout, setup] of [
    ['coffer', (data: string) => copyDatadir(t, data)],
    ['specter', (data: string) => (mkdirSync(data), writeFileSync(path.join(data, 'users.json'), COFFER_USERS))],
  ] as const) {
    const dir = tempDir(t);
    const data = path.join(dir, 'data');
    setup(data);
    const before = digest(data);
    const daemon = new DaemonProcess(dir, { args: ['--layout', layout], coverage: false });
    await t.rejects(daemon.start(), /exited \(1\) before listening/);
    t.match(daemon.logs, new RegExp(`--layout ${layout}, but .* data dir`), 'the reason is logged');
    t.equal(digest(data), before, 'nothing touched');
  }
});

t.test('daemon.status reports the layout; COFFER_LAYOUT=specter on an empty folder serves Specter\'s first start', async (t) => {
  const coffer = await startDaemon(t, { coverage: false });
  t.equal((await (await coffer.client()).call('daemon.status', {})).layout, 'coffer', 'a new folder is coffer');
  await coffer.dispose();

  const daemon = await startDaemon(t, { coverage: false, env: { COFFER_LAYOUT: 'specter', COFFER_SPECTER_USERS: 'manage' } });
  const client = await daemon.client();
  t.equal((await client.call('daemon.status', {})).layout, 'specter');
  t.same((await client.call('users.list', {})).users, [{ username: 'admin', hasPassword: true, unlocked: false }], "Specter's default admin");
  t.same(filesUnder(daemon.dataDir), [], 'nothing written until something changes');
  await client.call('users.create', { username: 'alice', password: 'alice pw' });
  const users = JSON.parse(readFileSync(path.join(daemon.dataDir, 'users.json'), 'utf8')) as Array<{ username: string }>;
  t.same(users.map((u) => u.username), ['admin', 'alice'], 'users.json is Specter\'s array, admin first');
});
