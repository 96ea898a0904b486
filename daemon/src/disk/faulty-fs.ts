import { readFileSync, statSync } from 'node:fs';
import type { FileStat, Fs } from './fs.js';

/** Fs calls a rule can target; `open` is createExclusive. */
export type FsOp = 'open' | 'write' | 'fstat' | 'fsync' | 'close' | 'rename' | 'link' | 'unlink' | 'fsyncDir' | 'readFile' | 'stat' | 'readdir' | 'mkdir';

export interface FaultRule {
  op: FsOp;
  /**
   * ENOSPC / EIO: the call fails with that errno. `short`: a write stores half its bytes, and the
   * next write on that file fails ENOSPC (what a filling disk does). `crash`: the process is killed
   * with SIGKILL at that point, to test recovery from every step.
   */
  fault: 'ENOSPC' | 'EIO' | 'short' | 'crash';
  /** Only calls whose path contains this text. */
  pathIncludes?: string;
  /** Matching calls to let through before the fault fires. Default 0. */
  skip?: number;
  /** How many times it fires. Default 1; 0 means every time. */
  times?: number;
}

interface LiveRule extends FaultRule {
  seen: number;
  fired: number;
}

function errno(code: 'ENOSPC' | 'EIO', op: FsOp, path: string): NodeJS.ErrnoException {
  const text = code === 'ENOSPC' ? 'no space left on device' : 'i/o error';
  return Object.assign(new Error(`${code}: ${text} (injected), ${op} '${path}'`), { code, syscall: op, path });
}

/**
 * The fault-injection seam of DESIGN §5: an Fs that passes every call to a real one, counts calls
 * per op, and fails the ones its rules pick. Tests build it in process; a daemon started with
 * `--fault-rules-file` (test-only) reads its rules from a JSON file, re-read whenever it changes.
 */
export class FaultyFs implements Fs {
  // Every method is async so an injected fault is always a rejection, never a synchronous throw.
  readonly counts: Record<FsOp, number> = {
    open: 0, write: 0, fstat: 0, fsync: 0, close: 0, rename: 0, link: 0, unlink: 0, fsyncDir: 0, readFile: 0, stat: 0, readdir: 0, mkdir: 0,
  };
  private rules: LiveRule[] = [];
  private readonly fdPaths = new Map<number, string>();
  private readonly shortWritten = new Set<number>();
  private rulesFileMtime = -1;

  constructor(
    private readonly inner: Fs,
    private readonly rulesFile?: string,
  ) {}

  setRules(rules: FaultRule[]): void {
    this.rules = rules.map((rule) => ({ ...rule, seen: 0, fired: 0 }));
  }

  async createExclusive(path: string, mode: number): Promise<number> {
    this.check('open', path);
    const fd = await this.inner.createExclusive(path, mode);
    this.fdPaths.set(fd, path);
    return fd;
  }

  async write(fd: number, buffer: Buffer, offset: number, length: number): Promise<number> {
    const path = this.pathOf(fd);
    if (this.shortWritten.has(fd)) {
      this.counts.write++;
      throw errno('ENOSPC', 'write', path);
    }
    const fault = this.check('write', path);
    if (fault === 'short' && length > 1) {
      this.shortWritten.add(fd);
      return this.inner.write(fd, buffer, offset, Math.floor(length / 2));
    }
    return this.inner.write(fd, buffer, offset, length);
  }

  async fstat(fd: number): Promise<FileStat> {
    this.check('fstat', this.pathOf(fd));
    return this.inner.fstat(fd);
  }

  async fsync(fd: number): Promise<void> {
    this.check('fsync', this.pathOf(fd));
    return this.inner.fsync(fd);
  }

  async close(fd: number): Promise<void> {
    const path = this.pathOf(fd);
    this.fdPaths.delete(fd);
    this.shortWritten.delete(fd);
    this.check('close', path);
    await this.inner.close(fd);
  }

  async rename(from: string, to: string): Promise<void> {
    this.check('rename', to);
    return this.inner.rename(from, to);
  }

  async link(existing: string, newPath: string): Promise<void> {
    this.check('link', newPath);
    return this.inner.link(existing, newPath);
  }

  async unlink(path: string): Promise<void> {
    this.check('unlink', path);
    return this.inner.unlink(path);
  }

  async fsyncDir(path: string): Promise<void> {
    this.check('fsyncDir', path);
    return this.inner.fsyncDir(path);
  }

  async readFile(path: string): Promise<Buffer> {
    this.check('readFile', path);
    return this.inner.readFile(path);
  }

  async stat(path: string): Promise<FileStat | null> {
    this.check('stat', path);
    return this.inner.stat(path);
  }

  async readdir(path: string): Promise<string[]> {
    this.check('readdir', path);
    return this.inner.readdir(path);
  }

  async mkdir(path: string, mode: number): Promise<void> {
    this.check('mkdir', path);
    return this.inner.mkdir(path, mode);
  }

  private pathOf(fd: number): string {
    return this.fdPaths.get(fd) ?? `fd:${fd}`;
  }

  /** Counts the call and applies the first rule that fires: throws, kills, or returns 'short'. */
  private check(op: FsOp, path: string): 'short' | undefined {
    this.counts[op]++;
    this.reloadRules();
    for (const rule of this.rules) {
      if (rule.op !== op || (rule.pathIncludes !== undefined && !path.includes(rule.pathIncludes))) continue;
      if (rule.seen++ < (rule.skip ?? 0)) continue;
      const times = rule.times ?? 1;
      if (times !== 0 && rule.fired >= times) continue;
      rule.fired++;
      if (rule.fault === 'short') return op === 'write' ? 'short' : undefined;
      // SIGKILL is not delivered synchronously; the EIO below stops the step until it lands.
      if (rule.fault === 'crash') process.kill(process.pid, 'SIGKILL');
      throw errno(rule.fault === 'crash' ? 'EIO' : rule.fault, op, path);
    }
    return undefined;
  }

  private reloadRules(): void {
    if (!this.rulesFile) return;
    let mtime: number;
    try {
      mtime = statSync(this.rulesFile).mtimeMs;
    } catch {
      mtime = 0;
    }
    if (mtime === this.rulesFileMtime) return;
    this.rulesFileMtime = mtime;
    this.setRules(mtime === 0 ? [] : (JSON.parse(readFileSync(this.rulesFile, 'utf8')) as FaultRule[]));
  }
}
