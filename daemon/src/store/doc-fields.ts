import { CofferError, stringifyLossless, type LosslessValue } from '@coffer/protocol';
import { revisionOf } from '../crypto/revision.js';
import type { UnlockedUser } from '../port/users.js';
import type { DocField, DocModel, Layout } from '../port/layout.js';
import type { Draft } from './cached-unit.js';
import type { JsonObject } from './merge.js';

/**
 * A document's fields as stored (DESIGN §2, §3.1): plain, or sealed under the owner's secret with
 * the place `{owner, 'docs', [name, field]}` bound in, so a token copied to another document,
 * field or owner fails to open (CORRUPT) instead of opening in the wrong place.
 */

/** A document that does not exist: no field and no declaration (what a missing file decodes to). */
export function isAbsent(model: DocModel): boolean {
  return model.fields.size === 0 && model.encryptedFields.length === 0;
}

export function hasSealed(model: DocModel): boolean {
  for (const field of model.fields.values()) if (field.sealed) return true;
  return false;
}

/**
 * The document's revision (DESIGN §3.3): a keyed hash of its stored form — owner, declaration,
 * plain values and sealed *tokens*. Tokens carry a random nonce, so it reveals nothing about the
 * sealed values and anyone can compute it without the owner's secret; re-sealing an unchanged
 * value is avoided (the token is kept), so an unchanged document keeps its revision. Null: absent.
 */
export function docRevision(name: string, model: DocModel): string | null {
  if (isAbsent(model)) return null;
  const fields = [...model.fields].map(([field, f]) => (f.sealed ? [field, 1, f.token] : [field, 0, f.value]));
  return revisionOf(`docs\0${name}`, stringifyLossless([model.owner, model.encryptedFields, fields]));
}

function sameField(a: DocField | undefined, b: DocField | undefined): boolean {
  if (!a || !b || a.sealed !== b.sealed) return false;
  if (a.sealed) return a.token === (b as { token: string }).token;
  return stringifyLossless(a.value) === stringifyLossless((b as { value: LosslessValue }).value);
}

/** Same stored form, field order included. */
export function sameDoc(a: DocModel, b: DocModel): boolean {
  if (a.owner !== b.owner || JSON.stringify(a.encryptedFields) !== JSON.stringify(b.encryptedFields)) return false;
  if (a.fields.size !== b.fields.size) return false;
  const bFields = [...b.fields];
  return [...a.fields].every(([field, value], i) => bFields[i]![0] === field && sameField(value, bFields[i]![1]));
}

/**
 * Puts `next` in place of the draft's document unless it is the same (then nothing is written);
 * a document left with nothing is removed. Returns the new revision.
 */
export function replaceDoc(name: string, draft: Draft<DocModel>, next: DocModel): string | null {
  const model = draft.model;
  if (sameDoc(model, next)) return docRevision(name, model);
  model.owner = next.owner;
  model.encryptedFields = next.encryptedFields;
  model.fields.clear();
  for (const [field, value] of next.fields) model.fields.set(field, value);
  if (isAbsent(model)) draft.markRemoved();
  else draft.markChanged();
  return docRevision(name, model);
}

/** An opened sealed field: its value and the exact text it was sealed from. */
export interface Opened {
  value: LosslessValue;
  text: string;
}

export class DocFields {
  constructor(private readonly layout: Layout) {}

  seal(owner: UnlockedUser, name: string, field: string, value: LosslessValue): DocField {
    return this.sealText(owner, name, field, this.layout.docFormat.sealedText.encode(value));
  }

  /** Whether a value written to `field` is sealed: declared, and not a null the format keeps plain. */
  seals(declared: readonly string[], field: string, value: LosslessValue): boolean {
    return declared.includes(field) && !(value === null && this.layout.docFormat.plainNull);
  }

  /** How `value` is stored in `field`: sealed (see `seals`, keeping an unchanged token) or plain. */
  store(key: UnlockedUser | undefined, declared: readonly string[], name: string, field: string, value: LosslessValue, current: DocField | undefined, opened: Opened | undefined): DocField {
    return this.seals(declared, field, value) ? this.sealUnlessSame(key!, name, field, value, current, opened) : { sealed: false, value };
  }

  /**
   * The stored form a model settles to. A format that records no owner nor declaration (specter)
   * reads back the sealed fields as the declaration and no owner: the model is made so now, or
   * the revision of what was written would differ from what a re-read gives.
   */
  settle(next: DocModel, owner: string | null): DocModel {
    if (this.layout.docFormat.owner === 'recorded') return { ...next, owner: next.encryptedFields.length === 0 ? null : owner };
    return { owner: null, encryptedFields: [...next.fields].filter(([, field]) => field.sealed).map(([field]) => field), fields: next.fields };
  }

