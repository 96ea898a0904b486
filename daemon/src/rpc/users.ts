import type { Keyring } from '../keyring/keyring.js';
import type { Handlers } from './dispatcher.js';
import { passwordParam } from './password-frames.js';

type UsersHandlers = Pick<
  Handlers,
  'users.create' | 'users.list' | 'users.delete' | 'users.changePassword' | 'users.unlock' | 'users.lock' | 'users.rotateSecret'
>;

/** users.*: params are schema-checked by the dispatcher; the keyring applies the layout's name rule. */
export function usersHandlers(keyring: Keyring<unknown>): UsersHandlers {
  return {
    'users.create': (params) => keyring.create(params.username, passwordParam(params, 'password')),
    'users.list': async () => ({ users: await keyring.list() }),
    'users.delete': async (params) => {
      await keyring.delete(params.username, passwordParam(params, 'password'));
      return {};
    },
    'users.changePassword': async (params) => {
      await keyring.changePassword(params.username, passwordParam(params, 'oldPassword'), requiredPassword(params, 'newPassword'));
      return {};
    },
    'users.unlock': async (params, ctx) => {
      const unlocked = await keyring.unlock(params.username, requiredPassword(params, 'password'), params.ttlS, params.idleS, ctx.peer.cred.uid);
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

/** A password the schema requires: present, as bytes from the frame or as the string sent. */
function requiredPassword(params: object, member: string): Buffer | string {
  const password = passwordParam(params, member);
  /* c8 ignore next */
  if (password === undefined) throw new Error(`params.${member} passed the schema but is missing`);
  return password;
}
