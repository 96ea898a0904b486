import type { Fs } from '../disk/fs.js';

/** How long a hold kept writes waiting, for the backup's answer and the log. */
export interface HoldStats {
  /** From asking for the hold until the last in-flight file-system change had finished. */
  readonly drainMs: number;
  /** From the gate closing until it opened again: the longest any write waited. */
  readonly heldMs: number;
  /** File-system changes that arrived while the gate was closed and waited for it. */
  readonly delayedCalls: number;
}

/**
 * Lets a backup see the data dir standing still (DESIGN-NOTES "Backup, restore, verify, migrate").
 * Every change the daemon makes to its files (the store's documents, users.json, Specter's `.bkp`
 * copies, removals) is a sequence of calls on one `Fs`; this one wraps it. While a hold is on, each
 * changing call waits at its start; the hold begins once the calls already running have returned.
 * Reads pass: nothing waits for a read, and a read changes nothing.
 *
 * A durable replace may thus be held between two of its steps: its target is then still the old
 * file or already the new one, never half of one (the rename is atomic), and its temp file is not
 * data. A write acknowledged before the hold began has finished every step, so it is in the copy.
 */
export class WriteGate {
  private inflight = 0;
  private held: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private delayed = 0;

  /** `fs` with every changing call passing through this gate. */
  wrap(fs: Fs): Fs {
    const pass =
      <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> =>
        this.through(() => call(...args));
    return {

      createExclusive: pass(fs.createExclusive.bind(fs)),
      write: pass(fs.write.bind(fs)),
      fsync: pass(fs.fsync.bind(fs)),
      close: pass(fs.close.bind(fs)),
      rename: pass(fs.rename.bind(fs)),
      link: pass(fs.link.bind(fs)),
      unlink: pass(fs.unlink.bind(fs)),
      fsyncDir: pass(fs.fsyncDir.bind(fs)),
      mkdir: pass(fs.mkdir.bind(fs)),
      readFile: fs.readFile.bind(fs),
      stat: fs.stat.bind(fs),
      readdir: fs.readdir.bind(fs),
      fstat: fs.fstat.bind(fs),
    };
  }

  /**
   * Runs `work` with no file of the data dir changing: waits for the changing calls in flight,
   * holds new ones until `work` settles, then lets them go in arrival order. One hold at a time
   * (a second waits for the first).
   */
  async hold<T>(work: () => Promise<T>): Promise<{ value: T; stats: HoldStats }> {
    while (this.held) await this.held;
    const asked = performance.now();
    this.held = new Promise<void>((resolve) => (this.open = resolve));
    this.delayed = 0;
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    const closed = performance.now();
    try {
      const value = await work();
      return { value, stats: { drainMs: closed - asked, heldMs: performance.now() - closed, delayedCalls: this.delayed } };
    } finally {
      const open = this.open;
      this.held = undefined;
      this.open = undefined;
      open?.();
    }
  }

  private async through<R>(call: () => Promise<R>): Promise<R> {
    if (this.held) this.delayed++;
    while (this.held) await this.held;
    this.inflight++;
    try {
      return await call();
    } finally {
      this.inflight--;
      if (this.inflight === 0 && this.drained) {
        const drained = this.drained;
        this.drained = undefined;
        drained();
      }
    }
  }
}
