import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { CofferClient } from '@coffer/client';
import { isOwnTempFile } from '../daemon/src/disk/durable-write.js';
import { DaemonProcess, tempDir } from './helpers/daemon.js';
import { FAST_KDF_ARGS as FAST_KDF } from './helpers/keyring.js';

// Kill -9 in a loop while clients write; `npm run crash-test -- --cycles 1000` for the long run.
const CYCLES = Number(process.env['COFFER_CRASH_CYCLES'] ?? 12);
t.setTimeout(Math.max(300_000, CYCLES * 10_000));

const USERS = ['ann', 'ben', 'cat'];
const PASSWORD = 'crash test password';
const WRITERS = 12;

/** Every kind of write the coffer layout stores: services of both kinds, documents, annotations. */
type Kind = 'encrypted' | 'unencrypted' | 'doc' | 'annotation';
const KINDS: readonly Kind[] = ['encrypted', 'unencrypted', 'doc', 'annotation'];

interface Key {
  user: string;
  kind: Kind;
  service: string;
  field: string;
}

const keyName = (k: Key) => `${k.user}/${k.kind}/${k.service}/${k.field}`;
const annotationOf = (k: Key) => ({ username: k.user, wallet: 'crash', service: k.service, kind: 'addr' as const, id: `bc1q${k.field}crashcrashcrash` });

/** The value last stored for `key` (0 if none yet). */
async function readValue(client: CofferClient, key: Key, session: string): Promise<number> {
  switch (key.kind) {
    case 'encrypted':
      return ((await client.call('services.encrypted.get', { session, service: key.service })).data[key.field] as number | undefined) ?? 0;
    case 'unencrypted':
      return ((await client.call('services.unencrypted.get', { username: key.user, service: key.service })).data[key.field] as number | undefined) ?? 0;
    case 'doc': {
      const doc = await client.call('docs.get', { name: key.service }).catch(() => undefined); // NOT_FOUND before the first write
      return (doc?.data[key.field] as number | undefined) ?? 0;
    }
    case 'annotation': {
      const one = (await client.call('annotations.get', annotationOf(key))) as { data?: { v?: number } | null };
      return one.data?.v ?? 0;
    }
  }
}

function writeValue(client: CofferClient, key: Key, session: string, value: number): Promise<unknown> {
  switch (key.kind) {
    case 'encrypted':
      return client.call('services.encrypted.update', { session, service: key.service, patch: { [key.field]: value } });
    case 'unencrypted':
      return client.call('services.unencrypted.update', { username: key.user, service: key.service, patch: { [key.field]: value } });
    case 'doc':
      return client.call('docs.update', { name: key.service, patch: { [key.field]: value } });
    case 'annotation':
      return client.call('annotations.set', { ...annotationOf(key), data: { v: value } });
  }
}

/** Every file in the data dir parses as JSON, and no temp file of ours is left. */
function checkFiles(t: Test, dataDir: string, cycle: number): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  const files = walk(dataDir);
  const temps = files.filter((f) => isOwnTempFile(path.basename(f)));
  if (temps.length > 0) t.fail(`cycle ${cycle}: temp files left: ${temps.join(', ')}`);
  for (const file of files.filter((f) => f.endsWith('.json'))) {
    try {
      JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      t.fail(`cycle ${cycle}: ${file} does not parse`);
    }
  }
}

