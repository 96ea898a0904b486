import sodium from 'sodium-native';

declare module 'sodium-native' {
  /** In sodium-native 5 (zeroes, unlocks, unmaps, detaches the buffer); @types/sodium-native 2.3 lacks it. */
  export function sodium_free(buffer: SecureBuffer): void;
}

/**
 * The sodium calls guarded memory is made of. The daemon uses `sodiumMemory`; a test wraps it to
 * watch when a buffer is protected and what it held when it was freed (NOTES: a freed sodium
 * buffer is detached, so zeroing can only be seen on its way out).
 */
export interface MemoryOps {
  malloc(size: number): Buffer;
  free(buf: Buffer): void;
  memzero(buf: Buffer): void;
  noaccess(buf: Buffer): void;
  readonly(buf: Buffer): void;
  readwrite(buf: Buffer): void;
}

export const sodiumMemory: MemoryOps = {
  malloc: (size) => sodium.sodium_malloc(size),
  free: (buf) => sodium.sodium_free(buf as sodium.SecureBuffer),
  memzero: (buf) => sodium.sodium_memzero(buf),
  noaccess: (buf) => sodium.sodium_mprotect_noaccess(buf as sodium.SecureBuffer),
  readonly: (buf) => sodium.sodium_mprotect_readonly(buf as sodium.SecureBuffer),
  readwrite: (buf) => sodium.sodium_mprotect_readwrite(buf as sodium.SecureBuffer),
};

/** Zeroes `buf` in a way the compiler cannot drop (sodium_memzero). */
export function wipe(buf: Buffer): void {
  sodium.sodium_memzero(buf);
}

/** Thrown on access after `destroy`: the owner decides what that means (the keyring: LOCKED). */
export class MemoryReleasedError extends Error {
  constructor() {
    super('secret memory was released');
    this.name = 'MemoryReleasedError';
  }
}

/**
 * One `sodium_malloc` allocation (guard pages, mlock'd, canary) holding secrets. It starts
 * writable so it can be filled, possibly by async work such as Argon2id writing its output; once
 * `seal`ed it is `mprotect`ed to no access and only readable inside `read`/`write` callbacks.
 * NOTES: touching a no-access buffer crashes the whole process, so every access goes through
 * those two methods, which restore the protection however the callback ends. Callbacks must be
 * synchronous and must not keep the buffer: after they return it may be unreadable.
 *
 * `lingerMs` > 0: after a read the buffer stays read-only until it has gone `lingerMs` without a
 * read, then a timer makes it no-access again; reads in between cost no `mprotect` at all. Why:
 * `mprotect` takes the process's address-space lock, which an Argon2id run in the thread pool
 * holds for tens of milliseconds while it maps and unmaps its 256 MiB, so with re-protection after
 * every read each encrypted call during an unlock stalled the whole event loop (p99 72 ms,
 * BENCHMARKS.md). A write always ends no-access at once, as does every access with `lingerMs` 0.
 */
export class SecretMemory {
  private buf: Buffer | undefined;
  private sealed = false;
  private depth = 0;
  private mode: 'read' | 'write' = 'read';
  /** Read-only after a read, until `lingerMs` without one (then `timer` re-protects it). */
  private lingering = false;
  private lastReadAt = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    size: number,
    private readonly ops: MemoryOps,
    private readonly lingerMs: number,
  ) {
    this.buf = ops.malloc(size);
    // sodium_malloc fills with 0xdb garbage; start from a known state.
    ops.memzero(this.buf);
  }

  static allocate(size: number, ops: MemoryOps = sodiumMemory, lingerMs = 0): SecretMemory {
    if (!Number.isInteger(lingerMs) || lingerMs < 0) throw new RangeError('lingerMs must be a whole number >= 0');
    return new SecretMemory(size, ops, lingerMs);
  }

  get size(): number {
    return this.buf?.length ?? 0;
  }

  get isDestroyed(): boolean {
    return this.buf === undefined;
  }

  get isSealed(): boolean {
    return this.sealed;
  }

  /** Sealed but readable just now, waiting out `lingerMs` since the last read. */
  get isLingering(): boolean {
    return this.lingering;
  }

  /** The raw buffer while it is still being filled (before `seal`): only for its single owner. */
  unsealed(): Buffer {
    if (!this.buf) throw new MemoryReleasedError();
    if (this.sealed) throw new Error('secret memory is sealed: use read() or write()');
    return this.buf;
  }

  /** From now on the buffer is no-access except inside read/write. */
  seal(): void {
    if (!this.buf) throw new MemoryReleasedError();
    if (this.sealed) return;
    this.sealed = true;
    this.ops.noaccess(this.buf);
  }

  read<T>(fn: (buf: Buffer) => T): T {
    return this.access('read', fn);
  }

  write<T>(fn: (buf: Buffer) => T): T {
    return this.access('write', fn);
  }

  /** Zeroes and frees. Idempotent. Never call from inside a read/write callback. */
  destroy(): void {
    const buf = this.buf;
    if (!buf) return;
    if (this.depth > 0) throw new Error('secret memory destroyed while in use');
    this.stopLingering();
    this.buf = undefined;
    if (this.sealed) this.ops.readwrite(buf);
    this.ops.memzero(buf);
    this.ops.free(buf);
  }

  private access<T>(mode: 'read' | 'write', fn: (buf: Buffer) => T): T {
    const buf = this.buf;
    if (!buf) throw new MemoryReleasedError();
    if (!this.sealed) return settle(fn(buf));
    if (this.depth > 0) {
      // Nested access (a reader of one slot reading another): the outer call owns the protection.
      if (mode === 'write' && this.mode === 'read') throw new Error('cannot write secret memory inside a read');
      this.depth++;
      try {
        return settle(fn(buf));
      } finally {
        this.depth--;
      }
    }
    // A read while still read-only from a recent one needs no mprotect, before or after.
    const stillReadable = this.lingering && mode === 'read';
    if (stillReadable) {
      this.lastReadAt = performance.now();
    } else {
      this.stopLingering();
      if (mode === 'write') this.ops.readwrite(buf);
      else this.ops.readonly(buf);
    }
    this.mode = mode;
    this.depth = 1;
    try {
      return settle(fn(buf));
    } finally {
      this.depth = 0;
      if (!stillReadable) {
        if (mode === 'read' && this.lingerMs > 0) this.startLingering();
        else this.ops.noaccess(buf);
      }
    }
  }

  private startLingering(): void {
    this.lingering = true;
    this.lastReadAt = performance.now();
    this.timer = setTimeout(() => this.lingerCheck(), this.lingerMs);
    // The timer alone never keeps the daemon alive; destroy() (lock, shutdown) clears it.
    this.timer.unref();
  }

  /** Re-protects once `lingerMs` passed without a read; otherwise waits out the rest. */
  private lingerCheck(): void {
    this.timer = undefined;
    const buf = this.buf;
    if (!buf || !this.lingering) return;
    const idle = performance.now() - this.lastReadAt;
    if (idle < this.lingerMs) {
      this.timer = setTimeout(() => this.lingerCheck(), Math.ceil(this.lingerMs - idle));
      this.timer.unref();
      return;
    }
    this.lingering = false;
    this.ops.noaccess(buf);
  }

  /** Ends a linger without touching the protection (the caller sets it next). */
  private stopLingering(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lingering = false;
  }
}

/** A callback that returned a promise would touch the buffer after it is protected again: refuse loudly. */
function settle<T>(result: T): T {
  if (typeof (result as { then?: unknown } | null)?.then === 'function') {
    throw new Error('secret memory callbacks must be synchronous');
  }
  return result;
}
