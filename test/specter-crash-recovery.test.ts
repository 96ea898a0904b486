import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { CofferClient } from '@coffer/client';
import { decodeBase64Text, fernetDecrypt, pyLoadsBytes, userSecretOf, type PyObject, type PyValue } from '../daemon/src/specter/index.js';
import { isOwnTempFile } from '../daemon/src/disk/durable-write.js';
import { DaemonProcess, tempDir } from './helpers/daemon.js';
import { havePython, pythonReadBack } from './helpers/specter-daemon.js';
import { copyDatadir, expected, passwordOf, userEntry } from './helpers/specter-layout.js';
import { decryptUserSecret } from './helpers/specter-user-secret.js';

// Kill -9 in a loop while clients write into a Specter folder; `npm run crash-test -- --specter
// --cycles 500` for a long run (COFFER_SPECTER_CRASH_CYCLES).
const CYCLES = Number(process.env['COFFER_SPECTER_CRASH_CYCLES'] ?? 12);
t.setTimeout(Math.max(240_000, CYCLES * 10_000));

const svc = expected.services_file;
const ENCRYPTED_USERS = [svc.user, 'ann'];
const PLAIN_USER = expected.unencrypted_services_file.user;
const ANN_PASSWORD = 'ann crash pw';
const passwords = (): Record<string, string> => ({ [svc.user]: passwordOf(svc.user), ann: ANN_PASSWORD });

/** Every kind of write cofferd makes into a Specter folder (users.json: users.create, manage mode). */
const KINDS = ['encrypted', 'unencrypted', 'annotation', 'doc', 'file', 'user'] as const;
type Kind = (typeof KINDS)[number];
interface Key {
  kind: Kind;
  user: string;
  service: string;
  field: string;
}
const keyName = (k: Key) => `${k.kind}/${k.user}/${k.service}/${k.field}`;

function keys(): Key[] {
  const out: Key[] = [];
  for (let w = 0; w < 2 * KINDS.length; w++) {
    const kind = KINDS[w % KINDS.length]!;
    const user = kind === 'unencrypted' ? (w % 2 ? PLAIN_USER : 'ann') : ENCRYPTED_USERS[w % 2]!;
    out.push({ kind, user, service: `svc${w % 2}`, field: `w${w}` });
  }
  return out;
}

const walk = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));

/**
 * Every file and every .bkp parses as Python's json would, every token in an encrypted services
 * file (and its .bkp) decrypts under its user's secret to JSON, and no temp file of ours is left.
 */
function checkFiles(t: Test, dataDir: string, secrets: Map<string, Buffer>, cycle: number): void {
  const files = walk(dataDir);
  const temps = files.filter((f) => isOwnTempFile(path.basename(f)));
  if (temps.length > 0) t.fail(`cycle ${cycle}: temp files left: ${temps.join(', ')}`);
  for (const file of files.filter((f) => /\.json(\.bkp)?$/.test(f))) {
    let value: PyValue;
    try {
      value = pyLoadsBytes(readFileSync(file));
    } catch {
      t.fail(`cycle ${cycle}: ${path.relative(dataDir, file)} does not parse`);
      continue;
    }
    const owner = /^(.+)_services\.json(\.bkp)?$/.exec(path.basename(file))?.[1];
    const secret = owner !== undefined && !owner.endsWith('_unencrypted') ? secrets.get(owner) : undefined;
    if (!secret) continue;
    for (const [sid, token] of value as PyObject) {
      if (sid === 'encrypted_storage_version') continue;
      try {
        JSON.parse(fernetDecrypt(secret, token as string).toString('utf8'));
      } catch {
        t.fail(`cycle ${cycle}: ${path.relative(dataDir, file)}: ${sid} does not decrypt to JSON`);
      }
    }
  }
}

/** The users this key created: `crash<field>n<value>`, one per write. */
const userName = (key: Key, count: number) => `crash${key.field}n${count}`;
const userNumber = (key: Key, username: string) => Number(new RegExp(`^crash${key.field}n(\\d+)$`).exec(username)?.[1] ?? 0);
const fileName = (key: Key) => `crash/file-${key.field}.json`;

