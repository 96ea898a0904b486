import { CofferError } from '@coffer/protocol';
import { PyNum, isPyObject, type PyObject, type PyValue } from './py-json-value.js';

/**
 * The members of a services file (spec §7, §8) as the specter layout's codec keeps them: key order,
 * the version key where it was, null and "" entries, whatever the stored form of a value (the inner
 * JSON text itself, or a Fernet token of it). The store changes entries through the codec
 * (layout/specter/services-codec.ts); Specter's own get/set/update semantics, which the store's
 * ServiceData implements over the lossless model, are modelled for the tests in
 * test/helpers/specter-services-model.ts.
 */
export const VERSION_KEY = 'encrypted_storage_version';

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

  /**
   * An encrypted services file: as fromValue, and any version other than 1 is refused, as Specter
   * refuses it; such a file is then never rewritten (spec §7). Python compares with `!= 1`, so 1.0
   * passes too.
   */
  static fromEncryptedValue(value: PyValue, fileLabel: string): ServiceEntries {
    const entries = ServiceEntries.fromValue(value, fileLabel);
    const version = entries.version();
    if (version !== undefined && !(version instanceof PyNum && version.toNumber() === 1)) {
      throw new CofferError('CORRUPT', `Unsupported ${VERSION_KEY} in ${fileLabel}; it was left untouched`);
    }
    return entries;
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

  /**
   * Sets the stored string as it is (a token or an inner text the caller made): for a store that
   * seals and encodes values itself. A present id keeps its place; a new one is appended.
   */
  putStored(sid: string, stored: string): void {
    checkServiceId(sid);
    this.members.set(sid, stored);
  }

  /** remove(sid): deletes the entry; an absent id is a no-op. Returns whether the file changed. */
  remove(sid: string): boolean {
    checkServiceId(sid);
    return this.members.delete(sid);
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
}
