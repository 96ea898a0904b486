import path from 'node:path';
import { isOwnTempFile } from '../../disk/durable-write.js';
import type { Fs } from '../../disk/fs.js';
import { FileUnits } from '../../files/unit.js';
import { corruptFile } from '../../port/errors.js';
import type { Codec, Units } from '../../port/storage.js';
import { PlainFileIo } from './file-io.js';

/** Bytes as they are: a unit is copied, not interpreted (what it holds stays byte for byte). */
const RAW: Codec<Buffer> = {
  empty: () => Buffer.alloc(0),
  decode: (bytes) => bytes,
  encode: (bytes) => bytes,
  clone: (bytes) => bytes,
};

/** The folders of a coffer data dir that hold units (DESIGN §3.1); wallets/<user>/ below. */
const FOLDERS = ['services', 'docs'];

export interface CopyReport {
  readonly units: number;
  readonly bytes: number;
}

/**
 * Copies a coffer data dir into another backend (cofferd --store postgres --migrate-from DIR):
 * every unit under the same key it has in the folder (`users.json`, `services/…`, `docs/…`,
 * `wallets/<user>/…`), byte for byte, so ciphertext, wrapped secrets and revisions' content are
 * exactly what the files held. users.json goes last: an interrupted copy leaves a database with no
 * accounts, which the next start copies into again; one with accounts is refused (nothing is
 * overwritten). `progress` hears each unit copied.
 */
export async function copyDataDir(fs: Fs, dataDir: string, to: Units, progress: (key: string) => void): Promise<CopyReport> {
  if (await to.present('users.json')) {
    throw new Error('the database already holds users (users.json): --migrate-from copies into an empty one only; start without it');
  }
  const from = new FileUnits(fs, new PlainFileIo());
  const keys: string[] = [];
  const wallets: string[] = [];
  for (const user of await from.list(path.join(dataDir, 'wallets'))) {
    if ((await fs.stat(path.join(dataDir, 'wallets', user)))?.isFile === false) wallets.push(`wallets/${user}`);
  }
  for (const folder of [...FOLDERS, ...wallets]) {
    for (const name of await from.list(path.join(dataDir, folder))) {
      if (name.endsWith('.json') && !name.startsWith('.') && !isOwnTempFile(name)) keys.push(`${folder}/${name}`);
    }
  }
  if (!(await from.present(path.join(dataDir, 'users.json')))) throw new Error(`${dataDir} has no users.json: not a coffer data dir`);
  keys.push('users.json');
  let bytes = 0;
  for (const key of keys) {
    const source = from.open(path.join(dataDir, ...key.split('/')), RAW);
    const content = (await source.read(corruptFile)).model;
    const target = to.open(key, RAW);
    await target.read(corruptFile);
    await target.write(content);
    bytes += content.length;
    progress(key);
  }
  return { units: keys.length, bytes };
}
