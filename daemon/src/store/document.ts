import { CofferError } from '@coffer/protocol';
import type { Fs } from './fs.js';
import { DurableWriteError } from './durable-write.js';

/** How one kind of file is turned into its in-memory model and back. */
export interface Codec<T> {
  /** The model of a file that does not exist. */
  empty(): T;
  /** Parses a whole file; throws if the file is not fully valid for this codec (it is then CORRUPT). */
  decode(bytes: Buffer): T;
  encode(model: T): Buffer;
  /**
   * A copy whose changes leave `model` as it was. Values inside models are never modified in
   * place, so copying the containers is enough.
   */
  clone(model: T): T;
}

/** How a layout reads, durably writes and durably removes a file (the specter layout adds `.bkp`). */
export interface FileIo {
  /** The file's bytes, or null if there is no file. */
  read(fs: Fs, path: string): Promise<Buffer | null>;
  write(fs: Fs, path: string, data: Buffer): Promise<void>;
  remove(fs: Fs, path: string): Promise<void>;
}

/** What a mutation sees: the group's working copy, and a way to say it changed something. */
export interface Draft<T> {
  readonly model: T;
  markChanged(): void;
  /**
   * The whole file goes away: the draft becomes the empty model (later mutations of the group
   * start from it) and, unless one of them adds something back, the file is deleted.
   */
  markRemoved(): void;
}

/**
 * A mutation. It must validate before it changes the draft: a mutation that throws is answered
 * with its error and must leave the draft as it found it, since the rest of its group shares it.
 */
export type Mutation<T, R> = (draft: Draft<T>) => R;

interface Waiter<T> {
  apply: Mutation<T, unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a document needs from the store that owns it. */
export interface DocumentHost {
  readonly fs: Fs;
  readonly maxDocBytes: number;
  readonly groupCommit: boolean;
  /** Throws STORAGE_FAILED while the store refuses writes (after a failed directory fsync). */
  assertWritable(): void;
  /** The document starts (true) or stops (false) having mutations waiting or being written. */
  onBusyChanged(doc: Document<unknown>, busy: boolean): void;
  onCommitted(path: string): void;
  onFailed(path: string, error: DurableWriteError | unknown): void;
}

/**
 * One file (DESIGN §5): loaded lazily and cached, read from memory, changed only through its queue.
 * The queue takes every waiting mutation as one group, applies them in order to a copy, encodes
 * once, writes once durably, and only then answers each waiter. No deliberate delay: whatever
 * queued while a write was in flight forms the next group. A failed write leaves memory at the
 * last durable state and answers every waiter of the group STORAGE_FAILED.
 */
export class Document<T> {
  private state: T | undefined;
  private loading: Promise<T> | undefined;
  private queue: Waiter<T>[] = [];
  private running = false;

  constructor(
    readonly path: string,
    private readonly codec: Codec<T>,
    private readonly io: FileIo,
    private readonly host: DocumentHost,
  ) {}

  /** Mutations waiting or being written. */
  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** The last durable state. Callers must not modify it. */
  read(): Promise<T> {
    return this.state !== undefined ? Promise.resolve(this.state) : this.load();
  }

