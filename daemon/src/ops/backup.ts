import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, CofferError, MANIFEST_NAME, type BackupManifest, type ResultOf } from '@coffer/protocol';
import { durableReplace } from '../disk/durable-write.js';
import { ifPresent, type Fs } from '../disk/fs.js';
import { relativeName, type DataFile } from './data-files.js';
import type { WriteGate } from './write-gate.js';

/** What the backup logs through (the daemon's pino logger fits). */
export interface BackupLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface BackupSources {
  readonly dataDir: string;
  readonly layout: 'coffer' | 'specter';
  readonly gate: WriteGate;
  /** Written into the manifest. */
  readonly daemonVersion: string;
  /** The daemon's Fs without the gate (the copies must not wait for the hold they are part of). */
  readonly fs: Fs;
  readonly log: BackupLog;
  /** The data dir's files (ops/data-files.ts), listed before the hold. */
  files(): Promise<DataFile[]>;
}

/**
 * daemon.backup (DESIGN-NOTES "Backup, restore, verify, migrate"): lists the files, holds writes
 * only while it reads them into memory (copy-on-quiesce), then, with writes flowing again, writes
 * each copy durably (the store's own durable replace, through the same Fs seam) and MANIFEST.json
 * last: a backup without its manifest is not a backup, and restore refuses it.
 */
export async function takeBackup(sources: BackupSources, dest: string): Promise<ResultOf<'daemon.backup'>> {
  const started = performance.now();
  await prepareDest(sources.dataDir, dest);
  try {
    const files = await sources.files();
    const sourcesToCopy = files.flatMap((file) => [file.path, ...file.companions]);
    // Held: reading every file into memory, nothing else (the copies are written after).
    const { value: contents, stats } = await sources.gate.hold(async () => {
      const read: Array<{ name: string; bytes: Buffer }> = [];
      for (const source of sourcesToCopy) {
        const bytes = await readIfPresent(sources.fs, source);
        if (bytes) read.push({ name: relativeName(sources.dataDir, source), bytes });
      }
      return read;
    });
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_FORMAT_VERSION,
      layout: sources.layout,
      created: new Date().toISOString(),
      daemonVersion: sources.daemonVersion,
      files: [],
    };
    for (const { name, bytes } of contents) {
      const target = path.join(dest, ...name.split('/'));
      await sources.fs.mkdir(path.dirname(target), 0o700);
      await durableReplace(sources.fs, target, bytes, { mode: 0o600 });
      manifest.files.push({ path: name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
    // Last: a backup without its manifest is not one (restore refuses it).
    await durableReplace(sources.fs, path.join(dest, MANIFEST_NAME), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), { mode: 0o600 });
    await sources.fs.fsyncDir(path.dirname(dest));
    const result = {
      dest,
      layout: sources.layout,
      files: manifest.files.length,
      bytes: manifest.files.reduce((sum, f) => sum + f.size, 0),
      drainMs: round(stats.drainMs),
      heldMs: round(stats.heldMs),
      delayedWrites: stats.delayedCalls,
      tookMs: round(performance.now() - started),
    };
    sources.log.info(result, 'backup taken');
    return result;
  } catch (error) {
    // Leave dest as it was (empty): a half backup must not look like one.
    await emptyDir(dest);
    sources.log.error({ err: error, dest }, 'backup failed');
    throw new CofferError('STORAGE_FAILED', `Backup to ${dest} failed (${errnoOf(error)}): check the destination's disk and permissions; the data dir is unchanged`);
  }
}

/** Removed since the listing (a user deleted): not part of the data any more. */
function readIfPresent(fs: Fs, file: string): Promise<Buffer | undefined> {
  return ifPresent(fs.readFile(file), undefined);
}

/**
 * dest must be absolute, outside the data dir (a Specter folder's documents are found by walking it),
 * and a directory that is empty or does not exist yet (then made, 0700, in an existing parent).
 */
async function prepareDest(dataDir: string, dest: string): Promise<void> {
  if (!path.isAbsolute(dest)) throw new CofferError('INVALID_PARAMS', `Invalid params: dest must be an absolute path (the daemon's working directory is not yours), not ${dest}`);
  const inside = path.relative(path.resolve(dataDir), path.resolve(dest));
  if (inside === '' || (!inside.startsWith('..') && !path.isAbsolute(inside))) {
    throw new CofferError('INVALID_PARAMS', 'Invalid params: dest is inside the data dir; choose a directory outside it');
  }
  try {
    await fsp.mkdir(dest, { mode: 0o700 });
    return;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') throw new CofferError('NOT_FOUND', `The parent of ${dest} does not exist: create it first`);
    if (code !== 'EEXIST') throw new CofferError('STORAGE_FAILED', `Cannot create ${dest} (${code}): check its parent's permissions`);
  }
  const stat = await fsp.stat(dest);
  if (!stat.isDirectory() || (await fsp.readdir(dest)).length > 0) {
    throw new CofferError('ALREADY_EXISTS', `${dest} exists and is not an empty directory: choose a new one (a backup never overwrites)`);
  }
}

async function emptyDir(dir: string): Promise<void> {
  for (const entry of await fsp.readdir(dir)) await fsp.rm(path.join(dir, entry), { recursive: true, force: true });
}

/** The errno of a failure, or of what caused it (DurableWriteError wraps the fs error). */
function errnoOf(error: unknown): string {
  const e = error as (NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }) | undefined;
  /* c8 ignore next: fs failures carry an errno */
  return e?.code ?? e?.cause?.code ?? 'error';
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
