import type { MethodName } from '@coffer/protocol';
import type { CallContext, Handlers } from './dispatcher.js';

/** Methods that use a session or name a user, outside users.* (which re-read users.json themselves). */
const USES_ACCOUNTS = /^(services|docs|annotations|sessions)\./;

type AnyHandler = (params: never, ctx: CallContext) => unknown;

/**
 * Follow mode (keyring/follow.ts): before each call that uses a session or names a user, `follow`
 * re-reads users.json if Specter changed it, so a deleted user or a replaced secret answers LOCKED
 * or NOT_FOUND at the very next call, not only once the file watcher has told us. One stat per call.
 */
export function followingAccounts(handlers: Handlers, follow: () => Promise<void>): Handlers {
  const wrapped = Object.entries(handlers).map(([method, handler]: [string, AnyHandler]) => {
    if (!USES_ACCOUNTS.test(method)) return [method, handler];
    const following: AnyHandler = async (params, ctx) => {
      await follow();
      return handler(params, ctx);
    };
    return [method, following];
  });
  return Object.fromEntries(wrapped) as Record<MethodName, AnyHandler> as Handlers;
}
