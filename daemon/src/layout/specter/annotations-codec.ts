import { CofferError } from '@coffer/protocol';
import type { Codec } from '../../port/storage.js';
import { AnnotationsFile, pyDumpFile, pyLoadFile, type PyObject } from '../../specter/index.js';
import type { AnnotationsModel } from '../../port/layout.js';

/** The file's object, for its other top-level members and their order; shared by copies, never modified. */
const EMPTY_ROOT: PyObject = new Map();

/**
 * `<wallets root>/<wallet_alias>_<service>.json` (spec §10): `{"addrs": {..}, "txs": {..}}` of plain
 * JSON, other top-level members kept in place. As Specter does, a file whose last annotation is
 * deleted stays as `{"addrs": {}, "txs": {}}` (meta is never null, see store/annotations.ts).
 * Values are the lossless model as read (a Python `2.0` stays `2.0`) and are written back as they are.
 */
export const specterAnnotationsCodec: Codec<AnnotationsModel> = {
  empty: () => ({ addrs: new Map(), txs: new Map(), meta: EMPTY_ROOT }),
  decode(bytes) {
    const file = AnnotationsFile.fromValue(pyLoadFile(bytes, (detail) => new CofferError('CORRUPT', `An annotations file ${detail}; it was left untouched`)));
    return { addrs: new Map(file.addresses()), txs: new Map(file.txs()), meta: file.toValue() };
  },
  encode(model) {
    const root: PyObject = new Map(model.meta as PyObject);
    // Present keys keep their place; a file that had neither gets addrs, then txs (Specter's order).
    root.set('addrs', new Map(model.addrs));
    root.set('txs', new Map(model.txs));
    return pyDumpFile(root);
  },
  clone: (model) => ({ addrs: new Map(model.addrs), txs: new Map(model.txs), meta: model.meta }),
};
