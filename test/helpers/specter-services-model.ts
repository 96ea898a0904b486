import { CofferError } from '@coffer/protocol';
import {
  fernetDecrypt,
  fernetEncrypt,
  FILE_MAX_DEPTH,
  InvalidToken,
  isPyObject,
  pyDumpFile,
  pyDumps,
  PyJsonError,
  pyLoads,
  pyLoadsBytes,
  ServiceEntries,
  type FernetOptions,
  type PyObject,
  type PyValue,
} from '../../daemon/src/specter/index.js';

/**
 * Specter's two per-user service-data files (spec §7, §8) with Specter's own semantics, for the
 * tests: what ServiceEncryptedStorage and ServiceUnencryptedStorage do to a file (get, set, update
 * as dict.update, remove, wipe, re-encrypting every token on each save). The byte-for-byte tests
 * replay Specter's operations through this model and check the bytes; the members themselves (key
 * order, the version key's place, null and "" entries) are the daemon's own ServiceEntries, and
 * the files are decoded and encoded by the daemon's codec besides (specter-vector-suite.ts).
 */

/** How a file stores a service's inner text (`json.dumps(data)`). */
interface InnerCodec {
  /** Stored string → inner text; throws CORRUPT when it cannot. */
  open(stored: string): string;
  seal(text: string): string;
}

/** Specter's service-data semantics over the daemon's ServiceEntries (spec §9). */
class Semantics {
  constructor(public entries: ServiceEntries) {}

  /** The inner text; '' for an absent id or a null value. */
  text(sid: string, codec: InnerCodec): string {
    const stored = this.entries.stored(sid);
    return stored === null || stored === undefined ? '' : codec.open(stored);
  }

  /** get(sid): the service's data; absent, null or "" give {}. */
  get(sid: string, codec: InnerCodec): PyObject {
    const text = this.text(sid, codec);
    if (text === '') return new Map();
    let data: PyValue;
    try {
      data = pyLoads(text);
    } catch (error) {
      if (!(error instanceof PyJsonError)) throw error;
      throw new CofferError('CORRUPT', `service "${sid}" does not hold valid JSON (${error.message}); it was left untouched`);
    }
    if (!isPyObject(data)) throw new CofferError('CORRUPT', `service "${sid}" does not hold a JSON object; it was left untouched`);
    return data;
  }

  /**
   * set(sid, data): `{}` deletes; `{}` for an absent id is a no-op (Specter would store "{}", which
   * reads the same). An unchanged value keeps its stored form, so a Fernet token stays byte-identical.
   */
  set(sid: string, data: PyObject, codec: InnerCodec): boolean {
    if (data.size === 0) return this.entries.remove(sid);
    return this.store(sid, pyDumps(data), codec);
  }

  /** update(sid, patch): a shallow merge as Python's dict.update; `{}` is a no-op. */
  update(sid: string, patch: PyObject, codec: InnerCodec): boolean {
    this.entries.stored(sid); // refuses the version key, as set does
    if (patch.size === 0) return false;
    const merged = this.get(sid, codec);
    for (const [key, value] of patch) merged.set(key, value);
    return this.store(sid, pyDumps(merged), codec);
  }

  /** Wipe all: the file becomes `{}`. */
  wipe(): boolean {
    const changed = this.entries.ids().length > 0 || this.entries.version() !== undefined;
    this.entries = ServiceEntries.empty();
    return changed;
  }

  /** Re-seals one value: opened with `opener`, sealed with `sealer` (fresh IVs, or another key). */
  reseal(sid: string, opener: InnerCodec, sealer: InnerCodec): void {
    const stored = this.entries.stored(sid);
    if (typeof stored === 'string') this.entries.putStored(sid, sealer.seal(opener.open(stored)));
  }

