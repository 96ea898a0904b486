/**
 * Runs jobs one at a time per key, in arrival order. The keyring serializes everything that reads
 * a user's record, runs a KDF and writes it back (unlock, password change, delete, rotation), so two
 * of them never work from the same stale record; different users still run in parallel.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    try {
      return await job();
    } finally {
      release();
      // Only the last holder removes the entry, so the map does not grow with every name ever seen.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
