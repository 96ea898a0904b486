import { CofferError, isUsername } from '@coffer/protocol';
import type { FernetOptions } from '../../daemon/src/specter/fernet.js';
import type { PasswordInput } from '../../daemon/src/specter/password-bytes.js';
import { createPasswordHash, type CreatePasswordHashOptions, type PasswordHash } from '../../daemon/src/specter/password-hash.js';
import { pyDumpFile } from '../../daemon/src/specter/py-json-encode.js';
import { pyLoadsBytes } from '../../daemon/src/specter/py-json-parse.js';
import { clonePy, FILE_MAX_DEPTH, type PyObject, pyObject, type PyValue } from '../../daemon/src/specter/py-json-value.js';
import { specterUserId } from '../../daemon/src/specter/specter-names.js';
import {
  checkUser,
  defaultAdminRecord,
  defaultUserConfig,
  newUserRecord,
  passwordHashOf,
  passwordHashValue,
  setUserKey,
  userSecretOf,
  userSecretValue,
} from '../../daemon/src/specter/user-record.js';
import { newUserSecret, type EncryptedUserSecret } from '../../daemon/src/specter/user-secret.js';
import { encryptUserSecret } from './specter-user-secret.js';

/**
 * `users.json` (spec §3) as a whole-file model, for the byte-for-byte tests only: they build and
 * edit Specter's files the way Specter does (the daemon itself reads and writes users.json through
 * SpecterAccounts, layout/specter/accounts.ts, and its records through specter/user-record.ts).
 * Users keep their key order and unknown keys; new users get Specter's order.
 */

export interface UserSummary {
  id: string;
  username: string;
  isAdmin: boolean;
  /** Whether `encrypted_user_secret` is set (false: first unlock must create one). */
  hasUserSecret: boolean;
}

/** Seams for byte-exact tests; production leaves them out. */
export interface NewRecordOptions {
  password?: CreatePasswordHashOptions;
  /** The KDF salt of the secret record (16 bytes). */
  secretSalt?: Buffer;
  fernet?: FernetOptions;
}

/** Keys that change only through the typed methods, which keep them consistent. */
const MANAGED_KEYS = new Set(['id', 'username', 'password', 'is_admin', 'encrypted_user_secret']);

export class UsersFile {
  private constructor(private readonly users: PyObject[]) {}

  static fromValue(value: PyValue): UsersFile {
    if (!Array.isArray(value)) throw new CofferError('CORRUPT', 'users.json is not a JSON array; it was left untouched');
    return new UsersFile(value.map(checkUser));
  }

  static parse(bytes: Buffer): UsersFile {
    return UsersFile.fromValue(pyLoadsBytes(bytes, { maxDepth: FILE_MAX_DEPTH }));
  }

  /** What Specter creates when users.json is missing: the admin, password "admin", no secret yet. */
  static async createDefault(options: NewRecordOptions = {}): Promise<UsersFile> {
    const hash = await createPasswordHash('admin', options.password);
    return new UsersFile([defaultAdminRecord(hash)]);
  }

  clone(): UsersFile {
    return new UsersFile(this.users.map(clonePy));
  }

  list(): UserSummary[] {
    return this.users.map(summary);
  }

  find(username: string): UserSummary | undefined {
    const user = this.lookup(username);
    return user && summary(user);
  }

  findById(id: string): UserSummary | undefined {
    const user = this.users.find((u) => u.get('id') === id);
    return user && summary(user);
  }

  /** Specter's admin: the first user with `is_admin: true`. */
  admin(): UserSummary | undefined {
    const user = this.users.find((u) => u.get('is_admin') === true);
    return user && summary(user);
  }

  passwordHash(username: string): PasswordHash {
    return passwordHashOf(this.require(username));
  }

  /** The user's secret record, or null when there is none yet. */
  userSecret(username: string): EncryptedUserSecret | null {
    return userSecretOf(this.require(username));
  }

  /** Any key of a user (jwt_tokens, services, config, unknown ones), as stored. */
  field(username: string, key: string): PyValue | undefined {
    return this.require(username).get(key);
  }

