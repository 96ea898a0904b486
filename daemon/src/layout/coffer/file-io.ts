import path from 'node:path';
import type { FileIo } from '../../files/io.js';
import { durableReplace } from '../../disk/durable-write.js';
import { ifPresent, type Fs } from '../../disk/fs.js';
import { FileUnits } from '../../files/unit.js';
import type { Units } from '../../port/storage.js';

/**
 * Plain durable file I/O for the coffer layout. Directories are created on first write (0700) and
 * their parent fsynced, so a new file's directory entry cannot vanish in a crash either.
 */
export class PlainFileIo implements FileIo {
  private readonly knownDirs = new Set<string>();

  read(fs: Fs, file: string): Promise<Buffer | null> {
    return ifPresent(fs.readFile(file), null);
  }

  async write(fs: Fs, file: string, data: Buffer): Promise<void> {
    await this.ensureDir(fs, path.dirname(file));
    await durableReplace(fs, file, data);
  }

  async remove(fs: Fs, file: string): Promise<void> {
    const removed = await ifPresent(fs.unlink(file).then(() => true), false);
    if (removed) await fs.fsyncDir(path.dirname(file));
  }

  private async ensureDir(fs: Fs, dir: string): Promise<void> {
    if (this.knownDirs.has(dir)) return;
    if (!(await fs.stat(dir))) {
      const parent = path.dirname(dir);
      if (parent !== dir) await this.ensureDir(fs, parent);
      await fs.mkdir(dir, 0o700);
      await fs.fsyncDir(parent);
    }
    this.knownDirs.add(dir);
  }
}

/** Plain durable files (no kept older versions), as units: the coffer layout's, and stored sessions'. */
export function plainFileUnits(fs: Fs): Units {
  return new FileUnits(fs, new PlainFileIo());
}
