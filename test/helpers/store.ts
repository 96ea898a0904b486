import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { UnlockedUser } from '../../daemon/src/port/users.js';
import { CofferLayout } from '../../daemon/src/layout/coffer/coffer-layout.js';
import { FaultyFs, type FaultRule } from '../../daemon/src/disk/faulty-fs.js';
import { realFs } from '../../daemon/src/disk/fs.js';
import { Store } from '../../daemon/src/store/store.js';
import type { TestLike } from './daemon.js';

/** A fault at each step of the durable replace before the directory fsync (that one has its own tests: degraded mode). */
export const WRITE_STEP_FAULTS: readonly FaultRule[] = [
  { op: 'open', fault: 'ENOSPC' },
  { op: 'write', fault: 'short' },
  { op: 'write', fault: 'EIO' },
  { op: 'fsync', fault: 'EIO' },
  { op: 'close', fault: 'EIO' },
  { op: 'link', fault: 'ENOSPC' },
  { op: 'rename', fault: 'EIO' },
];

/** A few of those and a failed unlink: for suites that check what a failed write leaves, not each step. */
export const SAMPLE_WRITE_FAULTS: readonly FaultRule[] = [
  { op: 'open', fault: 'ENOSPC' },
  { op: 'write', fault: 'short' },
  { op: 'fsync', fault: 'EIO' },
  { op: 'rename', fault: 'EIO' },
  { op: 'unlink', fault: 'EIO' },
];

export interface StoreOptions {
  groupCommit?: boolean;
  maxDocBytes?: number;
  /** Reuse a data dir (a "restart": a fresh Store and layout over the same files). */
  dataDir?: string;
}

/**
 * An in-process store over real files in a temp dir, writing through a FaultyFs (no rules until a
 * test sets some), with the coffer layout: what app.ts builds, minus the socket.
 */
export function storeFixture(t: TestLike, options: StoreOptions = {}) {
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'coffer-store-'));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    dataDir = dir;
  }
  const fs = new FaultyFs(realFs);
  const store = new Store(fs, pino({ level: 'silent' }), {
    groupCommit: options.groupCommit ?? true,
    maxDocBytes: options.maxDocBytes ?? 8 * 1024 * 1024,
  });
  const layout = new CofferLayout(dataDir, fs);
  return { dataDir, fs, store, layout };
}

/** Every file under `dir` (relative paths), for "nothing was created" checks. */
export function filesUnder(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
      .sort();
  } catch {
    return [];
  }
}

/**
 * An unlocked user as the keyring hands one to the store (port/users.ts), with its secret in
 * a plain buffer: for in-process store tests only; end-to-end tests use real sessions.
 */
export function unlockedUser(username: string, secret: Buffer = randomBytes(32)): UnlockedUser {
  return { username, withSecret: (fn) => fn(secret) };
}
