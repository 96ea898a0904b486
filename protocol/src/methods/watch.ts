import { Type } from '@sinclair/typebox';
import { Empty, Params, ServiceId, Username } from './common.js';
import { defineMethod } from './define.js';
import { DocName } from './docs.js';

/** What a subscriber wants to hear about; omitted members match anything. */
export const WatchTopic = Type.Union([
  Type.Object(
    { scope: Type.Literal('services'), username: Type.Optional(Username), service: Type.Optional(ServiceId), encrypted: Type.Optional(Type.Boolean()) },
    { additionalProperties: false },
  ),
  Type.Object(
    { scope: Type.Literal('annotations'), username: Type.Optional(Username), wallet: Type.Optional(Type.String({ maxLength: 256 })), service: Type.Optional(ServiceId) },
    { additionalProperties: false },
  ),
  Type.Object({ scope: Type.Literal('docs'), name: Type.Optional(DocName) }, { additionalProperties: false }),
  Type.Object({ scope: Type.Literal('users'), username: Type.Optional(Username) }, { additionalProperties: false }),
]);

const SubscriptionId = Type.String({ pattern: '^w[0-9a-f]{16}$', description: 'from watch.subscribe' });

export const watchMethods = {
  'watch.subscribe': defineMethod({
    summary:
      'Subscribes this connection to changes (ours and edits made outside cofferd); the daemon then sends ' +
      'watch.changed notifications on it until watch.unsubscribe or the connection closes.',
    params: Params({ topics: Type.Array(WatchTopic, { minItems: 1, maxItems: 64 }) }),
    result: Type.Object({ subscription: SubscriptionId }),
    errors: [],
  }),
  'watch.unsubscribe': defineMethod({
    summary: 'Ends a subscription of this connection.',
    params: Params({ subscription: SubscriptionId }),
    result: Empty,
    errors: ['NOT_FOUND'],
  }),
};

/** The one notification the daemon sends (only on connections that subscribed). */
export const WatchChanged = Type.Object({
  subscription: SubscriptionId,
  scope: Type.Union([Type.Literal('services'), Type.Literal('annotations'), Type.Literal('docs'), Type.Literal('users')]),
  username: Type.Optional(Type.String()),
  encrypted: Type.Optional(Type.Boolean()),
  service: Type.Optional(Type.String()),
  wallet: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  change: Type.Optional(Type.String({ description: "users scope: 'created', 'deleted' or 'password'" })),
  revision: Type.Union([Type.String(), Type.Null()], { description: 'the new revision; null when it is gone' }),
  source: Type.Union([Type.Literal('rpc'), Type.Literal('external')]),
});

export const NOTIFICATIONS = {
  'watch.changed': { summary: 'Something a subscription covers changed.', params: WatchChanged },
} as const;
