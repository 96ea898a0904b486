import { CofferError } from '@coffer/protocol';
import type { Logger } from '../logger.js';
import { Document, type Codec, type DocumentHost, type FileIo } from './document.js';
import { DurableWriteError, sweepTempFiles } from './durable-write.js';
import type { Fs } from './fs.js';

export interface StoreOptions {
  /** Largest encoded file (DESIGN §5, default 8 MiB). */
  maxDocBytes: number;
  /** Off only to measure what grouping buys (`--no-group-commit`). */
  groupCommit: boolean;
}

export interface WriteStats {
  pending: number;
  committed: number;
  failed: number;
}

/**
 * Owns every Document, one per file path, so all changes to a file go through one queue no matter
 * which RPC made them. Counts durable writes, and stops writing for good (until restart) after a
 * directory fsync failed: the kernel could not promise durability, and we never retry an fsync
 * as if it had worked (DESIGN §5).
 */
export class Store implements DocumentHost {
  readonly maxDocBytes: number;
  readonly groupCommit: boolean;
  private readonly documents = new Map<string, Document<unknown>>();
  private readonly codecs = new Map<string, Codec<unknown>>();
  /**
   * Documents with mutations waiting or being written. daemon.status sums these, not every cached
   * document: with 10 000 users cached, walking them all made status 2-3x slower (BENCHMARKS.md).
   */
  private readonly busy = new Set<Document<unknown>>();
  private committed = 0;
  private failed = 0;
  private degradedBecause: string | undefined;

  constructor(
    readonly fs: Fs,
    private readonly log: Logger,
    options: StoreOptions,
  ) {
    this.maxDocBytes = options.maxDocBytes;
    this.groupCommit = options.groupCommit;
  }

  /** The document for `path`, created on first use. One path always has one codec. */
  document<T>(path: string, codec: Codec<T>, io: FileIo): Document<T> {
    let doc = this.documents.get(path);
    if (!doc) {
      doc = new Document(path, codec, io, this) as Document<unknown>;
      this.documents.set(path, doc);
      this.codecs.set(path, codec as Codec<unknown>);
    } else if (this.codecs.get(path) !== codec) {
      throw new Error(`${path} opened with two codecs`);
    }
    return doc as Document<T>;
  }

  /** The cached document for a path, if any (for the watcher). */
  cached(path: string): Document<unknown> | undefined {
    return this.documents.get(path);
  }

  get stats(): WriteStats {
    let pending = 0;
    for (const doc of this.busy) pending += doc.pending;
    return { pending, committed: this.committed, failed: this.failed };
  }

  /** Why the store refuses writes, if it does. */
  get degraded(): string | undefined {
    return this.degradedBecause;
  }

  assertWritable(): void {
    if (this.degradedBecause) {
      throw new CofferError(
        'STORAGE_FAILED',
        `Writes are stopped: ${this.degradedBecause}. Check the disk and restart cofferd; stored data is as before`,
      );
    }
  }

  onBusyChanged(doc: Document<unknown>, busy: boolean): void {
    if (busy) this.busy.add(doc);
    else this.busy.delete(doc);
  }

  onCommitted(): void {
    this.committed++;
  }

  onFailed(path: string, error: unknown): void {
    this.failed++;
    this.log.error({ file: path, err: error }, 'durable write failed');
    if (error instanceof DurableWriteError && error.durabilityUnknown) {
      this.degradedBecause = `a directory fsync failed while writing ${path}`;
      this.log.fatal({ file: path }, 'directory fsync failed: refusing further writes until restart');
    }
  }

  /** Removes leftover temp files of ours from the given directories (at start). */
  async sweep(dirs: readonly string[]): Promise<number> {
    let removed = 0;
    for (const dir of dirs) removed += await sweepTempFiles(this.fs, dir);
    if (removed > 0) this.log.warn({ removed }, 'removed temp files left by an interrupted write');
    return removed;
  }

  /** Resolves once no document has a mutation waiting or being written (shutdown). */
  async flush(): Promise<void> {
    while (this.stats.pending > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
