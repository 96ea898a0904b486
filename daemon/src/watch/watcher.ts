import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../logger.js';
import { isOwnTempFile } from '../store/durable-write.js';
import type { Store } from '../store/store.js';

/**
 * chokidar on the data dir (DESIGN §5): when a file the store has cached changes on disk, its
 * document re-checks it through its own queue — our own writes are recognised there (same inode,
 * size and mtime as we left it) and not reported as external. Files not cached need nothing: they
 * are read fresh when first used. Watching is an aid, not a guarantee: every write also re-checks
 * the file first, so an edit the watcher missed is never overwritten.
 */
export class DataDirWatcher {
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly depth: number,
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const watcher = watch(this.dataDir, {
      ignoreInitial: true,
      depth: this.depth,
      // Only our JSON files; never our temp files or backups.
      ignored: (file, stats) => isOwnTempFile(path.basename(file)) || (stats?.isFile() === true && !file.endsWith('.json')),
    });
    watcher.on('all', (event, file) => {
      if (event === 'add' || event === 'change' || event === 'unlink') void this.store.cached(file)?.checkExternal();
    });
    watcher.on('error', (error) => this.log.warn({ err: error }, 'watching the data dir failed; external edits are still checked before every write'));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.watcher = watcher;
  }

  async close(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
