import { CofferError } from '@coffer/protocol';
import { fernetDecrypt, fernetEncrypt, InvalidToken, type FernetOptions } from './fernet.js';
import { pyDumpFile } from './py-json-encode.js';
import { pyLoadsBytes } from './py-json-parse.js';
import { FILE_MAX_DEPTH, PyNum, type PyObject, type PyValue } from './py-json-value.js';
import { ServiceEntries, VERSION_KEY, type InnerCodec } from './service-entries.js';

/**
 * The two per-user service-data files (spec §7, §8) over the lossless JSON model. Both keep the
 * loaded key order, append new ids, and place the version key exactly as Specter does (see
 * ServiceEntries.toValue).
 * Read a file with backup-files.ts, hand its value to `fromValue`, change it, write `encode()`.
 */

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
  private constructor(private readonly entries: ServiceEntries) {}

  static empty(): EncryptedServicesFile {
    return new EncryptedServicesFile(ServiceEntries.empty());
  }

  /**
   * Checks a parsed file without the key (ids are plaintext). Any version other than 1 is refused,
   * as Specter refuses it, and such a file must then never be rewritten (spec §7).
   */
  static fromValue(value: PyValue): EncryptedServicesFile {
    const entries = ServiceEntries.fromValue(value, 'the encrypted services file');
    const version = entries.version();
    // Python compares with `!= 1`, so 1.0 passes too.
    if (version !== undefined && !(version instanceof PyNum && version.toNumber() === 1)) {
      throw new CofferError('CORRUPT', `Unsupported ${VERSION_KEY} in the encrypted services file; it was left untouched`);
    }
    return new EncryptedServicesFile(entries);
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
    return this.entries.get(sid, fernetCodec(key));
  }

  /** The inner text exactly as stored ('' when absent or null). */
  text(sid: string, key: Buffer): string {
    return this.entries.text(sid, fernetCodec(key));
  }

  set(sid: string, data: PyObject, key: Buffer, fernet?: FernetOptions): boolean {
    return this.entries.set(sid, data, fernetCodec(key, fernet));
  }

  update(sid: string, patch: PyObject, key: Buffer, fernet?: FernetOptions): boolean {
    return this.entries.update(sid, patch, fernetCodec(key, fernet));
  }

  remove(sid: string): boolean {
    return this.entries.remove(sid);
  }

  wipe(): boolean {
    return this.entries.wipe();
  }

  /** Throws CORRUPT unless every token decrypts under `key` (e.g. once after an unlock). */
  verify(key: Buffer): void {
    for (const sid of this.serviceIds()) this.entries.text(sid, fernetCodec(key));
  }

  /** Re-encrypts every token with fresh IVs, as Specter does on each save; `fernet` picks them per id in tests. */
  reencryptAll(key: Buffer, fernet?: (sid: string) => FernetOptions): void {
    for (const sid of this.serviceIds()) {
      this.entries.reseal(sid, fernetCodec(key), fernetCodec(key, fernet?.(sid)));
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
      this.entries.reseal(sid, fernetCodec(oldKey), next);
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
  private constructor(private readonly entries: ServiceEntries) {}

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
    return this.entries.get(sid, plainCodec);
  }

  text(sid: string): string {
    return this.entries.text(sid, plainCodec);
  }

  set(sid: string, data: PyObject): boolean {
    return this.entries.set(sid, data, plainCodec);
  }

  update(sid: string, patch: PyObject): boolean {
    return this.entries.update(sid, patch, plainCodec);
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
