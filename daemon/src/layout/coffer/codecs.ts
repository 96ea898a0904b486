import { isLosslessObject, LosslessNumber, parseLosslessBytes, stringifyLossless, type LosslessObject, type LosslessValue } from '@coffer/protocol';
import type { Codec } from '../../port/storage.js';
import { VALUE_MAX_DEPTH, type AnnotationsModel, type DocField, type DocModel, type ServicesModel } from '../../port/layout.js';

/**
 * File codecs of the coffer layout (DESIGN §3.1). Every file is a JSON object with "format",
 * "version": 1 and its payload; anything else — another format, another version, a wrong type
 * anywhere — is refused whole, and the store then answers CORRUPT and never rewrites the file.
 * Files are read with the lossless parser and user data written with stringifyLossless, so values
 * keep their exact number text and key order on disk (DESIGN-NOTES "Lossless values").
 */

/** The envelope, its member (services, addrs/txs, fields), a doc field's {plain}, then the value. */
const FILE_MAX_DEPTH = VALUE_MAX_DEPTH + 3;

class FormatError extends Error {}

function parseEnvelope(bytes: Buffer, format: string): LosslessObject {
  const value = parseLosslessBytes(bytes, { maxDepth: FILE_MAX_DEPTH });
  const version = isLosslessObject(value) ? value.get('version') : undefined;
  if (!isLosslessObject(value) || value.get('format') !== format || !(version instanceof LosslessNumber) || version.toNumber() !== 1) {
    throw new FormatError(`not a ${format} version 1 file`);
  }
  return value;
}

function objectMember(file: LosslessObject, key: string): LosslessObject {
  const member = file.get(key);
  if (!isLosslessObject(member)) throw new FormatError(`"${key}" must be an object`);
  return member;
}

function header(format: string): string {
  return `{"format":${JSON.stringify(format)},"version":1`;
}

function jsonMembers(entries: Iterable<[string, string]>): string {
  const parts: string[] = [];
  for (const [key, text] of entries) parts.push(`${JSON.stringify(key)}:${text}`);
  return `{${parts.join(',')}}`;
}

/** Encrypted services: service id -> "cf1:..." token. */
export function servicesCodec(encrypted: boolean): Codec<ServicesModel> {
  const format = encrypted ? 'coffer.services' : 'coffer.unencrypted-services';
  return {
    empty: () => ({ entries: new Map(), meta: null }),
    decode(bytes) {
      const services = objectMember(parseEnvelope(bytes, format), 'services');
      const entries = new Map<string, string>();
      for (const [id, value] of services) {
        if (encrypted && typeof value !== 'string') throw new FormatError(`service ${id} is not a token`);
        if (!encrypted && !isLosslessObject(value)) throw new FormatError(`service ${id} is not an object`);
        entries.set(id, encrypted ? (value as string) : stringifyLossless(value));
      }
      return { entries, meta: null };
    },
    encode(model) {
      const members = [...model.entries].map(([id, stored]): [string, string] => [id, encrypted ? JSON.stringify(stored) : stored]);
      return Buffer.from(`${header(format)},"services":${jsonMembers(members)}}\n`, 'utf8');
    },
    clone: (model) => ({ entries: new Map(model.entries), meta: model.meta }),
  };
}

export const annotationsCodec: Codec<AnnotationsModel> = {
  empty: () => ({ addrs: new Map(), txs: new Map(), meta: null }),
  decode(bytes) {
    const file = parseEnvelope(bytes, 'coffer.annotations');
    return {
      addrs: new Map(objectMember(file, 'addrs')),
      txs: new Map(objectMember(file, 'txs')),
      meta: null,
    };
  },
  encode(model) {
    const text = (map: Map<string, LosslessValue>) => jsonMembers([...map].map(([k, v]): [string, string] => [k, stringifyLossless(v)]));
    return Buffer.from(`${header('coffer.annotations')},"addrs":${text(model.addrs)},"txs":${text(model.txs)}}\n`, 'utf8');
  },
  clone: (model) => ({ addrs: new Map(model.addrs), txs: new Map(model.txs), meta: model.meta }),
};

export const docCodec: Codec<DocModel> = {
  empty: () => ({ owner: null, encryptedFields: [], fields: new Map() }),
  decode(bytes) {
    const file = parseEnvelope(bytes, 'coffer.doc');
    const owner = file.get('owner');
    const encryptedFields = file.get('encryptedFields');
    if (owner !== null && typeof owner !== 'string') throw new FormatError('owner must be a string or null');
    if (!Array.isArray(encryptedFields) || !encryptedFields.every((f) => typeof f === 'string')) {
      throw new FormatError('encryptedFields must be a list of names');
    }
    const fields = new Map<string, DocField>();
    for (const [name, stored] of objectMember(file, 'fields')) {
      const sealed = isLosslessObject(stored) ? stored.get('sealed') : undefined;
      const plain = isLosslessObject(stored) ? stored.get('plain') : undefined;
      if (typeof sealed === 'string') fields.set(name, { sealed: true, token: sealed });
      else if (plain !== undefined) fields.set(name, { sealed: false, value: plain });
      else throw new FormatError(`field ${name} is neither plain nor sealed`);
    }
    return { owner, encryptedFields: encryptedFields as string[], fields };
  },
  encode(model) {
    const fields = [...model.fields].map(([name, field]): [string, string] => [
      name,
      field.sealed ? `{"sealed":${JSON.stringify(field.token)}}` : `{"plain":${stringifyLossless(field.value)}}`,
    ]);
    return Buffer.from(
      `${header('coffer.doc')},"owner":${JSON.stringify(model.owner)},"encryptedFields":${JSON.stringify(model.encryptedFields)},` +
        `"fields":${jsonMembers(fields)}}\n`,
      'utf8',
    );
  },
  clone: (model) => ({ owner: model.owner, encryptedFields: [...model.encryptedFields], fields: new Map(model.fields) }),
};
