import { CofferError, isDocName, isSpecterDocName, type LosslessValue } from '@coffer/protocol';
import type { CofferClient } from './client.js';

/** Specter's admin in a folder without users.json (Specter's own default). */
const SPECTER_DEFAULT_ADMIN_PASSWORD = 'admin';

/** What a migration copied, by kind. */
export interface MigrationCounts {
  users: number;
  encryptedServices: number;
  unencryptedServices: number;
  annotations: number;
  docs: number;
}

export interface MigrationInput {
  readonly from: CofferClient;
  readonly to: CofferClient;
  /** The target's layout: names are mapped to it (docNameIn) and checked before anything is written. */
  readonly toLayout: 'coffer' | 'specter';
  /** Leave documents out (when some have names the target layout cannot hold). */
  readonly withoutDocs?: boolean;
  /** The password of a user who has one (prompted, or read from stdin). */
  password(username: string): Promise<string>;
  /** One line of progress for people. */
  progress?(line: string): void;
}

/**
 * Copies a whole data dir from one daemon to another through the public API only (DESIGN-NOTES
 * "Backup, restore, verify, migrate"): users with the same passwords (each one unlocks on both
 * sides), their encrypted and unencrypted service data, annotations, documents with their sealed
 * fields. Values travel in the lossless model (callExact), so number text and key order are kept; encrypted
 * values are opened by the source and sealed anew by the target under a new user secret, so their
 * bytes differ (random nonces, new secrets) while what reads back is the same.
 */
export async function migrate(input: MigrationInput): Promise<MigrationCounts> {
  const { from, to } = input;
  const counts: MigrationCounts = { users: 0, encryptedServices: 0, unencryptedServices: 0, annotations: 0, docs: 0 };
  const users = (await from.call('users.list', {})).users;
  const docs = input.withoutDocs ? [] : (await from.call('docs.list', {})).docs;
  preflight(docs.map((d) => d.name), input.toLayout);
  const existing = new Map((await to.call('users.list', {})).users.map((u) => [u.username, u]));
  const sessions = new Map<string, { from: string; to: string }>();
  for (const user of users) {
    const there = existing.get(user.username);
    // A Specter folder without users.json has Specter's default admin (password "admin"): taken over.
    const defaultAdmin = there !== undefined && input.toLayout === 'specter' && user.username === 'admin';
    /* c8 ignore next: the target is checked empty before its daemon starts */
    if (there && !defaultAdmin) throw new CofferError('ALREADY_EXISTS', `The target already has a user ${user.username}: migrate into an empty data dir`);
    if (user.hasPassword) {
      const password = await input.password(user.username);
      // On the source first: a wrong password is told before anything is created on the target.
      const source = await from.call('users.unlock', { username: user.username, password });
      if (defaultAdmin) await to.call('users.changePassword', { username: user.username, oldPassword: SPECTER_DEFAULT_ADMIN_PASSWORD, newPassword: password });
      else await to.call('users.create', { username: user.username, password });
      sessions.set(user.username, { from: source.session, to: (await to.call('users.unlock', { username: user.username, password })).session });
    } else if (!there) {
      await to.call('users.create', { username: user.username });
    }
    counts.users++;
    counts.unencryptedServices += await copyUnencrypted(from, to, user.username);
    const session = sessions.get(user.username);
    if (session) counts.encryptedServices += await copyEncrypted(from, to, session);
    counts.annotations += await copyAnnotations(from, to, user.username);
    input.progress?.(`copied user ${user.username}`);
  }
  counts.docs = await copyDocs(from, to, docs, sessions, input.toLayout);
  input.progress?.(`copied ${counts.docs} documents`);
  return counts;
}

async function copyUnencrypted(from: CofferClient, to: CofferClient, username: string): Promise<number> {
  const { services } = await from.call('services.unencrypted.list', { username });
  for (const service of services) {
    const { data } = await from.callExact('services.unencrypted.get', { username, service });
    await to.callExact('services.unencrypted.set', { username, service, data });
  }
  return services.length;
}

