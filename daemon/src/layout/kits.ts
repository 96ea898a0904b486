import path from 'node:path';
import type { Config } from '../base/config.js';
import type { Logger } from '../base/logger.js';
import { SessionVault } from '../keyring/session-vault.js';
import type { Fs } from '../disk/fs.js';
import { Keyring, type KeyringOptions } from '../keyring/keyring.js';
import type { Layout } from '../port/layout.js';
import type { Units } from '../port/storage.js';
import { CofferAccounts } from './coffer/accounts.js';
import { CofferLayout } from './coffer/coffer-layout.js';
import { plainFileUnits } from './coffer/file-io.js';
import type { LayoutName } from './detect.js';
import { SpecterAccounts } from './specter/accounts.js';
import { SpecterLayout } from './specter/specter-layout.js';
import { walletsRootOf } from './specter/users-json.js';

/** The options a layout kit reads: its slice of the daemon's `Config`. */
export type KitOptions = Pick<Config, 'dataDir' | 'kdfOpslimit' | 'kdfMemlimit' | 'specterUsers' | 'watch'>;

/** Everything the keyring needs that does not depend on the layout. */
export type CommonKeyringOptions = Omit<KeyringOptions<unknown>, 'codec' | 'units' | 'follow' | 'dataDir'>;

/**
 * A layout's two halves, the store's (`Layout`: files and value encryption) and the keyring's
 * (`AccountsCodec`: users.json and the user secret), wired together. This is the one place that
 * knows which layouts exist; everything else talks to the interfaces.
 */
export interface LayoutKit {
  readonly layout: Layout;
  openKeyring(options: CommonKeyringOptions): Promise<Keyring<unknown>>;
}

/**
 * The coffer layout on files in the data dir, or on a database's units (`database`), where keys
 * are the same paths relative to no folder (`users.json`, `services/…`).
 */
function cofferKit(config: KitOptions, fs: Fs, database: Units | undefined): LayoutKit {
  const root = database ? '' : config.dataDir;
  const layout = new CofferLayout(root, fs, database);
  return {
    layout,
    openKeyring: (options) =>
      Keyring.open({
        ...options,
        dataDir: root,
        codec: new CofferAccounts({ opslimit: config.kdfOpslimit, memlimit: config.kdfMemlimit }),
        units: layout.units,
      }),
  };
}

function specterKit(config: KitOptions, fs: Fs): LayoutKit {
  const layout = new SpecterLayout(config.dataDir, fs);
  return {
    layout,
    async openKeyring(options) {
      // users.json is Specter's unless told otherwise (--specter-users, keyring/follow.ts).
      const follow = config.specterUsers === 'follow' ? { watch: config.watch } : undefined;
      const keyring = await Keyring.open({ ...options, dataDir: config.dataDir, codec: await SpecterAccounts.create(), units: layout.units, follow });
      // Wallet roots are named by user id, which users.json holds (spec §1).
      layout.useAccounts((username) => walletsRootOf(username, keyring.accounts()));
      return keyring;
    },
  };
}

/** `database`: the units of --store postgres (coffer layout only: app.ts refuses the rest). */
export function layoutKit(name: LayoutName, config: KitOptions, fs: Fs, database?: Units): LayoutKit {
  return name === 'specter' ? specterKit(config, fs) : cofferKit(config, fs, database);
}

/**
 * Where stored sessions go (--persist-sessions, keyring/session-vault.ts): rows of the database
 * beside the data, or plain files in a folder of the data dir (`coffer-sessions` in a Specter
 * folder, whose names are Specter's). Never in daemon.backup: a restored backup must not bring
 * back sessions that were ended since.
 */
export function sessionVault(name: LayoutName, dataDir: string, fs: Fs, log: Logger, database?: Units): SessionVault {
  if (database) return new SessionVault(database, 'sessions', log, Date.now);
  return new SessionVault(plainFileUnits(fs), path.join(dataDir, name === 'specter' ? 'coffer-sessions' : 'sessions'), log, Date.now);
}
