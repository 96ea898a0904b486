import { CofferError } from '@coffer/protocol';
import type { Codec } from '../../store/document.js';
import { AnnotationsFile, FILE_MAX_DEPTH, fromJs, PyJsonError, pyDumpFile, pyLoadsBytes, toJs, type PyObject, type PyValue } from '../../specter/index.js';
import type { AnnotationsModel } from '../layout.js';
import { VALUE_MAX_DEPTH } from './value-cipher.js';

/** One annotation as read: the value the store serves, and the exact value in the file. */
interface Read {
  readonly js: unknown;
  readonly py: PyValue;
}

/** What the file held besides what the store serves; shared by copies, never modified. */
interface AnnotationsMeta {
  /** The file's object, for its other top-level members and their order. */
  readonly root: PyObject;
  readonly addrs: ReadonlyMap<string, Read>;
  readonly txs: ReadonlyMap<string, Read>;
}

const EMPTY_META: AnnotationsMeta = { root: new Map(), addrs: new Map(), txs: new Map() };

function section(read: ReadonlyMap<string, Read>): Map<string, unknown> {
  return new Map([...read].map(([id, { js }]) => [id, js]));
}

/**
 * An annotation unchanged since it was read is written back exactly as it was (a Python `2.0` stays
 * `2.0`); a new or replaced one is written from its JS value.
 */
function encodeSection(values: Map<string, unknown>, read: ReadonlyMap<string, Read>): PyObject {
  const out: PyObject = new Map();
  for (const [id, value] of values) {
    const before = read.get(id);
    out.set(id, before && Object.is(before.js, value) ? before.py : fromJs(value, VALUE_MAX_DEPTH));
  }
  return out;
}

/**
 * `<wallets root>/<wallet_alias>_<service>.json` (spec §10): `{"addrs": {..}, "txs": {..}}` of plain
 * JSON, other top-level members kept in place. As Specter does, a file whose last annotation is
 * deleted stays as `{"addrs": {}, "txs": {}}` (meta is never null, see store/annotations.ts).
 */
export const specterAnnotationsCodec: Codec<AnnotationsModel> = {
  empty: () => ({ addrs: new Map(), txs: new Map(), meta: EMPTY_META }),
  decode(bytes) {
    let file: AnnotationsFile;
    try {
      file = AnnotationsFile.fromValue(pyLoadsBytes(bytes, { maxDepth: FILE_MAX_DEPTH }));
    } catch (error) {
      if (error instanceof PyJsonError) throw new CofferError('CORRUPT', `An annotations file does not parse (${error.message}); it was left untouched`);
      throw error;
    }
    const read = (values: PyObject): Map<string, Read> => new Map([...values].map(([id, py]) => [id, { js: toJs(py), py }]));
    const meta: AnnotationsMeta = { root: file.toValue(), addrs: read(file.addresses()), txs: read(file.txs()) };
    return { addrs: section(meta.addrs), txs: section(meta.txs), meta };
  },
  encode(model) {
    const meta = model.meta as AnnotationsMeta;
    const root: PyObject = new Map(meta.root);
    // Present keys keep their place; a file that had neither gets addrs, then txs (Specter's order).
    root.set('addrs', encodeSection(model.addrs, meta.addrs));
    root.set('txs', encodeSection(model.txs, meta.txs));
    return pyDumpFile(root);
  },
  clone: (model) => ({ addrs: new Map(model.addrs), txs: new Map(model.txs), meta: model.meta }),
};
