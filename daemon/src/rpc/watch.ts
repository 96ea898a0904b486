import type { WatchHub } from '../watch/hub.js';
import type { Handlers } from './dispatcher.js';

export function watchHandlers(hub: WatchHub): Pick<Handlers, 'watch.subscribe' | 'watch.unsubscribe'> {
  return {
    'watch.subscribe': (p, ctx) => ({ subscription: hub.subscribe(ctx.connection, p.topics) }),
    'watch.unsubscribe': (p, ctx) => {
      hub.unsubscribe(ctx.connection, p.subscription);
      return {};
    },
  };
}
