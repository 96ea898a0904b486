import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { MANIFEST_NAME, manifestProblem, type BackupManifest } from '@coffer/protocol';
import { durableReplace } from '../disk/durable-write.js';
import { ifPresent, realFs } from '../disk/fs.js';

/** Why a restore did not start; nothing was written. `code` is stable for scripts. */
export class RestoreRefused extends Error {
  override readonly name = 'RestoreRefused';
  constructor(
    readonly code: 'NO_MANIFEST' | 'BAD_MANIFEST' | 'HASH_MISMATCH' | 'NOT_EMPTY',
    message: string,
  ) {
    super(message);
  }
}

export interface RestoreOptions {
  /** Restore into a data dir that holds files (those the backup names are replaced, others kept). */
  force?: boolean;
}

export interface RestoreResult {
  layout: BackupManifest['layout'];
  files: number;
  bytes: number;
}

/**
 * `coffer restore` (offline): reads the backup's MANIFEST.json, checks every file's size and sha256
 * first (a damaged backup writes nothing), then writes each file into `dataDir` durably, the way
 * the daemon writes its own (store/durable-write.ts: temp, fsync, rename, directory fsync).
 * The caller makes sure no daemon serves `dataDir` (client/src/cli/commands/ops.ts).
 */
export async function restoreBackup(source: string, dataDir: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const manifest = await readManifest(source);
  const contents = new Map<string, Buffer>();
  for (const file of manifest.files) {
    const bytes = await fsp.readFile(path.join(source, ...file.path.split('/'))).catch((error: NodeJS.ErrnoException) => {
      throw new RestoreRefused('HASH_MISMATCH', `${file.path} is listed in the manifest but cannot be read (${error.code}): the backup is incomplete`);
    });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== file.size || sha256 !== file.sha256) {
      throw new RestoreRefused('HASH_MISMATCH', `${file.path} does not match the manifest (size or sha256): the backup is damaged; restore another one`);
    }
    contents.set(file.path, bytes);
  }
  const present = await ifPresent(fsp.readdir(dataDir), []);
  if (present.length > 0 && !options.force) {
    throw new RestoreRefused('NOT_EMPTY', `${dataDir} is not empty: restore into a new directory, or pass --force to replace the files the backup holds (others are kept)`);
  }
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  let bytes = 0;
  for (const [name, data] of contents) {
    const target = path.join(dataDir, ...name.split('/'));
    await fsp.mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await durableReplace(realFs, target, data, { mode: 0o600 });
    bytes += data.length;
  }
  await realFs.fsyncDir(path.dirname(path.resolve(dataDir)));
  return { layout: manifest.layout, files: contents.size, bytes };
}

async function readManifest(source: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(source, MANIFEST_NAME), 'utf8');
  } catch (error) {
    throw new RestoreRefused('NO_MANIFEST', `${source} has no readable ${MANIFEST_NAME} (${(error as NodeJS.ErrnoException).code}): it is not a finished coffer backup`);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new RestoreRefused('BAD_MANIFEST', `${MANIFEST_NAME} in ${source} is not JSON: the backup is damaged`);
  }
  const problem = manifestProblem(manifest);
  if (problem !== null) throw new RestoreRefused('BAD_MANIFEST', `${MANIFEST_NAME} in ${source} is not one this version reads (${problem})`);
  const checked = manifest as BackupManifest;
  for (const file of checked.files) {
    const parts = file.path.split('/');
    // Names come from the backup, which may have been edited: never write outside the data dir.
    if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\\'))) {
      throw new RestoreRefused('BAD_MANIFEST', `${MANIFEST_NAME} names a file outside the data dir (${JSON.stringify(file.path)}): refusing it`);
    }
  }
  return checked;
}
