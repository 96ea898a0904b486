import { CofferError } from '@coffer/protocol';
import { passwordBytes } from '../crypto/argon2id.js';
import { KdfPool } from '../crypto/kdf-pool.js';
import { wipe, type MemoryOps } from '../crypto/secret-memory.js';
import type { Logger } from '../base/logger.js';
import type { AccountsCodec, KeySlots, OpenResult } from '../port/accounts.js';
import type { UnlockBackoff } from './backoff.js';
import { UserKeys } from './user-keys.js';

/**
 * Where passwords are checked and keys made: every KDF run waits for a slot of the pool
 * (--unlock-concurrency), and every password check goes through the backoff, re-checked once the
 * slot is granted, so a burst of guesses queued behind each other cannot slip past a block.
 */
export class PasswordGate<R> {
  private readonly pool: KdfPool;

  constructor(
    private readonly codec: AccountsCodec<R>,
    readonly backoff: UnlockBackoff,
    concurrency: number,
    private readonly log: Logger,
    private readonly memory: MemoryOps | undefined,
    private readonly lingerMs: number,
  ) {
    this.pool = new KdfPool(concurrency);
  }

  /** One guarded allocation sized for the layout's secrets and keys. */
  allocateKeys(): UserKeys {
    return UserKeys.allocate(this.codec, this.memory, this.lingerMs);
  }

  /** Runs a KDF-bound codec call on fresh or opened keys, in a pool slot. */
  kdf<T>(job: () => Promise<T>): Promise<T> {
    return this.pool.run(job);
  }

  /**
   * Checks the password and opens the user's keys (still unsealed, for a re-wrap to follow).
   * BAD_PASSWORD counts toward the backoff; the caller clears it when the whole call succeeds.
   */
  async open(username: string, record: R, pw: Buffer): Promise<{ keys: UserKeys; opened: OpenResult }> {
    const keys = this.allocateKeys();
    try {
      const opened = await this.pool.run(() => {
        this.backoff.check(username);
        return this.codec.open(username, record, pw, keys.fillSlots());
      });
      if (opened === null) {
        this.backoff.fail(username);
        this.log.warn({ user: username }, 'wrong password');
        throw new CofferError('BAD_PASSWORD');
      }
      return { keys, opened };
    } catch (error) {
      keys.destroy();
      throw error;
    }
  }

  /**
   * An unlock of a name that does not exist: the KDF runs as for a wrong password (same pool, same
   * backoff, same cost), then the same BAD_PASSWORD, so a peer cannot tell names from passwords.
   */
  async refuseUnknown(username: string, pw: Buffer): Promise<never> {
    const out = Buffer.alloc(this.codec.kekBytes);
    try {
      await this.pool.run(() => {
        this.backoff.check(username);
        return this.codec.decoy(pw, out);
      });
    } finally {
      wipe(out);
    }
    this.backoff.fail(username);
    // Without the name: an unknown one is often a password typed in the wrong field.
    this.log.warn('unlock of an unknown user');
    throw new CofferError('BAD_PASSWORD');
  }

  /** A new record for `username` made in throwaway keys (creating does not unlock). */
  async create(username: string, pw: Buffer | undefined): Promise<R> {
    const keys = this.allocateKeys();
    try {
      return await this.pool.run(() => this.codec.create(username, pw, keys.fillSlots()));
    } finally {
      keys.destroy();
    }
  }

  /** `keys` (opened, unsealed) wrapped under `pw`; the new kek waits in nextKek. */
  rewrap(username: string, record: R, keys: UserKeys, pw: Buffer): Promise<R> {
    return this.pool.run(() => this.codec.rewrap(username, record, keys.fillSlots() satisfies KeySlots, pw));
  }
}

/**
 * A password as it reaches the keyring: bytes taken from the request frame (rpc/password-frames.ts,
 * owned and wiped by the call), or a string (in-process callers, frames that kept it as text).
 */
export type PasswordArg = Buffer | string;

/** The password as bytes for the length of `fn`; bytes made here from a string are wiped after (the string cannot be). */
export async function withPassword<T>(password: PasswordArg, fn: (pw: Buffer) => Promise<T>): Promise<T> {
  if (Buffer.isBuffer(password)) return fn(password);
  const pw = passwordBytes(password);
  try {
    return await fn(pw);
  } finally {
    wipe(pw);
  }
}

export async function withOptionalPassword<T>(
  password: PasswordArg | undefined,
  fn: (pw: Buffer | undefined) => Promise<T>,
): Promise<T> {
  return password === undefined ? fn(undefined) : withPassword(password, fn);
}
