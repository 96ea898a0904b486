import path from 'node:path';
import { CofferError } from '@coffer/protocol';
import { durableReplace, tempPathFor } from '../disk/durable-write.js';
import { ifPresent, type Fs } from '../disk/fs.js';
import { PyJsonError, pyLoadsBytes, type ParseOptions } from './py-json-parse.js';
import { FILE_MAX_DEPTH, type PyValue } from './py-json-value.js';

/**
 * Specter's `<file>.bkp` (spec §11), kept so that stock Specter's own recovery still works, without
 * Specter's crash window (spec §12.1): `<file>` is replaced atomically and `.bkp` always holds the
 * previous *good* version. Everything goes through the Fs seam, so faults can be injected per step.
 */

export interface BackupRead {
  /** Which file the value came from; 'none' when neither exists (the file is empty). */
  source: 'file' | 'bkp' | 'none';
  value: PyValue | undefined;
  /** The bytes parsed, e.g. to notice external edits later by hash. */
  bytes: Buffer | undefined;
}

export function backupPath(file: string): string {
  return `${file}.bkp`;
}

/** An I/O error other than absence throws: it is not "bad content", never answered with older data. */
function readIfExists(fs: Fs, file: string): Promise<Buffer | undefined> {
  return ifPresent(fs.readFile(file), undefined);
}

type Parsed = { ok: true; value: PyValue } | { ok: false; error: PyJsonError };

function tryParse(bytes: Buffer, options: ParseOptions): Parsed {
  try {
    return { ok: true, value: pyLoadsBytes(bytes, options) };
  } catch (error) {
    /* c8 ignore next */
    if (!(error instanceof PyJsonError)) throw error;
    return { ok: false, error };
  }
}

function corrupt(file: string, detail: string): CofferError {
  return new CofferError('CORRUPT', `${path.basename(file)} ${detail}; nothing was changed`, { file });
}

/**
 * Reads `<file>` the compatible way: if it parses, use it; if it is missing or does not parse and
 * `.bkp` parses, use the `.bkp` content (Specter does the same) but delete, rotate or rewrite
 * neither file; if neither parses, CORRUPT; if neither exists, empty.
 * A `<file>` that Python could read but the daemon refuses (NaN, too deep: kind 'unsupported') is
 * CORRUPT at once: falling back to an older `.bkp` would show other data than Specter shows.
 */
export async function readWithBackup(fs: Fs, file: string, options: ParseOptions = {}): Promise<BackupRead> {
  const parse = { maxDepth: options.maxDepth ?? FILE_MAX_DEPTH };
  const main = await readIfExists(fs, file);
  let mainError: PyJsonError | undefined;
  if (main) {
    const parsed = tryParse(main, parse);
    if (parsed.ok) return { source: 'file', value: parsed.value, bytes: main };
    if (parsed.error.kind === 'unsupported') throw corrupt(file, `holds JSON the daemon does not accept (${parsed.error.message})`);
    mainError = parsed.error;
  }
  const bkp = await readIfExists(fs, backupPath(file));
  if (!bkp) {
    if (!main) return { source: 'none', value: undefined, bytes: undefined };
    throw corrupt(file, `does not parse (${mainError?.message}) and has no ${path.basename(backupPath(file))}`);
  }
  const parsed = tryParse(bkp, parse);
  if (parsed.ok) return { source: 'bkp', value: parsed.value, bytes: bkp };
  throw corrupt(file, `${main ? `does not parse (${mainError?.message})` : 'is missing'}, and its .bkp does not parse either (${parsed.error.message})`);
}


/**
 * Makes `<file>.bkp` an atomic copy of `<file>` if that exists and parses: hard-link it to a temp
 * name, check the linked content (so what is checked is what is kept, even if `<file>` is replaced
 * meanwhile), then rename the link over `.bkp`. A bad `<file>` is never rotated into `.bkp`.
 */
async function rotateIntoBackup(fs: Fs, file: string, options: ParseOptions): Promise<void> {
  const temp = tempPathFor(backupPath(file));
  if (!(await ifPresent(fs.link(file, temp).then(() => true), false))) return;
  try {
    const parsed = tryParse(await fs.readFile(temp), options);
    // 'unsupported' content (NaN, very deep) is still a version Specter reads: keep it too.
    if (parsed.ok || parsed.error.kind === 'unsupported') {
      await fs.rename(temp, backupPath(file));
      // rename() does nothing when both names are links to one file: `.bkp` already is this version
      // (a kill fell between an earlier rotation and its replace), and the temp name would stay.
      if (await fs.stat(temp)) await fs.unlink(temp);
    } else await fs.unlink(temp);
  } catch (error) {
    await fs.unlink(temp).catch(() => undefined);
    throw error;
  }
  // No directory fsync of its own: durableReplace fsyncs the folder after the main rename, and
  // a .bkp rename lost to power failure leaves the older .bkp, still a good previous version.
}

/**
 * Makes `.bkp` a copy of the current `<file>` (if it exists and parses), durably: the previous
 * version is dropped on purpose, e.g. when it is sealed under a secret about to be forgotten.
 */
export async function supersedeBackup(fs: Fs, file: string, options: ParseOptions = {}): Promise<void> {
  await rotateIntoBackup(fs, file, { maxDepth: options.maxDepth ?? FILE_MAX_DEPTH });
  await fs.fsyncDir(path.dirname(file));
}

/**
 * Writes `<file>` durably (temp file, fsync, rename, directory fsync: durableReplace) and, just
 * before the rename, keeps the previous good version as `.bkp`. On any failure `<file>` and `.bkp`
 * are each left valid (old, or `.bkp` = the old `<file>`) and no temp file remains; the error is
 * durableReplace's DurableWriteError.
 */
export async function writeWithBackup(
  fs: Fs,
  file: string,
  data: Buffer,
  options: ParseOptions & { mode?: number } = {},
): Promise<void> {
  await durableReplace(fs, file, data, {
    mode: options.mode,
    beforeReplace: () => rotateIntoBackup(fs, file, { maxDepth: options.maxDepth ?? FILE_MAX_DEPTH }),
  });
}
