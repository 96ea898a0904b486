import type { CofferError } from '@coffer/protocol';

/**
 * The storage port (docs/ARCHITECTURE.md): what the store and the keyring need of persistence.
 * A backend stores units (a file each, for the file backend in files/; a row, for a database) and
 * each layout says which unit holds what and how it is encoded. port/ holds these contracts only;
 * it imports nothing above disk/ and crypto/, so every part may depend on it and it on none of them.
 */

/** How one kind of unit is turned into its in-memory model and back. */
export interface Codec<T> {
  /** The model of a unit that does not exist. */
  empty(): T;
  /** Parses a whole unit; throws if it is not fully valid for this codec (it is then CORRUPT). */
  decode(bytes: Buffer): T;
  encode(model: T): Buffer;
  /**
   * A copy whose changes leave `model` as it was. Values inside models are never modified in
   * place, so copying the containers is enough.
   */
  clone(model: T): T;
}

/**
 * Which version of a unit a model was read from or written as. The rest is the backend's (a
 * file's inode, size and mtime; a row's revision); the store looks only at these two.
 */
export interface UnitVersion {
  /** Whether the unit was there (a unit that is not there reads as the codec's empty model). */
  readonly exists: boolean;
  /** Equal digests, equal bytes: a version that moved without a change to the data keeps the state. */
  readonly digest: string;
}

/** A unit's model and the version it came from. */
export interface Loaded<T> {
  readonly model: T;
  readonly version: UnitVersion;
}

/**
 * One stored unit, as the store's CachedUnit holds it. The unit remembers the version it last read
 * or wrote, and tells whether the stored unit is still that version: that check runs before every
 * read served from memory (DESIGN-NOTES "No stale reads"), so it must be cheap, and it is what
 * lets a writer the daemon does not control (Specter itself, a hand edit, another daemon) be seen.
 */
export interface Unit<T> {
  /** Where the unit is stored (a file's path): the name logs, errors and daemon.status show. */
  readonly key: string;
  /** The version last read or written; undefined before the first read and after `forget`. */
  readonly version: UnitVersion | undefined;
  /**
   * Every writer of this unit writes by compare-and-set on the version it read (daemons sharing a
   * database): another writer's change always builds on ours and never overwrites a write we
   * acknowledged. False for files, which Specter or a hand edit may replace without reading.
   */
  readonly writersCompareAndSet: boolean;
  /**
   * Reads and decodes the unit, and makes that the remembered version. A unit that does not decode
   * throws `corrupt(key)` (or the backend's own CORRUPT), a failed read STORAGE_FAILED; either way
   * the remembered version stays as it was.
   */
  read(corrupt: (key: string) => CofferError): Promise<Loaded<T>>;
  /** Whether the unit is still the remembered version; false when unsure. Never rejects. */
  unchanged(): Promise<boolean>;
  /**
   * `unchanged()` for reads: callers that come while a check is waiting share it (it looks after
   * they came), so many concurrent reads of one unit cost one look.
   */
  checkUnchanged(): Promise<boolean>;
  /**
   * Stores `bytes` durably (null: removes the unit), and makes that the remembered version.
   * Rejects with the backend's error, the stored unit then as it was before the call; with
   * `UnitMovedError` when a backend shared by several writers (a database) finds the unit is no
   * longer the remembered version: the store then reads it again and re-applies its changes.
   */
  write(bytes: Buffer | null): Promise<void>;
  /** Forgets the remembered version: the next check says changed. */
  forget(): void;
  /**
   * Replaces the older versions a backend keeps beside the unit (the specter layout's `.bkp`) by
   * the current one. After a secret rotation they would be sealed under a secret that is about to
   * be forgotten, and after a password change they would still open with the old password.
   * Absent when the backend keeps none.
   */
  supersede?(): Promise<void>;
}

/**
 * Another writer changed the unit after the version a write was based on, and nothing was written
 * (a compare-and-set that failed). Only backends several daemons share raise it.
 */
export class UnitMovedError extends Error {
  constructor(readonly key: string) {
    super(`${key} changed while this write was prepared`);
  }
}

export interface BackendHealth {
  readonly reachable: boolean;
  /** Whether `follow`'s feed is connected ('off' when nothing follows). */
  readonly changeFeed: 'up' | 'down' | 'off';
  /** Why the last query failed, when it did (no URL, no data: the driver's message). */
  readonly error: string | null;
}

/** A backend's units: opened by key, each decoded by its codec. */
export interface Units {
  /**
   * Backends several daemons share tell of every change by any of them (a database's
   * notifications): `onChange` gets the key of a changed unit, `onGap` says some may have been
   * missed (the feed was down), so every cached unit must be checked. Resolves with a stop function.
   */
  follow?(onChange: (key: string) => void, onGap: () => void): Promise<() => Promise<void>>;
  /** A database's health, asked for daemon.status: one query, answered or not. */
  health?(): Promise<BackendHealth>;
  /**
   * 'files': units are files under the data dir, which the watcher follows, the start-up sweep
   * cleans and daemon.backup copies. 'database': none of these apply (the database has its own).
   */
  readonly kind: 'files' | 'database';
  open<T>(key: string, codec: Codec<T>): Unit<T>;
  /** Whether anything is stored under `key` (or kept beside it), readable or not. */
  present(key: string): Promise<boolean>;
  /**
   * The names of what is stored directly under `folder` (keys are paths: `folder/name`), in no
   * particular order; none when there is no such folder. Unrelated entries may be among them (a
   * hand-made file, a kept older version): the layout picks its own by their names.
   */
  list(folder: string): Promise<string[]>;
}
