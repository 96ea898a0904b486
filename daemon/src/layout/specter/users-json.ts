import { CofferError } from '@coffer/protocol';
import {
  checkUser,
  pyDumpFile,
  pyLoadFile,
  setUserKey,
  userSecretOf,
  type EncryptedUserSecret,
  type PyObject,
  type PyValue,
} from '../../specter/index.js';

/**
 * users.json of the specter layout (specter-format §3) as the keyring holds it: one record per user,
 * each the user's object exactly as read (key order, unknown keys, `jwt_tokens`, `config`,
 * `services` all kept), so the file is written back byte for byte except where a value changed.
 * Records are immutable: a change copies the user's object (values inside are never modified).
 */
export interface SpecterAccount {
  readonly user: PyObject;
  readonly id: string;
  readonly isAdmin: boolean;
}

/**
 * A secret rotation in progress (keyring/rotation.ts): the new secret, wrapped like
 * `encrypted_user_secret` under the same KDF salt. Specter ignores (and on its own save drops) keys
 * it does not know, so the file stays valid for it; see daemon/docs/specter-layout.md for the window.
 */
export const PENDING_SECRET_KEY = 'coffer_pending_user_secret';

export function accountOf(user: PyObject): SpecterAccount {
  return { user, id: user.get('id') as string, isAdmin: user.get('is_admin') === true };
}

function corrupt(detail: string): CofferError {
  return new CofferError('CORRUPT', `users.json ${detail}; it was left untouched`);
}

/**
 * The accounts in file order. No file (and no good `.bkp`): Specter's first start, the default
 * admin (`defaultAdmin`), which is written at the first change. A user's own values (password
 * record, secret record) are checked when that user is used, so one odd entry does not take the
 * others down; what Specter itself needs of every user (spec §3) is checked here.
 */
export function decodeSpecterUsers(bytes: Buffer | null, defaultAdmin: PyObject): Map<string, SpecterAccount> {
  const accounts = new Map<string, SpecterAccount>();
  if (bytes === null) {
    accounts.set('admin', accountOf(defaultAdmin));
    return accounts;
  }
  const root = pyLoadFile(bytes, corrupt);
  if (!Array.isArray(root)) throw corrupt('is not a JSON array (a Specter users file)');
  root.forEach((value, index) => {
    const user = checkUser(value, index);
    const username = user.get('username') as string;
    // A Map cannot hold two users of one name, and Specter would only ever find the first.
    if (accounts.has(username)) throw corrupt(`names user #${index + 1} like an earlier one`);
    accounts.set(username, accountOf(user));
  });
  return accounts;
}

export function encodeSpecterUsers(accounts: ReadonlyMap<string, SpecterAccount>): Buffer {
  return pyDumpFile([...accounts.values()].map((account) => account.user));
}

/** A copy of the account with `key` set: in place if present, else where Specter's order puts it. */
export function withKey(account: SpecterAccount, key: string, value: PyValue): SpecterAccount {
  const user: PyObject = new Map(account.user);
  setUserKey(user, key, value);
  return accountOf(user);
}

export function withoutKey(account: SpecterAccount, key: string): SpecterAccount {
  const user: PyObject = new Map(account.user);
  user.delete(key);
  return accountOf(user);
}

/** The pending secret of an unfinished rotation, if any (CORRUPT when malformed). */
export function pendingSecretOf(account: SpecterAccount): EncryptedUserSecret | undefined {
  const value = account.user.get(PENDING_SECRET_KEY);
  if (value === undefined) return undefined;
  const pending = userSecretOf(new Map([['encrypted_user_secret', value]]));
  if (pending === null) throw corrupt(`has a null ${PENDING_SECRET_KEY}`);
  return pending;
}

/**
 * Where a user's annotations live (spec §1): `wallets/` for Specter's admin (the first user with
 * `is_admin`), `wallets_<id>/` for everyone else. Undefined for an unknown user.
 */
export function walletsRootOf(username: string, accounts: ReadonlyMap<string, SpecterAccount>): { id: string; isAdmin: boolean } | undefined {
  const account = accounts.get(username);
  if (!account) return undefined;
  let firstAdmin: string | undefined;
  for (const [name, a] of accounts) {
    if (a.isAdmin) {
      firstAdmin = name;
      break;
    }
  }
  return { id: account.id, isAdmin: firstAdmin === username };
}
