import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ifPresent, type Fs } from './fs.js';

/** The steps of a durable replace, as named in fault-injection rules and error reports. */
export type WriteStep = 'open' | 'write' | 'fsync' | 'close' | 'link' | 'rename' | 'fsyncDir';

/** Our own temp files: hidden, never ending in `.json`, with a fixed marker so a sweep can't hit anything else. */
const TEMP_MARKER = '.coffer-tmp-';
const TEMP_RE = /^\..+\.coffer-tmp-[0-9a-f]{16}$/;

export function isOwnTempFile(name: string): boolean {
  return TEMP_RE.test(name);
}

/** A hidden temp name beside `target` in our pattern, so the start-up sweep removes it if left behind. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}${TEMP_MARKER}${randomBytes(8).toString('hex')}`);
}

/**
 * A replace that did not happen. `durabilityUnknown` is set when a directory fsync failed: the
 * previous file has been put back, but the kernel said it could not make directory entries durable,
 * so the store must stop writing (DESIGN §5: a failed fsync is never retried as if it succeeded).
 */
export class DurableWriteError extends Error {
  constructor(
    readonly step: WriteStep,
    readonly target: string,
    override readonly cause: unknown,
    readonly durabilityUnknown = false,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as Error | undefined)?.message;
    super(`durable write of ${target} failed at ${step}: ${code}`);
    this.name = 'DurableWriteError';
  }
}

export interface DurableWriteOptions {
  mode?: number;
  /**
   * Runs after the new content is durable in its temp file and before it replaces the target. The
   * specter layout uses it to rotate the previous version into `.bkp`.
   */
  beforeReplace?: () => Promise<void>;
}

/**
 * Replaces `target` with `data` so that, whatever happens, `target` is either the old file or the
 * new one, complete, and the new one survives power loss once this resolves (DESIGN §5):
 * temp file in the same dir (O_EXCL, 0600), write every byte, check the size, fsync, close,
 * [keep a link to the old file], rename over the target, fsync the directory.
 * On any failure the temp file is removed and the old file stays. This is ours and not
 * write-file-atomic because that one ignores short writes on a full disk and never fsyncs the dir.
 */
export async function durableReplace(fs: Fs, target: string, data: Buffer, options: DurableWriteOptions = {}): Promise<void> {
  const dir = path.dirname(target);
  const temp = tempPathFor(target);
  let step: WriteStep = 'open';
  let fd: number | undefined;
  let previous: string | undefined;
  try {
    fd = await fs.createExclusive(temp, options.mode ?? 0o600);
    step = 'write';
    await writeAll(fs, fd, data);
    step = 'fsync';
    await fs.fsync(fd);
    step = 'close';
    const closing = fd;
    fd = undefined;
    await fs.close(closing);
    step = 'link';
    if (options.beforeReplace) await options.beforeReplace();
    previous = await keepPrevious(fs, target);
    step = 'rename';
    await fs.rename(temp, target);
  } catch (error) {
    if (fd !== undefined) await fs.close(fd).catch(() => undefined);
    await fs.unlink(temp).catch(() => undefined);
    if (previous) await fs.unlink(previous).catch(() => undefined);
    throw error instanceof DurableWriteError ? error : new DurableWriteError(step, target, error);
  }
  try {
    await fs.fsyncDir(dir);
  } catch (error) {
    await restorePrevious(fs, target, previous);
    throw new DurableWriteError('fsyncDir', target, error, true);
  }
  if (previous) await fs.unlink(previous).catch(() => undefined);
}

async function writeAll(fs: Fs, fd: number, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const written = await fs.write(fd, data, offset, data.length - offset);
    if (written <= 0) throw Object.assign(new Error('the disk accepted no more bytes'), { code: 'ENOSPC' });
    offset += written;
  }
  const { size } = await fs.fstat(fd);
  if (size !== data.length) {
    throw Object.assign(new Error(`file is ${size} bytes after writing ${data.length}`), { code: 'EIO' });
  }
}

/** Hard-links the current target to a temp name, so a failed directory fsync can put it back. */
async function keepPrevious(fs: Fs, target: string): Promise<string | undefined> {
  const previous = tempPathFor(target);
  return ifPresent(fs.link(target, previous).then(() => previous), undefined);
}

async function restorePrevious(fs: Fs, target: string, previous: string | undefined): Promise<void> {
  try {
    if (previous) await fs.rename(previous, target);
    else await fs.unlink(target);
  } catch {
    // Nothing more can be done here; the store is degraded and says so.
  }
}

/** Removes our leftover temp files (exact name pattern only) from `dir`. Returns how many. */
export async function sweepTempFiles(fs: Fs, dir: string): Promise<number> {
  const names = await ifPresent(fs.readdir(dir), []);
  let removed = 0;
  for (const name of names.filter(isOwnTempFile)) {
    await fs.unlink(path.join(dir, name));
    removed++;
  }
  return removed;
}
