import path from 'node:path';
import { ifPresent, isMissing, type Fs } from '../disk/fs.js';
import { StartupError } from '../base/startup-error.js';

export type LayoutName = 'coffer' | 'specter';
export type LayoutChoice = LayoutName | 'auto';

interface Evidence {
  readonly layout: LayoutName;
  readonly why: string;
}

async function readIfPresent(fs: Fs, file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (error) {
    if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * What a users file is, by its first character: Specter's is a JSON array, ours an object. That
 * much survives a truncated file, which the keyring then reports as corrupt (or recovers from
 * `.bkp`) instead of the daemon guessing the wrong layout and writing into the folder.
 */
function usersFileKind(bytes: Buffer): LayoutName | 'unknown' | undefined {
  const first = /^[\s\ufeff]*(\S)/.exec(bytes.toString('utf8'))?.[1];
  if (first === undefined) return undefined; // empty: no evidence
  return first === '[' ? 'specter' : first === '{' ? 'coffer' : 'unknown';
}

/** Files only one of the layouts makes, for a folder whose users.json is missing. */
async function telltales(fs: Fs, dataDir: string): Promise<Evidence | undefined> {
  const names = await ifPresent(fs.readdir(dataDir), undefined);
  if (names === undefined) return undefined;
  const specter = names.find((name) => /_services\.json(\.bkp)?$/.test(name) || name === 'config.json');
  if (specter) return { layout: 'specter', why: `it holds ${specter}, a Specter file` };
  if (names.includes('services') || names.includes('docs')) return { layout: 'coffer', why: 'it holds services/ or docs/, coffer folders' };
  return undefined;
}

async function evidence(fs: Fs, dataDir: string): Promise<Evidence | 'unknown' | undefined> {
  for (const name of ['users.json', 'users.json.bkp']) {
    const bytes = await readIfPresent(fs, path.join(dataDir, name));
    const kind = bytes && usersFileKind(bytes);
    if (kind === 'unknown') return 'unknown';
    if (kind === 'specter') return { layout: kind, why: `its ${name} is a JSON array (Specter's users file)` };
    if (kind === 'coffer') return { layout: kind, why: `its ${name} is a coffer users file` };
  }
  return telltales(fs, dataDir);
}

/**
 * The data dir's layout (DESIGN §3): detected from what is there, or forced with --layout. A forced
 * layout that contradicts the folder stops start-up before anything is written, and so does a
 * users.json that is neither kind under `auto`. A new or empty folder is coffer unless forced.
 */
export async function detectLayout(fs: Fs, dataDir: string, choice: LayoutChoice): Promise<LayoutName> {
  const found = await evidence(fs, dataDir);
  if (found === 'unknown') {
    if (choice !== 'auto') return choice;
    throw new StartupError(
      `${path.join(dataDir, 'users.json')} is neither a coffer users file nor Specter's (a JSON array): ` +
        'check --data-dir, or pass --layout coffer|specter; nothing was changed',
    );
  }
  if (!found) return choice === 'auto' ? 'coffer' : choice;
  if (choice !== 'auto' && choice !== found.layout) {
    throw new StartupError(
      `--layout ${choice}, but ${dataDir} is a ${found.layout} data dir: ${found.why}. ` +
        `Start with --layout ${found.layout} (or auto), or choose another --data-dir; nothing was changed`,
    );
  }
  return found.layout;
}
