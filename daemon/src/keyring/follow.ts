import { watch, type FSWatcher } from 'chokidar';
import { CofferError } from '@coffer/protocol';
import type { Logger } from '../base/logger.js';
import type { AccountsCodec } from '../port/accounts.js';
import type { UnlockedRegistry } from './unlocked-registry.js';

/**
 * Follow mode (the specter layout's default, `--specter-users follow`): users.json is Specter's.
 * Specter rewrites it from its own memory on every change, so a second writer would lose writes;
 * cofferd never writes it and follows what Specter writes instead. This module holds the two halves
 * of that: the refusal (READ_ONLY) and the reaction to a change (who must be locked).
 */

/** Where the user must go instead, said in every READ_ONLY answer. */
const WHERE =
  'do it in Specter, or start cofferd with --specter-users manage (COFFER_SPECTER_USERS=manage) on a folder no Specter uses';

/** users.json belongs to Specter: `action` would write it. */
export function readOnly(action: string): CofferError {
  return new CofferError('READ_ONLY', `Read-only: users.json belongs to Specter and ${action} would write it; ${WHERE}`);
}

/** A password user whose secret Specter has not made yet: it makes one at their first login. */
export function noSecretYet(): CofferError {
  return new CofferError(
    'READ_ONLY',
    "Read-only: this user has no user secret yet, and making one would write Specter's users.json; log in through Specter once (Specter makes it at login), then unlock again",
  );
}

/** A rotation cofferd started under manage mode and did not finish: finishing it writes users.json. */
export function rotationUnfinished(): CofferError {
  return new CofferError(
    'READ_ONLY',
    'Read-only: this user has a secret rotation cofferd did not finish, and finishing it writes users.json; stop Specter and unlock once with --specter-users manage',
  );
}

/** Whether two records of one user hold the same wrapped secret (and so the same secret). */
export function sameSecret<R>(codec: AccountsCodec<R>, a: R, b: R | undefined): boolean {
  if (b === undefined) return false;
  return a === b || codec.facts(a).secretIdentity === codec.facts(b).secretIdentity;
}

/**
 * After users.json was re-read: a user who is gone, or whose wrapped secret changed, is locked
 * (sessions ended, secret zeroed). A changed wrap may be a password change (same secret) or a new
 * secret; telling them apart needs the new password, which we do not have, and a secret kept after
 * it was replaced would put new data under a key Specter no longer has. So both end the sessions:
 * the next unlock, with the password that opens the new wrap, starts again (DESIGN-NOTES).
 */
export function lockChanged<R>(
  codec: AccountsCodec<R>,
  registry: UnlockedRegistry,
  log: Logger,
  before: ReadonlyMap<string, R>,
  after: ReadonlyMap<string, R>,
): void {
  for (const username of registry.unlockedNames()) {
    const was = before.get(username);
    const now = after.get(username);
    if (now !== undefined && (was === undefined || sameSecret(codec, was, now))) continue;
    log.info({ user: username, why: now === undefined ? 'deleted' : 'secret changed' }, 'users.json changed on disk: user locked');
    registry.lock(username);
  }
}

/**
 * chokidar on users.json, so a change Specter made locks who it must at once (secrets zeroed
 * without waiting for a call). It follows Specter's rename-to-.bkp-then-write as one change. An aid
 * only: every call that uses a session or a user re-checks the file first.
 */
export class AccountsWatch {
  private watcher: FSWatcher | undefined;

  constructor(
    file: string,
    onChange: () => void,
    log: Logger,
  ) {
    const watcher = watch(file, { ignoreInitial: true, persistent: false });
    watcher.on('all', () => onChange());
    // An inotify failure (the watch limit) cannot be provoked from a test; the per-call check stays.
    /* c8 ignore start */
    watcher.once('error', (error) => log.warn({ err: error }, 'watching users.json failed; changes are still checked at every call'));
    watcher.on('error', () => undefined);
    /* c8 ignore stop */
    this.watcher = watcher;
  }

  close(): void {
    const watcher = this.watcher;
    this.watcher = undefined;
    void watcher?.close();
  }
}
