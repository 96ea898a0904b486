import { Type } from '@sinclair/typebox';
import { defineMethod } from './define.js';
import { Empty, Params, SessionToken } from './common.js';
import { Instant } from './users.js';

export const sessionsMethods = {
  'sessions.check': defineMethod({
    summary: 'The user behind a live session and when it expires; counts as activity (refreshes the idle timer).',
    params: Params({ session: SessionToken }),
    result: Type.Object({ username: Type.String(), expiresAt: Instant, idleExpiresAt: Instant }),
    errors: ['LOCKED'],
  }),
  'sessions.end': defineMethod({
    summary: "Ends a session (logout); when it was the user's last one, their secret is zeroed.",
    params: Params({ session: SessionToken }),
    result: Empty,
    errors: ['LOCKED'],
  }),
};
