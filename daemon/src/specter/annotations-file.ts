import { CofferError } from '@coffer/protocol';
import { isPyObject, type PyObject, type PyValue } from './py-json-value.js';

/**
 * `<wallets root>/<wallet_alias>_<service_id>.json` (spec §10): `{"addrs": {address: value},
 * "txs": {txid: value}}`, plain nested JSON, as the specter layout's codec reads it. Unknown
 * top-level keys are kept; a missing `addrs` or `txs` reads as `{}` and is added (addrs, then txs)
 * when the file is next written, as Specter does. (Specter's own get/set/remove, for the tests:
 * test/helpers/specter-annotations-model.ts.)
 */
export class AnnotationsFile {
  private constructor(private readonly root: PyObject) {
    // As Specter's setdefault on open: in memory at once, on disk at the next write.
    for (const key of ['addrs', 'txs']) if (!root.has(key)) root.set(key, new Map());
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

  addresses(): PyObject {
    return this.section('addrs');
  }

  txs(): PyObject {
    return this.section('txs');
  }

  toValue(): PyObject {
    return this.root;
  }

  private section(key: 'addrs' | 'txs'): PyObject {
    return this.root.get(key) as PyObject;
  }
}
