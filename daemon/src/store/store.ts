import { CofferError } from '@coffer/protocol';
import type { FileSpec, FileTopic } from '../port/layout.js';
import type { Logger } from '../base/logger.js';
import type { Codec } from '../port/storage.js';
import { CachedUnit, type ChangeSource, type CachedUnitHost, type UnitPolicy } from './cached-unit.js';
import { DurableWriteError, sweepTempFiles } from '../disk/durable-write.js';
import type { Fs } from '../disk/fs.js';

/** How many overwritten files daemon.status names. */
const LAST_OVERWRITTEN = 10;

export interface StoreOptions {
  /** Largest encoded file (DESIGN §5, default 8 MiB). */
  maxDocBytes: number;
  /** Off only to measure what grouping buys (`--no-group-commit`). */
  groupCommit: boolean;
}

/** A committed change to one file, as the watch hub turns it into notifications. */
export interface FileChange {
  topic: FileTopic;
  before: unknown;
  after: unknown;
  source: ChangeSource;
}

export interface WriteStats {
  pending: number;
  committed: number;
  failed: number;
  reapplied: number;
}

/**
 * Owns every CachedUnit, one per file path, so all changes to a file go through one queue no matter
 * which RPC made them. Counts durable writes, and stops writing for good (until restart) after a
 * directory fsync failed: the kernel could not promise durability, and we never retry an fsync
 * as if it had worked (DESIGN §5).
 */
export class Store implements CachedUnitHost {
  readonly maxDocBytes: number;
  readonly groupCommit: boolean;
  private readonly documents = new Map<string, CachedUnit<unknown>>();
  private readonly codecs = new Map<string, Codec<unknown>>();
  /**
   * Documents with mutations waiting or being written. daemon.status sums these, not every cached
   * document: with 10 000 users cached, walking them all made status 2-3x slower (BENCHMARKS.md).
   */
  private readonly busy = new Set<CachedUnit<unknown>>();
  private committed = 0;
  private failed = 0;
  private reapplied = 0;
  private degradedBecause: string | undefined;
  private readonly fileProblems = new Map<string, string>();
  private overwrites = 0;
  /** The files of the last few overwrites, newest last, each once. */
  private readonly overwritten: string[] = [];
  private readonly changeListeners: Array<(change: FileChange) => void> = [];
  private readonly fileListeners: Array<(path: string, exists: boolean) => void> = [];

  constructor(
    readonly fs: Fs,
    private readonly log: Logger,
    options: StoreOptions,
  ) {
    this.maxDocBytes = options.maxDocBytes;
    this.groupCommit = options.groupCommit;
  }

  /** The document for a file, created on first use. One path always has one codec. */
  unit<T>(spec: FileSpec<T>, policy?: UnitPolicy): CachedUnit<T> {
    let doc = this.documents.get(spec.path);
    if (!doc) {
      doc = new CachedUnit(spec.units.open(spec.path, spec.codec), spec.codec, this, spec.topic, policy) as CachedUnit<unknown>;
      this.documents.set(spec.path, doc);
      this.codecs.set(spec.path, spec.codec as Codec<unknown>);
    } else if (this.codecs.get(spec.path) !== spec.codec) {
      throw new Error(`${spec.path} opened with two codecs`);
    }
    return doc as CachedUnit<T>;
  }

  /** Calls `listener` whenever a cached document has read or written its file (the watcher follows them). */
  subscribeFiles(listener: (path: string, exists: boolean) => void): void {
    this.fileListeners.push(listener);
  }

  onFileKnown(path: string, exists: boolean): void {
    for (const listener of this.fileListeners) listener(path, exists);
  }

  /** Calls `listener` after every committed change (ours or from outside) to a cached file. */
  subscribeChanges(listener: (change: FileChange) => void): void {
    this.changeListeners.push(listener);
  }

  onChanged(doc: CachedUnit<unknown>, before: unknown, after: unknown, source: ChangeSource): void {
    if (source === 'external') this.log.info({ file: doc.path }, 'file changed outside cofferd: reloaded');
    for (const listener of this.changeListeners) listener({ topic: doc.topic as FileTopic, before, after, source });
  }

  onFileProblem(path: string, problem: string | undefined): void {
    if (problem === undefined) {
      if (this.fileProblems.delete(path)) this.log.info({ file: path }, 'file parses again');
    } else if (!this.fileProblems.has(path)) {
      this.fileProblems.set(path, problem);
      this.log.error({ file: path, problem }, 'file does not parse: it is left untouched and never written until fixed');
    }
  }

  onRemovalIgnored(path: string): void {
    this.log.warn({ file: path }, 'file gone from disk: keeping its state in memory; the next write puts it back');
  }

  /**
   * A writer outside cofferd replaced a file holding a write we acknowledged: that write is gone
   * from the file. Nothing can bring it back, but it must not go unnoticed: counted for
   * daemon.status, logged with the file, and (through onChanged) sent as watch.changed, source external.
   */
  onOverwritten(path: string): void {
    this.overwrites++;
    const seen = this.overwritten.indexOf(path);
    if (seen >= 0) this.overwritten.splice(seen, 1);
    this.overwritten.push(path);
    if (this.overwritten.length > LAST_OVERWRITTEN) this.overwritten.shift();
    this.log.warn({ file: path }, 'a write cofferd acknowledged was replaced by a writer outside cofferd (two writers on one file?)');
  }

  /** How many acknowledged writes were replaced from outside since start, and the last files. */
  get externalOverwrites(): { count: number; files: string[] } {
    return { count: this.overwrites, files: [...this.overwritten] };
  }

  /** Files that do not parse (daemon.status corruptFiles). */
  get problems(): string[] {
    return [...this.fileProblems.keys()];
  }

  /** Every cached document looks at its unit again (a change feed that may have missed some). */
  checkAllCached(): void {
    for (const doc of this.documents.values()) void doc.checkExternal();
  }

  /** The cached document for a path, if any (for the watcher). */
  cached(path: string): CachedUnit<unknown> | undefined {
    return this.documents.get(path);
  }

  get stats(): WriteStats {
    let pending = 0;
    for (const doc of this.busy) pending += doc.pending;
    return { pending, committed: this.committed, failed: this.failed, reapplied: this.reapplied };
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

  onBusyChanged(doc: CachedUnit<unknown>, busy: boolean): void {
    if (busy) this.busy.add(doc);
    else this.busy.delete(doc);
  }

  onCommitted(): void {
    this.committed++;
  }

  onReapplied(): void {
    this.reapplied++;
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
