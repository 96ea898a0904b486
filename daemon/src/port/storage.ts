import type { Fs } from '../disk/fs.js';

/**
 * The storage port (docs/ARCHITECTURE.md): what the store and the keyring need of persistence,
 * given by each layout (layout/coffer, layout/specter). port/ holds these contracts only; it imports
 * nothing above disk/ and crypto/, so every part may depend on it and it on none of them.
 */

/** How one kind of file is turned into its in-memory model and back. */
export interface Codec<T> {
  /** The model of a file that does not exist. */
  empty(): T;
  /** Parses a whole file; throws if the file is not fully valid for this codec (it is then CORRUPT). */
  decode(bytes: Buffer): T;
  encode(model: T): Buffer;
  /**
   * A copy whose changes leave `model` as it was. Values inside models are never modified in
   * place, so copying the containers is enough.
   */
  clone(model: T): T;
}

/** How a layout reads, durably writes and durably removes a file (the specter layout adds `.bkp`). */
export interface FileIo {
  /** The file's bytes, or null if there is no file. */
  read(fs: Fs, path: string): Promise<Buffer | null>;
  write(fs: Fs, path: string, data: Buffer): Promise<void>;
  remove(fs: Fs, path: string): Promise<void>;
  /**
   * Older versions kept beside the file (the specter layout's `.bkp`) are replaced by the current
   * one. After a secret rotation they would be sealed under a secret that is about to be forgotten,
   * and after a password change they would still open with the old password. No-op without backups.
   */
  supersede?(fs: Fs, path: string): Promise<void>;
}
