import { CofferError } from '@coffer/protocol';
import { pyDumpFile } from './py-json-encode.js';
import { pyLoadsBytes } from './py-json-parse.js';
import { clonePy, FILE_MAX_DEPTH, isPyObject, type PyObject, type PyValue } from './py-json-value.js';

/**
 * `<wallets root>/<wallet_alias>_<service_id>.json` (spec §10): `{"addrs": {address: value},
 * "txs": {txid: value}}`, plain nested JSON. Unknown top-level keys are kept; a missing `addrs` or
 * `txs` reads as `{}` and is added (addrs, then txs) when the file is next written, as Specter does.
 */
export class AnnotationsFile {
  private constructor(private readonly root: PyObject) {
    // As Specter's setdefault on open: in memory at once, on disk at the next write.
    for (const key of ['addrs', 'txs']) if (!root.has(key)) root.set(key, new Map());
  }

  static empty(): AnnotationsFile {
    return new AnnotationsFile(new Map());
  }

  static fromValue(value: PyValue): AnnotationsFile {
    if (!isPyObject(value)) throw new CofferError('CORRUPT', 'An annotations file is not a JSON object; it was left untouched');
    for (const key of ['addrs', 'txs']) {
      const section = value.get(key);
      if (section !== undefined && !isPyObject(section)) {
        throw new CofferError('CORRUPT', `An annotations file's "${key}" is not a JSON object; it was left untouched`);
      }
    }
    return new AnnotationsFile(value);
  }

  static parse(bytes: Buffer): AnnotationsFile {
    return AnnotationsFile.fromValue(pyLoadsBytes(bytes, { maxDepth: FILE_MAX_DEPTH }));
  }

  clone(): AnnotationsFile {
    return new AnnotationsFile(clonePy(this.root));
  }

  /** The address's annotation, or null when absent (service data would give {}, this gives null). */
  getAddress(address: string): PyValue {
    return this.section('addrs').get(address) ?? null;
  }

  /** Replaces the address's annotation. */
  setAddress(address: string, value: PyValue): void {
    this.section('addrs').set(address, value);
  }

  /**
   * Deletes the address's annotation; returns whether it was there. Specter saves even when it was
   * not, so a caller mirroring it writes either way.
   */
  removeAddress(address: string): boolean {
    return this.section('addrs').delete(address);
  }

  addresses(): PyObject {
    return this.section('addrs');
  }

  /** The transaction's annotation, or null when absent. Specter has no way to remove one. */
  getTx(txid: string): PyValue {
    return this.section('txs').get(txid) ?? null;
  }

  setTx(txid: string, value: PyValue): void {
    this.section('txs').set(txid, value);
  }

  txs(): PyObject {
    return this.section('txs');
  }

  toValue(): PyObject {
    return this.root;
  }

  encode(): Buffer {
    return pyDumpFile(this.toValue());
  }

  private section(key: 'addrs' | 'txs'): PyObject {
    return this.root.get(key) as PyObject;
  }
}