async function copyEncrypted(from: CofferClient, to: CofferClient, session: { from: string; to: string }): Promise<number> {
  const { services } = await from.call('services.encrypted.list', { session: session.from });
  for (const service of services) {
    const { data } = await from.callExact('services.encrypted.get', { session: session.from, service });
    await to.callExact('services.encrypted.set', { session: session.to, service, data });
  }
  return services.length;
}

async function copyAnnotations(from: CofferClient, to: CofferClient, username: string): Promise<number> {
  const { entries } = await from.call('annotations.list', { username });
  for (const { wallet, service, kind, id } of entries) {
    const { data } = (await from.callExact('annotations.get', { username, wallet, service, kind, id })) as { data: LosslessValue };
    await to.callExact('annotations.set', { username, wallet, service, kind, id, data });
  }
  return entries.length;
}

/**
 * Documents: plain ones as they are; one with sealed fields is read with a session that opens them
 * all (its recorded owner's, or, where the layout records none, the first that does) and written
 * with the same user's session on the target, so the owner stays the owner.
 */
async function copyDocs(
  from: CofferClient,
  to: CofferClient,
  docs: ReadonlyArray<{ name: string; owner: string | null; encryptedFields: string[] }>,
  sessions: ReadonlyMap<string, { from: string; to: string }>,
  layout: 'coffer' | 'specter',
): Promise<number> {
  for (const doc of docs) {
    const name = docNameIn(doc.name, layout)!;
    let read = await from.callExact('docs.get', { name: doc.name });
    let session: { from: string; to: string } | undefined;
    for (const owner of read.locked.length === 0 ? [] : doc.owner !== null ? [doc.owner] : [...sessions.keys()]) {
      session = sessions.get(owner);
      /* c8 ignore next: owners of sealed fields have passwords, so sessions */
      if (!session) continue;
      read = await from.callExact('docs.get', { name: doc.name, session: session.from });
      if (read.locked.length === 0) break;
    }
    // Defensive: every password user is unlocked, and a sealed field its owner cannot open is CORRUPT
    // (thrown by docs.get above) in the coffer layout, or reads as plain text in the specter one.
    /* c8 ignore next 3 */
    if (read.locked.length > 0) {
      throw new CofferError('LOCKED', `Document ${doc.name} has encrypted fields that no migrated user's session opens: nothing of it was copied; migrate stopped`);
    }
    const sealed = read.encryptedFields.length > 0 && session ? { encryptedFields: read.encryptedFields, session: session.to } : {};
    await to.callExact('docs.set', { name, data: read.data, ...sealed });
  }
  return docs.length;
}

/**
 * A document's name in the other layout: coffer's `otp` is Specter's `otp.json` (the GenericDataManager
 * file at the root) and back. Other Specter names (in folders, or not identifiers) have no coffer
 * name: undefined. A name already fit for the layout is kept.
 */
export function docNameIn(name: string, layout: 'coffer' | 'specter'): string | undefined {
  if (layout === 'specter') return isSpecterDocName(name) ? name : isSpecterDocName(`${name}.json`) ? `${name}.json` : undefined;
  const stem = /^(.*)\.json$/.exec(name)?.[1];
  if (isDocName(name)) return name;
  return stem !== undefined && isDocName(stem) ? stem : undefined;
}

/**
 * Refuses, before anything is written, documents the target layout has no name for. (Usernames need
 * no such check: both layouts take the same names, protocol USERNAME_RULE.)
 */
function preflight(docNames: string[], layout: 'coffer' | 'specter'): void {
  const badDocs = docNames.filter((name) => docNameIn(name, layout) === undefined);
  if (badDocs.length > 0) {
    throw new CofferError(
      'INVALID_PARAMS',
      `Documents ${badDocs.map((n) => JSON.stringify(n)).join(', ')} have no name in the ${layout} layout (only root <name>.json maps to <name>): ` +
        'move them first, or pass --without-docs; nothing was written',
    );
  }
}
