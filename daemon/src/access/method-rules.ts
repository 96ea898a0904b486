import type { MethodName } from '@coffer/protocol';

/** The right a call needs: none (the daemon's own facts), read, write, or admin. */
export type Right = 'none' | 'read' | 'write' | 'admin';

/**
 * Whose data a call touches: the user named by `username`, the user behind `session`, data shared
 * by every user (documents, Specter's own files: only a peer scoped to every user may touch them),
 * topics of a subscription (checked one by one), or nothing at all.
 */
export type Target = 'username' | 'session' | 'shared' | 'topics' | 'none';

export interface MethodRule {
  readonly right: Right;
  readonly target: Target;
  /** The `service` param names the service touched (checked against the scope's services). */
  readonly service?: 'param' | 'all';
  /**
   * Written to the audit stream (--audit-log) before the call runs (fail closed) and with its
   * result after. `session`: only when the call carries a session (docs: encrypted fields).
   */
  readonly audit?: true | 'session';
  /** The answer lists users or services: trimmed to the peer's scope instead of refused. */
  readonly trim?: 'users' | 'services';
}

const rule = (right: Right, target: Target, more: Omit<MethodRule, 'right' | 'target'> = {}): MethodRule => ({ right, target, ...more });

/**
 * Every method of the catalogue, classified once (DESIGN-NOTES "Who may connect, and what they may
 * do"). The type makes a missing method a compile error, and test/peer-scopes.test.ts checks the
 * table against rpc.discover. users.lock is `admin`, unless the call carries a live session of
 * that user (the gate checks it): holding the session is the proof of being that user.
 */
export const METHOD_RULES: { readonly [M in MethodName]: MethodRule } = {
  'daemon.status': rule('none', 'none'),
  'rpc.discover': rule('none', 'none'),

  'users.create': rule('admin', 'username', { audit: true }),
  'users.list': rule('read', 'none', { trim: 'users' }),
  'users.delete': rule('admin', 'username', { audit: true }),
  'users.changePassword': rule('write', 'username', { audit: true }),
  'users.unlock': rule('read', 'username', { audit: true }),
  'users.lock': rule('admin', 'username', { audit: true }),
  'users.rotateSecret': rule('admin', 'session', { audit: true }),

  'sessions.check': rule('read', 'session'),
  'sessions.end': rule('read', 'session', { audit: true }),

  'services.encrypted.get': rule('read', 'session', { service: 'param', audit: true }),
  'services.encrypted.set': rule('write', 'session', { service: 'param', audit: true }),
  'services.encrypted.update': rule('write', 'session', { service: 'param', audit: true }),
  'services.encrypted.delete': rule('write', 'session', { service: 'param', audit: true }),
  'services.encrypted.list': rule('read', 'session', { audit: true, trim: 'services' }),
  'services.encrypted.ids': rule('read', 'username', { trim: 'services' }),
  'services.encrypted.wipe': rule('admin', 'username', { service: 'all', audit: true }),
  'services.unencrypted.get': rule('read', 'username', { service: 'param' }),
  'services.unencrypted.set': rule('write', 'username', { service: 'param' }),
  'services.unencrypted.update': rule('write', 'username', { service: 'param' }),
  'services.unencrypted.delete': rule('write', 'username', { service: 'param' }),
  'services.unencrypted.list': rule('read', 'username', { trim: 'services' }),
  'services.unencrypted.wipe': rule('admin', 'username', { service: 'all', audit: true }),

  'watch.subscribe': rule('read', 'topics'),
  'watch.unsubscribe': rule('read', 'none'),

  'docs.get': rule('read', 'shared', { audit: 'session' }),
  'docs.set': rule('write', 'shared', { audit: 'session' }),
  'docs.update': rule('write', 'shared', { audit: 'session' }),
  'docs.delete': rule('write', 'shared', { audit: 'session' }),
  'docs.list': rule('read', 'shared'),

  'annotations.get': rule('read', 'username', { service: 'param' }),
  'annotations.set': rule('write', 'username', { service: 'param' }),
  'annotations.update': rule('write', 'username', { service: 'param' }),
  'annotations.delete': rule('write', 'username', { service: 'param' }),
  'annotations.list': rule('read', 'username', { service: 'param' }),

  'files.write': rule('write', 'shared'),
};
