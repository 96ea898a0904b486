import { CofferError } from '@coffer/protocol';
import type { UnlockedUser } from '../port/users.js';
import type { DocField, DocModel, Layout } from '../port/layout.js';
import { DocFields, docRevision, hasSealed, isAbsent, replaceDoc, type Opened } from './doc-fields.js';
import type { CachedUnit } from './cached-unit.js';
import { mergePatch, type JsonObject } from './merge.js';
import type { IfRevision } from './services.js';
import type { Store } from './store.js';

export interface DocView {
  data: JsonObject;
  encryptedFields: string[];
  locked: string[];
  revision: string;
}

export interface DocSummary {
  name: string;
  owner: string | null;
  encryptedFields: string[];
}

/**
 * Generic documents (DESIGN §2, Specter's GenericDataManager): one JSON object per name, whose
 * declared `encryptedFields` are sealed under the secret of the user whose session declared them,
 * the document's `owner` (null while nothing is declared).
 *
 * Who may do what: reading needs no session; sealed fields open only for the owner's session and
 * are otherwise named in `locked`. A write needs the owner's session when it would change what the
 * owner's secret protects: a sealed value (set replaces them all; update touches the fields its
 * patch names), the declaration, or a new value for a declared field; deleting a document with a
 * declaration does too. Declaring fields on a document without an owner takes any session, whose
 * user becomes the owner. Everything else (plain fields) is open to any caller, as in Specter.
 * A session passed but not valid is LOCKED even where none is needed: the caller asked for it.
 */
