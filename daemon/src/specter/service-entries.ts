import { CofferError } from '@coffer/protocol';
import { pyDumps } from './py-json-encode.js';
import { PyJsonError, pyLoads } from './py-json-parse.js';
import { PyNum, isPyObject, type PyObject, type PyValue } from './py-json-value.js';

/**
 * The members of a services file and Specter's service-data semantics (spec §7-§9), whatever the
 * stored form of a value: the inner JSON text itself, or a Fernet token of it (see InnerCodec).
 */
export const VERSION_KEY = 'encrypted_storage_version';

/** How a file stores a service's inner text (`json.dumps(data)`). */
export interface InnerCodec {
  /** Stored string → inner text; throws CORRUPT when it cannot. */
  open(stored: string): string;
  seal(text: string): string;
}

function checkServiceId(sid: string): void {
  if (sid === VERSION_KEY) throw new CofferError('INVALID_PARAMS', `"${VERSION_KEY}" is reserved: Specter breaks on a service of that name`);
}

export class ServiceEntries {
  /** The file's object, in file order, version key included; values are strings or null. */
  private constructor(private readonly members: PyObject) {}

  /** Checks a parsed file: an object whose service members are strings or null. */
  static fromValue(value: PyValue, fileLabel: string): ServiceEntries {
    if (!isPyObject(value)) throw new CofferError('CORRUPT', `${fileLabel} is not a JSON object; it was left untouched`);
    for (const [sid, stored] of value) {
      if (sid !== VERSION_KEY && stored !== null && typeof stored !== 'string') {
        throw new CofferError('CORRUPT', `${fileLabel}: service "${sid}" is neither a string nor null; the file was left untouched`);
      }
    }
    return new ServiceEntries(value);
  }

  static empty(): ServiceEntries {
    return new ServiceEntries(new Map());
  }

  clone(): ServiceEntries {
    return new ServiceEntries(new Map(this.members));
  }

  version(): PyValue | undefined {
    return this.members.get(VERSION_KEY);
  }

  /** Service ids present, in file order (the version key is not one; a null entry is). */
  ids(): string[] {
    return [...this.members.keys()].filter((key) => key !== VERSION_KEY);
  }

  /** The stored string (token or text), null, or undefined when absent. */
  stored(sid: string): string | null | undefined {
    checkServiceId(sid);
    return this.members.get(sid) as string | null | undefined;
  }

  /** The inner text; '' for an absent id or a null value. */
  text(sid: string, codec: InnerCodec): string {
    const stored = this.stored(sid);
    return stored === null || stored === undefined ? '' : codec.open(stored);
  }

  /** get(sid): the service's data; absent, null or "" give {} (spec §9). */
  get(sid: string, codec: InnerCodec): PyObject {
    const text = this.text(sid, codec);
    if (text === '') return new Map();
    let data: PyValue;
    try {
      data = pyLoads(text);
    } catch (error) {
      /* c8 ignore next */
      if (!(error instanceof PyJsonError)) throw error;
      throw new CofferError('CORRUPT', `service "${sid}" does not hold valid JSON (${error.message}); it was left untouched`);
    }
    if (!isPyObject(data)) throw new CofferError('CORRUPT', `service "${sid}" does not hold a JSON object; it was left untouched`);
    return data;
  }

  /**
   * set(sid, data): `{}` deletes; `{}` for an absent id is a no-op (Specter would store "{}", which
   * reads the same). An unchanged value keeps its stored form, so a Fernet token stays byte-identical.
   * Returns whether the file changed.
   */
  set(sid: string, data: PyObject, codec: InnerCodec): boolean {
    checkServiceId(sid);
    if (data.size === 0) return this.remove(sid);
    return this.store(sid, pyDumps(data), codec);
  }

  /**
   * update(sid, patch): a shallow merge into get(sid), as Python's dict.update: each patch key
   * replaces its value whole (null included), existing keys keep their place, new ones are appended.
   * Not RFC 7396. `{}` is a no-op. Returns whether the file changed.
   */
  update(sid: string, patch: PyObject, codec: InnerCodec): boolean {
    checkServiceId(sid);
    if (patch.size === 0) return false;
    const merged = this.get(sid, codec);
    for (const [key, value] of patch) merged.set(key, value);
    return this.store(sid, pyDumps(merged), codec);
  }

  /** remove(sid): deletes the entry; an absent id is a no-op. Returns whether the file changed. */
  remove(sid: string): boolean {
    checkServiceId(sid);
    return this.members.delete(sid);
  }

  /** Wipe all: the file becomes `{}`. Returns whether it changed. */
  wipe(): boolean {
    const changed = this.members.size > 0;
    this.members.clear();
    return changed;
  }

  /** Re-seals one value: opened with `opener`, sealed with `sealer` (fresh IVs, or another key). */
  reseal(sid: string, opener: InnerCodec, sealer: InnerCodec): void {
    const stored = this.stored(sid);
    if (typeof stored === 'string') this.members.set(sid, sealer.seal(opener.open(stored)));
  }

  /**
   * The object to write, with `"encrypted_storage_version": 1` placed as Specter places it when
   * there is at least one service (spec §7, §8):
   * - 'live' (unencrypted file): the key joins the live map at the first such write and keeps its
   *   place from then on, so ids added later come after it;
   * - 'copy' (encrypted file): a key loaded from the file keeps its place; otherwise it is appended
   *   to each written copy only, so it stays last however many ids are added.
   * Both match Specter's bytes within one process and, after any reload, "append once, then keep
   * its place".
   */
  toValue(placement: 'live' | 'copy'): PyObject {
    if (this.ids().length === 0) return this.members;
    if (placement === 'live') this.members.set(VERSION_KEY, PyNum.int(1));
    else if (!this.members.has(VERSION_KEY)) return new Map([...this.members, [VERSION_KEY, PyNum.int(1)]]);
    return this.members;
  }

  private store(sid: string, text: string, codec: InnerCodec): boolean {
    const stored = this.members.get(sid);
    if (typeof stored === 'string' && codec.open(stored) === text) return false;
    this.members.set(sid, codec.seal(text)); // a present id keeps its place; a new one is appended
    return true;
  }
}
