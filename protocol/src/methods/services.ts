import { Type, type TProperties } from '@sinclair/typebox';
import { IfRevision, Params, Revision, ServiceId, SessionToken, Username } from './common.js';
import { defineMethod } from './define.js';

/** A JSON object (a service's data, a merge patch). */
export const JsonObject = Type.Record(Type.String(), Type.Unknown(), { description: 'a JSON object' });

const ServiceValue = Type.Object({
  data: JsonObject,
  revision: Type.Union([Revision, Type.Null()], { description: 'null when the service is absent' }),
});
const RevisionResult = Type.Object({ revision: Type.Union([Revision, Type.Null()]) });
const ServiceList = Type.Object({ services: Type.Array(Type.String()) });

type Kind = 'encrypted' | 'unencrypted';

/** Who the data belongs to: a session (the secret must be unlocked) or a username. */
const byKind = {
  encrypted: { session: SessionToken },
  unencrypted: { username: Username },
} as const;

function needs(kind: Kind) {
  return kind === 'encrypted' ? (['LOCKED'] as const) : (['NOT_FOUND'] as const);
}

/**
 * Specter's own operations on a user's service file that need no secret: which services have
 * encrypted data (`user_has_encrypted_storage`, the settings pages), and wiping a file
 * (`delete_all_service_data`, run when a user's password is removed and the secret with it).
 */
function ids() {
  return defineMethod({
    summary:
      "The service ids that have encrypted data for this user, read without the user's secret (never a value): Specter's user_has_encrypted_storage is services.length > 0.",
    params: Params({ username: Username }),
    result: ServiceList,
    errors: ['NOT_FOUND', 'CORRUPT', 'STORAGE_FAILED'],
  });
}

function wipe(kind: Kind) {
  return defineMethod({
    summary:
      `Remove every service's ${kind} data of this user without the user's secret (Specter's delete_all_service_data); ` +
      'the file is rewritten empty and its kept older copy goes too. Returns how many entries went.',
    params: Params({ username: Username }),
    result: Type.Object({ removed: Type.Integer({ minimum: 0 }) }),
    errors: ['NOT_FOUND', 'CORRUPT', 'STORAGE_FAILED'],
  });
}

function get<W extends TProperties>(kind: Kind, who: W) {
  return defineMethod({
    summary: `Read one service's ${kind} data; an absent service reads as {data:{}, revision:null}.`,
    params: Params({ ...who, service: ServiceId }),
    result: ServiceValue,
    errors: [...needs(kind), 'CORRUPT', 'STORAGE_FAILED'],
  });
}

function set<W extends TProperties>(kind: Kind, who: W) {
  return defineMethod({
    summary: `Replace one service's ${kind} data; {} removes a present entry and stores {} for an absent one (as Specter does); ifRevision makes it compare-and-set.`,
    params: Params({ ...who, service: ServiceId, data: JsonObject, ifRevision: IfRevision }),
    result: RevisionResult,
    errors: [...needs(kind), 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED', 'TOO_LARGE'],
  });
}

function update<W extends TProperties>(kind: Kind, who: W) {
  return defineMethod({
    summary: `Apply an RFC 7396 merge patch to one service's ${kind} data (shallow: Specter's update_service_data); an empty patch changes nothing.`,
    params: Params({ ...who, service: ServiceId, patch: JsonObject, shallow: Type.Optional(Type.Boolean()), ifRevision: IfRevision }),
    result: ServiceValue,
    errors: [...needs(kind), 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED', 'TOO_LARGE'],
  });
}

function remove<W extends TProperties>(kind: Kind, who: W) {
  return defineMethod({
    summary: `Remove one service's ${kind} data (an absent service is not an error).`,
    params: Params({ ...who, service: ServiceId, ifRevision: IfRevision }),
    result: Type.Object({ revision: Type.Null() }),
    errors: [...needs(kind), 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED'],
  });
}

function list<W extends TProperties>(kind: Kind, who: W) {
  return defineMethod({
    summary: `The service ids that have ${kind} data for this user.`,
    params: Params({ ...who }),
    result: ServiceList,
    errors: [...needs(kind), 'CORRUPT', 'STORAGE_FAILED'],
  });
}

export const servicesMethods = {
  'services.encrypted.get': get('encrypted', byKind.encrypted),
  'services.encrypted.set': set('encrypted', byKind.encrypted),
  'services.encrypted.update': update('encrypted', byKind.encrypted),
  'services.encrypted.delete': remove('encrypted', byKind.encrypted),
  'services.encrypted.list': list('encrypted', byKind.encrypted),
  'services.encrypted.ids': ids(),
  'services.encrypted.wipe': wipe('encrypted'),
  'services.unencrypted.get': get('unencrypted', byKind.unencrypted),
  'services.unencrypted.set': set('unencrypted', byKind.unencrypted),
  'services.unencrypted.update': update('unencrypted', byKind.unencrypted),
  'services.unencrypted.delete': remove('unencrypted', byKind.unencrypted),
  'services.unencrypted.list': list('unencrypted', byKind.unencrypted),
  'services.unencrypted.wipe': wipe('unencrypted'),
};
