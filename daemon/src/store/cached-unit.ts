import { CofferError } from '@coffer/protocol';
import { UnitMovedError, type Codec, type Loaded, type Unit } from '../port/storage.js';
import type { DurableWriteError } from '../disk/durable-write.js';
import { changedToCorrupt, corruptFile, keptMoving, storageFailed, tooLarge } from '../port/errors.js';

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
  /** Only looks (checkExternal): allowed even while the store refuses writes. */
  probe?: boolean;
  /** Work on the file's kept copies (supersede): runs alone, between two groups. */
  task?: () => Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** What a document needs from the store that owns it. */
export interface CachedUnitHost {
  readonly maxDocBytes: number;
  readonly groupCommit: boolean;
  /** Throws STORAGE_FAILED while the store refuses writes (after a failed directory fsync). */
  assertWritable(): void;
  /** The document starts (true) or stops (false) having mutations waiting or being written. */
  onBusyChanged(doc: CachedUnit<unknown>, busy: boolean): void;
  onCommitted(path: string): void;
  /** Another writer sharing the backend changed the unit first: the group is applied again. */
  onReapplied(path: string): void;
  onFailed(path: string, error: DurableWriteError | unknown): void;
  /** The document's state changed: by one of our writes, or by an edit made outside cofferd. */
  onChanged(doc: CachedUnit<unknown>, before: unknown, after: unknown, source: ChangeSource): void;
  /**
   * The file does not parse (`problem`): found so at its first read, or after a change made outside
   * cofferd. Undefined: it parses again.
   */
  onFileProblem(path: string, problem: string | undefined): void;
  /** The document read or wrote its file, which now exists (or not): the watcher follows it. */
  onFileKnown(path: string, exists: boolean): void;
  /** The file was removed outside cofferd and its state is kept (UnitPolicy vanished: 'keep'). */
  onRemovalIgnored(path: string): void;
  /** A writer outside cofferd replaced (or removed) the file while it held a write we acknowledged. */
  onOverwritten(path: string): void;
}

export type ChangeSource = 'rpc' | 'external';

/**
 * What a document does when its file changes outside cofferd in a way that loses information.
 * Data files serve their last good state and let a deletion through (it is a change like any
 * other); the accounts file (users.json) holds who may unlock, so a copy that no longer parses is
 * refused outright, and a vanished file is put back by the next write rather than emptying every
 * account.
 */
export interface UnitPolicy {
  /** 'serve-last-good': reads keep the last good state. 'refuse': every read answers CORRUPT until fixed. */
  readonly broken: 'serve-last-good' | 'refuse';
  /** 'follow': the file's absence is the new state (empty). 'keep': the cached state stays. */
  readonly vanished: 'follow' | 'keep';
}

export const DATA_FILE_POLICY: UnitPolicy = { broken: 'serve-last-good', vanished: 'follow' };

/**
 * How many times a group is applied to a unit other daemons keep changing before it is answered
 * BUSY. Each retry follows a write that did land, so the daemons as a whole always progress.
 */
const MAX_MOVED_ATTEMPTS = 100;


/**
 * One file, or whatever unit the backend stores (port/storage.ts; DESIGN §5): loaded lazily and
 * cached, read from memory, changed only through its queue.
 * The queue takes every waiting mutation as one group, applies them in order to a copy, encodes
 * once, writes once durably, and only then answers each waiter. No deliberate delay: whatever
 * queued while a write was in flight forms the next group. A failed write leaves memory at the
 * last durable state and answers every waiter of the group STORAGE_FAILED.
 */
export class CachedUnit<T> {
  private state: T | undefined;
  /** `state` is a write of ours that was acknowledged (not a version read from the file). */
  private acked = false;
  private loading: Promise<T> | undefined;
  private queue: Waiter<T>[] = [];
  private running = false;

  constructor(
    /** The stored unit; its version is the one `state` was read or written as. */
    private readonly file: Unit<T>,
    private readonly codec: Codec<T>,
    private readonly host: CachedUnitHost,
    /** What the file holds, for change notifications (see layout FileTopic). */
    readonly topic: unknown,
    private readonly policy: UnitPolicy = DATA_FILE_POLICY,
  ) {}

