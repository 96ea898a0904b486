import type { UnlockedUser } from '../port/users.js';
import type { DocField, DocModel, Layout } from '../port/layout.js';
import { DocFields, replaceDoc } from './doc-fields.js';
import type { CachedUnit } from './cached-unit.js';
import type { Docs } from './docs.js';
import type { Store } from './store.js';

/**
 * What happens to documents when their owner's account changes (port/users.ts
 * UserDataHooks): sealed fields are the owner's encrypted values, so they follow the owner's
 * secret on rotation and go away with the owner on deletion. Both are idempotent, one durable
 * write per document, so the keyring can run them again after a crash.
 */
export class DocOwners {
  private readonly fields: DocFields;

  constructor(
    private readonly store: Store,
    private readonly layout: Layout,
    private readonly docs: Docs,
  ) {
    this.fields = new DocFields(layout);
  }

  /**
   * users.rotateSecret: every sealed field of the documents `username` owns, re-sealed from `from`
   * to `to`. Fields already under `to` stay as they are; a field that opens under neither is left
   * untouched and counted.
   */
  async reencryptOwned(username: string, from: UnlockedUser, to: UnlockedUser): Promise<{ resealed: number; unreadable: number }> {
    let resealed = 0;
    let unreadable = 0;
    const recorded = this.layout.docFormat.owner === 'recorded';
    for (const name of await this.ownedBy(username)) {
      const counts = await this.document(name).mutate((draft) => {
        const updates: Array<[string, DocField]> = [];
        let lost = 0;
        for (const [field, stored] of draft.model.fields) {
          if (!stored.sealed || (recorded && draft.model.owner !== username)) continue;
          if (this.fields.tryOpenText(to, name, field, stored.token) !== undefined) continue;
          const text = this.fields.tryOpenText(from, name, field, stored.token);
          // By secret (specter), a field under neither secret is another user's, not a loss.
          if (text === undefined) lost += recorded ? 1 : 0;
          else updates.push([field, this.fields.sealText(to, name, field, text)]);
        }
        for (const [field, sealed] of updates) draft.model.fields.set(field, sealed);
        if (updates.length > 0) draft.markChanged();
        return { resealed: updates.length, unreadable: lost };
      });
      resealed += counts.resealed;
      unreadable += counts.unreadable;
      // As for service data (ServiceData.reencrypt): no older version under the old secret is kept.
      await this.store.unit(this.layout.docFile(name)).supersede();
    }
    return { resealed, unreadable };
  }

  /**
   * users.delete: the user's sealed fields go with the user; the documents they owned keep their
   * plain fields, with no declaration and no owner. Without this nobody could ever change or
   * delete those documents again (that needs the owner's session), and a later user of the same
   * name would own tokens sealed under a secret they never had. Returns how many were released.
   */
  async releaseOwned(username: string): Promise<number> {
    // By secret (specter), whose fields are whose cannot be told without the user's secret: they
    // stay in the file, as Specter leaves a deleted user's files (sealed for everyone after).
    if (this.layout.docFormat.owner === 'by-secret') return 0;
    let released = 0;
    for (const name of await this.ownedBy(username)) {
      released += await this.document(name).mutate((draft) => {
        const model = draft.model;
        if (model.owner !== username) return 0;
        const fields = new Map([...model.fields].filter(([, field]) => !field.sealed));
        replaceDoc(name, draft, { owner: null, encryptedFields: [], fields });
        return 1;
      });
    }
    return released;
  }

  /** The documents whose sealed fields may be `username`'s: by secret (specter), every one with sealed fields. */
  private async ownedBy(username: string): Promise<string[]> {
    const bySecret = this.layout.docFormat.owner === 'by-secret';
    return (await this.docs.list())
      .filter((doc) => (bySecret ? doc.encryptedFields.length > 0 : doc.owner === username))
      .map((doc) => doc.name);
  }

  private document(name: string): CachedUnit<DocModel> {
    const spec = this.layout.docFile(name);
    return this.store.unit(spec);
  }
}
