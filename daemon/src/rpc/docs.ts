import type { SessionLookup, UnlockedUser } from '../port/users.js';
import type { Docs } from '../store/docs.js';
import type { Handlers } from './dispatcher.js';

export interface DocsDeps {
  readonly docs: Docs;
  readonly sessions: SessionLookup;
}

type DocMethods = 'docs.get' | 'docs.set' | 'docs.update' | 'docs.delete' | 'docs.list';

/**
 * docs.*: the session is optional (plain fields are open to every caller); one that is passed must
 * be valid (LOCKED otherwise), so an expired login is reported instead of silently reading less.
 */
export function docsHandlers({ docs, sessions }: DocsDeps): Pick<Handlers, DocMethods> {
  const callerOf = (session: string | undefined): UnlockedUser | undefined =>
    session === undefined ? undefined : sessions.userForSession(session);
  return {
    'docs.get': (p) => docs.get(p.name, callerOf(p.session)),
    'docs.set': (p) => docs.set(p.name, p.data, p.encryptedFields, callerOf(p.session), p.ifRevision),
    'docs.update': (p) => docs.update(p.name, p.patch, callerOf(p.session), p.ifRevision),
    'docs.delete': (p) => docs.delete(p.name, callerOf(p.session), p.ifRevision),
    'docs.list': async () => ({ docs: await docs.list() }),
  };
}