  /** Whether one of the model's sealed fields opens under `user`'s secret. */
  opensAny(user: UnlockedUser, name: string, model: DocModel): boolean {
    for (const [field, stored] of model.fields) if (stored.sealed && this.tryOpenText(user, name, field, stored.token) !== undefined) return true;
    return false;
  }

  /**
   * Seals `value` for `field`, keeping the current token when it already holds the same text, so
   * rewriting an unchanged value neither writes nor changes the revision.
   */
  sealUnlessSame(owner: UnlockedUser, name: string, field: string, value: LosslessValue, current: DocField | undefined, opened: Opened | undefined): DocField {
    if (current?.sealed && opened && opened.text === this.layout.docFormat.sealedText.encode(value)) return current;
    return this.seal(owner, name, field, value);
  }

  /**
   * Opens a sealed field; CORRUPT (with the document's revision) when it does not open here.
   * Mid-rotation (`owner.previous`), a field not re-sealed yet still opens under the old secret.
   */
  open(owner: UnlockedUser, name: string, field: string, token: string, revision: string | null): Opened {
    let text: string;
    try {
      text = this.openText(owner, name, field, token);
    } catch (error) {
      if (!(error instanceof CofferError && error.reason === 'CORRUPT')) throw error;
      const previous = owner.previous === undefined ? undefined : this.tryOpenText(owner.previous, name, field, token);
      if (previous === undefined) throw corruptField(name, field, revision, error.message);
      text = previous;
    }
    try {
      return { value: this.layout.docFormat.sealedText.decode(text), text };
    } catch {
      throw corruptField(name, field, revision, 'The sealed value is not JSON');
    }
  }

  /**
   * Opens a sealed field that a write is about to replace. A field that does not open is never
   * replaced by accident: only a write naming the revision (`explicit`) may, and it then has no
   * old value (undefined).
   */
  openForReplace(owner: UnlockedUser, name: string, field: string, token: string, revision: string | null, explicit: boolean): Opened | undefined {
    try {
      return this.open(owner, name, field, token, revision);
    } catch (error) {
      if (explicit && error instanceof CofferError && error.reason === 'CORRUPT') return undefined;
      throw error;
    }
  }

  /**
   * The document as `reader` may see it: plain fields, and sealed fields opened when `reader` is
   * the owner; otherwise sealed fields are left out and named in `locked`. Where the owner is not
   * recorded (specter), a sealed field is opened for any reader whose secret opens it.
   */
  view(name: string, model: DocModel, reader: UnlockedUser | undefined, revision: string | null): { data: JsonObject; locked: string[] } {
    const bySecret = this.layout.docFormat.owner === 'by-secret';
    const opener = reader !== undefined && (bySecret || reader.username === model.owner) ? reader : undefined;
    const data: JsonObject = new Map();
    const locked: string[] = [];
    for (const [field, stored] of model.fields) {
      if (!stored.sealed) data.set(field, stored.value);
      else if (!opener) locked.push(field);
      else if (!bySecret) data.set(field, this.open(opener, name, field, stored.token, revision).value);
      else {
        const text = this.tryOpenText(opener, name, field, stored.token);
        if (text === undefined) locked.push(field);
        else data.set(field, this.layout.docFormat.sealedText.decode(text));
      }
    }
    // A Map (the lossless model): a field named "__proto__" stays data.
    return { data, locked };
  }

  /** The field's text under `user`'s secret, or undefined if it does not open under it. */
  tryOpenText(user: UnlockedUser, name: string, field: string, token: string): string | undefined {
    try {
      return this.openText(user, name, field, token);
    } catch (error) {
      if (error instanceof CofferError && error.reason === 'CORRUPT') return undefined;
      throw error;
    }
  }

  /** Seals a text as it was (re-encryption moves texts, never re-encodes values). */
  sealText(owner: UnlockedUser, name: string, field: string, text: string): DocField {
    return { sealed: true, token: this.layout.cipher.seal(owner, this.place(owner.username, name, field), text) };
  }

  private openText(user: UnlockedUser, name: string, field: string, token: string): string {
    return this.layout.cipher.open(user, this.place(user.username, name, field), token);
  }

  private place(owner: string, name: string, field: string) {
    return { username: owner, kind: 'docs' as const, key: [name, field] };
  }
}

function corruptField(name: string, field: string, revision: string | null, message: string): CofferError {
  return new CofferError(
    'CORRUPT',
    `Document ${name}, field ${JSON.stringify(field)}: ${message}; to replace it, write with ifRevision set to data.revision`,
    { revision },
  );
}
