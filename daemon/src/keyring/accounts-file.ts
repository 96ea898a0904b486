import path from 'node:path';
import { CofferError } from '@coffer/protocol';
import type { FileSpec } from '../port/layout.js';
import type { Codec, Units } from '../port/storage.js';
import type { Draft } from '../store/cached-unit.js';
import type { Store } from '../store/store.js';
import type { AccountsCodec } from '../port/accounts.js';

type Accounts<R> = Map<string, R>;

/**
 * The part of the store's CachedUnit used here, in method syntax: a Keyring<SpecterAccount> must
 * still pass for a Keyring<unknown> (layout/kits.ts), which a CachedUnit field's queue would forbid.
 */
interface AccountsUnit<R> {
  read(): Promise<Accounts<R>>;
  peek(): Accounts<R> | undefined;
  mutate<T>(apply: (draft: Draft<Accounts<R>>) => T): Promise<T>;
  supersede(): Promise<void>;
}

/**
 * The accounts file (users.json) as the keyring holds it: one store CachedUnit like every other file
 * (so its writes are serialized, grouped, counted in daemon.status, and a failed directory fsync
 * degrades the whole store), with the accounts policy: a copy broken by hand is refused, never
 * served or overwritten, and a deleted file keeps the accounts in memory until the next write puts
 * it back. The specter layout's units read and keep `users.json.bkp` as Specter does.
 *
 * Each call first compares the file's version with what we last read or wrote, so a hand edit or
 * a restored backup is picked up (the store's watcher may tell us sooner).
 */
export class AccountsFile<R> {
  readonly path: string;
  private readonly doc: AccountsUnit<R>;
  /** Why the file was last refused; kept for the synchronous lookups. */
  private refusal: CofferError | undefined;

  constructor(store: Store, dataDir: string, codec: AccountsCodec<R>, units: Units) {
    this.path = path.join(dataDir, codec.fileName);
    const spec: FileSpec<Accounts<R>> = { path: this.path, topic: { scope: 'accounts' }, codec: documentCodec(codec), units };
    this.doc = store.unit(spec, { broken: 'refuse', vanished: 'keep' });
  }

  /** Reads the file at start. Never throws for a bad file: that is the corrupt state. */
  async load(): Promise<void> {
    await this.current().catch((error: unknown) => {
      if (!(error instanceof CofferError)) throw error;
    });
  }

  get isCorrupt(): boolean {
    return this.doc.peek() === undefined;
  }

  /** The accounts as of the last check, synchronously (for lookups that cannot wait). Throws CORRUPT. */
  snapshot(): ReadonlyMap<string, R> {
    const accounts = this.doc.peek();
    if (!accounts) throw this.refusal ?? new CofferError('CORRUPT', `${this.path} could not be read; it was left untouched`);
    return accounts;
  }

  /** The accounts, re-read first if the file changed on disk. Throws CORRUPT. */
  async current(): Promise<ReadonlyMap<string, R>> {
    try {
      const accounts = await this.doc.read();
      this.refusal = undefined;
      return accounts;
    } catch (error) {
      if (error instanceof CofferError && error.reason === 'CORRUPT') this.refusal = error;
      throw error;
    }
  }

  /**
   * Applies `change` to a copy of the current accounts and makes that copy durable, then current.
   * `change` may throw a CofferError to refuse (nothing is written). Write failures answer
   * STORAGE_FAILED. Returns what `change` returned.
   */
  mutate<T>(change: (draft: Map<string, R>) => T): Promise<T> {
    return this.doc.mutate((draft) => {
      // `change` may throw after editing its map; the group's shared draft changes only once it returned.
      const edited = new Map(draft.model);
      const result = change(edited);
      draft.model.clear();
      for (const [name, record] of edited) draft.model.set(name, record);
      draft.markChanged();
      return result;
    });
  }

  /** Drops kept older versions of the file (FileIo.supersede): after a password change. */
  supersede(): Promise<void> {
    return this.doc.supersede();
  }
}

/** The layout's accounts codec as a store codec: a missing file is no accounts. */
function documentCodec<R>(codec: AccountsCodec<R>): Codec<Accounts<R>> {
  return {
    empty: () => codec.decode(null),
    decode: (bytes) => codec.decode(bytes),
    encode: (accounts) => codec.encode(accounts),
    clone: (accounts) => new Map(accounts),
  };
}
