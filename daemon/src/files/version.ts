import { digestOf } from '../base/digest.js';
import type { FileStat } from '../disk/fs.js';
import type { UnitVersion } from '../port/storage.js';

/**
 * Which version of a file a document's cached state is (DESIGN-NOTES "No stale reads"). A read
 * checks the file's identity — inode, size and mtime in nanoseconds — and re-reads when it moved.
 * That alone misses an in-place rewrite of the same size within one tick of the file system's
 * clock (Linux stamps files from a coarse clock, ~4 ms; some file systems keep whole seconds):
 * the "racily clean" case git knows. So a version whose mtime is too close to the moment it was
 * seen is racy, and checked by its content's digest until a check made a safe while after its
 * mtime finds it unchanged: any later rewrite then gets another mtime.
 */

/** What a stat says of the file; null when there is none. */
export type Identity = Pick<FileStat, 'ino' | 'size' | 'mtimeNs'> | null;

export function identityOf(stat: FileStat | null): Identity {
  return stat && { ino: stat.ino, size: stat.size, mtimeNs: stat.mtimeNs };
}

export function sameIdentity(a: Identity, b: Identity): boolean {
  return a === b || (a !== null && b !== null && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs);
}

/** Nanoseconds since the epoch, floored to the millisecond: never later than the real time. */
export function wallClockNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

const SECOND_NS = 1_000_000_000n;
/** Far above any kernel tick (1/HZ ≤ 10 ms), well below how often anyone rewrites a file by hand. */
const FINE_WINDOW_NS = 50_000_000n;
/** File systems that keep whole seconds (or two, as FAT) show it as an mtime with no fraction. */
const COARSE_WINDOW_NS = 2n * SECOND_NS;

/** Whether a rewrite after `seenAt` could still get the same mtime as `identity`. */
export function isRacy(identity: Identity, seenAt: bigint): boolean {
  if (identity === null) return false;
  const window = identity.mtimeNs % SECOND_NS === 0n ? COARSE_WINDOW_NS : FINE_WINDOW_NS;
  return seenAt - identity.mtimeNs < window;
}

export class FileVersion implements UnitVersion {
  constructor(
    readonly identity: Identity,
    readonly digest: string,
    /** True until a check made long enough after the mtime found the same content. */
    public racy: boolean,
  ) {}

  /** A stat found the file (not after a removal, nor when the stat after our write failed). */
  get exists(): boolean {
    return this.identity !== null;
  }

  /** The version of `bytes`, found under `identity` by a look that started at `seenAt`. */
  static seen(identity: Identity, bytes: Buffer | null, seenAt: bigint): FileVersion {
    return new FileVersion(identity, digestOf(bytes), isRacy(identity, seenAt));
  }
}

