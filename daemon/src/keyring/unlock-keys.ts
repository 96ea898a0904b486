import type { Logger } from '../base/logger.js';
import type { AccountsCodec } from '../port/accounts.js';
import type { AccountsFile } from './accounts-file.js';
import { noSecretYet, rotationUnfinished, sameSecret } from './follow.js';
import type { PasswordGate } from './password-gate.js';
import { changedMeanwhile, type SecretRotation } from './rotation.js';
import type { UserKeys } from './user-keys.js';

export interface UnlockDeps<R> {
  readonly file: AccountsFile<R>;
  readonly codec: AccountsCodec<R>;
  readonly gate: PasswordGate<R>;
  readonly rotation: SecretRotation<R>;
  readonly log: Logger;
  /** Follow mode (keyring/follow.ts): nothing may be written to the accounts file. */
  readonly follows: boolean;
}

/**
 * users.unlock between the password check and the session: the user's keys opened from `basis` and
 * made ready to install, with what an unlock writes (a first secret, the KDF upgrade, an unfinished
 * rotation) done, or in follow mode refused or left to the file's owner. The caller holds the
 * user's lock; on any failure the keys are zeroed.
 */
export async function openForUnlock<R>(deps: UnlockDeps<R>, username: string, basis: R, pw: Buffer): Promise<UserKeys> {
  const { codec, gate, follows } = deps;
  if (follows) refuseUnlockWrites(codec, basis);
  const { keys, opened } = await gate.open(username, basis, pw);
  try {
    // What the KDF ran on must still be the user's secret: a change meanwhile was not followed.
    if (!sameSecret(codec, basis, (await deps.file.current()).get(username))) throw changedMeanwhile();
    // Follow mode leaves the KDF upgrade to Specter (it makes it at the user's next login there).
    if (opened.wantsRewrap && !follows) await upgradeKdf(deps, username, basis, keys, pw, opened.secretCreated === true);
    else keys.seal(opened.rotationPending);
    if (keys.rotationPending) await finishRotation(deps, username, keys);
    return keys;
  } catch (error) {
    keys.destroy();
    throw error;
  }
}

/** Replaces the user's record, unless the file changed it since `basis` was read. */
export function replaceRecord<R>(file: AccountsFile<R>, username: string, basis: R, record: R): Promise<void> {
  return file.mutate((draft) => {
    // Only a hand edit of users.json can change a record while we hold the user's lock.
    if (draft.get(username) !== basis) throw changedMeanwhile();
    draft.set(username, record);
  });
}

/** Follow mode: an unlock that could only succeed by writing the accounts file. */
function refuseUnlockWrites<R>(codec: AccountsCodec<R>, record: R): void {
  const facts = codec.facts(record);
  if (facts.awaitsSecret) throw noSecretYet();
  if (facts.rotationPending) throw rotationUnfinished();
}

/**
 * Re-wraps with the configured (stronger) KDF parameters. Best effort: the unlock succeeds anyway,
 * unless `required` (the secret was just created and exists nowhere else: unlocking without
 * recording it would let data be written under a secret that is lost at the next lock).
 */
async function upgradeKdf<R>(deps: UnlockDeps<R>, username: string, basis: R, keys: UserKeys, pw: Buffer, required: boolean): Promise<void> {
  const pending = deps.codec.facts(basis).rotationPending;
  const rewrapped = await deps.gate.rewrap(username, basis, keys, pw);
  keys.seal(pending);
  try {
    await replaceRecord(deps.file, username, basis, rewrapped);
    keys.commitNextKek();
    deps.log.info({ user: username }, required ? 'user secret created' : 'KDF parameters upgraded');
  } catch (error) {
    if (required) throw error;
    deps.log.warn({ user: username, err: error }, 'KDF upgrade not saved; will retry at next unlock');
  }
}

/** A rotation left unfinished (crash, failed write): finish it now. Best effort, like the upgrade. */
async function finishRotation<R>(deps: UnlockDeps<R>, username: string, keys: UserKeys): Promise<void> {
  try {
    await deps.rotation.finish(username, keys);
  } catch (error) {
    deps.log.warn({ user: username, err: error }, 'pending secret rotation not finished; will retry');
  }
}
