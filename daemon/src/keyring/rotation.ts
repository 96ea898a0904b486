import { CofferError } from '@coffer/protocol';
import type { Logger } from '../base/logger.js';
import { fillRandom } from '../crypto/secret-wrap.js';
import type { AccountsCodec } from '../port/accounts.js';
import type { AccountsFile } from './accounts-file.js';
import type { UserDataHooks } from '../port/users.js';
import { previousViewOf, viewOf } from './unlocked-registry.js';
import type { UserKeys } from './user-keys.js';

/**
 * users.rotateSecret across two files, crash-safe (DESIGN §5: order the writes so a crash between
 * them leaves a state that reads correctly):
 *
 *   1. users.json gets the new secret, wrapped, NEXT TO the old one (`pendingSecret`). Only once
 *      that is durable does the new secret become primary in memory: a value written under it
 *      before then would be lost if this write failed.
 *   2. The store re-encrypts the user's data from old to new (`hooks.reencryptUserData`, idempotent);
 *      meanwhile reads fall back to `UnlockedUser.previous`.
 *   3. users.json drops the old secret (and a layout's kept older copy of it: FileIo.supersede).
 *
 * A crash after 1 leaves a pending rotation on disk; the next unlock of the user finishes it
 * (steps 2 and 3 again), and until then nothing is lost: both secrets are wrapped under the password.
 */
export class SecretRotation<R> {
  constructor(
    private readonly file: AccountsFile<R>,
    private readonly codec: AccountsCodec<R>,
    private readonly hooks: UserDataHooks,
    private readonly log: Logger,
  ) {}

  /** Steps 1–3 for an unlocked user. The caller holds the user's lock. */
  async rotate(username: string, keys: UserKeys): Promise<void> {
    if (keys.rotationPending) await this.finish(username, keys);
    const basis = (await this.file.current()).get(username);
    if (basis === undefined) throw new CofferError('NOT_FOUND');
    const pending = keys.stageNext((next, slots) => {
      fillRandom(next);
      return this.codec.beginRotation(username, basis, slots, next);
    });
    try {
      await this.file.mutate((draft) => {
        if (draft.get(username) !== basis) throw changedMeanwhile();
        draft.set(username, pending);
      });
    } catch (error) {
      keys.discardNext();
      throw error;
    }
    keys.promoteNext();
    this.log.info({ user: username }, 'secret rotation recorded; re-encrypting data');
    await this.finish(username, keys);
  }

  /** Steps 2 and 3: after rotate's first write, or on unlock of a user with a pending rotation. */
  async finish(username: string, keys: UserKeys): Promise<void> {
    await this.hooks.reencryptUserData(username, previousViewOf(username, keys), viewOf(username, keys));
    await this.file.mutate((draft) => {
      const record = draft.get(username);
      if (record === undefined) throw new CofferError('NOT_FOUND');
      draft.set(username, this.codec.finishRotation(record));
    });
    keys.dropPrevious();
    // A kept older users.json (specter: .bkp) still names the old secret as the user's: drop it too.
    await this.file.supersede().catch((error: unknown) => this.log.warn({ user: username, err: error }, 'could not replace the backup of users.json'));
    this.log.info({ user: username }, 'secret rotation finished');
  }
}

export function changedMeanwhile(): CofferError {
  return new CofferError('CONFLICT', 'users.json changed on disk during the call; retry');
}
