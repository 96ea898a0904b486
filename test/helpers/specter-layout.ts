import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { UserDataHooks } from '../../daemon/src/port/users.js';
import { Keyring, type KeyringOptions } from '../../daemon/src/keyring/keyring.js';
import { SpecterAccounts } from '../../daemon/src/layout/specter/accounts.js';
import type { SpecterAccount } from '../../daemon/src/layout/specter/users-json.js';
import { BackupFileIo } from '../../daemon/src/layout/specter/file-io.js';
import { FileUnits } from '../../daemon/src/files/unit.js';
import { pyLoads, type PyObject, type PyValue } from '../../daemon/src/specter/index.js';
import { realFs, type Fs } from '../../daemon/src/disk/fs.js';
import { Store } from '../../daemon/src/store/store.js';
import { memoryLogger, noHooks } from './keyring.js';
import { tempDir, vectorMeta, vectorPath, type TeardownLike } from './specter.js';

/** What the tests read from the vectors' expected.json (generic: a held-out set has other names). */
export interface VectorUser {
  password: string;
  user_id: string;
  user_secret?: string;
  wrong_passwords?: Record<string, string>;
}

export interface Expected {
  users: Record<string, VectorUser>;
  encrypted_user_secret_legacy_iterations: { file: string; user: string; iterations: number };
  services_file: { path: string; user: string; services: Record<string, Record<string, unknown>>; plaintext_json_strings: Record<string, string> };
  unencrypted_services_file: { path: string; user: string; services: Record<string, Record<string, unknown>> };
  annotations_file: { path: string; user: string; wallet_alias: string; service_id: string };
  recovery: { older_services: Record<string, Record<string, unknown>> };
}

export const expected = vectorMeta<Expected>('expected.json');

/** The users of the vector set with a secret, and without one (first unlock makes it). */
export function usersWithSecret(): string[] {
  return Object.keys(expected.users).filter((name) => expected.users[name]!.user_secret !== undefined);
}

export function usersWithoutSecret(): string[] {
  return Object.keys(expected.users).filter((name) => expected.users[name]!.user_secret === undefined);
}

export function passwordOf(username: string): string {
  const user = expected.users[username];
  if (!user) throw new Error(`no user ${username} in the vectors`);
  return user.password;
}

/** A writable copy of the vectors' data folder (the shared one is read-only). */
export function copyDatadir(t: TeardownLike, into?: string): string {
  const dir = into ?? tempDir(t);
  cpSync(vectorPath('datadir'), dir, { recursive: true });
  return dir;
}

/** users.json of `dir` in the lossless model. */
export function usersJson(dir: string): PyObject[] {
  return pyLoads(readFileSync(path.join(dir, 'users.json'), 'utf8')) as PyObject[];
}

export function userEntry(dir: string, username: string): PyObject {
  const user = usersJson(dir).find((u) => u.get('username') === username);
  if (!user) throw new Error(`no ${username} in ${dir}/users.json`);
  return user;
}

export function field(user: PyObject, key: string): PyValue | undefined {
  return user.get(key);
}

/** A keyring in this process over a specter folder: the specter codec, `.bkp` I/O, real crypto. */
export async function openSpecterKeyring(
  t: TeardownLike,
  dataDir: string,
  options: Partial<KeyringOptions<SpecterAccount>> & { fs?: Fs; hooks?: UserDataHooks } = {},
): Promise<{ keyring: Keyring<SpecterAccount>; logText: () => string }> {
  const { log, text } = memoryLogger();
  const { fs = realFs, ...rest } = options;
  const store = new Store(fs, log, { maxDocBytes: 8 * 1024 * 1024, groupCommit: true });
  const keyring = await Keyring.open<SpecterAccount>({
    store,
    dataDir,
    codec: await SpecterAccounts.create(),
    units: new FileUnits(fs, new BackupFileIo()),
    hooks: noHooks,
    log,
    unlockConcurrency: 2,
    sessionTtlS: 3600,
    sessionIdleS: 600,
    backoff: { freeFailures: 100, baseMs: 1, maxMs: 1, forgetAfterMs: 1, maxEntries: 100 },
    ...rest,
  });
  t.teardown(() => keyring.close());
  return { keyring, logText: text };
}
