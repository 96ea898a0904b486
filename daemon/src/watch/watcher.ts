import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from '../base/logger.js';
import type { Store } from '../store/store.js';

/**
 * chokidar on the files the store has cached (DESIGN §5): when one changes on disk, its document
 * re-checks it through its own queue — our own writes are recognised there (same inode, size and
 * mtime as we left it) and not reported as external. Files not cached need nothing: they are read
 * fresh when first used. Watching is an aid, not a guarantee: every write also re-checks the file
 * first, so an edit the watcher missed is never overwritten.
 *
 * Each cached file is watched by itself, not the data dir as a whole: on every change of a watched
 * directory chokidar re-reads it and lstat()s each entry, and under a steady stream of our own
 * renames it does so back to back; with 10 000 users' files that kept the thread pool busy and
 * made every durable write ~14× slower than with 10 users (BENCHMARKS.md). A file watch costs one
 * stat per change. A file deleted (by us or by hand) is followed again once it is read or written.
 */
/** Far longer than chokidar's stat and fs.watch take, even on a loaded machine. */
const WATCH_SETTLE_MS = 1000;

export class DataDirWatcher {
  private watcher: FSWatcher | undefined;
  private readonly followed = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  start(): void {
    const watcher = watch([], { ignoreInitial: true, persistent: true });
    watcher.on('all', (event, file) => {
      if (event === 'unlink') this.followed.delete(file);
      if (event === 'add' || event === 'change' || event === 'unlink') void this.store.cached(file)?.checkExternal();
    });
    // Once, not per file: past the inotify limit every further file would fail the same way.
    watcher.once('error', (error) =>
      this.log.warn(
        { err: error },
        'watching a data file failed (at the inotify limit? raise sysctl fs.inotify.max_user_watches); outside edits are still checked before every write',
      ),
    );
    watcher.on('error', () => undefined);
    this.store.subscribeFiles((file, exists) => {
      if (!exists || this.followed.has(file) || !this.watcher) return;
      this.followed.add(file);
      this.watcher.add(file);
      // chokidar sets the watch up after a stat and says nothing when it is: an edit made in
      // between (a client writing the file by hand right after our answer) would go unheard until
      // the next read. One look once the watch has surely taken hold catches it.
      setTimeout(() => {
        if (this.watcher) void this.store.cached(file)?.checkExternal();
      }, WATCH_SETTLE_MS).unref();
    });
    this.watcher = watcher;
  }

  async close(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = undefined;
    this.followed.clear();
    await watcher?.close();
  }
}
