import type { Fs } from '../disk/fs.js';

/** How a layout reads, durably writes and durably removes a file (the specter layout adds `.bkp`). */
export interface FileIo {
  /** The file's bytes, or null if there is no file. */
  read(fs: Fs, path: string): Promise<Buffer | null>;
  write(fs: Fs, path: string, data: Buffer): Promise<void>;
  remove(fs: Fs, path: string): Promise<void>;
  /** Unit.supersede for files: the kept older versions (`.bkp`) become the current one. */
  supersede?(fs: Fs, path: string): Promise<void>;
}
