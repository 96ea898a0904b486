import path from 'node:path';
import { CofferError } from '@coffer/protocol';
import type { Logger } from '../logger.js';
import type { FileIo } from '../store/document.js';
import { DurableWriteError } from '../store/durable-write.js';
import type { FileStat, Fs } from '../store/fs.js';
import type { AccountsCodec } from './accounts.js';

/**
 * The accounts file (users.json) as the keyring holds it: decoded once at start, kept in memory,
 * changed only through `mutate`, one change at a time in arrival order, each written durably through
 * the layout's `FileIo` before it becomes the in-memory state (a failed write leaves both as before).
 * The specter layout's io reads and keeps `users.json.bkp` as Specter does.
 *
 * A file that does not decode puts it in the `corrupt` state: every call answers CORRUPT and the
 * file is never rewritten, but the daemon keeps serving everything else. Before each call the
 * file's identity (inode, size, mtime) is compared with what we last read or wrote, so a hand edit
 * or a restored backup is picked up, and a file broken by hand is never overwritten by our next
 * write. (The store's watcher may later tell us sooner; this check keeps us safe without it.)
 */
export class AccountsFile<R> {
  readonly path: string;
  private accounts: Map<string, R> | undefined;
  private corruptReason: string | undefined;
  private seen: FileStat | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  /** A directory fsync failed: durability is unknown until a restart (DESIGN §5). */
  private degraded = false;
  // Method syntax: a Keyring<SpecterAccount> must still pass for a Keyring<unknown> (kits.ts).
  private listener: { reread(before: ReadonlyMap<string, R>, after: ReadonlyMap<string, R>): void } = { reread: () => undefined };

  constructor(
    private readonly fs: Fs,
    dataDir: string,
    private readonly codec: AccountsCodec<R>,
    private readonly log: Logger,
    private readonly io: FileIo,
  ) {
    this.path = path.join(dataDir, codec.fileName);
  }

  /** Reads the file at start. Never throws for a bad file: that is the corrupt state. */
  async load(): Promise<void> {
    await this.serialized(() => this.refresh(true));
  }

  get isCorrupt(): boolean {
    return this.accounts === undefined;
  }

  /** The accounts as of the last check, synchronously (for lookups that cannot wait). Throws CORRUPT. */
  snapshot(): ReadonlyMap<string, R> {
    if (!this.accounts) throw this.corruptError();
    return this.accounts;
  }

  /** The accounts, re-read first if the file changed on disk. Throws CORRUPT. */
  current(): Promise<ReadonlyMap<string, R>> {
    return this.serialized(async () => {
      await this.refresh(false);
      return this.snapshot();
    });
  }

  /**
   * Applies `change` to a copy of the current accounts and makes that copy durable, then current.
   * `change` may throw a CofferError to refuse (nothing is written). Write failures answer
   * STORAGE_FAILED. Returns what `change` returned.
   */
  mutate<T>(change: (draft: Map<string, R>) => T): Promise<T> {
    return this.serialized(async () => {
      await this.refresh(false);
      const draft = new Map(this.snapshot());
      const result = change(draft);
      if (this.degraded) throw new CofferError('STORAGE_FAILED', 'A directory fsync failed earlier: restart cofferd before more changes');
      try {
        await this.io.write(this.fs, this.path, this.codec.encode(draft));
      } catch (error) {
        if (error instanceof DurableWriteError && error.durabilityUnknown) this.degraded = true;
        this.log.error({ err: error, file: this.path }, 'accounts write failed; previous state kept');
        throw new CofferError('STORAGE_FAILED');
      }
      this.accounts = draft;
      this.seen = await this.fs.stat(this.path);
      return result;
    });
  }

  /**
   * Told when the file, changed on disk by someone else, was re-read: the accounts before and after
   * (not when it was or becomes unreadable: then nothing is known about the change).
   */
  onReread(listener: (before: ReadonlyMap<string, R>, after: ReadonlyMap<string, R>) => void): void {
    this.listener = { reread: listener };
  }

  /** Drops kept older versions of the file (FileIo.supersede): after a password change. */
  supersede(): Promise<void> {
    return this.serialized(async () => {
      await this.io.supersede?.(this.fs, this.path);
    });
  }

  private serialized<T>(job: () => Promise<T>): Promise<T> {
    const run = this.tail.then(job, job);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Re-reads the file when it is not the one we last saw. */
  private async refresh(initial: boolean): Promise<void> {
    const stat = await this.fs.stat(this.path);
    if (!initial && sameFile(stat, this.seen)) return;
    if (stat === null && !initial && this.accounts !== undefined) {
      // Deleted under us: keep serving what we have; the next write puts the file back.
      this.log.warn({ file: this.path }, 'accounts file disappeared; keeping the accounts in memory');
      this.seen = null;
      return;
    }
    this.seen = stat;
    const before = this.accounts;
    try {
      // The io may answer from a backup when the file is missing or broken (specter layout).
      this.accounts = this.codec.decode(await this.io.read(this.fs, this.path));
      if (this.corruptReason !== undefined || !initial) this.log.info({ file: this.path }, 'accounts file re-read');
      this.corruptReason = undefined;
      if (before !== undefined && !initial) this.listener.reread(before, this.accounts);
    } catch (error) {
      if (!(error instanceof CofferError)) throw error;
      if (this.corruptReason === undefined) this.log.error({ file: this.path, reason: error.message }, 'accounts file is corrupt; it is left untouched');
      this.accounts = undefined;
      this.corruptReason = error.message;
    }
  }

  private corruptError(): CofferError {
    return new CofferError('CORRUPT', this.corruptReason);
  }
}

function sameFile(a: FileStat | null, b: FileStat | null): boolean {
  if (a === null || b === null) return a === b;
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}
