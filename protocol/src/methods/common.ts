import { FormatRegistry, Type, type TObject, type TProperties } from '@sinclair/typebox';
import { isAddress, isTxid, MAX_NAME_LENGTH, SERVICE_ID_PATTERN, SERVICE_ID_RULE, USERNAME_PATTERN, USERNAME_RULE } from '../names.js';

/**
 * Schema pieces shared by the namespaces. Names are JSON Schema patterns (protocol/src/names.ts), so
 * rpc.discover states each rule whole; their descriptions are the rule in words, which is what an
 * INVALID_PARAMS message quotes (validate.ts).
 */
FormatRegistry.Set('address', isAddress);
FormatRegistry.Set('txid', isTxid);

/** A params object: unknown members are an error, so a typo never silently does nothing. */
export function Params<T extends TProperties>(properties: T): TObject<T> {
  return Type.Object(properties, { additionalProperties: false });
}

export const Username = Type.String({
  pattern: USERNAME_PATTERN,
  maxLength: MAX_NAME_LENGTH,
  description: `username: ${USERNAME_RULE}`,
});

export const ServiceId = Type.String({
  pattern: SERVICE_ID_PATTERN,
  maxLength: MAX_NAME_LENGTH,
  description: `service id: ${SERVICE_ID_RULE}`,
});

/** A session token: 32 random bytes, base64url without padding. */
export const SessionToken = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'session token from users.unlock' });

export const Revision = Type.String({ minLength: 1, maxLength: 128, description: 'opaque; compare for equality only' });

/** `ifRevision`: a revision string, or null for "only if absent". */
export const IfRevision = Type.Optional(Type.Union([Revision, Type.Null()]));

export const Empty = Type.Object({}, { additionalProperties: false });
