import path from 'node:path';
import { userFiles, type AnyFileSpec, type Layout } from '../port/layout.js';
import { backupPath } from '../specter/index.js';
import type { Fs } from '../disk/fs.js';

/** What kind of file it is, so verify knows its codec. */
export type DataFileKind = 'users' | 'services' | 'annotations' | 'docs';

export interface DataFile {
  /** Absolute. */
  readonly path: string;
  /** Relative to the data dir, `/`-separated (what a manifest and a report name). */
  readonly name: string;
  readonly kind: DataFileKind;
  /** How the store reads it; absent for users.json (the keyring's). */
  readonly spec: AnyFileSpec | undefined;
  /** Older versions kept beside it (Specter's `.bkp`): part of the data, copied with it. */
  readonly companions: readonly string[];
}

/** What enumerating the files needs: the layout, where users.json is, and who the users are. */
export interface DataFileSources {
  readonly layout: Layout;
  readonly accountsPath: string;
  usernames(): Promise<string[]>;
}

/**
 * Every file of the data dir that the daemon owns, in name order, as the layout names them (DESIGN
 * §3): users.json, each user's services and annotations files, the generic documents. Files that do
 * not exist are left out. In a Specter folder that is not the whole folder (wallets, devices and
 * config are Specter's), but it is everything Coffer serves; Specter's `.bkp` copies come along,
 * since Specter falls back to them.
 */
export async function listDataFiles(sources: DataFileSources, fs: Fs): Promise<DataFile[]> {
  const { layout } = sources;
  const candidates: Array<{ path: string; kind: DataFileKind; spec?: AnyFileSpec }> = [{ path: sources.accountsPath, kind: 'users' }];
  for (const username of await sources.usernames()) {
    // userFiles holds services and annotations files only (users.json is listed above).
    for (const spec of await userFiles(layout, username)) candidates.push({ path: spec.path, kind: spec.topic.scope as 'services' | 'annotations', spec });
  }
  for (const name of await layout.listDocs()) {
    const spec = layout.docFile(name);
    candidates.push({ path: spec.path, kind: 'docs', spec });
  }
  const files = new Map<string, DataFile>();
  for (const candidate of candidates) {
    const companions = layout.name === 'specter' ? [backupPath(candidate.path)] : [];
    const present = [candidate.path, ...companions];
    const exists = await Promise.all(present.map(async (p) => (await fs.stat(p))?.isFile === true));
    if (!exists.some(Boolean)) continue;
    files.set(candidate.path, {
      path: candidate.path,
      name: relativeName(layout.dataDir, candidate.path),
      kind: candidate.kind,
      spec: candidate.spec,
      companions: companions.filter((_, i) => exists[i + 1]),
    });
  }
  // Names are unique (one entry per path).
  return [...files.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** `file` relative to `dir`, `/`-separated. Throws for a file outside it (a layout bug, never user input). */
export function relativeName(dir: string, file: string): string {
  const relative = path.relative(dir, file);
  /* c8 ignore next: layouts build every path inside their data dir */
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) throw new Error(`${file} is not inside ${dir}`);
  return relative.split(path.sep).join('/');
}
