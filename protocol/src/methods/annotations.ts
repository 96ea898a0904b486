import { Type } from '@sinclair/typebox';
import { ADDRESS_PATTERN, MAX_NAME_LENGTH, WALLET_ALIAS_PATTERN, WALLET_ALIAS_RULE } from '../names.js';
import { IfRevision, Params, Revision, ServiceId, Username } from './common.js';
import { defineMethod } from './define.js';

/**
 * annotations.* (DESIGN §2, specter-format §10): per user, wallet and service, a map of address
 * annotations and a map of transaction annotations, one file and one revision per
 * (user, wallet, service). The layout checks the alias again (`isWalletAlias`: letters, not just
 * characters past U+00C0) before a path is built.
 */
const Wallet = Type.String({
  pattern: WALLET_ALIAS_PATTERN,
  maxLength: MAX_NAME_LENGTH,
  description: `wallet: ${WALLET_ALIAS_RULE}`,
});

export const AnnotationKind = Type.Union([Type.Literal('addr'), Type.Literal('tx')], {
  description: "'addr': the id is an address; 'tx': the id is a txid",
});

/** Checked against the kind by the daemon: an address for 'addr', 64 hex digits for 'tx'. */
const AnnotationId = Type.String({
  pattern: ADDRESS_PATTERN,
  description: 'an address (base58/bech32 characters, 14-90 long) for kind addr, a txid (64 hex) for kind tx',
});

const AnyJson = Type.Unknown({ description: 'any JSON value' });
const JsonObject = Type.Record(Type.String(), Type.Unknown(), { description: 'a JSON object' });
const Revisioned = Type.Union([Revision, Type.Null()], { description: 'null when the file holds no annotation' });

const where = { username: Username, wallet: Wallet, service: ServiceId };
const one = { ...where, kind: AnnotationKind, id: AnnotationId };

export const annotationsMethods = {
  'annotations.get': defineMethod({
    summary:
      'Read the annotations of one wallet and service ({addrs, txs, revision}); with kind and id, one annotation ({data, revision}, data null when absent).',
    params: Params({ ...where, kind: Type.Optional(AnnotationKind), id: Type.Optional(AnnotationId) }),
    result: Type.Union([
      Type.Object({ addrs: JsonObject, txs: JsonObject, revision: Revisioned }),
      Type.Object({ data: AnyJson, revision: Revisioned }),
    ]),
    errors: ['NOT_FOUND', 'CORRUPT', 'STORAGE_FAILED'],
  }),
  'annotations.set': defineMethod({
    summary: 'Replace one address or transaction annotation; ifRevision (of the file) makes it compare-and-set.',
    params: Params({ ...one, data: AnyJson, ifRevision: IfRevision }),
    result: Type.Object({ revision: Revision }),
    errors: ['NOT_FOUND', 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED', 'TOO_LARGE'],
  }),
  'annotations.update': defineMethod({
    summary: 'Apply an RFC 7396 merge patch to one annotation (an absent one starts as {}).',
    params: Params({ ...one, patch: JsonObject, ifRevision: IfRevision }),
    result: Type.Object({ data: AnyJson, revision: Revision }),
    errors: ['NOT_FOUND', 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED', 'TOO_LARGE'],
  }),
  'annotations.delete': defineMethod({
    summary: 'Remove one annotation (an absent one is not an error); returns the file revision after it.',
    params: Params({ ...one, ifRevision: IfRevision }),
    result: Type.Object({ revision: Revisioned }),
    errors: ['NOT_FOUND', 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED'],
  }),
  'annotations.list': defineMethod({
    summary: "Every annotation of a user, optionally of one wallet and/or service, as {wallet, service, kind, id}.",
    params: Params({ username: Username, wallet: Type.Optional(Wallet), service: Type.Optional(ServiceId) }),
    result: Type.Object({
      entries: Type.Array(
        Type.Object({ wallet: Type.String(), service: Type.String(), kind: AnnotationKind, id: Type.String() }),
      ),
    }),
    errors: ['NOT_FOUND', 'CORRUPT', 'STORAGE_FAILED'],
  }),
};
