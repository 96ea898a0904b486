import path from 'node:path';
import { isSpecterDocName } from '@coffer/protocol';
import { ifPresent, type Fs } from '../../disk/fs.js';

/** How deep under the data folder documents are looked for (Specter's own files are 3 deep at most). */
export const DOC_MAX_DEPTH = 6;

/** The folders under the data folder and the document files in them, by relative name. */
export interface DocTree {
  readonly dirs: string[];
  readonly names: string[];
}

function readdir(fs: Fs, dir: string): Promise<string[]> {
  return ifPresent(fs.readdir(dir), []);
}

/**
 * Walks the data folder for generic data files (specter layout): every `.json` file whose relative
 * path is a document name (isSpecterDocName: hidden entries, users.json, services and annotations
 * files are not documents). Bounded in depth, so a symlink loop ends.
 */
export async function walkDocs(fs: Fs, root: string): Promise<DocTree> {
  const tree: DocTree = { dirs: [], names: [] };
  const visit = async (dir: string, prefix: string, depth: number): Promise<void> => {
    tree.dirs.push(dir);
    for (const entry of (await readdir(fs, dir)).sort()) {
      if (entry.startsWith('.')) continue;
      const name = prefix + entry;
      // null: gone since readdir, or a dangling symlink.
      const stat = await fs.stat(path.join(dir, entry));
      if (stat?.isFile === true && isSpecterDocName(name)) tree.names.push(name);
      if (stat?.isFile === false && depth < DOC_MAX_DEPTH) await visit(path.join(dir, entry), `${name}/`, depth + 1);
    }
  };
  await visit(root, '', 1);
  return tree;
}
