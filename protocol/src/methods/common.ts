import { FormatRegistry, Type, type TObject, type TProperties } from '@sinclair/typebox';
import { isAddress, isSafeExistingName, isServiceId, isTxid, MAX_NAME_LENGTH, SERVICE_ID_PATTERN } from '../names.js';

/**
 * Schema pieces shared by the namespaces. Formats are checked by functions (the name rules of
 * DESIGN §3 are more than a regex: `constructor` matches the service-id pattern but is refused).
 * Usernames are checked here against the lenient rule every layout shares; the coffer layout (and new
 * users in the specter layout) then apply the strict rule, see `isUsername`.
 */
FormatRegistry.Set('username', isSafeExistingName);
FormatRegistry.Set('service-id', isServiceId);
FormatRegistry.Set('address', isAddress);
FormatRegistry.Set('txid', isTxid);

/** A params object: unknown members are an error, so a typo never silently does nothing. */
export function Params<T extends TProperties>(properties: T): TObject<T> {
  return Type.Object(properties, { additionalProperties: false });
}

export const Username = Type.String({
  format: 'username',
  minLength: 1,
  maxLength: MAX_NAME_LENGTH * 2,
  description: `^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$ without "..", or an existing Specter username (no / \\ NUL controls or "..")`,
});

export const ServiceId = Type.String({
  format: 'service-id',
  pattern: SERVICE_ID_PATTERN,
  maxLength: MAX_NAME_LENGTH,
  description: 'lowercase letters and digits in dash-separated words, at most 64 chars',
});

/** A session token: 32 random bytes, base64url without padding. */
export const SessionToken = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'session token from users.unlock' });

export const Revision = Type.String({ minLength: 1, maxLength: 128, description: 'opaque; compare for equality only' });

/** `ifRevision`: a revision string, or null for "only if absent". */
export const IfRevision = Type.Optional(Type.Union([Revision, Type.Null()]));

export const Empty = Type.Object({}, { additionalProperties: false });
