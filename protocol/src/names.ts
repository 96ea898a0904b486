/**
 * Name rules of DESIGN §3. Every name that becomes part of a path or an object key is checked here,
 * before any path is built. The regexes are exported so the JSON Schemas of the catalogue carry them.
 */

/** Names that would reach a prototype if ever used as a plain object key. */
const PROTOTYPE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

export const USERNAME_PATTERN = '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$';
export const SERVICE_ID_PATTERN = '^[a-z0-9]+(-[a-z0-9]+)*$';
export const WALLET_ALIAS_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
/** base58 and bech32 (either case) characters, 14–90 long. */
export const ADDRESS_PATTERN = '^[A-Za-z0-9]{14,90}$';
export const TXID_PATTERN = '^[0-9a-fA-F]{64}$';
export const MAX_NAME_LENGTH = 64;

const usernameRe = new RegExp(USERNAME_PATTERN);
const serviceIdRe = new RegExp(SERVICE_ID_PATTERN);
const walletAliasRe = new RegExp(WALLET_ALIAS_PATTERN);
const addressRe = new RegExp(ADDRESS_PATTERN);
const txidRe = new RegExp(TXID_PATTERN);
// C0 controls, DEL, C1 controls, and the path separators.
// eslint-disable-next-line no-control-regex
const unsafeInPathRe = /[\u0000-\u001f\u007f-\u009f/\\]/;
/** Specter's own alias rule: lowercase Unicode letters, digits and `_`. */
const specterAliasRe = /^[\p{Ll}\p{Lo}\p{Nd}_]+$/u;

function isPrototypeName(name: string): boolean {
  return PROTOTYPE_NAMES.has(name);
}

/** Strict rule, for every username in the coffer layout and for new users in the specter layout. */
export function isUsername(name: unknown): name is string {
  return typeof name === 'string' && usernameRe.test(name) && !isPrototypeName(name);
}

/**
 * The lenient rule for usernames that already exist in a Specter users.json (Specter allows spaces and
 * Unicode): anything that cannot escape a folder or reach a prototype.
 */
export function isSafeExistingName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    [...name].length <= MAX_NAME_LENGTH &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('..') &&
    !unsafeInPathRe.test(name) &&
    !isPrototypeName(name)
  );
}

export function isServiceId(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length <= MAX_NAME_LENGTH &&
    serviceIdRe.test(name) &&
    name !== 'encrypted_storage_version' &&
    !isPrototypeName(name)
  );
}

/** Document names follow the service-id rule. */
export const isDocName = isServiceId;

export function isWalletAlias(name: unknown): name is string {
  return typeof name === 'string' && walletAliasRe.test(name) && !isPrototypeName(name);
}

/** Wallet aliases in the specter layout: Specter derives them from wallet names (lowercase Unicode). */
export function isSpecterWalletAlias(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    [...name].length <= MAX_NAME_LENGTH &&
    specterAliasRe.test(name) &&
    !isPrototypeName(name)
  );
}

export function isAddress(value: unknown): value is string {
  return typeof value === 'string' && addressRe.test(value);
}

export function isTxid(value: unknown): value is string {
  return typeof value === 'string' && txidRe.test(value);
}

/*
 * Document names in the specter layout (Specter's GenericDataManager files): the JSON file's path
 * relative to the data folder, e.g. `otp.json` or `plugins/x.json`. Every segment is a plain name
 * (no leading dot, so no `..`, no hidden or temp file; no separator, NUL or control character),
 * and the files cofferd serves through other methods are not documents: users.json
 * (users.*), `<user>_services.json` and `<user>_unencrypted_services.json` at the root
 * (services.*), and the files directly in a `wallets` or `wallets_<id>` folder (annotations.*).
 */
export const SPECTER_DOC_NAME_MAX_LENGTH = 255;
const DOC_SEGMENT_START = String.raw`[^./\\\u0000-\u001f\u007f-\u009f]`;
const DOC_SEGMENT_REST = String.raw`[^/\\\u0000-\u001f\u007f-\u009f]*`;
export const SPECTER_DOC_NAME_PATTERN =
  String.raw`^(?!users\.json$)(?![^/]*_services\.json$)(?!wallets(?:_[^/]*)?/[^/]*$)` +
  `(?:${DOC_SEGMENT_START}${DOC_SEGMENT_REST}/)*${DOC_SEGMENT_START}${DOC_SEGMENT_REST}` +
  String.raw`\.json$`;

const specterDocNameRe = new RegExp(SPECTER_DOC_NAME_PATTERN);

/** The specter layout's document name rule (SPECTER_DOC_NAME_PATTERN, at most 255 characters). */
export function isSpecterDocName(name: unknown): name is string {
  return typeof name === 'string' && fitsSpecterDocName(name);
}

function fitsSpecterDocName(name: string): boolean {
  return name.length <= SPECTER_DOC_NAME_MAX_LENGTH && specterDocNameRe.test(name);
}

/** Why `name` is not a specter-layout document name, in words; undefined when it is one. */
export function specterDocNameProblem(name: string): string | undefined {
  if (fitsSpecterDocName(name)) return undefined;
  if (name.length > SPECTER_DOC_NAME_MAX_LENGTH) return `a document name is at most ${SPECTER_DOC_NAME_MAX_LENGTH} characters`;
  if (name === 'users.json') return 'users.json is not a document: use users.*';
  if (/^[^/]*_services\.json$/.test(name)) return `${name} is a services file, not a document: use services.*`;
  if (/^wallets(?:_[^/]*)?\/[^/]*$/.test(name)) return 'files directly in a wallets folder are annotations, not documents: use annotations.*';
  return 'a document name is a path relative to the data folder ending in .json (e.g. otp.json or plugins/x.json): no leading /, no segment starting with a dot, no backslash, NUL or control character';
}
