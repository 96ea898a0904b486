import type { Logger } from '../base/logger.js';
import { DAEMON_VERSION } from '../base/version.js';
import { CofferError } from '@coffer/protocol';
import type { Keyring, UserListEntry } from '../keyring/keyring.js';
import type { Layout } from '../port/layout.js';
import { takeBackup } from '../ops/backup.js';
import { listDataFiles } from '../ops/data-files.js';
import { verifyPage } from '../ops/verify.js';
import type { WriteGate } from '../ops/write-gate.js';
import type { Fs } from '../disk/fs.js';
import type { Handlers } from './dispatcher.js';

export interface OpsSources {
  readonly layout: Layout;
  readonly keyring: Keyring<unknown>;
  readonly gate: WriteGate;
  /** The daemon's Fs (gated: reads pass). */
  readonly fs: Fs;
  /** The same without the gate: what the backup reads and writes with while it holds the gate. */
  readonly ungatedFs: Fs;
  readonly log: Logger;
}

/** daemon.backup and daemon.verify (ops/): whole-data-dir operations, by the daemon that serializes every write. */
export function opsHandlers(sources: OpsSources): Pick<Handlers, 'daemon.backup' | 'daemon.verify'> {
  const { layout, keyring } = sources;
  const users = () => usersOrNone(keyring);
  const files = () => listDataFiles({ layout, accountsPath: keyring.accountsPath, usernames: async () => (await users()).map((u) => u.username) }, sources.fs);
  return {
    'daemon.backup': (p) => takeBackup({ dataDir: layout.dataDir, layout: layout.name, daemonVersion: DAEMON_VERSION, gate: sources.gate, fs: sources.ungatedFs, log: sources.log, files }, p.dest),
    'daemon.verify': (p) =>
      verifyPage(
        {
          layout,
          fs: sources.fs,
          files,
          checkAccounts: (bytes) => keyring.checkAccountsBytes(bytes),
          unlockedUsers: async () =>
            (await users()).flatMap((u) => {
              const user = u.unlocked ? keyring.unlockedUser(u.username) : undefined;
              return user ? [user] : [];
            }),
        },
        p.after,
        p.limit,
      ),
  };
}

/**
 * The users, or none while users.json does not decode: verify must still run (and report that file
 * corrupt) and a backup still copy what it can, rather than fail as every user call does then.
 */
async function usersOrNone(keyring: Keyring<unknown>): Promise<UserListEntry[]> {
  try {
    return await keyring.list();
  } catch (error) {
    /* c8 ignore start: list() fails only with CORRUPT */
    if (!(error instanceof CofferError && error.reason === 'CORRUPT')) throw error;
    /* c8 ignore stop */
    return [];
  }
}
