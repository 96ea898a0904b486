import type { Codec } from '../../store/document.js';
import { isJsonObject } from '../../store/merge.js';
import type { AnnotationsModel, DocField, DocModel, ServicesModel } from '../layout.js';

/**
 * File codecs of the coffer layout (DESIGN §3.1). Every file is a JSON object with "format",
 * "version": 1 and its payload; anything else — another format, another version, a wrong type
 * anywhere — is refused whole, and the store then answers CORRUPT and never rewrites the file.
 */

class FormatError extends Error {}

function parseEnvelope(bytes: Buffer, format: string): Record<string, unknown> {
  // JSON.parse defines own properties, so user keys such as "__proto__" stay data.
  const value: unknown = JSON.parse(bytes.toString('utf8'));
  if (!isJsonObject(value) || value['format'] !== format || value['version'] !== 1) {
    throw new FormatError(`not a ${format} version 1 file`);
  }
  return value;
}

function objectMember(file: Record<string, unknown>, key: string): Record<string, unknown> {
  const member = file[key];
  if (!isJsonObject(member)) throw new FormatError(`"${key}" must be an object`);
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
      for (const [id, value] of Object.entries(services)) {
        if (encrypted && typeof value !== 'string') throw new FormatError(`service ${id} is not a token`);
        if (!encrypted && !isJsonObject(value)) throw new FormatError(`service ${id} is not an object`);
        entries.set(id, encrypted ? (value as string) : JSON.stringify(value));
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
      addrs: new Map(Object.entries(objectMember(file, 'addrs'))),
      txs: new Map(Object.entries(objectMember(file, 'txs'))),
      meta: null,
    };
  },
  encode(model) {
    const text = (map: Map<string, unknown>) => jsonMembers([...map].map(([k, v]): [string, string] => [k, JSON.stringify(v)]));
    return Buffer.from(`${header('coffer.annotations')},"addrs":${text(model.addrs)},"txs":${text(model.txs)}}\n`, 'utf8');
  },
  clone: (model) => ({ addrs: new Map(model.addrs), txs: new Map(model.txs), meta: model.meta }),
};

export const docCodec: Codec<DocModel> = {
  empty: () => ({ owner: null, encryptedFields: [], fields: new Map() }),
  decode(bytes) {
    const file = parseEnvelope(bytes, 'coffer.doc');
    const owner = file['owner'];
    const encryptedFields = file['encryptedFields'];
    if (owner !== null && typeof owner !== 'string') throw new FormatError('owner must be a string or null');
    if (!Array.isArray(encryptedFields) || !encryptedFields.every((f) => typeof f === 'string')) {
      throw new FormatError('encryptedFields must be a list of names');
    }
    const fields = new Map<string, DocField>();
    for (const [name, stored] of Object.entries(objectMember(file, 'fields'))) {
      if (isJsonObject(stored) && typeof stored['sealed'] === 'string') fields.set(name, { sealed: true, token: stored['sealed'] });
      else if (isJsonObject(stored) && 'plain' in stored) fields.set(name, { sealed: false, value: stored['plain'] });
      else throw new FormatError(`field ${name} is neither plain nor sealed`);
    }
    return { owner, encryptedFields: encryptedFields as string[], fields };
  },
  encode(model) {
    const fields = [...model.fields].map(([name, field]): [string, string] => [
      name,
      field.sealed ? `{"sealed":${JSON.stringify(field.token)}}` : `{"plain":${JSON.stringify(field.value)}}`,
    ]);
    return Buffer.from(
      `${header('coffer.doc')},"owner":${JSON.stringify(model.owner)},"encryptedFields":${JSON.stringify(model.encryptedFields)},` +
        `"fields":${jsonMembers(fields)}}\n`,
      'utf8',
    );
  },
  clone: (model) => ({ owner: model.owner, encryptedFields: [...model.encryptedFields], fields: new Map(model.fields) }),
};