  mutate<R>(apply: Mutation<T, R>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ apply, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Deletes the file (durably), through the queue like any other change. */
  remove(): Promise<void> {
    return this.mutate((draft) => draft.markRemoved());
  }

  /** Forgets the cached state, so the next access re-reads the file (external edits). */
  invalidate(): void {
    if (!this.running) {
      this.state = undefined;
      this.loading = undefined;
    }
  }

  private load(): Promise<T> {
    this.loading ??= (async () => {
      let bytes: Buffer | null;
      try {
        bytes = await this.io.read(this.host.fs, this.path);
      } catch (error) {
        this.loading = undefined;
        throw error instanceof CofferError ? error : readFailed(this.path, error);
      }
      let model: T;
      try {
        model = bytes === null ? this.codec.empty() : this.codec.decode(bytes);
      } catch (error) {
        // Try again on the next access: the file may be fixed by hand meanwhile.
        this.loading = undefined;
        throw error instanceof CofferError ? error : corruptFile(this.path);
      }
      this.state = model;
      return model;
    })();
    return this.loading;
  }

  private async drain(): Promise<void> {
    this.running = true;
    this.host.onBusyChanged(this as Document<unknown>, true);
    try {
      while (this.queue.length > 0) {
        const group = this.host.groupCommit ? this.queue.splice(0) : this.queue.splice(0, 1);
        await this.commit(group);
      }
    } finally {
      this.running = false;
      this.host.onBusyChanged(this as Document<unknown>, false);
    }
  }

  private async commit(group: Waiter<T>[]): Promise<void> {
    let base: T;
    try {
      this.host.assertWritable();
      base = await this.read();
    } catch (error) {
      for (const waiter of group) waiter.reject(error);
      return;
    }
    let { draft, outcomes, changed, removed } = this.applyAll(base, group);
    if (!changed) return settle(group, outcomes);
    let bytes = removed ? undefined : this.codec.encode(draft);
    if (bytes && bytes.length > this.host.maxDocBytes) {
      ({ draft, outcomes, changed, removed, bytes } = this.applyOneByOne(base, group));
      if (!changed) return settle(group, outcomes);
    }
    try {
      if (bytes) await this.io.write(this.host.fs, this.path, bytes);
      else await this.io.remove(this.host.fs, this.path);
    } catch (error) {
      this.host.onFailed(this.path, error);
      const failure = storageFailed(this.path, error);
      return settle(group, outcomes.map((o) => (o.ok ? { ok: false, error: failure } : o)));
    }
    this.state = removed ? this.codec.empty() : draft;
    this.host.onCommitted(this.path);
    settle(group, outcomes);
  }

  private applyAll(base: T, group: Waiter<T>[]) {
    let draft = this.codec.clone(base);
    let changed = false;
    let removed = false;
    const codec = this.codec;
    const handle: Draft<T> = {
      get model() {
        return draft;
      },
      markChanged: () => {
        changed = true;
        removed = false;
      },
      markRemoved: () => {
        draft = codec.empty();
        changed = true;
        removed = true;
      },
    };
    const outcomes = group.map((waiter): Outcome => {
      try {
        return { ok: true, value: waiter.apply(handle) };
      } catch (error) {
        return { ok: false, error };
      }
    });
    return { draft, outcomes, changed, removed };
  }

  /**
   * The group's file came out over --max-doc-bytes: find the mutations that push it over (answered
   * TOO_LARGE, nothing of theirs written) by applying and encoding them one at a time.
   */
  private applyOneByOne(base: T, group: Waiter<T>[]) {
    let draft = base;
    let changed = false;
    let removed = false;
    let bytes: Buffer | undefined;
    const outcomes = group.map((waiter): Outcome => {
      const trial = this.applyAll(draft, [waiter]);
      const outcome = trial.outcomes[0]!;
      if (!trial.changed || !outcome.ok) return outcome;
      const encoded = trial.removed ? undefined : this.codec.encode(trial.draft);
      if (encoded && encoded.length > this.host.maxDocBytes) return { ok: false, error: tooLarge(this.host.maxDocBytes) };
      ({ draft, removed } = trial);
      bytes = encoded;
      changed = true;
      return outcome;
    });
    return { draft, outcomes, changed, removed, bytes };
  }
}

function settle<T>(group: Waiter<T>[], outcomes: Outcome[]): void {
  group.forEach((waiter, i) => {
    const outcome = outcomes[i]!;
    if (outcome.ok) waiter.resolve(outcome.value);
    else waiter.reject(outcome.error);
  });
}

function errnoOf(error: unknown): string {
  const cause = error instanceof DurableWriteError ? error.cause : error;
  return (cause as NodeJS.ErrnoException | undefined)?.code ?? 'error';
}

function storageFailed(path: string, error: unknown): CofferError {
  const step = error instanceof DurableWriteError ? ` at ${error.step}` : '';
  return new CofferError(
    'STORAGE_FAILED',
    `The write to ${path} did not happen (${errnoOf(error)}${step}); stored data is as before. Free disk space or check the disk, then retry`,
    { errno: errnoOf(error) },
  );
}

function readFailed(path: string, error: unknown): CofferError {
  return new CofferError('STORAGE_FAILED', `Could not read ${path} (${errnoOf(error)}); check the disk, then retry`, {
    errno: errnoOf(error),
  });
}

export function corruptFile(path: string): CofferError {
  return new CofferError(
    'CORRUPT',
    `${path} does not parse as a Coffer file of its kind; it was left untouched. Restore it from a backup or fix it by hand`,
  );
}

function tooLarge(limit: number): CofferError {
  return new CofferError('TOO_LARGE', `The file would be over the limit of ${limit} bytes; nothing was written`, { limit });
}
