/**
 * At most `concurrency` password-hashing jobs at once; the rest wait in order. Argon2id at MODERATE
 * takes 256 MiB and half a second per run: without a cap, a burst of unlocks would take all
 * memory and every libuv thread (file I/O shares that pool).
 */
export class KdfPool {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly concurrency: number) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive integer');
  }

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `job` once a slot is free. The job starts after its turn, so checks made in it are current. */
  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await job();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter; the count only drops when nobody waits.
      if (next) next();
      else this.running--;
    }
  }
}
