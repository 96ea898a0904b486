import type { Keyring } from '../keyring/keyring.js';
import type { Handlers } from './dispatcher.js';
import { isoTime } from './users.js';

export function sessionsHandlers(keyring: Keyring<unknown>): Pick<Handlers, 'sessions.check' | 'sessions.end'> {
  return {
    'sessions.check': (params) => {
      const info = keyring.checkSession(params.session);
      return { username: info.username, expiresAt: isoTime(info.expiresAt), idleExpiresAt: isoTime(info.idleExpiresAt) };
    },
    'sessions.end': async (params) => {
      await keyring.endSession(params.session);
      return {};
    },
  };
}
