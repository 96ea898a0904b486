import { CofferError } from '@coffer/protocol';
import type { Codec } from '../../port/storage.js';
import { isFernetToken, isPyObject, PyNum, pyDumpFile, pyLoadFile, type PyObject } from '../../specter/index.js';
import type { DocField, DocFormat, DocModel } from '../../port/layout.js';

/**
 * Generic documents in the specter layout: any JSON file of the data folder in the format of
 * Specter's GenericDataManager (specter-api §4), e.g. `otp.json`, `config.json`, `plugins/x.json`:
 *
 *   {"label": "plain value", "key": "gAAAAA...", "encrypted_storage_version": 1}
 *
 * Plain fields are stored as they are; each encrypted field is a Fernet token of the string itself
 * (not of its JSON text) under a user's secret; `encrypted_storage_version: 1` is added when there
 * are encrypted fields; bytes as Python's `json.dump(obj, f, indent=4)`. The file names neither
 * the declaration nor the owner (Specter keeps them in code), so reading it back: with the version
 * key present, the fields whose values are Fernet tokens are the sealed ones (and the declaration);
 * the owner is null, and whoever's secret opens a field may read it (DocFormat 'by-secret').
 * A version other than 1 is CORRUPT, as Specter refuses it, and the file is never rewritten.
 */
export const VERSION_KEY = 'encrypted_storage_version';

export const specterDocFormat: DocFormat = {
  owner: 'by-secret',
  sealedText: {
    encode(value) {
      if (typeof value !== 'string') {
        throw new CofferError('INVALID_PARAMS', 'Invalid params: in the specter layout an encrypted field holds a string or null (as Specter encrypts them)');
      }
      return value;
    },
    decode: (text) => text,
  },
  plainNull: true,
  reservedFields: [VERSION_KEY],
};

function corrupt(detail: string): CofferError {
  return new CofferError('CORRUPT', `A generic data file ${detail}; it was left untouched`);
}

function parse(bytes: Buffer): PyObject {
  const root = pyLoadFile(bytes, corrupt);
  if (!isPyObject(root)) throw corrupt('is not a JSON object');
  const version = root.get(VERSION_KEY);
  if (version !== undefined && !(version instanceof PyNum && version.text === '1')) {
    throw corrupt(`has ${VERSION_KEY} other than 1 (Specter refuses it too)`);
  }
  return root;
}

export const specterDocCodec: Codec<DocModel> = {
  empty: () => ({ owner: null, encryptedFields: [], fields: new Map() }),
  decode(bytes) {
    const root = parse(bytes);
    const versioned = root.has(VERSION_KEY);
    const fields = new Map<string, DocField>();
    for (const [name, value] of root) {
      if (name === VERSION_KEY) continue;
      if (versioned && typeof value === 'string' && isFernetToken(value)) fields.set(name, { sealed: true, token: value });
      else fields.set(name, { sealed: false, value });
    }
    const encryptedFields = [...fields].filter(([, field]) => field.sealed).map(([name]) => name);
    return { owner: null, encryptedFields, fields };
  },
  encode(model) {
    const root: PyObject = new Map();
    for (const [name, field] of model.fields) root.set(name, field.sealed ? field.token : field.value);
    // As GenericDataManager._save: the version key comes after the data when anything is encrypted.
    if (model.encryptedFields.length > 0) root.set(VERSION_KEY, PyNum.int(1));
    return pyDumpFile(root);
  },
  clone: (model) => ({ owner: model.owner, encryptedFields: [...model.encryptedFields], fields: new Map(model.fields) }),
};
