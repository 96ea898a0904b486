import { CofferError, RawJson } from '@coffer/protocol';
import { revisionOf } from '../crypto/revision.js';
import type { UnlockedUser } from '../port/users.js';
import type { Layout, ServicesModel } from '../port/layout.js';
import type { CachedUnit } from './cached-unit.js';
import type { LosslessValue } from '@coffer/protocol';
import { isJsonObject, mergePatch, shallowUpdate, type JsonObject } from './merge.js';
import type { Store } from './store.js';

/** Whose service data, and whether it is the encrypted or the unencrypted file. */
export type ServiceOwner = { encrypted: true; user: UnlockedUser } | { encrypted: false; username: string };

export interface ServiceValue {
  /** The model, or (from get) the stored JSON text of the object, answered as it is. */
  data: JsonObject | RawJson;
  revision: string | null;
}

/** What is known about one stored value of a committed model (see ServiceData.memo). */
interface Memo {
  stored: string;
  revision: string;
  /** Its text was checked to be one JSON object on one line: a get splices it into the answer. */
  spliceable?: boolean;
}

interface Current {
  stored: string;
  /** The opened text; undefined for an entry that does not open, replaced on purpose. */
  text: string | undefined;
}

/** `ifRevision`: undefined = unconditional, null = only if absent, a string = only if unchanged. */
export type IfRevision = string | null | undefined;

/** The revision of one service's stored value (DESIGN §3.3). */
export function serviceRevision(encrypted: boolean, username: string, service: string, stored: string): string {
  return revisionOf(`services\0${encrypted ? 'encrypted' : 'unencrypted'}\0${username}\0${service}`, stored);
}

function usernameOf(owner: ServiceOwner): string {
  return owner.encrypted ? owner.user.username : owner.username;
}

/**
 * Service data (DESIGN §2): a JSON object per service id, per user, in the user's encrypted or
 * unencrypted services file. An absent service reads as `{data:{}, revision:null}`, and storing
 * `{}` removes the entry (as in Specter, so both read the same). Every change goes through the
 * file's queue; encrypted values are sealed under the user's secret with their place bound in.
 */
