import { Type } from '@sinclair/typebox';
import { MAX_NAME_LENGTH, SERVICE_ID_PATTERN, SERVICE_ID_RULE, SPECTER_DOC_NAME_MAX_LENGTH, SPECTER_DOC_NAME_PATTERN, SPECTER_DOC_NAME_RULE } from '../names.js';
import { IfRevision, Params, Revision, SessionToken } from './common.js';
import { defineMethod } from './define.js';

/**
 * docs.* (DESIGN §2): generic documents (Specter's GenericDataManager). A document is a JSON
 * object; the top-level fields it declares in `encryptedFields` are stored sealed under the secret
 * of the user whose session declared them (its `owner`). Without the owner's session those fields
 * are named in `locked` and never returned; writes that would touch them need that session.
 */

/** In the coffer layout, document names follow the service-id rule (DESIGN §3; `isDocName`). */
const CofferDocName = Type.String({
  pattern: SERVICE_ID_PATTERN,
  maxLength: MAX_NAME_LENGTH,
  description: `coffer layout: ${SERVICE_ID_RULE}`,
});

/** In the specter layout, a document is a JSON file of Specter's data folder (`isSpecterDocName`). */
const SpecterDocName = Type.String({
  pattern: SPECTER_DOC_NAME_PATTERN,
  maxLength: SPECTER_DOC_NAME_MAX_LENGTH,
  description: `specter layout: ${SPECTER_DOC_NAME_RULE}`,
});

/** The daemon's layout decides which of the two applies (daemon.status says the layout). */
export const DocName = Type.Union([CofferDocName, SpecterDocName], {
  description: `document name: in the coffer layout ${SERVICE_ID_RULE}; in the specter layout ${SPECTER_DOC_NAME_RULE}`,
});

const FieldName = Type.String({ maxLength: 1024, description: 'a top-level field name of the document' });
const FieldList = Type.Array(FieldName, { uniqueItems: true, maxItems: 1024 });
const JsonObject = Type.Record(Type.String(), Type.Unknown(), { description: 'a JSON object' });
const Session = Type.Optional(SessionToken);

export const docsMethods = {
  'docs.get': defineMethod({
    summary:
      'Read a document: its plain fields, and its encrypted fields when the session is its owner\'s (else they are named in locked). Absent: NOT_FOUND.',
    params: Params({ name: DocName, session: Session }),
    result: Type.Object({ data: JsonObject, encryptedFields: FieldList, locked: FieldList, revision: Revision }),
    errors: ['NOT_FOUND', 'LOCKED', 'CORRUPT', 'STORAGE_FAILED'],
  }),
  'docs.set': defineMethod({
    summary:
      'Replace a document ({} with no encrypted fields removes it); encryptedFields omitted keeps the current declaration. ifRevision null: create only.',
    params: Params({ name: DocName, data: JsonObject, encryptedFields: Type.Optional(FieldList), session: Session, ifRevision: IfRevision }),
    result: Type.Object({ revision: Type.Union([Revision, Type.Null()]) }),
    errors: ['LOCKED', 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED', 'TOO_LARGE'],
  }),
  'docs.update': defineMethod({
    summary: 'Apply an RFC 7396 merge patch to a document (an absent one starts as {}); returns it as the caller may see it.',
    params: Params({ name: DocName, patch: JsonObject, session: Session, ifRevision: IfRevision }),
    result: Type.Object({ data: JsonObject, revision: Type.Union([Revision, Type.Null()]) }),
    errors: ['LOCKED', 'CONFLICT', 'CORRUPT', 'STORAGE_FAILED', 'TOO_LARGE'],
  }),
  'docs.delete': defineMethod({
    summary: 'Remove a document (an absent one is not an error); one with encrypted fields needs its owner\'s session.',
    params: Params({ name: DocName, session: Session, ifRevision: IfRevision }),
    result: Type.Object({ revision: Type.Null() }),
    errors: ['LOCKED', 'CONFLICT', 'STORAGE_FAILED', 'CORRUPT'],
  }),
  'docs.list': defineMethod({
    summary: 'Every document, with its owner (null when it has no encrypted fields) and its declared encrypted fields.',
    params: Params({}),
    result: Type.Object({
      docs: Type.Array(
        Type.Object({ name: Type.String(), owner: Type.Union([Type.String(), Type.Null()]), encryptedFields: FieldList }),
      ),
    }),
    errors: ['CORRUPT', 'STORAGE_FAILED'],
  }),
};
