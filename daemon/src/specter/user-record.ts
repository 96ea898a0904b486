import { CofferError } from '@coffer/protocol';
import type { PasswordHash } from './password-hash.js';
import { PyNum, isPyObject, pyObject, type PyObject, type PyValue } from './py-json-value.js';
import type { EncryptedUserSecret } from './user-secret.js';

/**
 * One user object of `users.json` (spec §3) as a lossless map: known keys are read and written
 * through typed helpers, unknown keys and every other byte are kept.
 */

/** The order Specter writes a user's keys in; `config` only for non-admins. */
export const USER_KEY_ORDER = ['id', 'username', 'password', 'is_admin', 'jwt_tokens', 'encrypted_user_secret', 'services', 'config'];

/** The `config` Specter gives a new user. */
export function defaultUserConfig(): PyObject {
  return pyObject([
    ['explorers', pyObject([['main', ''], ['test', ''], ['regtest', ''], ['signet', '']])],
    ['hwi_bridge_url', '/hwi/api/'],
  ]);
}

function corrupt(index: number, what: string): CofferError {
  return new CofferError('CORRUPT', `users.json: user #${index + 1} ${what}; the file was left untouched`);
}

/** What the daemon reads of every user at load; Specter does not start without these (spec §3). */
export function checkUser(value: PyValue, index: number): PyObject {
  if (!isPyObject(value)) throw corrupt(index, 'is not a JSON object');
  if (typeof value.get('id') !== 'string') throw corrupt(index, 'has no string "id"');
  if (typeof value.get('username') !== 'string') throw corrupt(index, 'has no string "username"');
  if (typeof value.get('is_admin') !== 'boolean') throw corrupt(index, 'has no boolean "is_admin"');
  if (!isPyObject(value.get('password') ?? null)) throw corrupt(index, 'has no "password" object');
  if (value.get('is_admin') === false && !value.has('config')) throw corrupt(index, 'is not an admin and has no "config"');
  return value;
}

/**
 * Sets `key`, keeping its place if present, else inserting it where Specter's order puts it
 * among the keys present (unknown keys stay where they are).
 */
export function setUserKey(user: PyObject, key: string, value: PyValue): void {
  const rank = USER_KEY_ORDER.indexOf(key);
  if (user.has(key) || rank < 0) {
    user.set(key, value);
    return;
  }
  const entries = [...user];
  const at = entries.findIndex(([k]) => USER_KEY_ORDER.indexOf(k) > rank);
  entries.splice(at < 0 ? entries.length : at, 0, [key, value]);
  user.clear();
  for (const [k, v] of entries) user.set(k, v);
}

export function passwordHashOf(user: PyObject): PasswordHash {
  const record = user.get('password');
  const salt = isPyObject(record) ? record.get('salt') : undefined;
  const pwdhash = isPyObject(record) ? record.get('pwdhash') : undefined;
  if (typeof salt !== 'string' || typeof pwdhash !== 'string') {
    throw new CofferError('CORRUPT', 'users.json: a password record is malformed; the file was left untouched');
  }
  return { salt, pwdhash };
}

export function passwordHashValue(hash: PasswordHash): PyObject {
  return pyObject([['salt', hash.salt], ['pwdhash', hash.pwdhash]]);
}

/** The user's `encrypted_user_secret`: null when absent or null (no secret yet), CORRUPT when malformed. */
export function userSecretOf(user: PyObject): EncryptedUserSecret | null {
  const record = user.get('encrypted_user_secret') ?? null;
  if (record === null) return null;
  const token = isPyObject(record) ? record.get('token') : undefined;
  const salt = isPyObject(record) ? record.get('salt') : undefined;
  const iterations = isPyObject(record) ? record.get('iterations') : undefined;
  if (typeof token !== 'string' || typeof salt !== 'string' || !(iterations instanceof PyNum) || iterations.isFloat) {
    throw new CofferError('CORRUPT', 'users.json: an encrypted_user_secret is malformed; the file was left untouched');
  }
  return { token, salt, iterations: iterations.toNumber() };
}

/** `{"token", "salt", "iterations"}`, in that order (spec §5); also the legacy record file's content. */
export function userSecretValue(record: EncryptedUserSecret | null): PyObject | null {
  if (record === null) return null;
  return pyObject([['token', record.token], ['salt', record.salt], ['iterations', PyNum.int(record.iterations)]]);
}

/** Specter's first user, as it writes it when users.json is missing: `admin`, no secret yet. */
export function defaultAdminRecord(hash: PasswordHash): PyObject {
  return pyObject([
    ['id', 'admin'],
    ['username', 'admin'],
    ['password', passwordHashValue(hash)],
    ['is_admin', true],
    ['jwt_tokens', pyObject()],
    ['encrypted_user_secret', null],
    ['services', []],
  ]);
}

/** A user as Specter's registration writes it: keys in its order, default config, no services yet. */
export function newUserRecord(id: string, username: string, hash: PasswordHash, secret: EncryptedUserSecret): PyObject {
  return pyObject([
    ['id', id],
    ['username', username],
    ['password', passwordHashValue(hash)],
    ['is_admin', false],
    ['jwt_tokens', pyObject()],
    ['encrypted_user_secret', userSecretValue(secret)],
    ['services', []],
    ['config', defaultUserConfig()],
  ]);
}
