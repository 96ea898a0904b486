/**
 * The specter layout codec (DESIGN §3.2, ../shared/specter-format.md): pure functions and file models
 * for an existing Specter Desktop data folder. No RPC and no store wiring here; the store's specter
 * codec composes these.
 */
export { decodeBase64, decodeBase64Text, encodeBase64, encodeBase64Text, type Base64Alphabet } from './base64.js';
export { fernetDecrypt, fernetEncrypt, InvalidToken, isFernetToken, type FernetOptions } from './fernet.js';
export type { PasswordInput } from './password-bytes.js';
export { createPasswordHash, verifyPasswordHash, PASSWORD_HASH_ITERATIONS, type PasswordHash } from './password-hash.js';
export {
  deriveKek,
  deriveKekInto,
  needsIterationUpgrade,
  newUserSecret,
  newUserSecretSalt,
  openUserSecret,
  sealUserSecret,
  userSecretSalt,
  USER_SECRET_ITERATIONS,
  type EncryptedUserSecret,
} from './user-secret.js';
export {
  clonePy,
  DEFAULT_MAX_DEPTH,
  FILE_MAX_DEPTH,
  fromJs,
  isPyObject,
  PyNum,
  pyObject,
  toJs,
  type JsonValue,
  type PyArray,
  type PyObject,
  type PyValue,
} from './py-json-value.js';
export { pyFloatRepr } from './py-json-number.js';
export { pyDumpFile, pyDumps, pyString, type DumpOptions } from './py-json-encode.js';
export { PyJsonError, pyLoadFile, pyLoads, pyLoadsBytes, type ParseOptions } from './py-json-parse.js';
export {
  annotationsFileName,
  annotationsFileSplits,
  servicesFileName,
  specterAlias,
  specterUserId,
  walletsRootName,
  type ServicesFileKind,
} from './specter-names.js';
export {
  checkUser,
  defaultAdminRecord,
  defaultUserConfig,
  newUserRecord,
  passwordHashOf,
  passwordHashValue,
  setUserKey,
  USER_KEY_ORDER,
  userSecretOf,
  userSecretValue,
} from './user-record.js';
export { ServiceEntries, VERSION_KEY } from './service-entries.js';
export { AnnotationsFile } from './annotations-file.js';
export { backupPath, readWithBackup, supersedeBackup, writeWithBackup, type BackupRead } from './backup-files.js';