async function read(client: CofferClient, sessions: Map<string, string>, key: Key, dataDir: string): Promise<number> {
  if (key.kind === 'doc') {
    const doc = await client.call('docs.get', { name: `crash/${key.service}.json` }).catch(() => undefined); // NOT_FOUND before the first write
    return (doc?.data[key.field] as number | undefined) ?? 0;
  }
  if (key.kind === 'file') {
    // files.write serves Specter's own writes, which Specter reads back from disk.
    const bytes = (() => {
      try {
        return readFileSync(path.join(dataDir, fileName(key)));
      } catch {
        return undefined;
      }
    })();
    return bytes === undefined ? 0 : (JSON.parse(bytes.toString('utf8')) as { v: number }).v;
  }
  if (key.kind === 'user') {
    // The highest n made: an attempt cut by a kill may have left no user, and the next one skips its n.
    const made = (await client.call('users.list', {})).users.map((u) => userNumber(key, u.username));
    return Math.max(0, ...made);
  }
  if (key.kind === 'annotation') {
    const { data } = (await client.call('annotations.get', { username: key.user, wallet: 'crash', service: key.service, kind: 'addr', id: `bc1q${key.field}crashcrashcrash` })) as { data: { v?: number } | null };
    return data?.v ?? 0;
  }
  const { data } =
    key.kind === 'encrypted'
      ? await client.call('services.encrypted.get', { session: sessions.get(key.user)!, service: key.service })
      : await client.call('services.unencrypted.get', { username: key.user, service: key.service });
  return (data[key.field] as number | undefined) ?? 0;
}

function write(client: CofferClient, sessions: Map<string, string>, key: Key, value: number): Promise<unknown> {
  if (key.kind === 'doc') return client.call('docs.update', { name: `crash/${key.service}.json`, patch: { [key.field]: value } });
  if (key.kind === 'file') return client.call('files.write', { path: fileName(key), text: JSON.stringify({ v: value }, null, 4) });
  // Specter has no user without a password: each create hashes one (PBKDF2), so fewer of these.
  if (key.kind === 'user') return client.call('users.create', { username: userName(key, value), password: 'crash user pw' });
  if (key.kind === 'annotation') {
    return client.call('annotations.set', { username: key.user, wallet: 'crash', service: key.service, kind: 'addr', id: `bc1q${key.field}crashcrashcrash`, data: { v: value } });
  }
  const patch = { [key.field]: value };
  return key.kind === 'encrypted'
    ? client.call('services.encrypted.update', { session: sessions.get(key.user)!, service: key.service, patch, shallow: true })
    : client.call('services.unencrypted.update', { username: key.user, service: key.service, patch, shallow: true });
}

t.test(`specter layout, kill -9 during writes, ${CYCLES} cycles: acknowledged writes survive, every file and .bkp parses and decrypts`, async (t) => {
  const dir = tempDir(t);
  const dataDir = copyDatadir(t, path.join(dir, 'data'));
  // It creates a user: cofferd owns users.json here (no Specter running).
  const daemon = new DaemonProcess(dir, { coverage: false, args: ['--specter-users', 'manage'] });
  t.teardown(() => daemon.dispose());
  await daemon.start();
  const setup = await daemon.client();
  await setup.call('users.create', { username: 'ann', password: ANN_PASSWORD });
  setup.close();
  const secrets = new Map<string, Buffer>([
    [svc.user, decodeBase64Text(expected.users[svc.user]!.user_secret!, 'urlsafe')!],
    ['ann', await decryptUserSecret(userSecretOf(userEntry(dataDir, 'ann'))!, ANN_PASSWORD)],
  ]);

  const all = keys();
  const acked = new Map<string, number>();
  const attempted = new Map<string, number>();
  let ackedTotal = 0;
  let failures = 0;
  for (let cycle = 1; cycle <= CYCLES && failures === 0; cycle++) {
    if (cycle > 1) await daemon.start();
    checkFiles(t, dataDir, secrets, cycle);
    const client = await daemon.client({ timeoutMs: 10_000 });
    const unlocked = await Promise.all(ENCRYPTED_USERS.map((username) => client.call('users.unlock', { username, password: passwords()[username]! })));
    const sessions = new Map(unlocked.map((u) => [u.username, u.session]));
    const values = await Promise.all(all.map((key) => read(client, sessions, key, dataDir)));
    for (const [i, key] of all.entries()) {
      const lo = acked.get(keyName(key)) ?? 0;
      const hi = attempted.get(keyName(key)) ?? 0;
      if (values[i]! < lo || values[i]! > hi) {
        failures++;
        t.fail(`cycle ${cycle}: ${keyName(key)} is ${values[i]}, acknowledged ${lo}, attempted up to ${hi}`);
      }
      acked.set(keyName(key), values[i]!);
      attempted.set(keyName(key), Math.max(hi, values[i]!));
    }

    let alive = true;
    let userAcked: () => void = () => undefined;
    const firstUserAck = new Promise<void>((resolve) => (userAcked = resolve));
    const writers = all.map(async (key) => {
      while (alive) {
        const value = (attempted.get(keyName(key)) ?? 0) + 1;
        attempted.set(keyName(key), value);
        try {
          await write(client, sessions, key, value);
          acked.set(keyName(key), value);
          ackedTotal++;
          if (key.kind === 'user') userAcked();
        } catch {
          return; // died under the call: unacknowledged, may or may not be on disk
        }
      }
    });
    // Every third cycle lives until a users.create (a PBKDF2 of 390 000 rounds, seconds on a busy
    // machine) was acknowledged, then dies a random moment later: a fixed window let 12 cycles pass
    // with none acknowledged when the suite ran two files at once.
    if (cycle % 3 === 0) await Promise.race([firstUserAck, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 250));
    await daemon.stop('SIGKILL');
    alive = false;
    await Promise.all(writers);
    client.close();
  }

  await daemon.start();
  checkFiles(t, dataDir, secrets, CYCLES + 1);
  t.ok(ackedTotal > CYCLES, `${ackedTotal} writes acknowledged over ${CYCLES} kills`);
  t.equal(failures, 0, 'no acknowledged write was lost');
  // A writer stops at its first error (the kill): a kind whose every call failed would prove nothing.
  for (const kind of KINDS) {
    const most = Math.max(...all.filter((key) => key.kind === kind).map((key) => acked.get(keyName(key)) ?? 0));
    t.ok(most > 0, `${kind}: ${most} writes of one key acknowledged and kept`);
  }
  if (havePython(t)) {
    t.same(pythonReadBack({ dir: dataDir, passwords: passwords(), encrypted: {}, unencrypted: {}, annotations: {} }), [], 'Python reads every file after the last kill');
  }
});