t.test(`kill -9 during writes of every kind (services, documents, annotations, users), ${CYCLES} cycles: every acknowledged write survives, every file parses and decrypts`, async (t) => {
  const dir = tempDir(t);
  const daemon = new DaemonProcess(dir, { args: FAST_KDF, coverage: false });
  t.teardown(() => daemon.dispose());
  await daemon.start();
  const setup = await daemon.client();
  for (const user of USERS) await setup.call('users.create', { username: user, password: PASSWORD });
  setup.close();

  const keys: Key[] = [];
  for (let w = 0; w < WRITERS; w++) {
    keys.push({ user: USERS[w % USERS.length]!, kind: KINDS[w % KINDS.length]!, service: `svc-${w % 4}`, field: `w${w}` });
  }
  const acked = new Map<string, number>(); // highest value the daemon acknowledged
  const attempted = new Map<string, number>(); // highest value ever sent
  let ackedTotal = 0;
  const createdUsers = new Set<string>();
  let failures = 0;

  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    if (cycle > 1) await daemon.start();
    checkFiles(t, daemon.dataDir, cycle);
    const client = await daemon.client({ timeoutMs: 10_000 });
    const unlocked = await Promise.all(USERS.map((username) => client.call('users.unlock', { username, password: PASSWORD })));
    const sessions = new Map(unlocked.map((u) => [u.username, u.session]));

    // Verify: every acknowledged value is there (or a later attempted one), and everything decrypts.
    const stored = await Promise.all(keys.map((key) => readValue(client, key, sessions.get(key.user)!)));
    const listed = new Set((await client.call('users.list', {})).users.map((u) => u.username));
    const lostUsers = [...createdUsers].filter((name) => !listed.has(name));
    if (lostUsers.length > 0) {
      failures++;
      t.fail(`cycle ${cycle}: created users lost: ${lostUsers.join(', ')}`);
    }
    for (const [i, key] of keys.entries()) {
      const value = stored[i]!;
      const lo = acked.get(keyName(key)) ?? 0;
      const hi = attempted.get(keyName(key)) ?? 0;
      if (value < lo || value > hi) {
        failures++;
        t.fail(`cycle ${cycle}: ${keyName(key)} is ${value}, acknowledged ${lo}, attempted up to ${hi}`);
      }
      // What is on disk now counts as acknowledged: the next cycle must not go below it.
      acked.set(keyName(key), value);
      attempted.set(keyName(key), Math.max(hi, value));
    }

    // Write until killed at a random moment.
    let alive = true;
    const writers = keys.map(async (key) => {
      while (alive) {
        const value = (attempted.get(keyName(key)) ?? 0) + 1;
        attempted.set(keyName(key), value);
        try {
          await writeValue(client, key, sessions.get(key.user)!, value);
          acked.set(keyName(key), value);
          ackedTotal++;
        } catch {
          return; // the daemon died under the call: unacknowledged, may or may not be on disk
        }
      }
    });
    // Users are written too: each one acknowledged must be listed after the kill.
    const creator = (async () => {
      while (alive) {
        const username = `new${createdUsers.size + 1}-c${cycle}`;
        try {
          await client.call('users.create', { username });
          createdUsers.add(username);
          ackedTotal++;
        } catch {
          return;
        }
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 250));
    await daemon.stop('SIGKILL');
    alive = false;
    await Promise.all([...writers, creator]);
    client.close();
    if (failures > 0) break;
  }

  await daemon.start();
  checkFiles(t, daemon.dataDir, CYCLES + 1);
  t.ok(ackedTotal > CYCLES, `${ackedTotal} writes acknowledged over ${CYCLES} kills`);
  t.equal(failures, 0, 'no acknowledged write was lost');
  // A writer stops at its first error (the kill): a kind whose every call failed would prove nothing.
  for (const kind of KINDS) {
    const most = Math.max(...keys.filter((key) => key.kind === kind).map((key) => acked.get(keyName(key)) ?? 0));
    t.ok(most > 0, `${kind}: ${most} writes of one key acknowledged and kept`);
  }
  t.ok(createdUsers.size > 0, `users: ${createdUsers.size} created and kept`);
});

const steps = ['open', 'write', 'fsync', 'close', 'link', 'rename', 'fsyncDir'] as const;

t.test('a crash at each step of the durable write leaves the old or the new file, whole', async (t) => {
  for (const op of steps) {
    const dir = tempDir(t);
    const rules = path.join(dir, 'faults.json');
    const daemon = new DaemonProcess(dir, { args: [...FAST_KDF, '--fault-rules-file', rules], coverage: false });
    t.teardown(() => daemon.dispose());
    await daemon.start();
    const client: CofferClient = await daemon.client();
    await client.call('users.create', { username: 'dee' });
    await client.call('services.unencrypted.set', { username: 'dee', service: 'app', data: { v: 'old' } });
    // fsyncDir is about the directory; every other step about the file (or its temp).
    const pathIncludes = op === 'fsyncDir' ? `${path.sep}services` : 'dee_unencrypted';
    writeFileSync(rules, JSON.stringify([{ op, fault: 'crash', pathIncludes }]));
    await client.call('services.unencrypted.set', { username: 'dee', service: 'app', data: { v: 'new' } }).catch(() => undefined);
    const exit = await Promise.race([
      daemon.waitForExit(),
      new Promise<{ signal: string }>((resolve) => setTimeout(() => resolve({ signal: 'still running' }), 20_000)),
    ]);
    t.equal(exit.signal, 'SIGKILL', `${op}: the daemon died at that step`);
    writeFileSync(rules, '[]');
    await daemon.start();
    checkFiles(t, daemon.dataDir, 0);
    const after = await daemon.client();
    const { data } = await after.call('services.unencrypted.get', { username: 'dee', service: 'app' });
    t.ok(data['v'] === 'old' || data['v'] === 'new', `${op}: the value is whole (${String(data['v'])})`);
    // Before the rename the old file stands; a process crash after it keeps the renamed file.
    t.equal(data['v'], op === 'fsyncDir' ? 'new' : 'old', `${op}: ${op === 'fsyncDir' ? 'after' : 'before'} the rename`);
    t.ok(existsSync(path.join(daemon.dataDir, 'services', 'dee_unencrypted_services.json')));
    await daemon.dispose();
  }
});