export class ServiceData {
  /**
   * Revisions already hashed, per file model: a committed model is replaced by the next commit,
   * never changed, so its memo goes away with it (WeakMap). Hashing the stored value cost a cached
   * get as much as decrypting it (BENCHMARKS.md). Each memo entry keeps the stored value it was
   * hashed from and is used only for that same value, so a stale one can never be returned.
   */
  private readonly revisions = new WeakMap<ServicesModel, Map<string, Memo>>();

  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
  ) {}

  async get(owner: ServiceOwner, service: string): Promise<ServiceValue> {
    const model = await this.file(owner).read();
    const stored = model.entries.get(service);
    if (stored === undefined) return { data: new Map(), revision: null };
    const memo = this.memo(model, owner, service, stored);
    const text = this.openText(owner, service, stored);
    return { data: this.answer(owner, service, memo, text), revision: memo.revision };
  }

  /**
   * The value as answered: its stored text itself when that is one JSON object on one line (the
   * exact value, with no parse and re-encode: BENCHMARKS.md "Lossless values: cost"), else the
   * parsed model (a text with a raw newline, CORRUPT if it is not a JSON object). A checked text
   * is remembered by its stored form, which always opens to the same text.
   */
  private answer(owner: ServiceOwner, service: string, memo: Memo, text: string): JsonObject | RawJson {
    if (memo.spliceable === undefined) memo.spliceable = isOneLineObject(text);
    return memo.spliceable ? new RawJson(text) : this.parse(owner, service, memo.stored, text);
  }

  async list(owner: ServiceOwner): Promise<string[]> {
    return [...(await this.file(owner).read()).entries.keys()];
  }

  /** The ids in a user's services file, read without opening any value (no secret needed). */
  async ids(username: string, encrypted: boolean): Promise<string[]> {
    return [...(await this.store.unit(this.layout.servicesFile(username, encrypted)).read()).entries.keys()];
  }

  /**
   * Empties a user's services file without the secret (Specter's delete_all_service_data): the
   * file is written as the empty model (Specter writes `{}`), and a kept older copy (specter:
   * `.bkp`) is replaced too, since wiping is for data that must not outlive its secret.
   */
  async wipe(username: string, encrypted: boolean): Promise<{ removed: number }> {
    const doc = this.store.unit(this.layout.servicesFile(username, encrypted));
    const removed = await doc.mutate((draft) => {
      const count = draft.model.entries.size;
      draft.markRemoved();
      draft.markChanged();
      return count;
    });
    await doc.supersede();
    return { removed };
  }

  set(owner: ServiceOwner, service: string, data: JsonObject, ifRevision: IfRevision): Promise<{ revision: string | null }> {
    return this.file(owner).mutate((draft) =>
      this.withOneAccess(owner, () => {
        const current = this.current(owner, service, draft.model, ifRevision);
        return { revision: this.replace(owner, service, draft, current, data) };
      }),
    );
  }

  update(owner: ServiceOwner, service: string, patch: JsonObject, shallow: boolean, ifRevision: IfRevision): Promise<ServiceValue> {
    return this.file(owner).mutate((draft) =>
      this.withOneAccess(owner, () => {
        const current = this.current(owner, service, draft.model, ifRevision);
        if (current && current.text === undefined) throw this.corrupt(owner, service, current.stored);
        const before: JsonObject = current?.text === undefined ? new Map() : this.parse(owner, service, current.stored, current.text);
        // Specter's update_service_data: an empty patch is a no-op, nothing is written.
        if (patch.size === 0) {
          return { data: before, revision: current ? this.revisionIn(draft.model, owner, service, current.stored) : null };
        }
        const after = shallow ? shallowUpdate(before, patch) : mergePatch(before, patch);
        if (!isJsonObject(after)) throw new Error('a merge of two objects is an object');
        return { data: after, revision: this.replace(owner, service, draft, current, after) };
      }),
    );
  }

  delete(owner: ServiceOwner, service: string, ifRevision: IfRevision): Promise<{ revision: null }> {
    return this.file(owner).mutate((draft) => {
      if (this.current(owner, service, draft.model, ifRevision)) {
        draft.model.entries.delete(service);
        draft.markChanged();
      }
      return { revision: null };
    });
  }

  /**
   * Runs a mutation of an encrypted file inside one access to the user's secret, so that opening
   * the current value and sealing the new one share one unprotect/protect of the secret memory
   * (nested accesses reuse the outer one) instead of paying two each: those mprotect calls were
   * the largest cost of an encrypted write (BENCHMARKS.md). `fn` is synchronous and never sees
   * the secret; the memory is protected again as soon as it returns.
   */
  private withOneAccess<T>(owner: ServiceOwner, fn: () => T): T {
    return owner.encrypted ? owner.user.withSecret(() => fn()) : fn();
  }

  /**
   * The stored entry and its text, after the `ifRevision` check. An entry that does not open
   * (moved, altered) is never replaced by accident: only a write naming its revision may (its
   * `text` is then undefined).
   */
  private current(owner: ServiceOwner, service: string, model: ServicesModel, ifRevision: IfRevision): Current | undefined {
    const stored = model.entries.get(service);
    // Hashed only for a conditional write: an unconditional one has nothing to compare.
    if (ifRevision !== undefined) {
      const revision = stored === undefined ? null : this.revision(owner, service, stored);
      if (ifRevision !== revision) {
        throw new CofferError('CONFLICT', `Service ${service} changed (revision ${revision ?? 'null: absent'}); re-read and retry`, {
          revision,
        });
      }
    }
    if (stored === undefined) return undefined;
    try {
      return { stored, text: this.openText(owner, service, stored) };
    } catch (error) {
      if (ifRevision !== undefined && error instanceof CofferError && error.reason === 'CORRUPT') return { stored, text: undefined };
      throw error;
    }
  }

  /**
   * Puts `data` in place of `current` in the draft; returns the new revision. `{}` removes a present
   * entry and is stored for an absent one, as Specter's set_service_data does.
   */
  private replace(
    owner: ServiceOwner,
    service: string,
    draft: { model: ServicesModel; markChanged(): void },
    current: Current | undefined,
    data: JsonObject,
  ): string | null {
    const entries = draft.model.entries;
    if (data.size === 0 && current) {
      entries.delete(service);
      draft.markChanged();
      return null;
    }
    const text = this.layout.valueText.encode(data);
    if (current && current.text === text) {
      // Same value: no write, and the revision stays (an encrypted value keeps its token).
      return this.revision(owner, service, current.stored);
    }
    const stored = owner.encrypted ? this.layout.cipher.seal(owner.user, this.place(owner, service), text) : text;
    entries.set(service, stored);
    draft.markChanged();
    // Into the draft's memo: if the draft is committed, the next get finds it there.
    return this.revisionIn(draft.model, owner, service, stored);
  }

  private parse(owner: ServiceOwner, service: string, stored: string, text: string): JsonObject {
    let value: LosslessValue;
    try {
      value = this.layout.valueText.decode(text);
    } catch {
      throw this.corrupt(owner, service, stored, 'The stored value is not JSON');
    }
    if (!isJsonObject(value)) throw this.corrupt(owner, service, stored);
    return value;
  }

  /**
   * users.rotateSecret: every encrypted value of the user, re-sealed from `from` to `to` in one
   * durable write. Idempotent (values that already open under `to` stay as they are), so the
   * keyring can call it again after a crash. A value that opens under neither is left untouched.
   * Then the file's kept older version, if the layout keeps one, becomes a copy of the new one.
   */
  async reencrypt(username: string, from: UnlockedUser, to: UnlockedUser): Promise<{ resealed: number; unreadable: number }> {
    const doc = this.store.unit(this.layout.servicesFile(username, true));
    const counts = await doc.mutate((draft) => {
      let resealed = 0;
      let unreadable = 0;
      const updates: Array<[string, string]> = [];
      for (const [service, stored] of draft.model.entries) {
        const place = this.place({ encrypted: true, user: to }, service);
        if (this.tryOpen(to, place, stored) !== undefined) continue;
        const text = this.tryOpen(from, place, stored);
        if (text === undefined) unreadable++;
        else updates.push([service, this.layout.cipher.seal(to, place, text)]);
      }
      for (const [service, stored] of updates) {
        draft.model.entries.set(service, stored);
        resealed++;
      }
      if (resealed > 0) draft.markChanged();
      return { resealed, unreadable };
    });
    // A kept older version (specter: .bkp) is under the secret being dropped: it must not outlive it.
    // Always, even when nothing was resealed: a crash may have come between the write and this.
    await doc.supersede();
    return counts;
  }

  private tryOpen(user: UnlockedUser, place: ReturnType<ServiceData['place']>, stored: string): string | undefined {
    try {
      return this.layout.cipher.open(user, place, stored);
    } catch {
      return undefined;
    }
  }

  private openText(owner: ServiceOwner, service: string, stored: string): string {
    if (!owner.encrypted) return stored;
    try {
      const previous = owner.user.previous;
      // Mid-rotation, values not re-sealed yet are still under the previous secret.
      if (previous) {
        const place = this.place(owner, service);
        const text = this.tryOpen(owner.user, place, stored) ?? this.tryOpen(previous, place, stored);
        if (text !== undefined) return text;
      }
      return this.layout.cipher.open(owner.user, this.place(owner, service), stored);
    } catch (error) {
      if (error instanceof CofferError && error.reason === 'CORRUPT') throw this.corrupt(owner, service, stored, error.message);
      throw error;
    }
  }

  private corrupt(owner: ServiceOwner, service: string, stored: string, message?: string): CofferError {
    return new CofferError(
      'CORRUPT',
      `${message ?? 'The stored value is not a JSON object'}; to replace it, write with ifRevision set to data.revision`,
      { revision: this.revision(owner, service, stored) },
    );
  }

  private place(owner: ServiceOwner, service: string) {
    return { username: usernameOf(owner), kind: 'services' as const, key: [service] };
  }

  private revisionIn(model: ServicesModel, owner: ServiceOwner, service: string, stored: string): string {
    return this.memo(model, owner, service, stored).revision;
  }

  private memo(model: ServicesModel, owner: ServiceOwner, service: string, stored: string): Memo {
    let memos = this.revisions.get(model);
    if (!memos) {
      memos = new Map();
      this.revisions.set(model, memos);
    }
    const known = memos.get(service);
    if (known?.stored === stored) return known;
    const memo: Memo = { stored, revision: this.revision(owner, service, stored) };
    memos.set(service, memo);
    return memo;
  }

  private revision(owner: ServiceOwner, service: string, stored: string): string {
    return serviceRevision(owner.encrypted, usernameOf(owner), service, stored);
  }

  private file(owner: ServiceOwner): CachedUnit<ServicesModel> {
    const spec = this.layout.servicesFile(usernameOf(owner), owner.encrypted);
    return this.store.unit(spec);
  }
}

/**
 * Whether a stored text may be answered as it is: one JSON object (JSON.parse is the strict
 * RFC 8259 grammar, and a text that starts with `{` and parses is an object) with no raw newline,
 * which would end the NDJSON frame.
 */
function isOneLineObject(text: string): boolean {
  if (text.charCodeAt(0) !== 0x7b || text.includes('\n')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
