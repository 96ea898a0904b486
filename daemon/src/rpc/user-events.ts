import type { Handlers } from './dispatcher.js';
import type { WatchHub } from '../watch/hub.js';

type UserMethods = 'users.create' | 'users.delete' | 'users.changePassword';

/** users.* changes, announced to 'users' subscribers once the call has succeeded. */
export function announceUserChanges<H extends Pick<Handlers, UserMethods>>(handlers: H, hub: WatchHub): H {
  const announce = (username: string, change: 'created' | 'deleted' | 'password') =>
    hub.publish({ scope: 'users', username, change, revision: null, source: 'rpc' });
  return {
    ...handlers,
    'users.create': async (params, ctx) => {
      const result = await handlers['users.create'](params, ctx);
      announce(params.username, 'created');
      return result;
    },
    'users.delete': async (params, ctx) => {
      const result = await handlers['users.delete'](params, ctx);
      announce(params.username, 'deleted');
      return result;
    },
    'users.changePassword': async (params, ctx) => {
      const result = await handlers['users.changePassword'](params, ctx);
      announce(params.username, 'password');
      return result;
    },
  };
}
