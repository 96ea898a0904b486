import type { LosslessValue } from '@coffer/protocol';
import type { FieldPlace } from '../crypto/field-cipher.js';
import type { UnlockedUser } from './users.js';
import type { Codec, Units } from './storage.js';

/**
 * A layout is a codec for a whole data dir (DESIGN §3): where files live, how each kind of file is
 * encoded, and how a value is encrypted. The store, the queues and the RPC surface are the same for
 * every layout; they see only the models below.
 */

/** One services file (encrypted or unencrypted). */
export interface ServicesModel {
  /**
   * Service id -> stored text, in file order. Encrypted files hold ciphertext tokens; unencrypted
   * files hold the JSON text of the value. Absent ids are absent (never null).
   */
  readonly entries: Map<string, string>;
  /** Layout bookkeeping carried through unchanged (e.g. where Specter's version key sits). */
  readonly meta: unknown;
}

/** One annotations file: per user, wallet and service. */
export interface AnnotationsModel {
  readonly addrs: Map<string, LosslessValue>;
  readonly txs: Map<string, LosslessValue>;
  /** Other top-level members, kept as they were. */
  readonly meta: unknown;
}

/** A top-level field of a document: stored plain, or sealed under its owner's secret. */
export type DocField = { sealed: false; value: LosslessValue } | { sealed: true; token: string };

/** One generic document (Specter's GenericDataManager). */
export interface DocModel {
  /** Whose secret seals the encrypted fields; null while the document has no sealed field. */
  owner: string | null;
  encryptedFields: string[];
  readonly fields: Map<string, DocField>;
}

/** What a file holds, named by the API's keys: change notifications (watch.changed) say it. */
export type FileTopic =
  | { readonly scope: 'services'; readonly username: string; readonly encrypted: boolean }
  | { readonly scope: 'annotations'; readonly username: string; readonly wallet: string; readonly service: string }
  | { readonly scope: 'docs'; readonly name: string }
  /** users.json: its changes reach clients as users notices (rpc/user-events.ts), not as file changes. */
  | { readonly scope: 'accounts' };

/** One unit of a layout: where it is stored, what it holds, how it is encoded, and in which backend. */
export interface FileSpec<T> {
  readonly path: string;
  readonly topic: FileTopic;
  readonly codec: Codec<T>;
  readonly units: Units;
}

export type AnyFileSpec = FileSpec<ServicesModel> | FileSpec<AnnotationsModel> | FileSpec<DocModel>;

/**
 * Deepest nesting a stored value is read with: deep enough for anything the RPC layer lets in (it
 * refuses user data nested over 64 first) and for hand-made files, shallow enough for the stack.
 */
export const VALUE_MAX_DEPTH = 256;

/** How a value (the lossless model, DESIGN-NOTES "Lossless values") becomes the text that is stored (and encrypted), and back. */
export interface ValueText {
  encode(value: LosslessValue): string;
  /** Throws when the text is not JSON. */
  decode(text: string): LosslessValue;
}

/** How a value's text is sealed under a user's secret. Failing to open is CORRUPT. */
export interface ValueCipher {
  seal(user: UnlockedUser, place: FieldPlace, text: string): string;
  open(user: UnlockedUser, place: FieldPlace, token: string): string;
}

/**
 * How a layout keeps documents' encrypted fields (DESIGN §2, §3).
 * - `recorded` (coffer): the file names the owner and the declaration; a sealed field opens only
 *   for the owner's session, and one that does not open under the owner's secret is CORRUPT.
 * - `by-secret` (specter): Specter's GenericDataManager file records neither (Specter keeps one key
 *   per manager in code), so the sealed fields are the values that are Fernet tokens, the owner is
 *   whoever's secret opens them, and a session whose secret does not open one sees it `locked`.
 */
export interface DocFormat {
  readonly owner: 'recorded' | 'by-secret';
  /**
   * The text a declared field's value is sealed as, and back. Throws INVALID_PARAMS for a value the
   * format cannot seal (Specter encrypts strings only).
   */
  readonly sealedText: ValueText;
  /** A declared field holding null is stored as a plain null (Specter does not encrypt None). */
  readonly plainNull: boolean;
  /** Top-level keys the format writes itself (Specter's `encrypted_storage_version`): not data. */
  readonly reservedFields: readonly string[];
}

export interface Layout {
  readonly name: 'coffer' | 'specter';
  readonly dataDir: string;
  /**
   * Whether a services file needs its user in users.json. Specter keys them by username alone and
   * never checks (its unencrypted storage serves any name), so the specter layout does not either.
   */
  readonly servicesNeedAccount: boolean;
  /** Throws INVALID_PARAMS when the name cannot be a user of this layout (before any path is built). */
  checkUsername(username: string): void;
  /** Throws INVALID_PARAMS when the alias cannot be a wallet of this layout. */
  checkWalletAlias(alias: string): void;
  servicesFile(username: string, encrypted: boolean): FileSpec<ServicesModel>;
  annotationsFile(username: string, wallet: string, service: string): FileSpec<AnnotationsModel>;
  /** The user's annotations files that exist, as (wallet, service) with their file spec. */
  listAnnotationsFiles(username: string): Promise<Array<{ wallet: string; service: string }>>;
  docFile(name: string): FileSpec<DocModel>;
  listDocs(): Promise<string[]>;
  readonly docFormat: DocFormat;
  /** Directories where an interrupted write may have left a temp file. */
  sweepDirs(): Promise<string[]>;
  readonly valueText: ValueText;
  readonly cipher: ValueCipher;
}

/** Every file that belongs to the user (for users.delete), in any layout; some may not exist. */
export async function userFiles(layout: Layout, username: string): Promise<AnyFileSpec[]> {
  const annotations = await layout.listAnnotationsFiles(username);
  return [
    layout.servicesFile(username, true),
    layout.servicesFile(username, false),
    ...annotations.map(({ wallet, service }) => layout.annotationsFile(username, wallet, service)),
  ];
}