  /** Sets a key the daemon does not manage (jwt_tokens, services, config, unknown), in Specter's place for it. */
  setField(username: string, key: string, value: PyValue): void {
    if (MANAGED_KEYS.has(key)) throw new CofferError('INVALID_PARAMS', `"${key}" changes only through its own operation`);
    setUserKey(this.require(username), key, value);
  }

  /**
   * Registers a non-admin user as Specter does: id from the username (spec §1), Specter's default
   * config, a password hash, and a new user secret encrypted at once (spec §3, §5). Returns the id and
   * the secret's 32 raw bytes, which the caller owns (to secure memory, then wipe).
   */
  async register(username: string, password: PasswordInput, options: NewRecordOptions & { secret?: Buffer } = {}): Promise<{ id: string; secret: Buffer }> {
    if (!isUsername(username)) throw new CofferError('INVALID_PARAMS', 'This username cannot be used in a file name');
    if (this.lookup(username)) throw new CofferError('ALREADY_EXISTS', `User "${username}" already exists`);
    const id = specterUserId(username, (candidate) => this.users.some((u) => u.get('id') === candidate));
    const secret = options.secret ?? newUserSecret();
    let hash: PasswordHash;
    let record: EncryptedUserSecret;
    try {
      hash = await createPasswordHash(password, options.password);
      record = await encryptUserSecret(secret, password, { salt: options.secretSalt, fernet: options.fernet });
      // Checked again after the awaits: another register may have taken the name meanwhile.
      if (this.lookup(username)) throw new CofferError('ALREADY_EXISTS', `User "${username}" already exists`);
    } catch (error) {
      if (!options.secret) secret.fill(0); // ours, and nobody will receive it
      throw error;
    }
    this.users.push(newUserRecord(id, username, hash, record));
    return { id, secret };
  }

  /**
   * Sets the user's secret record: at first unlock of a user whose record is null, after an
   * iteration upgrade, or null when auth is switched off (spec §5). Never use it to replace one
   * secret by another: that orphans every encrypted value.
   */
  setUserSecret(username: string, record: EncryptedUserSecret | null): void {
    setUserKey(this.require(username), 'encrypted_user_secret', userSecretValue(record));
  }

  /**
   * A new password: a fresh hash, and the *same* secret re-encrypted with a fresh salt at 390000
   * (spec §5). `secret` (32 raw bytes, unlocked) is required when the user has a record: without it
   * the change would orphan the secret, so it is refused as LOCKED.
   */
  async changePassword(username: string, password: PasswordInput, secret: Buffer | null, options: NewRecordOptions = {}): Promise<void> {
    const user = this.require(username);
    if (secret === null && userSecretOf(user) !== null) {
      throw new CofferError('LOCKED', 'Unlock the user before changing the password, so the secret can be re-encrypted');
    }
    const hash = await createPasswordHash(password, options.password);
    const record = secret && (await encryptUserSecret(secret, password, { salt: options.secretSalt, fernet: options.fernet }));
    setUserKey(user, 'password', passwordHashValue(hash));
    if (record) setUserKey(user, 'encrypted_user_secret', userSecretValue(record));
  }

  /** Removes a user; their files are the caller's to remove first. The admin cannot be deleted. */
  delete(username: string): UserSummary {
    const user = this.require(username);
    if (user.get('is_admin') === true) throw new CofferError('INVALID_PARAMS', 'The admin cannot be deleted: Specter needs one');
    this.users.splice(this.users.indexOf(user), 1);
    return summary(user);
  }

  toValue(): PyValue {
    return this.users;
  }

  encode(): Buffer {
    return pyDumpFile(this.users);
  }

  private lookup(username: string): PyObject | undefined {
    return this.users.find((u) => u.get('username') === username);
  }

  private require(username: string): PyObject {
    const user = this.lookup(username);
    if (!user) throw new CofferError('NOT_FOUND', `No user "${username}"`);
    return user;
  }
}

function summary(user: PyObject): UserSummary {
  const record = user.get('encrypted_user_secret');
  return {
    id: user.get('id') as string,
    username: user.get('username') as string,
    isAdmin: user.get('is_admin') === true,
    hasUserSecret: record !== undefined && record !== null,
  };
}
