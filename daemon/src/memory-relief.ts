import v8 from 'node:v8';
import vm from 'node:vm';
import { libc } from './os/libc.js';
import type { Logger } from './base/logger.js';

const MIB = 1024 * 1024;

export interface MemoryReliefOptions {
  /** How often the daemon looks (ms). */
  readonly checkMs: number;
  /** How long nothing must be in flight or queued before it acts (ms). */
  readonly quietMs: number;
  /** RSS growth over the settled level that is worth a full collection (bytes). */
  readonly growthBytes: number;
}

export const DEFAULT_MEMORY_RELIEF: MemoryReliefOptions = { checkMs: 2_000, quietMs: 2_000, growthBytes: 32 * MIB };

/** What memory relief needs to know about the daemon: whether it has work in flight or answers queued. */
export interface Activity {
  busy(): boolean;
}

/**
 * Hands memory back after abuse (RELIABILITY.md): a burst of big answers or batches leaves V8's heap
 * and glibc's arenas holding hundreds of MiB that neither returns on its own while the daemon is
 * idle. Once the daemon has been quiet for `quietMs` and its RSS is `growthBytes` above the level it
 * settled at, it runs a full collection (twice: the second frees what the first's finalizers
 * released, external Buffers among them) and then malloc_trim(0). The collection pauses the
 * event loop for tens of ms, so it only ever runs with nothing in flight; when it brings little
 * back, the current level becomes the settled one (memory a big cache legitimately holds), so it
 * does not run again for nothing.
 */
export class MemoryRelief {
  private readonly timer: NodeJS.Timeout;
  private settledRss = process.memoryUsage.rss();
  private lastBusy = Date.now();
  private readonly collect = exposeGc();
  private readonly trim = loadMallocTrim();

  constructor(
    private readonly activity: Activity,
    private readonly log: Logger,
    private readonly options: MemoryReliefOptions = DEFAULT_MEMORY_RELIEF,
  ) {
    this.timer = setInterval(() => this.check(), options.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    if (this.activity.busy()) {
      this.lastBusy = now;
      return;
    }
    const rss = process.memoryUsage.rss();
    if (now - this.lastBusy < this.options.quietMs || rss < this.settledRss + this.options.growthBytes) return;
    this.relieve(rss);
  }

  private relieve(before: number): void {
    const started = process.hrtime.bigint();
    this.collect?.();
    this.collect?.();
    this.trim?.(0);
    const after = process.memoryUsage.rss();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Little came back: this is what the daemon holds now (caches), not debris of a burst.
    if (before - after < this.options.growthBytes / 2) this.settledRss = after;
    this.log.info(
      { rssBeforeMiB: Math.round(before / MIB), rssAfterMiB: Math.round(after / MIB), ms: Math.round(ms), gc: this.collect !== undefined, trim: this.trim !== undefined },
      'idle after a burst: memory handed back',
    );
  }
}

/**
 * V8's full collection, which Node exposes only under --expose-gc; the flag can be set at run
 * time, and the function is then reachable from a fresh context. Undefined if V8 refuses.
 */
function exposeGc(): (() => void) | undefined {
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    /* c8 ignore next */
    return undefined;
  }
}

/** glibc's malloc_trim, through koffi; undefined on a libc without it (musl). */
function loadMallocTrim(): ((pad: number) => number) | undefined {
  try {
    return libc().func('int malloc_trim(size_t pad)') as (pad: number) => number;
  } catch {
    /* c8 ignore next */
    return undefined;
  }
}
