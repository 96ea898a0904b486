import { CofferError } from '@coffer/protocol';
import type { Codec } from '../../store/document.js';
import { FILE_MAX_DEPTH, isPyObject, PyJsonError, PyNum, pyDumpFile, pyLoadsBytes, pyObject, type PyObject, type PyValue } from '../../specter/index.js';
import type { DocField, DocModel } from '../layout.js';

/**
 * Generic documents in the specter layout. Specter has no such file, so they live in a folder of
 * our own, `coffer-docs/<name>.json`, which Specter never looks at, written the Specter way
 * (`json.dump(indent=4)`, `.bkp`) with sealed fields as Fernet tokens under the owner's secret:
 *
 *   {"format": "coffer.specter-doc", "version": 1, "owner": "bob", "encryptedFields": ["key"],
 *    "sealedFields": ["key"], "fields": {"label": "plain value", "key": "gAAAAA..."}}
 *
 * `fields` keeps the document's field order; `sealedFields` says which values are tokens. Like every
 * coffer file, another format or version, or a wrong type anywhere, is refused whole (CORRUPT) and
 * never rewritten.
 */
const FORMAT = 'coffer.specter-doc';

class FormatError extends CofferError {
  constructor(detail: string) {
    super('CORRUPT', `A document file ${detail}; it was left untouched`);
  }
}

function stringList(value: PyValue | undefined, key: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new FormatError(`has no "${key}" list of names`);
  return value as string[];
}

function parse(bytes: Buffer): PyObject {
  let root: PyValue;
  try {
    root = pyLoadsBytes(bytes, { maxDepth: FILE_MAX_DEPTH });
  } catch (error) {
    if (error instanceof PyJsonError) throw new FormatError(`does not parse (${error.message})`);
    /* c8 ignore next */
    throw error;
  }
  const version = isPyObject(root) ? root.get('version') : undefined;
  if (!isPyObject(root) || root.get('format') !== FORMAT || !(version instanceof PyNum) || version.text !== '1') {
    throw new FormatError(`is not a ${FORMAT} version 1 file`);
  }
  return root;
}

export const specterDocCodec: Codec<DocModel> = {
  empty: () => ({ owner: null, encryptedFields: [], fields: new Map() }),
  decode(bytes) {
    const root = parse(bytes);
    const owner = root.get('owner');
    if (owner !== null && typeof owner !== 'string') throw new FormatError('has an owner that is neither a name nor null');
    const encryptedFields = stringList(root.get('encryptedFields'), 'encryptedFields');
    const sealed = new Set(stringList(root.get('sealedFields'), 'sealedFields'));
    const stored = root.get('fields');
    if (!isPyObject(stored)) throw new FormatError('has no "fields" object');
    const fields = new Map<string, DocField>();
    for (const [name, value] of stored) {
      if (!sealed.has(name)) fields.set(name, { sealed: false, value });
      else if (typeof value === 'string') fields.set(name, { sealed: true, token: value });
      else throw new FormatError(`has a sealed field that is not a token`);
    }
    if ([...sealed].some((name) => !stored.has(name))) throw new FormatError('names a sealed field it does not have');
    return { owner, encryptedFields: [...encryptedFields], fields };
  },
  encode(model) {
    const fields: PyObject = new Map();
    const sealed: string[] = [];
    for (const [name, field] of model.fields) {
      if (field.sealed) sealed.push(name);
      fields.set(name, field.sealed ? field.token : field.value);
    }
    return pyDumpFile(
      pyObject([
        ['format', FORMAT],
        ['version', PyNum.int(1)],
        ['owner', model.owner],
        ['encryptedFields', [...model.encryptedFields]],
        ['sealedFields', sealed],
        ['fields', fields],
      ]),
    );
  },
  clone: (model) => ({ owner: model.owner, encryptedFields: [...model.encryptedFields], fields: new Map(model.fields) }),
};