/**
 * The steps Specter's `.bkp` adds to the durable write (the others are the coffer layout's, covered
 * by crash-recovery.test.ts). A crash fires before the call it names.
 */
const steps: Array<{ op: string; skip?: number; what: string; bkpRotated: boolean; renamed: boolean }> = [
  { op: 'link', what: 'linking the file for its .bkp', bkpRotated: false, renamed: false },
  { op: 'rename', what: 'renaming that link over the .bkp', bkpRotated: false, renamed: false },
  { op: 'link', skip: 1, what: 'keeping a link to the old file', bkpRotated: true, renamed: false },
  { op: 'rename', skip: 1, what: 'renaming the temp file over the file', bkpRotated: true, renamed: false },
  { op: 'fsyncDir', what: 'fsyncing the folder', bkpRotated: true, renamed: true },
];

t.test('a crash at each step of the write with .bkp leaves the file old or new, whole, and the .bkp a good older version', async (t) => {
  const user = expected.unencrypted_services_file.user;
  const name = `${user}_unencrypted_services.json`;
  for (const step of steps) {
    const dir = tempDir(t);
    const dataDir = copyDatadir(t, path.join(dir, 'data'));
    const rules = path.join(dir, 'faults.json');
    writeFileSync(rules, '[]');
    const daemon = new DaemonProcess(dir, { args: ['--fault-rules-file', rules], coverage: false });
    t.teardown(() => daemon.dispose());
    await daemon.start();
    const client = await daemon.client();
    await client.call('services.unencrypted.set', { username: user, service: 'app', data: { v: 'old' } });
    const old = readFileSync(path.join(dataDir, name));
    const pathIncludes = step.op === 'fsyncDir' ? `${path.sep}data` : name;
    writeFileSync(rules, JSON.stringify([{ op: step.op, fault: 'crash', pathIncludes, skip: step.skip ?? 0 }]));
    await client.call('services.unencrypted.set', { username: user, service: 'app', data: { v: 'new' } }).catch(() => undefined);
    t.equal((await daemon.waitForExit()).signal, 'SIGKILL', `${step.what}: the daemon died there`);
    writeFileSync(rules, '[]');
    await daemon.start();
    t.same(walk(dataDir).filter((f) => isOwnTempFile(path.basename(f))), [], `${step.what}: no temp file left after the restart`);
    const { data } = await (await daemon.client()).call('services.unencrypted.get', { username: user, service: 'app' });
    t.equal(data['v'], step.renamed ? 'new' : 'old', `${step.what}: the ${step.renamed ? 'new' : 'old'} value, whole`);
    const bkp = readFileSync(path.join(dataDir, `${name}.bkp`));
    t.ok(pyLoadsBytes(bkp), `${step.what}: the .bkp parses`);
    if (step.bkpRotated) t.same(bkp, old, `${step.what}: the .bkp is the version before`);
    else t.not(bkp.toString(), old.toString(), `${step.what}: the .bkp is still the older one`);
    await daemon.dispose();
  }
});
