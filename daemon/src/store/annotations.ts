import { CofferError, stringifyLossless, type LosslessValue } from '@coffer/protocol';
import { revisionOf } from '../crypto/revision.js';
import type { AnnotationsModel, Layout } from '../port/layout.js';
import type { CachedUnit, Draft } from './cached-unit.js';
import { mergePatch, type JsonObject } from './merge.js';
import type { Store } from './store.js';
import type { IfRevision } from './services.js';

export type AnnotationKind = 'addr' | 'tx';

/** Which annotations file: a user's annotations of one wallet for one service. */
export interface AnnotationsKey {
  readonly username: string;
  readonly wallet: string;
  readonly service: string;
}

export interface AnnotationEntry {
  wallet: string;
  service: string;
  kind: AnnotationKind;
  id: string;
}

function mapOf(model: AnnotationsModel, kind: AnnotationKind): Map<string, LosslessValue> {
  return kind === 'addr' ? model.addrs : model.txs;
}

function isEmpty(model: AnnotationsModel): boolean {
  return model.addrs.size === 0 && model.txs.size === 0;
}

/**
 * Annotations (DESIGN §2, specter-format §10): per user, wallet and service, an `addrs` map and a
 * `txs` map of plain JSON values. One revision covers the whole file, so a compare-and-set on one
 * annotation also fails when another one of the same file changed. A file with no annotation
 * reads as revision null, and `ifRevision: null` means "only while this file has none". An
 * absent annotation reads as `data: null` (Specter's `get`).
 */
/**
 * The file's revision: a hash of its annotations in file order (what the API exposes; a layout's
 * other members are carried through, not served). Null when it has none.
 */
export function annotationsRevision(file: AnnotationsKey, model: AnnotationsModel): string | null {
  if (isEmpty(model)) return null;
  const stored = stringifyLossless([[...model.addrs], [...model.txs]]);
  return revisionOf(`annotations\0${file.username}\0${file.wallet}\0${file.service}`, stored);
}

export class Annotations {
  /** Revisions of committed states, which never change once committed (CachedUnit.read()). */
  private readonly committedRevisions = new WeakMap<AnnotationsModel, string | null>();

  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
  ) {}

  async getAll(file: AnnotationsKey): Promise<{ addrs: JsonObject; txs: JsonObject; revision: string | null }> {
    const model = await this.document(file).read();
    // Maps (the lossless model): an id read from a hand-edited file such as "__proto__" stays data.
    return { addrs: new Map(model.addrs), txs: new Map(model.txs), revision: this.committedRevision(file, model) };
  }

  async get(file: AnnotationsKey, kind: AnnotationKind, id: string): Promise<{ data: LosslessValue; revision: string | null }> {
    const model = await this.document(file).read();
    return { data: mapOf(model, kind).get(id) ?? null, revision: this.committedRevision(file, model) };
  }

  set(file: AnnotationsKey, kind: AnnotationKind, id: string, data: LosslessValue, ifRevision: IfRevision): Promise<{ revision: string }> {
    return this.document(file).mutate((draft) => {
      this.checkRevision(file, draft.model, ifRevision);
      this.put(draft, kind, id, data);
      return { revision: this.revision(file, draft.model)! };
    });
  }

  update(
    file: AnnotationsKey,
    kind: AnnotationKind,
    id: string,
    patch: JsonObject,
    ifRevision: IfRevision,
  ): Promise<{ data: LosslessValue; revision: string }> {
    return this.document(file).mutate((draft) => {
      this.checkRevision(file, draft.model, ifRevision);
      const map = mapOf(draft.model, kind);
      // RFC 7396: a value that is not an object is replaced as if it were {}.
      const data = mergePatch(map.get(id) ?? new Map(), patch);
      this.put(draft, kind, id, data);
      return { data, revision: this.revision(file, draft.model)! };
    });
  }

  delete(file: AnnotationsKey, kind: AnnotationKind, id: string, ifRevision: IfRevision): Promise<{ revision: string | null }> {
    return this.document(file).mutate((draft) => {
      this.checkRevision(file, draft.model, ifRevision);
      const map = mapOf(draft.model, kind);
      if (map.has(id)) {
        map.delete(id);
        // A file left with nothing in it goes away, so it no longer shows in list or on disk; one
        // that still carries other members (`meta` not null, e.g. kept from a Specter file) stays.
        if (isEmpty(draft.model) && draft.model.meta === null) draft.markRemoved();
        else draft.markChanged();
      }
      return { revision: this.revision(file, draft.model) };
    });
  }

  /** Every annotation of the user, optionally of one wallet and/or service, in a stable order. */
  async list(username: string, filter: { wallet?: string; service?: string }): Promise<AnnotationEntry[]> {
    const files = (await this.layout.listAnnotationsFiles(username))
      .map(({ wallet, service }) => ({ username, wallet, service }))
      .filter((f) => (filter.wallet ?? f.wallet) === f.wallet && (filter.service ?? f.service) === f.service)
      .filter((f) => this.addressable(f))
      .sort((a, b) => compare(a.wallet, b.wallet) || compare(a.service, b.service));
    const entries: AnnotationEntry[] = [];
    for (const file of files) {
      const { wallet, service } = file;
      const model = await this.document(file).read();
      for (const id of model.addrs.keys()) entries.push({ wallet, service, kind: 'addr', id });
      for (const id of model.txs.keys()) entries.push({ wallet, service, kind: 'tx', id });
    }
    return entries;
  }

  /** A file whose name our name rules refuse (put there by hand) is not one of ours to serve. */
  private addressable(file: AnnotationsKey): boolean {
    try {
      this.layout.annotationsFile(file.username, file.wallet, file.service);
      return true;
    } catch (error) {
      if (error instanceof CofferError && error.reason === 'INVALID_PARAMS') return false;
      throw error;
    }
  }

  /** Stores `data` under the id unless the same value is already there (no write, same revision). */
  private put(draft: Draft<AnnotationsModel>, kind: AnnotationKind, id: string, data: LosslessValue): void {
    const map = mapOf(draft.model, kind);
    const current = map.get(id);
    if (current !== undefined && stringifyLossless(current) === stringifyLossless(data)) return;
    map.set(id, data);
    draft.markChanged();
  }

  private checkRevision(file: AnnotationsKey, model: AnnotationsModel, ifRevision: IfRevision): void {
    if (ifRevision === undefined) return;
    const revision = this.revision(file, model);
    if (ifRevision !== revision) {
      throw new CofferError(
        'CONFLICT',
        `The annotations of wallet ${file.wallet} for ${file.service} changed (revision ${revision ?? 'null: none'}); re-read and retry`,
        { revision },
      );
    }
  }

  private committedRevision(file: AnnotationsKey, model: AnnotationsModel): string | null {
    let revision = this.committedRevisions.get(model);
    if (revision === undefined) {
      revision = this.revision(file, model);
      this.committedRevisions.set(model, revision);
    }
    return revision;
  }

  /**
   * The file's revision: a keyed hash of its annotations in file order (what the API exposes;
   * a layout's other members are carried through, not served). Null when it has none.
   */
  private revision(file: AnnotationsKey, model: AnnotationsModel): string | null {
    return annotationsRevision(file, model);
  }

  private document(file: AnnotationsKey): CachedUnit<AnnotationsModel> {
    const spec = this.layout.annotationsFile(file.username, file.wallet, file.service);
    return this.store.unit(spec);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