  get path(): string {
    return this.file.key;
  }

  /** Mutations waiting or being written. */
  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /**
   * The last durable state, as the file is now: a read that starts after a write from outside has
   * completed sees it (the file's version is checked on every read: Unit.checkUnchanged). Reads
   * go through the queue only when the file moved, so never in the middle of our own write.
   * Callers must not modify the state.
   */
  async read(): Promise<T> {
    if (this.state === undefined) return this.load();
    if (await this.file.checkUnchanged()) return this.state;
    await this.checkExternal();
    return this.cached();
  }

  /** The state as last read or written, without looking at the file (undefined: not loaded, or refused). */
  peek(): T | undefined {
    return this.state;
  }

  private cached(): Promise<T> {
    return this.state !== undefined ? Promise.resolve(this.state) : this.load();
  }

  mutate<R>(apply: Mutation<T, R>): Promise<R> {
    return this.enqueue(apply, false);
  }

  /**
   * Replaces the older versions the layout keeps beside the file (FileIo.supersede) by the current
   * one, through the queue: never in the middle of a write of ours, so the kept copy is a whole one.
   */
  supersede(): Promise<void> {
    const task = this.file.supersede;
    if (!task) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ apply: () => undefined, task, resolve: () => resolve(), reject });
      if (!this.running) void this.drain();
    });
  }

  /** Deletes the file (durably), through the queue like any other change. */
  remove(): Promise<void> {
    return this.mutate((draft) => draft.markRemoved());
  }

  /**
   * Looks at the file on disk, through the queue (so never in the middle of our own write): if it
   * was changed outside cofferd, a good version replaces the cached state (subscribers are told,
   * source 'external'); a bad one is reported and the last good state kept, and the file is not
   * overwritten. Resolves when done; never rejects.
   */
  async checkExternal(): Promise<void> {
    if (this.state === undefined && this.loading === undefined) return; // not cached: read fresh on use
    await this.enqueue(() => undefined, true).catch(() => undefined);
  }

  private enqueue<R>(apply: Mutation<T, R>, probe: boolean): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ apply, probe, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  private load(): Promise<T> {
    this.loading ??= (async () => {
      try {
        const loaded = await this.file.read(corruptFile);
        this.adopt(loaded.model, false);
        this.host.onFileProblem(this.path, undefined);
        return loaded.model;
      } catch (error) {
        // Try again on the next access: the file may be fixed by hand meanwhile.
        this.loading = undefined;
        if (error instanceof CofferError && error.reason === 'CORRUPT') this.host.onFileProblem(this.path, error.message);
        throw error;
      }
    })();
    return this.loading;
  }

  /** The state is now `model`, as of the unit's version (with `acked`: a write of ours). */
  private adopt(model: T, acked: boolean): void {
    this.state = model;
    this.acked = acked;
    this.host.onFileKnown(this.path, this.file.version?.exists ?? false);
  }

  /**
   * The state to apply the next group to: the cached one, unless the file changed on disk since we
   * read or wrote it — then the new version (or CORRUPT, if it does not parse: never overwritten).
   */
  private async currentBase(): Promise<T> {
    const cached = await this.cached();
    if (await this.file.unchanged()) return cached;
    const known = this.file.version;
    let fresh: Loaded<T>;
    try {
      fresh = await this.file.read(changedToCorrupt);
    } catch (error) {
      if (error instanceof CofferError && error.reason === 'CORRUPT') {
        this.host.onFileProblem(this.path, error.message);
        // Nothing is served from a refused file: the next read loads it again (and fails until fixed).
        if (this.policy.broken === 'refuse') this.forget();
      }
      throw error;
    }
    this.host.onFileProblem(this.path, undefined);
    if (!fresh.version.exists && this.policy.vanished === 'keep') {
      // Removed under us: the cached state stays, and the next write puts the file back.
      this.host.onFileKnown(this.path, false);
      this.host.onRemovalIgnored(this.path);
      return cached;
    }
    // Touched, or its metadata changed, but the same bytes: nothing happened to the data.
    if (fresh.version.digest === known?.digest) {
      this.host.onFileKnown(this.path, fresh.version.exists);
      return cached;
    }
    // Another daemon's compare-and-set built on our write: nothing of ours was lost.
    const overwritten = this.acked && !this.file.writersCompareAndSet;
    this.adopt(fresh.model, false);
    if (overwritten) this.host.onOverwritten(this.path);
    this.host.onChanged(this as CachedUnit<unknown>, cached, fresh.model, 'external');
    return fresh.model;
  }

  private forget(): void {
    this.state = undefined;
    this.loading = undefined;
    this.file.forget();
    this.acked = false;
  }

  private async drain(): Promise<void> {
    this.running = true;
    this.host.onBusyChanged(this as CachedUnit<unknown>, true);
    try {
      while (this.queue.length > 0) {
        const first = this.queue[0]!;
        if (first.task) {
          this.queue.shift();
          await first.task().then(first.resolve, first.reject);
          continue;
        }
        // A group ends before the next task: the task must see every write queued ahead of it.
        const task = this.queue.findIndex((waiter) => waiter.task !== undefined);
        const end = task < 0 ? this.queue.length : task;
        const group = this.host.groupCommit ? this.queue.splice(0, end) : this.queue.splice(0, 1);
        await this.commit(group);
      }
    } finally {
      this.running = false;
      this.host.onBusyChanged(this as CachedUnit<unknown>, false);
    }
  }

  /**
   * Applies the group to the current state and writes it once. When another writer sharing the
   * backend changed the unit in between (UnitMovedError, a database's compare-and-set), nothing
   * was written: the group is applied again to the new state, as a client's CAS loop would.
   */
  private async commit(group: Waiter<T>[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const moved = await this.commitOnce(group, attempt >= MAX_MOVED_ATTEMPTS);
      if (!moved) return;
    }
  }

  /** True when the write found the unit moved (nothing written, no waiter answered). */
  private async commitOnce(group: Waiter<T>[], lastAttempt: boolean): Promise<boolean> {
    let base: T;
    try {
      base = await this.currentBase();
      if (group.some((waiter) => !waiter.probe)) this.host.assertWritable();
    } catch (error) {
      for (const waiter of group) waiter.reject(error);
      return false;
    }
    let { draft, outcomes, changed, removed } = this.applyAll(base, group);
    if (!changed) return settle(group, outcomes);
    let bytes = removed ? undefined : this.codec.encode(draft);
    if (bytes && bytes.length > this.host.maxDocBytes) {
      ({ draft, outcomes, changed, removed, bytes } = this.applyOneByOne(base, group));
      if (!changed) return settle(group, outcomes);
    }
    try {
      await this.file.write(bytes ?? null);
    } catch (error) {
      if (error instanceof UnitMovedError && !lastAttempt) {
        this.host.onReapplied(this.path);
        return true;
      }
      const failure = error instanceof UnitMovedError ? keptMoving(this.path, MAX_MOVED_ATTEMPTS) : storageFailed(this.path, error);
      if (!(error instanceof UnitMovedError)) this.host.onFailed(this.path, error);
      return settle(group, outcomes.map((o) => (o.ok ? { ok: false, error: failure } : o)));
    }
    this.adopt(removed ? this.codec.empty() : draft, true);
    this.host.onCommitted(this.path);
    this.host.onChanged(this as CachedUnit<unknown>, base, this.state, 'rpc');
    return settle(group, outcomes);
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

/** Answers every waiter of the group; false: the group is done (commitOnce's "not moved"). */
function settle<T>(group: Waiter<T>[], outcomes: Outcome[]): false {
  group.forEach((waiter, i) => {
    const outcome = outcomes[i]!;
    if (outcome.ok) waiter.resolve(outcome.value);
    else waiter.reject(outcome.error);
  });
  return false;
}
