// What every section gets: the run's settings (full or --quick), progress, and temp dirs and
// processes that are cleaned up at the end, on an error and on Ctrl-C.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Durations and sizes of a full run and of a --quick one (a smoke run, well under a minute). */
export const SETTINGS = {
  full: { rounds: 3, durationMs: 2000, warmupMs: 500, files: 100, growthUsers: [10, 1000, 10000], memoryUsers: 1000, idleConnections: 1000, fileGrowthMiB: 1 },
  quick: { rounds: 1, durationMs: 300, warmupMs: 100, files: 4, growthUsers: [10, 100, 300], memoryUsers: 20, idleConnections: 200, fileGrowthMiB: 0.25 },
};

export class BenchContext {
  constructor({ quick, progress, overrides = {} }) {
    this.quick = quick;
    this.overrides = overrides;
    const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
    this.settings = { ...(quick ? SETTINGS.quick : SETTINGS.full), ...defined };
    this.progress = progress;
    this.cleanups = [];
  }

  /** A context for one section: what it starts is stopped when the section ends. */
  scope() {
    const child = new BenchContext({ quick: this.quick, progress: this.progress, overrides: this.overrides });
    this.cleanups.push(() => child.cleanup());
    return child;
  }

  /** A fresh temp dir, short (Unix socket paths are limited to 107 bytes), removed at the end. */
  tempDir(prefix = 'coffer-bench-') {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    this.cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Registers something to stop at the end (a server process, a client pool). LIFO. */
  defer(fn) {
    this.cleanups.push(fn);
  }

  /** Measurement options for measureSideBySide. */
  get timing() {
    const { rounds, durationMs, warmupMs } = this.settings;
    return { rounds, durationMs, warmupMs, progress: this.progress };
  }

  async cleanup() {
    while (this.cleanups.length) {
      const fn = this.cleanups.pop();
      try {
        await fn();
      } catch (error) {
        process.stderr.write(`cleanup: ${error.message}\n`);
      }
    }
  }
}
