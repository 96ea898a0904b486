import { CofferError, VERIFY_MAX_PAGE, type ResultOf } from '@coffer/protocol';
import type { FieldPlace } from '../crypto/field-cipher.js';
import type { UnlockedUser } from '../port/users.js';
import type { DocModel, Layout, ServicesModel } from '../port/layout.js';
import { ifPresent, type Fs } from '../disk/fs.js';
import type { DataFile } from './data-files.js';

type VerifiedFile = ResultOf<'daemon.verify'>['files'][number];
type Sealed = VerifiedFile['sealed'];

export interface VerifySources {
  readonly layout: Layout;
  readonly fs: Fs;
  files(): Promise<DataFile[]>;
  /** Decodes users.json's bytes with the accounts codec (throws CORRUPT). */
  checkAccounts(bytes: Buffer): void;
  /** Who is unlocked in this daemon now, with their secrets. */
  unlockedUsers(): Promise<UnlockedUser[]>;
}

/**
 * daemon.verify: one page of files in name order, each parsed with its layout's codec from the
 * bytes on disk (not the cache, which may hold a last good state), each encrypted value opened
 * under its owner's secret when the owner is unlocked here (counted `locked` otherwise). Paged so
 * that no call holds the event loop for a whole large data dir and the caller can show progress.
 */
export async function verifyPage(sources: VerifySources, after: string | undefined, limit = VERIFY_MAX_PAGE): Promise<ResultOf<'daemon.verify'>> {
  const all = await sources.files();
  const page = all.filter((file) => after === undefined || file.name > after).slice(0, limit);
  const unlocked = new Map((await sources.unlockedUsers()).map((user) => [user.username, user]));
  const files: VerifiedFile[] = [];
  for (const file of page) files.push(await verifyFile(sources, file, unlocked));
  const last = page[page.length - 1];
  const more = last !== undefined && all[all.length - 1] !== last;
  return { total: all.length, files, next: more ? last.name : null };
}

async function verifyFile(sources: VerifySources, file: DataFile, unlocked: ReadonlyMap<string, UnlockedUser>): Promise<VerifiedFile> {
  const sealed: Sealed = { checked: 0, corrupt: 0, locked: 0 };
  const report = (status: VerifiedFile['status'], problem?: string): VerifiedFile => ({
    path: file.name,
    kind: file.kind,
    status,
    ...(problem === undefined ? {} : { problem }),
    sealed,
  });
  const bytes = await readIfPresent(sources.fs, file.path);
  // Only an older copy (Specter's .bkp) is left: Specter would read it, but the file itself is gone.
  if (bytes === null) return report('missing', 'only its older copy (.bkp) is there');
  try {
    if (file.spec === undefined) sources.checkAccounts(bytes);
    else {
      const model = file.spec.codec.decode(bytes);
      const topic = file.spec.topic;
      if (topic.scope === 'services') checkServices(sources.layout, model as ServicesModel, topic.username, topic.encrypted, unlocked, sealed);
      else if (topic.scope === 'docs') checkDoc(sources.layout, model as DocModel, topic.name, unlocked, sealed);
    }
  } catch (error) {
    return report('corrupt', problemOf(error));
  }
  return sealed.corrupt > 0 ? report('corrupt', `${sealed.corrupt} encrypted value(s) do not authenticate under their owner's secret`) : report('ok');
}

function checkServices(layout: Layout, model: ServicesModel, username: string, encrypted: boolean, unlocked: ReadonlyMap<string, UnlockedUser>, sealed: Sealed): void {
  const user = unlocked.get(username);
  for (const [service, stored] of model.entries) {
    if (!encrypted) {
      layout.valueText.decode(stored);
      continue;
    }
    if (!user) {
      sealed.locked++;
      continue;
    }
    const text = openWith(layout, user, { username, kind: 'services', key: [service] }, stored);
    if (text === undefined || !decodes(layout, text)) sealed.corrupt++;
    else sealed.checked++;
  }
}

/**
 * A document's sealed fields: under the recorded owner (coffer), or, where the file names no owner
 * (specter: whoever's secret opens it), under any unlocked user. There a field none of them opens
 * is `locked`, not corrupt: its owner may be a user who is not unlocked, and nothing says who.
 */
function checkDoc(layout: Layout, model: DocModel, name: string, unlocked: ReadonlyMap<string, UnlockedUser>, sealed: Sealed): void {
  const text = layout.docFormat.sealedText;
  for (const [field, stored] of model.fields) {
    if (!stored.sealed) continue;
    // A recorded document with a sealed field always names its owner (the codec refuses it otherwise).
    /* c8 ignore next */
    const candidates = layout.docFormat.owner === 'recorded' ? [model.owner === null ? undefined : unlocked.get(model.owner)] : [...unlocked.values()];
    const openers = candidates.filter((user): user is UnlockedUser => user !== undefined);
    if (openers.length === 0) {
      sealed.locked++;
      continue;
    }
    const opened = openers.map((user) => openWith(layout, user, { username: user.username, kind: 'docs', key: [name, field] }, stored.token)).find((t) => t !== undefined);
    if (opened !== undefined && decodesWith(() => text.decode(opened))) sealed.checked++;
    else if (layout.docFormat.owner === 'recorded') sealed.corrupt++;
    else sealed.locked++;
  }
}

/** The text under the user's secret (or, mid-rotation, the previous one); undefined when it does not open. */
function openWith(layout: Layout, user: UnlockedUser, place: FieldPlace, token: string): string | undefined {
  for (const key of [user, user.previous]) {
    if (key === undefined) continue;
    try {
      return layout.cipher.open(key, place, token);
    } catch (error) {
      /* c8 ignore next: a cipher fails to open only with CORRUPT */
      if (!(error instanceof CofferError && error.reason === 'CORRUPT')) throw error;
    }
  }
  return undefined;
}

function decodes(layout: Layout, text: string): boolean {
  return decodesWith(() => layout.valueText.decode(text));
}

function decodesWith(decode: () => unknown): boolean {
  try {
    decode();
    return true;
    /* c8 ignore next 3: a value that authenticates but is not JSON needs its owner's secret to make */
  } catch {
    return false;
  }
}

function readIfPresent(fs: Fs, file: string): Promise<Buffer | null> {
  return ifPresent(fs.readFile(file), null);
}

function problemOf(error: unknown): string {
  /* c8 ignore next: codecs throw Errors */
  return error instanceof Error ? error.message : String(error);
}
