import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { CofferError } from '@coffer/protocol';
import { KeyedMutex } from '../base/keyed-mutex.js';
import { writeWithBackup } from '../specter/backup-files.js';
import { PyJsonError, pyLoadsBytes } from '../specter/py-json-parse.js';
import { isOwnTempFile } from '../disk/durable-write.js';
import { storageFailed, tooLarge } from '../port/errors.js';
import type { Store } from './store.js';

/**
 * Specter's own JSON files (config.json, wallets, devices, nodes, ...) written the durable way
 * (files.write, Coffer issue 12 §3). Specter renames the old file to `.bkp` and rewrites in place
 * without fsync, so a power cut can leave an empty file; here the new bytes go to a temp file,
 * are fsync'd, the previous good version becomes `.bkp`, the temp file is renamed over the target
 * and the folder is fsync'd (writeWithBackup, the same machinery as the daemon's own files).
 * Writes to one file run one at a time, in arrival order; files the daemon serves through another
 * method (users.json, services files, annotations files, documents it has open) are refused, so
 * there is never a second writer of those.
 */
export class SpecterFiles {
  private readonly queue = new KeyedMutex();
  private root: Promise<string> | undefined;
  private readonly swept = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly dataDir: string,
    private readonly layout: 'coffer' | 'specter',
  ) {}

  async write(relative: string, text: string): Promise<{ bytes: number }> {
    if (this.layout !== 'specter') {
      throw invalid('files.write serves a Specter data folder only; this daemon runs the coffer layout (start it with --layout specter on the Specter folder)');
    }
    const target = path.join(this.dataDir, checkRelative(relative));
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > this.store.maxDocBytes) throw tooLarge(this.store.maxDocBytes);
    checkJson(relative, bytes);
    if (this.store.cached(target)) throw served(relative);
    // Queued before anything is awaited, so writes to one file land in the order they arrived.
    return this.queue.run(target, async () => {
      await this.checkInside(relative, target);
      this.store.assertWritable();
      try {
        await this.sweepLeftovers(target);
        await writeWithBackup(this.store.fs, target, bytes);
      } catch (error) {
        this.store.onFailed(target, error);
        throw storageFailed(relative, error);
      }
      this.store.onCommitted();
      return { bytes: bytes.length };
    });
  }

  /**
   * Our temp files for this one file, left by a kill during an earlier run (the start-up sweep only
   * covers the store's folders). Once per file and run, inside its queue: no write of it is in flight.
   */
  private async sweepLeftovers(target: string): Promise<void> {
    if (this.swept.has(target)) return;
    const prefix = `.${path.basename(target)}.`;
    const names = await this.store.fs.readdir(path.dirname(target));
    for (const name of names.filter((n) => n.startsWith(prefix) && isOwnTempFile(n))) {
      await this.store.fs.unlink(path.join(path.dirname(target), name));
    }
    this.swept.add(target);
  }

  /** The folder must exist (Specter makes its folders itself) and, symlinks resolved, be inside the data dir. */
  private async checkInside(relative: string, target: string): Promise<void> {
    this.root ??= realpath(this.dataDir);
    const root = await this.root;
    let folder: string;
    try {
      folder = await realpath(path.dirname(target));
    } catch {
      throw new CofferError('NOT_FOUND', `The folder of ${relative} does not exist in the data dir; create it first (Specter does before writing)`);
    }
    if (folder !== root && !folder.startsWith(root + path.sep)) throw invalid(`${relative} leads outside the data dir (through a symbolic link); nothing was written`);
    const stat = await this.store.fs.stat(target);
    if (stat && !stat.isFile) throw invalid(`${relative} exists and is not a regular file; nothing was written`);
  }
}

function invalid(message: string): CofferError {
  return new CofferError('INVALID_PARAMS', message);
}

function served(relative: string): CofferError {
  return invalid(`${relative} is served by cofferd through another method (users.*, services.*, annotations.*, docs.*); write it through that method`);
}

/** A plain relative path to a `.json` file: no `..`, no hidden segment (our temp files), not one the daemon owns by name. */
function checkRelative(relative: string): string {
  const segments = relative.split('/');
  const bad = segments.find((s) => s === '' || s.startsWith('.') || s.includes('\\') || s.includes('\0'));
  if (path.isAbsolute(relative) || bad !== undefined) {
    throw invalid(`path must be relative to the data dir, with no empty, hidden or ".." segment (got ${JSON.stringify(relative.slice(0, 200))})`);
  }
  const name = segments[segments.length - 1] as string;
  if (!name.endsWith('.json')) throw invalid(`files.write writes .json files only (got ${JSON.stringify(name.slice(0, 200))})`);
  const atRoot = segments.length === 1;
  // Files directly in wallets/ or wallets_<id>/ are annotations (Specter's wallets live a folder deeper, per chain).
  const annotations = segments.length === 2 && /^wallets(?:_.*)?$/.test(segments[0] as string);
  if ((atRoot && (name === 'users.json' || name.endsWith('_services.json'))) || annotations) throw served(relative);
  return segments.join(path.sep);
}

/** What is stored must be JSON Specter can read back (json.load): anything else is refused before a byte is written. */
function checkJson(relative: string, bytes: Buffer): void {
  try {
    pyLoadsBytes(bytes);
  } catch (error) {
    /* c8 ignore next */
    if (!(error instanceof PyJsonError)) throw error;
    throw invalid(`text for ${relative} is not JSON that Specter can read (${error.message}); nothing was written`);
  }
}
