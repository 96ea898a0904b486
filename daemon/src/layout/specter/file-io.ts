import path from 'node:path';
import type { FileIo } from '../../files/io.js';
import { ifPresent, type Fs } from '../../disk/fs.js';
import { backupPath, readWithBackup, supersedeBackup, writeWithBackup } from '../../specter/index.js';

/**
 * File I/O of the specter layout (specter-format §11): Specter's `<file>.bkp` kept as the previous
 * good version, without Specter's crash window. A missing or broken file whose `.bkp` parses is
 * served from the `.bkp` (and the next write builds on it); a file neither of which parses is
 * CORRUPT and never written over. Directories (a user's `wallets_<id>/`, a document's folder) are
 * created on first write, 0700, their parent fsynced.
 */
export class BackupFileIo implements FileIo {
  private readonly knownDirs = new Set<string>();

  async read(fs: Fs, file: string): Promise<Buffer | null> {
    return (await readWithBackup(fs, file)).bytes ?? null;
  }

  async write(fs: Fs, file: string, data: Buffer): Promise<void> {
    await this.ensureDir(fs, path.dirname(file));
    await writeWithBackup(fs, file, data);
  }

  /**
   * The `.bkp` goes first: if we crash in between, the file is still there (not acknowledged, as
   * before the call), whereas a `.bkp` left alone would be served again as the file's content.
   */
  async remove(fs: Fs, file: string): Promise<void> {
    await unlinkIfPresent(fs, backupPath(file));
    await unlinkIfPresent(fs, file);
    await fs.fsyncDir(path.dirname(file));
  }

  supersede(fs: Fs, file: string): Promise<void> {
    return supersedeBackup(fs, file);
  }

  private async ensureDir(fs: Fs, dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    if (!(await fs.stat(dir))) {
      await fs.mkdir(dir, 0o700);
      await fs.fsyncDir(path.dirname(dir));
    }
    this.knownDirs.add(dir);
  }
}

async function unlinkIfPresent(fs: Fs, file: string): Promise<void> {
  await ifPresent(fs.unlink(file), undefined);
}
