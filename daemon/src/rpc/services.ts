import type { SessionLookup, UserDirectory } from '../keyring/contract.js';
import type { Layout } from '../layout/layout.js';
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
  | 'services.unencrypted.get'
  | 'services.unencrypted.set'
  | 'services.unencrypted.update'
  | 'services.unencrypted.delete'
  | 'services.unencrypted.list';

/** services.encrypted.* (by session: LOCKED without one) and services.unencrypted.* (by existing username). */
export function servicesHandlers({ data, sessions, users, layout }: ServicesDeps): Pick<Handlers, ServiceMethods> {
  const bySession = (session: string): ServiceOwner => ({ encrypted: true, user: sessions.userForSession(session) });
  const byName = (username: string): ServiceOwner => {
    layout.checkUsername(username);
    users.requireUser(username);
    return { encrypted: false, username };
  };
  return {
    'services.encrypted.get': (p) => data.get(bySession(p.session), p.service),
    'services.encrypted.set': (p) => data.set(bySession(p.session), p.service, p.data, p.ifRevision),
    'services.encrypted.update': (p) => data.update(bySession(p.session), p.service, p.patch, p.shallow ?? false, p.ifRevision),
    'services.encrypted.delete': (p) => data.delete(bySession(p.session), p.service, p.ifRevision),
    'services.encrypted.list': async (p) => ({ services: await data.list(bySession(p.session)) }),
    'services.unencrypted.get': (p) => data.get(byName(p.username), p.service),
    'services.unencrypted.set': (p) => data.set(byName(p.username), p.service, p.data, p.ifRevision),
    'services.unencrypted.update': (p) => data.update(byName(p.username), p.service, p.patch, p.shallow ?? false, p.ifRevision),
    'services.unencrypted.delete': (p) => data.delete(byName(p.username), p.service, p.ifRevision),
    'services.unencrypted.list': async (p) => ({ services: await data.list(byName(p.username)) }),
  };
}