  private store(sid: string, text: string, codec: InnerCodec): boolean {
    const stored = this.entries.stored(sid);
    if (typeof stored === 'string' && codec.open(stored) === text) return false;
    this.entries.putStored(sid, codec.seal(text)); // a present id keeps its place; a new one is appended
    return true;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Seals inner texts as Fernet tokens under the user secret (32 raw bytes, which the caller owns). */
function fernetCodec(key: Buffer, fernet?: FernetOptions): InnerCodec {
  return {
    open(token) {
      let plaintext: Buffer | undefined;
      try {
        plaintext = fernetDecrypt(key, token);
        return utf8.decode(plaintext);
      } catch (error) {
        /* c8 ignore next */
        if (!(error instanceof InvalidToken) && !(error instanceof TypeError)) throw error;
        throw new CofferError('CORRUPT', 'A service token does not decrypt under this user secret; it was left untouched');
      } finally {
        plaintext?.fill(0);
      }
    },
    seal(text) {
      const plaintext = Buffer.from(text, 'utf8');
      try {
        return fernetEncrypt(key, plaintext, fernet);
      } finally {
        plaintext.fill(0);
      }
    },
  };
}

function decrypts(key: Buffer, token: string): boolean {
  try {
    fernetDecrypt(key, token).fill(0);
    return true;
  } catch {
    return false;
  }
}

const plainCodec: InnerCodec = { open: (text) => text, seal: (text) => text };

/** `<username>_services.json`: service id → Fernet token of the inner text, or null. */
export class EncryptedServicesFile {
  private readonly file: Semantics;

  private constructor(entries: ServiceEntries) {
    this.file = new Semantics(entries);
  }

  private get entries(): ServiceEntries {
    return this.file.entries;
  }

  static empty(): EncryptedServicesFile {
    return new EncryptedServicesFile(ServiceEntries.empty());
  }

  /**
   * Checks a parsed file without the key (ids are plaintext). Any version other than 1 is refused,
   * as Specter refuses it, and such a file must then never be rewritten (spec §7).
   */
  static fromValue(value: PyValue): EncryptedServicesFile {
    return new EncryptedServicesFile(ServiceEntries.fromEncryptedValue(value, 'the encrypted services file'));
  }

  static parse(bytes: Buffer): EncryptedServicesFile {
    return EncryptedServicesFile.fromValue(pyLoadsBytes(bytes, { maxDepth: FILE_MAX_DEPTH }));
  }

  clone(): EncryptedServicesFile {
    return new EncryptedServicesFile(this.entries.clone());
  }

  serviceIds(): string[] {
    return this.entries.ids();
  }

  get(sid: string, key: Buffer): PyObject {
    return this.file.get(sid, fernetCodec(key));
  }

  /** The inner text exactly as stored ('' when absent or null). */
  text(sid: string, key: Buffer): string {
    return this.file.text(sid, fernetCodec(key));
  }

  set(sid: string, data: PyObject, key: Buffer, fernet?: FernetOptions): boolean {
    return this.file.set(sid, data, fernetCodec(key, fernet));
  }

  update(sid: string, patch: PyObject, key: Buffer, fernet?: FernetOptions): boolean {
    return this.file.update(sid, patch, fernetCodec(key, fernet));
  }

  remove(sid: string): boolean {
    return this.entries.remove(sid);
  }

  wipe(): boolean {
    return this.file.wipe();
  }

  /** Throws CORRUPT unless every token decrypts under `key` (e.g. once after an unlock). */
  verify(key: Buffer): void {
    for (const sid of this.serviceIds()) this.file.text(sid, fernetCodec(key));
  }

  /** Re-encrypts every token with fresh IVs, as Specter does on each save; `fernet` picks them per id in tests. */
  reencryptAll(key: Buffer, fernet?: (sid: string) => FernetOptions): void {
    for (const sid of this.serviceIds()) {
      this.file.reseal(sid, fernetCodec(key), fernetCodec(key, fernet?.(sid)));
    }
  }

  /**
   * Re-encrypts every token from `oldKey` to `newKey` (a secret rotation). Idempotent, so it can be
   * run again after a crash: tokens that already decrypt under `newKey` are left as they are.
   */
  rekey(oldKey: Buffer, newKey: Buffer): boolean {
    const next = fernetCodec(newKey);
    let changed = false;
    for (const sid of this.serviceIds()) {
      const stored = this.entries.stored(sid);
      if (typeof stored !== 'string' || decrypts(newKey, stored)) continue;
      this.file.reseal(sid, fernetCodec(oldKey), next);
      changed = true;
    }
    return changed;
  }

  toValue(): PyObject {
    return this.entries.toValue('copy');
  }

  encode(): Buffer {
    return pyDumpFile(this.toValue());
  }
}

/** `<username>_unencrypted_services.json`: service id → the inner text itself (double-encoded), or null. */
export class UnencryptedServicesFile {
  private readonly file: Semantics;

  private constructor(entries: ServiceEntries) {
    this.file = new Semantics(entries);
  }

  private get entries(): ServiceEntries {
    return this.file.entries;
  }

  static empty(): UnencryptedServicesFile {
    return new UnencryptedServicesFile(ServiceEntries.empty());
  }

  /** Checks a parsed file. The version key is kept as found (Specter does not check it here). */
  static fromValue(value: PyValue): UnencryptedServicesFile {
    return new UnencryptedServicesFile(ServiceEntries.fromValue(value, 'the unencrypted services file'));
  }

  static parse(bytes: Buffer): UnencryptedServicesFile {
    return UnencryptedServicesFile.fromValue(pyLoadsBytes(bytes, { maxDepth: FILE_MAX_DEPTH }));
  }

  clone(): UnencryptedServicesFile {
    return new UnencryptedServicesFile(this.entries.clone());
  }

  serviceIds(): string[] {
    return this.entries.ids();
  }

  get(sid: string): PyObject {
    return this.file.get(sid, plainCodec);
  }

  text(sid: string): string {
    return this.file.text(sid, plainCodec);
  }

  set(sid: string, data: PyObject): boolean {
    return this.file.set(sid, data, plainCodec);
  }

  update(sid: string, patch: PyObject): boolean {
    return this.file.update(sid, patch, plainCodec);
  }

  remove(sid: string): boolean {
    return this.entries.remove(sid);
  }

  toValue(): PyObject {
    return this.entries.toValue('live');
  }

  encode(): Buffer {
    return pyDumpFile(this.toValue());
  }
}
