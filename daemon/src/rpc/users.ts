import type { Keyring } from '../keyring/keyring.js';
import type { Handlers } from './dispatcher.js';

type UsersHandlers = Pick<
  Handlers,
  'users.create' | 'users.list' | 'users.delete' | 'users.changePassword' | 'users.unlock' | 'users.lock' | 'users.rotateSecret'
>;

/** users.*: params are schema-checked by the dispatcher; the keyring applies the layout's name rule. */
export function usersHandlers(keyring: Keyring<unknown>): UsersHandlers {
  return {
    'users.create': (params) => keyring.create(params.username, params.password),
    'users.list': async () => ({ users: await keyring.list() }),
    'users.delete': async (params) => {
      await keyring.delete(params.username, params.password);
      return {};
    },
    'users.changePassword': async (params) => {
      await keyring.changePassword(params.username, params.oldPassword, params.newPassword);
      return {};
    },
    'users.unlock': async (params) => {
      const unlocked = await keyring.unlock(params.username, params.password, params.ttlS, params.idleS);
      return {
        session: unlocked.session,
        username: unlocked.username,
        expiresAt: isoTime(unlocked.expiresAt),
        idleExpiresAt: isoTime(unlocked.idleExpiresAt),
      };
    },
    'users.lock': async (params) => {
      await keyring.lock(params.username);
      return {};
    },
    'users.rotateSecret': async (params) => {
      await keyring.rotateSecret(params.session);
      return {};
    },
  };
}

/** Instants go on the wire as ISO-8601 UTC. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
