import { CofferError } from '@coffer/protocol';
import type { Codec, Loaded, Unit, Units } from '../port/storage.js';
import { readFailed } from '../port/errors.js';
import { digestOf } from '../base/digest.js';
import { FileVersion, identityOf, isRacy, sameIdentity, wallClockNs, type Identity } from './version.js';
import { ifPresent, type Fs } from '../disk/fs.js';
import type { FileIo } from './io.js';
import { SharedLook } from '../base/shared-look.js';

/**
 * A file that does not parse may be caught half-way through an in-place rewrite (Specter writes
 * its files in place): it is read again after these pauses (ms) before it counts as CORRUPT.
 */
const REREAD_DELAYS_MS = [5, 10, 20, 40, 80];

/** A file's model and the version it was read from. */
interface LoadedFile<T> extends Loaded<T> {
  readonly version: FileVersion;
}

/** Why a look at a file gave no model, and which version of it was looked at. */
interface Failed {
  failure: CofferError;
  identity: Identity;
}

interface VersionedFile<T> {
  readonly fs: Fs;
  readonly path: string;
  readonly io: FileIo;
  readonly codec: Codec<T>;
}

/**
 * One look at a file, started at `seenAt`: its model, or why it has none (CORRUPT, from the codec
 * or the specter layout's io when neither the file nor its .bkp parses). I/O errors throw.
 */
async function readVersion<T>(file: VersionedFile<T>, corrupt: (path: string) => CofferError, seenAt: bigint): Promise<LoadedFile<T> | Failed> {
  let identity: Identity = null;
  let bytes: Buffer | null;
  try {
    identity = identityOf(await file.fs.stat(file.path));
    bytes = await file.io.read(file.fs, file.path);
  } catch (error) {
    if (error instanceof CofferError) return { failure: error, identity };
    throw readFailed(file.path, error);
  }
  try {
    return { model: bytes === null ? file.codec.empty() : file.codec.decode(bytes), version: FileVersion.seen(identity, bytes, seenAt) };
  } catch (error) {
    return { failure: error instanceof CofferError ? error : corrupt(file.path), identity };
  }
}

/**
 * A file as a CachedUnit's unit (port/storage.ts): reads it (re-reading a file caught half-written),
 * tells whether it is still the version the cached state came from (version.ts), and writes it
 * durably through the layout's FileIo, recording the version of each of our writes.
 */
export class FileUnit<T> implements Unit<T> {
  readonly writersCompareAndSet = false;
  /** The version last read or written (undefined until then, and after `forget`). */
  version: FileVersion | undefined;
  /** A version that still did not parse after the re-reads: not waited for again. */
  private rejected: Identity | undefined;
  private readonly check = new SharedLook(() => this.unchanged());

  private readonly file: VersionedFile<T>;

  constructor(fs: Fs, path: string, io: FileIo, codec: Codec<T>) {
    this.file = { fs, path, io, codec };
  }

  get key(): string {
    return this.file.path;
  }

  forget(): void {
    this.version = undefined;
  }

  /** Many concurrent reads of one file cost one stat (SharedLook). */
  checkUnchanged(): Promise<boolean> {
    return this.check.run();
  }

  /** Whether the file is still `version` (a racy one: by content). Never rejects: false if unsure. */
  async unchanged(): Promise<boolean> {
    const version = this.version;
    if (version === undefined) return false;
    try {
      const seenAt = wallClockNs();
      const now = identityOf(await this.file.fs.stat(this.file.path));
      if (!sameIdentity(version.identity, now)) return false;
      if (!version.racy) return true;
      if (digestOf(await this.file.io.read(this.file.fs, this.file.path)) !== version.digest) return false;
      if (!isRacy(now, seenAt)) version.racy = false;
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Reads and decodes the file. One that does not parse is read again after short pauses (it may
   * be half-way through an in-place rewrite), then is `corrupt`; a half-written file is never
   * taken for the file's content.
   */
  async read(corrupt: (path: string) => CofferError): Promise<Loaded<T>> {
    for (let attempt = 0; ; attempt++) {
      const result = await readVersion(this.file, corrupt, wallClockNs());
      if ('model' in result) {
        this.version = result.version;
        return result;
      }
      const { failure, identity } = result;
      const rejected = this.rejected !== undefined && sameIdentity(identity, this.rejected);
      const delay = failure.reason === 'CORRUPT' && !rejected ? REREAD_DELAYS_MS[attempt] : undefined;
      if (delay === undefined) {
        if (failure.reason === 'CORRUPT') this.rejected = identity;
        throw failure;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /**
   * Writes (or removes) the file durably, then records the version of our write. A failed stat
   * after it leaves no identity: the next look re-reads the file and knows our bytes by their digest.
   */
  async write(bytes: Buffer | null): Promise<void> {
    const { fs, path, io } = this.file;
    if (bytes) await io.write(fs, path, bytes);
    else await io.remove(fs, path);
    const seenAt = wallClockNs();
    const stat = await fs.stat(path).catch(() => undefined);
    this.version = stat === undefined ? new FileVersion(null, digestOf(bytes), true) : FileVersion.seen(identityOf(stat), bytes, seenAt);
  }

  /** Only for a layout whose io keeps older versions (FileIo.supersede). */
  get supersede(): (() => Promise<void>) | undefined {
    const { fs, path, io } = this.file;
    const supersede = io.supersede;
    return supersede && (() => supersede.call(io, fs, path));
  }
}

/** The file backend: a unit is the file at its key (a path), read and written through `io`. */
export class FileUnits implements Units {
  readonly kind = 'files' as const;

  constructor(
    private readonly fs: Fs,
    private readonly io: FileIo,
  ) {}

  open<T>(path: string, codec: Codec<T>): FileUnit<T> {
    return new FileUnit(this.fs, path, this.io, codec);
  }

  list(folder: string): Promise<string[]> {
    return ifPresent(this.fs.readdir(folder), []);
  }

  /** The file, or its kept older version, is there; a file that cannot be read counts as there. */
  present(path: string): Promise<boolean> {
    return this.io.read(this.fs, path).then(
      (bytes) => bytes !== null,
      () => true,
    );
  }
}
