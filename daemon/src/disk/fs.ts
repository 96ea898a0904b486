import fs from 'node:fs';
import { promisify } from 'node:util';

/** The few facts about a file the store needs. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  /** The mtime to the nanosecond the file system keeps (mtimeMs, a double, loses the last digits). */
  mtimeNs: bigint;
  ino: number;
  isFile: boolean;
}

/**
 * Every file-system call the store makes (DESIGN §5). Tests wrap it to inject ENOSPC, EIO, short
 * writes and crashes at any step, and to count renames; the daemon uses `realFs`. Descriptors are
 * plain numbers so a wrapper can see which file each call is about.
 */
export interface Fs {
  /** Creates a new file; fails with EEXIST if it exists (O_CREAT | O_EXCL | O_WRONLY). */
  createExclusive(path: string, mode: number): Promise<number>;
  /** Writes from `buffer[offset, offset+length)`; may write less, and says how much. */
  write(fd: number, buffer: Buffer, offset: number, length: number): Promise<number>;
  fstat(fd: number): Promise<FileStat>;
  fsync(fd: number): Promise<void>;
  close(fd: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** Makes a directory's entries (renames, creations, removals) durable. */
  fsyncDir(path: string): Promise<void>;
  readFile(path: string): Promise<Buffer>;
  /** null when the path does not exist. */
  stat(path: string): Promise<FileStat | null>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, mode: number): Promise<void>;
}

/** Whether a file-system error says the path (or a directory on it) is not there. */
export function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** What `work` gives, or `absent` when it failed because its path is not there; any other error throws. */
export async function ifPresent<T, A>(work: Promise<T>, absent: A): Promise<T | A> {
  try {
    return await work;
  } catch (error) {
    if (isMissing(error)) return absent;
    throw error;
  }
}

const open = promisify(fs.open);
const write = promisify(fs.write);
const fstat = (fd: number) => new Promise<fs.BigIntStats>((resolve, reject) => fs.fstat(fd, { bigint: true }, (error, stats) => (error ? reject(error) : resolve(stats))));
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);

function toStat(s: fs.BigIntStats): FileStat {
  return { size: Number(s.size), mtimeMs: Number(s.mtimeNs) / 1e6, mtimeNs: s.mtimeNs, ino: Number(s.ino), isFile: s.isFile() };
}

export const realFs: Fs = {
  createExclusive: (path, mode) => open(path, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, mode),
  write: async (fd, buffer, offset, length) => (await write(fd, buffer, offset, length)).bytesWritten,
  fstat: async (fd) => toStat(await fstat(fd)),
  fsync: (fd) => fsync(fd),
  close: (fd) => close(fd),
  rename: (from, to) => fs.promises.rename(from, to),
  link: (existing, newPath) => fs.promises.link(existing, newPath),
  unlink: (path) => fs.promises.unlink(path),
  fsyncDir: async (path) => {
    const fd = await open(path, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      await fsync(fd);
    } finally {
      await close(fd);
    }
  },
  readFile: (path) => fs.promises.readFile(path),
  stat: async (path) => {
    try {
      return toStat(await fs.promises.stat(path, { bigint: true }));
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  },
  readdir: (path) => fs.promises.readdir(path),
  mkdir: async (path, mode) => {
    await fs.promises.mkdir(path, { recursive: true, mode });
  },
};
