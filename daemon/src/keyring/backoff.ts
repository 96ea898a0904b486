import { CofferError } from '@coffer/protocol';

export interface BackoffPolicy {
  /** Failures allowed before any delay (typos happen). */
  readonly freeFailures: number;
  /** Delay after the first counted failure; doubles with each further one. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** A name with no failure for this long starts from zero again. */
  readonly forgetAfterMs: number;
  /** Names tracked at most; past it the stalest is forgotten (memory stays bounded). */
  readonly maxEntries: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = {
  freeFailures: 3,
  baseMs: 1000,
  maxMs: 15 * 60 * 1000,
  forgetAfterMs: 60 * 60 * 1000,
  maxEntries: 10_000,
};

interface Entry {
  failures: number;
  blockedUntil: number;
  lastFailureAt: number;
}

/**
 * Exponential backoff of failed password checks per username (DESIGN §4). Checked before any
 * Argon2id work, so a blocked name costs the daemon nothing; a wrong password after the free ones
 * blocks the name for baseMs·2^(n−1), up to maxMs. Every password check counts (unlock, password
 * change, delete), since each one is an oracle for the password.
 */
export class UnlockBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly now: () => number,
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF,
  ) {}

  /** Throws RATE_LIMITED (with data.retryAfterS) while `username` is blocked. */
  check(username: string): void {
    const entry = this.entries.get(username);
    if (!entry) return;
    const waitMs = entry.blockedUntil - this.now();
    if (waitMs > 0) {
      const retryAfterS = Math.ceil(waitMs / 1000);
      throw new CofferError('RATE_LIMITED', `Too many failed attempts; retry in ${retryAfterS} s`, { retryAfterS });
    }
  }

  fail(username: string): void {
    const now = this.now();
    const previous = this.entries.get(username);
    const failures = previous && now - previous.lastFailureAt < this.policy.forgetAfterMs ? previous.failures + 1 : 1;
    const counted = failures - this.policy.freeFailures;
    const delay = counted <= 0 ? 0 : Math.min(this.policy.baseMs * 2 ** Math.min(counted - 1, 30), this.policy.maxMs);
    // Re-inserting keeps the Map in least-recently-failed order for eviction.
    this.entries.delete(username);
    this.entries.set(username, { failures, blockedUntil: now + delay, lastFailureAt: now });
    while (this.entries.size > this.policy.maxEntries) {
      const stalest = this.entries.keys().next().value as string;
      this.entries.delete(stalest);
    }
  }

  /** A right password clears the name's record. */
  succeed(username: string): void {
    this.entries.delete(username);
  }

  /** Drops records that no longer block anything and are past forgetAfterMs. */
  prune(): void {
    const now = this.now();
    for (const [name, entry] of this.entries) {
      if (entry.blockedUntil <= now && now - entry.lastFailureAt >= this.policy.forgetAfterMs) this.entries.delete(name);
    }
  }

  get tracked(): number {
    return this.entries.size;
  }
}
