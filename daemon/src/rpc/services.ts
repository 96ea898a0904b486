import type { SessionLookup, UserDirectory } from '../port/users.js';
import type { Layout } from '../port/layout.js';
import type { ServiceData, ServiceOwner } from '../store/services.js';
import type { Handlers } from './dispatcher.js';

export interface ServicesDeps {
  readonly data: ServiceData;
  readonly sessions: SessionLookup;
  readonly users: UserDirectory;
  readonly layout: Layout;
}

type ServiceMethods =
  | 'services.encrypted.get'
  | 'services.encrypted.set'
  | 'services.encrypted.update'
  | 'services.encrypted.delete'
  | 'services.encrypted.list'
  | 'services.encrypted.ids'
  | 'services.encrypted.wipe'
  | 'services.unencrypted.wipe'
  | 'services.unencrypted.get'
  | 'services.unencrypted.set'
  | 'services.unencrypted.update'
  | 'services.unencrypted.delete'
  | 'services.unencrypted.list';

/**
 * services.encrypted.* (by session: LOCKED without one), services.unencrypted.* (by username), and
 * the two operations Specter runs without a secret: the ids of the encrypted file and the wipes.
 * A username must be a user's in the coffer layout; the specter layout takes it alone, as Specter.
 */
export function servicesHandlers({ data, sessions, users, layout }: ServicesDeps): Pick<Handlers, ServiceMethods> {
  const bySession = (session: string): ServiceOwner => ({ encrypted: true, user: sessions.userForSession(session) });
  const checked = (username: string): string => {
    layout.checkUsername(username);
    if (layout.servicesNeedAccount) users.requireUser(username);
    return username;
  };
  const byName = (username: string): ServiceOwner => ({ encrypted: false, username: checked(username) });
  return {
    'services.encrypted.get': (p) => data.get(bySession(p.session), p.service),
    'services.encrypted.set': (p) => data.set(bySession(p.session), p.service, p.data, p.ifRevision),
    'services.encrypted.update': (p) => data.update(bySession(p.session), p.service, p.patch, p.shallow ?? false, p.ifRevision),
    'services.encrypted.delete': (p) => data.delete(bySession(p.session), p.service, p.ifRevision),
    'services.encrypted.list': async (p) => ({ services: await data.list(bySession(p.session)) }),
    'services.encrypted.ids': async (p) => ({ services: await data.ids(checked(p.username), true) }),
    'services.encrypted.wipe': (p) => data.wipe(checked(p.username), true),
    'services.unencrypted.wipe': (p) => data.wipe(checked(p.username), false),
    'services.unencrypted.get': (p) => data.get(byName(p.username), p.service),
    'services.unencrypted.set': (p) => data.set(byName(p.username), p.service, p.data, p.ifRevision),
    'services.unencrypted.update': (p) => data.update(byName(p.username), p.service, p.patch, p.shallow ?? false, p.ifRevision),
    'services.unencrypted.delete': (p) => data.delete(byName(p.username), p.service, p.ifRevision),
    'services.unencrypted.list': async (p) => ({ services: await data.list(byName(p.username)) }),
  };
}
