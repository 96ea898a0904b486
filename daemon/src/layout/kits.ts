import type { Config } from '../base/config.js';
import type { Fs } from '../disk/fs.js';
import { Keyring, type KeyringOptions } from '../keyring/keyring.js';
import type { Layout } from '../port/layout.js';
import { CofferAccounts } from './coffer/accounts.js';
import { CofferLayout } from './coffer/coffer-layout.js';
import type { LayoutName } from './detect.js';
import { SpecterAccounts } from './specter/accounts.js';
import { SpecterLayout } from './specter/specter-layout.js';
import { walletsRootOf } from './specter/users-json.js';

/** The options a layout kit reads: its slice of the daemon's `Config`. */
export type KitOptions = Pick<Config, 'dataDir' | 'kdfOpslimit' | 'kdfMemlimit' | 'specterUsers' | 'watch'>;

/** Everything the keyring needs that does not depend on the layout. */
export type CommonKeyringOptions = Omit<KeyringOptions<unknown>, 'codec' | 'units' | 'follow'>;

/**
 * A layout's two halves, the store's (`Layout`: files and value encryption) and the keyring's
 * (`AccountsCodec`: users.json and the user secret), wired together. This is the one place that
 * knows which layouts exist; everything else talks to the interfaces.
 */
export interface LayoutKit {
  readonly layout: Layout;
  openKeyring(options: CommonKeyringOptions): Promise<Keyring<unknown>>;
}

function cofferKit(config: KitOptions, fs: Fs): LayoutKit {
  const layout = new CofferLayout(config.dataDir, fs);
  return {
    layout,
    openKeyring: (options) =>
      Keyring.open({
        ...options,
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
      const keyring = await Keyring.open({ ...options, codec: await SpecterAccounts.create(), units: layout.units, follow });
      // Wallet roots are named by user id, which users.json holds (spec §1).
      layout.useAccounts((username) => walletsRootOf(username, keyring.accounts()));
      return keyring;
    },
  };
}

export function layoutKit(name: LayoutName, config: KitOptions, fs: Fs): LayoutKit {
  return name === 'specter' ? specterKit(config, fs) : cofferKit(config, fs);
}