export class Docs {
  private readonly fields: DocFields;

  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
  ) {
    this.fields = new DocFields(layout);
  }

  async get(name: string, reader: UnlockedUser | undefined): Promise<DocView> {
    const model = await this.document(name).read();
    const revision = docRevision(name, model);
    if (revision === null) throw new CofferError('NOT_FOUND', `No document ${name}`);
    this.checkConsistent(name, model, revision);
    const { data, locked } = this.fields.view(name, model, reader, revision);
    return { data, encryptedFields: [...model.encryptedFields], locked, revision };
  }

  /** Every document, by name (the layout lists only files whose names our rules accept). */
  async list(): Promise<DocSummary[]> {
    const names = (await this.layout.listDocs()).sort();
    const docs: DocSummary[] = [];
    for (const name of names) {
      const model = await this.document(name).read();
      if (!isAbsent(model)) docs.push({ name, owner: model.owner, encryptedFields: [...model.encryptedFields] });
    }
    return docs;
  }

  set(
    name: string,
    data: JsonObject,
    encryptedFields: readonly string[] | undefined,
    caller: UnlockedUser | undefined,
    ifRevision: IfRevision,
  ): Promise<{ revision: string | null }> {
    return this.document(name).mutate((draft) => {
      const model = draft.model;
      const revision = this.checkRevision(name, model, ifRevision);
      this.checkConsistent(name, model, revision);
      this.checkReserved(name, [...data.keys()]);
      const declared = [...(encryptedFields ?? model.encryptedFields)];
      const declarationChanges = JSON.stringify(declared) !== JSON.stringify(model.encryptedFields);
      const sealsNew = [...data].some(([field, value]) => this.fields.seals(declared, field, value));
      const needsKey = hasSealed(model) || sealsNew || (declarationChanges && (model.owner !== null || declared.length > 0));
      const key = needsKey ? this.keyHolder(name, model, caller) : undefined;
      // Every sealed value is replaced: each must open first (unless ifRevision says "this one").
      const opened = new Map<string, Opened | undefined>();
      for (const [field, stored] of model.fields) {
        if (stored.sealed) opened.set(field, this.fields.openForReplace(key!, name, field, stored.token, revision, ifRevision !== undefined));
      }
      const fields = new Map<string, DocField>();
      for (const [field, value] of data) {
        fields.set(field, this.fields.store(key, declared, name, field, value, model.fields.get(field), opened.get(field)));
      }
      const next = this.fields.settle({ owner: null, encryptedFields: declared, fields }, model.owner ?? key?.username ?? null);
      return { revision: replaceDoc(name, draft, next) };
    });
  }

  update(
    name: string,
    patch: JsonObject,
    caller: UnlockedUser | undefined,
    ifRevision: IfRevision,
  ): Promise<{ data: JsonObject; revision: string | null }> {
    return this.document(name).mutate((draft) => {
      const model = draft.model;
      const revision = this.checkRevision(name, model, ifRevision);
      this.checkConsistent(name, model, revision);
      const declared = model.encryptedFields;
      const touched = [...patch.keys()];
      this.checkReserved(name, touched);
      const touchesSealed = touched.some((field) => declared.includes(field) || model.fields.get(field)?.sealed === true);
      const key = touchesSealed ? this.keyHolder(name, model, caller) : undefined;
      const fields = new Map(model.fields);
      for (const field of touched) {
        const current = model.fields.get(field);
        const opened = current?.sealed
          ? this.fields.openForReplace(key!, name, field, current.token, revision, ifRevision !== undefined)
          : undefined;
        const value = patch.get(field)!;
        if (value === null) {
          fields.delete(field);
          continue;
        }
        const before = current === undefined ? undefined : current.sealed ? opened?.value : current.value;
        fields.set(field, this.fields.store(key, declared, name, field, mergePatch(before, value), current, opened));
      }
      const next = this.fields.settle({ owner: null, encryptedFields: [...declared], fields }, model.owner ?? key?.username ?? null);
      // Built before the draft changes: a sealed field that does not open fails the call alone
      // (CORRUPT names the stored revision, the one a replacing write must give).
      const { data } = this.fields.view(name, next, caller, revision);
      return { data, revision: replaceDoc(name, draft, next) };
    });
  }

  delete(name: string, caller: UnlockedUser | undefined, ifRevision: IfRevision): Promise<{ revision: null }> {
    return this.document(name).mutate((draft) => {
      const model = draft.model;
      this.checkRevision(name, model, ifRevision);
      if (isAbsent(model)) return { revision: null };
      if (model.owner !== null || hasSealed(model)) this.keyHolder(name, model, caller);
      draft.markRemoved();
      return { revision: null };
    });
  }

  private checkRevision(name: string, model: DocModel, ifRevision: IfRevision): string | null {
    const revision = docRevision(name, model);
    if (ifRevision !== undefined && ifRevision !== revision) {
      throw new CofferError('CONFLICT', `Document ${name} changed (revision ${revision ?? 'null: absent'}); re-read and retry`, {
        revision,
      });
    }
    return revision;
  }

  private document(name: string): CachedUnit<DocModel> {
    const spec = this.layout.docFile(name);
    return this.store.unit(spec);
  }

  /**
   * Whose secret a write that touches protected state uses. Recorded owner: the owner's session,
   * or, on a document without an owner, any session (its user becomes the owner). By secret
   * (specter): a session whose secret opens one of the sealed fields, or any session when there
   * is none. LOCKED otherwise.
   */
  private keyHolder(name: string, model: DocModel, caller: UnlockedUser | undefined): UnlockedUser {
    if (this.layout.docFormat.owner === 'recorded') return ownerSession(name, model, caller);
    if (!caller) throw new CofferError('LOCKED', `Encrypted fields of document ${name} need a session: log in and pass it`);
    if (!hasSealed(model) || this.fields.opensAny(caller, name, model)) return caller;
    throw new CofferError(
      'LOCKED',
      `The encrypted fields of document ${name} are sealed under another user's secret: this write needs that user's session`,
    );
  }

  /** A sealed field with no recorded owner cannot be opened by anyone: the file was altered. */
  private checkConsistent(name: string, model: DocModel, revision: string | null): void {
    if (this.layout.docFormat.owner === 'recorded' && model.owner === null && hasSealed(model)) {
      throw new CofferError('CORRUPT', `Document ${name} has sealed fields but no owner; it was left untouched`, { revision });
    }
  }

  /** Keys the file format writes itself (Specter's encrypted_storage_version) are not data. */
  private checkReserved(name: string, fields: readonly string[]): void {
    const reserved = fields.find((field) => this.layout.docFormat.reservedFields.includes(field));
    if (reserved !== undefined) {
      throw new CofferError('INVALID_PARAMS', `Invalid params: ${reserved} is written by the file format of ${name} itself; leave it out of the data`);
    }
  }
}

function ownerSession(name: string, model: DocModel, caller: UnlockedUser | undefined): UnlockedUser {
  if (model.owner === null) {
    if (caller) return caller;
    throw new CofferError('LOCKED', `Encrypted fields of document ${name} need a session: log in and pass it`);
  }
  if (caller?.username === model.owner) return caller;
  throw new CofferError(
    'LOCKED',
    `The encrypted fields of document ${name} belong to ${model.owner}: this write needs a session of ${model.owner}`,
    { owner: model.owner },
  );
}
