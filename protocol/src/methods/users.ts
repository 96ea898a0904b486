import { Type } from '@sinclair/typebox';
import { defineMethod } from './define.js';
import { Empty, Params, SessionToken, Username } from './common.js';

/**
 * Passwords are text (UTF-8 on the way to the KDF, no Unicode normalisation, as Specter does). The
 * upper bound keeps a single call from feeding megabytes to Argon2id.
 */
export const Password = Type.String({ minLength: 1, maxLength: 1024, description: 'password, 1..1024 characters' });

/** Seconds a session may live; per-unlock values can only shorten the daemon's configured ones. */
const Seconds = Type.Integer({ minimum: 1, maximum: 10 * 365 * 24 * 3600 });

/** An instant on the wire: ISO-8601 UTC, e.g. 2025-01-31T12:00:00.000Z. */
export const Instant = Type.String({ format: 'date-time', description: 'ISO-8601 UTC' });

export const UserSummary = Type.Object({
  username: Type.String(),
  hasPassword: Type.Boolean(),
  unlocked: Type.Boolean({ description: 'some session of this user is live' }),
});

export const usersMethods = {
  'users.create': defineMethod({
    summary: 'Creates a user; with a password, a new user_secret is made and wrapped under it.',
    params: Params({ username: Username, password: Type.Optional(Password) }),
    result: Type.Object({ username: Type.String(), hasPassword: Type.Boolean() }),
    errors: ['ALREADY_EXISTS', 'PASSWORD_REQUIRED', 'STORAGE_FAILED', 'CORRUPT', 'READ_ONLY'],
  }),
  'users.list': defineMethod({
    summary: 'Every user, in creation order, with whether they have a password and are unlocked.',
    params: Params({}),
    result: Type.Object({ users: Type.Array(UserSummary) }),
    errors: ['CORRUPT'],
  }),
  'users.delete': defineMethod({
    summary: "Deletes a user and all their files; needs the user's password if they have one.",
    params: Params({ username: Username, password: Type.Optional(Password) }),
    result: Empty,
    errors: ['NOT_FOUND', 'BAD_PASSWORD', 'RATE_LIMITED', 'STORAGE_FAILED', 'CORRUPT', 'READ_ONLY'],
  }),
  'users.changePassword': defineMethod({
    summary:
      'Re-wraps the same user_secret under a new password (no data is re-encrypted). oldPassword is ' +
      'required when the user has a password; for a user without one this sets a first password.',
    params: Params({ username: Username, oldPassword: Type.Optional(Password), newPassword: Password }),
    result: Empty,
    errors: ['NOT_FOUND', 'BAD_PASSWORD', 'RATE_LIMITED', 'CONFLICT', 'STORAGE_FAILED', 'CORRUPT', 'READ_ONLY'],
  }),
  'users.unlock': defineMethod({
    summary:
      'Checks the password, holds the user_secret in guarded memory and returns a new session. ' +
      'ttlS/idleS can shorten the configured session lifetimes, never extend them.',
    params: Params({
      username: Username,
      password: Password,
      ttlS: Type.Optional(Seconds),
      idleS: Type.Optional(Seconds),
    }),
    result: Type.Object({
      session: SessionToken,
      username: Type.String(),
      expiresAt: Instant,
      idleExpiresAt: Type.String({ format: 'date-time', description: 'ISO-8601 UTC: the end if unused until then (never after expiresAt)' }),
    }),
    errors: ['NOT_FOUND', 'BAD_PASSWORD', 'PASSWORD_REQUIRED', 'RATE_LIMITED', 'CONFLICT', 'CORRUPT', 'READ_ONLY'],
  }),
  'users.lock': defineMethod({
    summary:
      "Ends every session of the user and zeroes their secret in memory. A peer without the admin right (cofferd --policy) must pass a live session of that user: holding it is what allows the lock.",
    params: Params({ username: Username, session: Type.Optional(SessionToken) }),
    result: Empty,
    errors: ['NOT_FOUND', 'CORRUPT'],
  }),
  'users.rotateSecret': defineMethod({
    summary: "Replaces the session user's user_secret with a new one and re-encrypts their data under it.",
    params: Params({ session: SessionToken }),
    result: Empty,
    errors: ['LOCKED', 'CONFLICT', 'STORAGE_FAILED', 'CORRUPT', 'READ_ONLY'],
  }),
};
