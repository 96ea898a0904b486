/**
 * Name rules of DESIGN §3. Every name that becomes part of a path or an object key is checked here,
 * before any path is built. The regexes are exported so the JSON Schemas of the catalogue carry them.
 */

/** Names that would reach a prototype if ever used as a plain object key. */
const PROTOTYPE_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

export const MAX_NAME_LENGTH = 64;

/*
 * The rules are JSON Schema patterns (ECMA-262 without the `u` flag, as TypeBox and most validators
 * compile them), so `rpc.discover` states each rule whole and every client can check it offline.
 * Each has a sentence for error messages (`*_RULE`): a caller is told the rule, not a regex.
 */

/** Not a prototype name (a whole-name lookahead; every pattern below starts with it). */
const NOT_PROTOTYPE = '(?!(?:__proto__|constructor|prototype)$)';
/**
 * One character a name may hold in a file name: anything but C0/C1 controls, DEL and the path
 * separators. Specter accepts any username its form sends (spaces, Unicode); this is all a path needs.
 */
const SAFE_CHAR = '[^\\u0000-\\u001f\\u007f-\\u009f/\\\\]';

/**
 * Usernames, in both layouts: what Specter's registration accepts (spaces, Unicode, `.`), except
 * what could escape the data dir or hide a file — a separator, a control character, a leading dot
 * (so `.` and `..` too) — a prototype name, and more than 64 UTF-16 units (the longest file name
 * built from one, `<name>_unencrypted_services.json`, stays under 255 bytes).
 */
export const USERNAME_PATTERN = `^${NOT_PROTOTYPE}(?!\\.)${SAFE_CHAR}{1,${MAX_NAME_LENGTH}}$`;
export const USERNAME_RULE =
  '1 to 64 characters, not starting with ".", without "/", "\\" or control characters, and not one of the reserved object keys of JavaScript';

/**
 * Service ids, in both layouts: Python identifiers as Specter's extensions choose them (`swan`,
 * `test_service`, `reckless_swan`) and Coffer's dash-separated ids (`my-service`): ASCII letters,
 * digits, `_` and `-`, not starting with `-`, at most 64; never Specter's version key.
 */
export const SERVICE_ID_PATTERN = `^(?!(?:__proto__|constructor|prototype|encrypted_storage_version)$)[A-Za-z0-9_][A-Za-z0-9_-]{0,${MAX_NAME_LENGTH - 1}}$`;
export const SERVICE_ID_RULE =
  'an identifier of 1 to 64 ASCII letters, digits, "_" and "-" (not starting with "-"), e.g. swan or test_service';

/**
 * Wallet aliases, in both layouts: Specter's `alias()` of a wallet name (lowercase letters of any
 * script, digits and `_`) and Coffer's (also `-`). The pattern cannot name Unicode letters without
 * the `u` flag, so it admits any non-ASCII character from U+00C0 on; `isWalletAlias` then requires
 * letters and digits there, lowercase.
 */
export const WALLET_ALIAS_PATTERN = `^${NOT_PROTOTYPE}[a-z0-9_\\u00c0-\\uffff][a-z0-9_\\u00c0-\\uffff-]{0,${MAX_NAME_LENGTH - 1}}$`;
export const WALLET_ALIAS_RULE =
  'a wallet alias of 1 to 64 lowercase letters (any script), digits, "_" and "-" (not starting with "-")';

/** base58 and bech32 (either case) characters, 14–90 long. */
export const ADDRESS_PATTERN = '^[A-Za-z0-9]{14,90}$';
export const TXID_PATTERN = '^[0-9a-fA-F]{64}$';

const usernameRe = new RegExp(USERNAME_PATTERN);
const serviceIdRe = new RegExp(SERVICE_ID_PATTERN);
const walletAliasRe = new RegExp(WALLET_ALIAS_PATTERN);
const addressRe = new RegExp(ADDRESS_PATTERN);
const txidRe = new RegExp(TXID_PATTERN);
/** What the non-ASCII part of an alias must be: letters, marks and digits, no uppercase. */
const aliasCharsRe = /^[\p{L}\p{M}\p{N}_-]+$/u;

/** A username of either layout (USERNAME_RULE). */
export function isUsername(name: unknown): name is string {
  return typeof name === 'string' && usernameRe.test(name);
}

/** A service id of either layout (SERVICE_ID_RULE). */
export function isServiceId(name: unknown): name is string {
  return typeof name === 'string' && serviceIdRe.test(name);
}

/** Document names follow the service-id rule. */
export const isDocName = isServiceId;

/** A wallet alias of either layout (WALLET_ALIAS_RULE). */
export function isWalletAlias(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    walletAliasRe.test(name) &&
    aliasCharsRe.test(name) &&
    name === name.toLowerCase() &&
    !PROTOTYPE_NAMES.has(name)
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
export const SPECTER_DOC_NAME_RULE =
  'the file\'s path relative to the data folder, ending in .json (e.g. otp.json or plugins/x.json), at most 255 characters: ' +
  'no segment starting with ".", no "\\" or control characters, and not users.json, a *_services.json at the root or a file directly in wallets*/ ' +
  '(users.*, services.* and annotations.* serve those)';
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
  return `a document name must be ${SPECTER_DOC_NAME_RULE}`;
}
