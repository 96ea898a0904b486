import { CofferError, isUsername } from '@coffer/protocol';
import { isStorableKdfParams, KDF_SALT_BYTES, type KdfParams } from '../../crypto/argon2id.js';
import { WRAP_NONCE_BYTES, WRAP_TAG_BYTES, type Wrapped } from '../../crypto/secret-wrap.js';

/**
 * users.json of the coffer layout (DESIGN §3.1), parsed strictly: an unknown format, version, key
 * or value is CORRUPT, because a file we do not fully understand must never be rewritten.
 *
 * {"format":"coffer.users","version":1,"users":{
 *   "alice":{"kdf":{"alg":"argon2id13","opslimit":2,"memlimit":67108864,"salt":"<b64 16>"},
 *            "secret":{"alg":"xchacha20poly1305-ietf","nonce":"<b64 24>","ciphertext":"<b64 48>"},
 *            "pendingSecret":{...}},          <- only while a rotation is unfinished
 *   "bob":{"kdf":null,"secret":null}}}        <- no password, no secret
 */

export const USERS_FORMAT = 'coffer.users';
export const USERS_VERSION = 1;
export const SECRET_BYTES = 32;
const KDF_ALG = 'argon2id13';
const WRAP_ALG = 'xchacha20poly1305-ietf';

export interface StoredKdf extends KdfParams {
  readonly salt: Buffer;
}

export interface CofferAccount {
  /** null for a user without a password. */
  readonly kdf: StoredKdf | null;
  readonly secret: Wrapped | null;
  /** The new secret of an unfinished rotation, wrapped under the same key. */
  readonly pendingSecret?: Wrapped;
}

type Json = Record<string, unknown>;

function corrupt(detail: string): CofferError {
  return new CofferError('CORRUPT', `users.json does not parse as ${USERS_FORMAT} v${USERS_VERSION}: ${detail}; it was left untouched`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Own keys exactly `required` plus any of `optional`. */
function checkKeys(value: unknown, where: string, required: string[], optional: string[] = []): Json {
  if (!isObject(value)) throw corrupt(`${where} is not an object`);
  const allowed = new Set([...required, ...optional]);
  for (const key of Object.keys(value)) if (!allowed.has(key)) throw corrupt(`${where} has an unknown key`);
  for (const key of required) if (!Object.prototype.hasOwnProperty.call(value, key)) throw corrupt(`${where}.${key} is missing`);
  return value;
}

/** Canonical standard base64 of exactly `bytes` bytes (re-encoding must give the same text). */
function base64Field(value: unknown, where: string, bytes: number): Buffer {
  if (typeof value !== 'string') throw corrupt(`${where} is not a string`);
  const decoded = Buffer.from(value, 'base64');
  if (decoded.length !== bytes || decoded.toString('base64') !== value) throw corrupt(`${where} is not ${bytes} bytes of base64`);
  return decoded;
}

function parseKdf(value: unknown, where: string): StoredKdf {
  const kdf = checkKeys(value, where, ['alg', 'opslimit', 'memlimit', 'salt']);
  if (kdf['alg'] !== KDF_ALG) throw corrupt(`${where}.alg is not ${KDF_ALG}`);
  const params = { opslimit: kdf['opslimit'] as number, memlimit: kdf['memlimit'] as number };
  if (!isStorableKdfParams(params)) throw corrupt(`${where} has out-of-range opslimit/memlimit`);
  return { ...params, salt: base64Field(kdf['salt'], `${where}.salt`, KDF_SALT_BYTES) };
}

function parseWrapped(value: unknown, where: string): Wrapped {
  const wrapped = checkKeys(value, where, ['alg', 'nonce', 'ciphertext']);
  if (wrapped['alg'] !== WRAP_ALG) throw corrupt(`${where}.alg is not ${WRAP_ALG}`);
  return {
    nonce: base64Field(wrapped['nonce'], `${where}.nonce`, WRAP_NONCE_BYTES),
    ciphertext: base64Field(wrapped['ciphertext'], `${where}.ciphertext`, SECRET_BYTES + WRAP_TAG_BYTES),
  };
}

function parseAccount(value: unknown, where: string): CofferAccount {
  const user = checkKeys(value, where, ['kdf', 'secret'], ['pendingSecret']);
  if (user['kdf'] === null) {
    if (user['secret'] !== null || 'pendingSecret' in user) throw corrupt(`${where} has a secret but no kdf`);
    return { kdf: null, secret: null };
  }
  const account: CofferAccount = {
    kdf: parseKdf(user['kdf'], `${where}.kdf`),
    secret: parseWrapped(user['secret'], `${where}.secret`),
  };
  return 'pendingSecret' in user
    ? { ...account, pendingSecret: parseWrapped(user['pendingSecret'], `${where}.pendingSecret`) }
    : account;
}

/**
 * Parses the file into a Map. Usernames are checked against the strict rule before they are used
 * for anything; JSON.parse makes own properties (even for "__proto__"), and we only read them.
 */
export function decodeUsersJson(bytes: Buffer | null): Map<string, CofferAccount> {
  const accounts = new Map<string, CofferAccount>();
  if (bytes === null) return accounts;
  let root: unknown;
  try {
    root = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt('not JSON');
  }
  const file = checkKeys(root, 'the file', ['format', 'version', 'users']);
  if (file['format'] !== USERS_FORMAT) throw corrupt('unknown format');
  if (file['version'] !== USERS_VERSION) throw corrupt('unknown version');
  const users = file['users'];
  if (!isObject(users)) throw corrupt('users is not an object');
  for (const [name, value] of Object.entries(users)) {
    // The name is not echoed: a corrupt file may hold anything, and messages reach clients.
    if (!isUsername(name)) throw corrupt(`user #${accounts.size + 1} has an invalid username`);
    accounts.set(name, parseAccount(value, `user "${name}"`));
  }
  return accounts;
}

function wrappedJson(wrapped: Wrapped): Json {
  return { alg: WRAP_ALG, nonce: wrapped.nonce.toString('base64'), ciphertext: wrapped.ciphertext.toString('base64') };
}

function accountJson(account: CofferAccount): Json {
  if (!account.kdf || !account.secret) return { kdf: null, secret: null };
  const { opslimit, memlimit, salt } = account.kdf;
  const json: Json = {
    kdf: { alg: KDF_ALG, opslimit, memlimit, salt: salt.toString('base64') },
    secret: wrappedJson(account.secret),
  };
  if (account.pendingSecret) json['pendingSecret'] = wrappedJson(account.pendingSecret);
  return json;
}

export function encodeUsersJson(accounts: ReadonlyMap<string, CofferAccount>): Buffer {
  // Object.fromEntries defines own data properties (CreateDataProperty): no key can hit a setter.
  const users = Object.fromEntries([...accounts].map(([name, account]) => [name, accountJson(account)]));
  return Buffer.from(JSON.stringify({ format: USERS_FORMAT, version: USERS_VERSION, users }, null, 2) + '\n', 'utf8');
}
