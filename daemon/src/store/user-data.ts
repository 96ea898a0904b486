import type { UnlockedUser, UserDataHooks } from '../port/users.js';
import { userFiles, type Layout } from '../port/layout.js';
import type { Logger } from '../base/logger.js';
import type { ServiceData } from './services.js';
import type { Store } from './store.js';

/**
 * The store's side of account operations that span files (port/users.ts). The keyring calls
 * these before it rewrites users.json, so a crash in between leaves a state that reads correctly:
 * a deleted user's files are gone before the user is; re-encryption is idempotent and redone.
 */
export class UserDataLifecycle implements UserDataHooks {
  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
    private readonly services: ServiceData,
    private readonly log: Logger,
  ) {}

  async deleteUserFiles(username: string): Promise<void> {
    for (const spec of await userFiles(this.layout, username)) {
      // Each file through its own queue, so a write racing the delete is ordered with it.
      await this.store.unit<unknown>(spec).remove();
    }
  }

  /** A services file (or its kept older version) of this name that nobody owns: it would be inherited. */
  async leftoverFile(username: string): Promise<string | undefined> {
    for (const encrypted of [true, false]) {
      const spec = this.layout.servicesFile(username, encrypted);
      // There, though unreadable: still someone's.
      if (await spec.units.present(spec.path)) return spec.path;
    }
    return undefined;
  }

  async reencryptUserData(username: string, from: UnlockedUser, to: UnlockedUser): Promise<void> {
    const { resealed, unreadable } = await this.services.reencrypt(username, from, to);
    if (unreadable > 0) this.log.warn({ user: username, unreadable }, 'values that open under neither secret were left as they are');
    this.log.info({ user: username, resealed }, 're-encrypted service data under the new secret');
  }
}
